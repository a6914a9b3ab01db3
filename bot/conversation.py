"""Conversations: each user's last question per chat, so a short follow-up can be read against it.

Kept in memory only, for ``ttl`` seconds after the question, and forgotten on /start. In a
private chat every message may be a follow-up; in a group only a reply to one of the bot's
messages is (so people talking to each other are never rewritten). The reading itself is
``index.followup.read_followup``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from telegram import Message, Update
from telegram.constants import ChatType

from bot.state import Clock
from index.followup import Reading, read_followup


@dataclass(frozen=True)
class Turn:
    """A question as it was searched, and the id of the result shown for it (if kept)."""

    question: str
    result_id: str | None
    at: float


class Conversations:
    """Last turns by (chat, user): expired after ``ttl`` seconds, least recent dropped past ``capacity``."""

    def __init__(self, ttl: float = 300, capacity: int = 10_000, clock: Clock = time.monotonic) -> None:
        self.ttl, self.capacity, self.clock = ttl, capacity, clock
        self._turns: OrderedDict[tuple[int, int], Turn] = OrderedDict()

    def remember(self, chat_id: int, user_id: int, question: str, result_id: str | None) -> None:
        """Keep ``question`` as the user's last in this chat."""
        if self.ttl <= 0:
            return
        key = (chat_id, user_id)
        self._turns.pop(key, None)
        self._turns[key] = Turn(question, result_id, self.clock())
        while len(self._turns) > self.capacity:
            self._turns.popitem(last=False)

    def last(self, chat_id: int, user_id: int) -> Turn | None:
        """The user's last turn in this chat, if it is recent enough."""
        turn = self._turns.get((chat_id, user_id))
        if turn is None:
            return None
        if self.clock() - turn.at > self.ttl:
            del self._turns[(chat_id, user_id)]
            return None
        return turn

    def forget(self, chat_id: int, user_id: int) -> None:
        """Drop the user's context in this chat (/start)."""
        self._turns.pop((chat_id, user_id), None)


def may_follow_up(update: Update, message: Message) -> bool:
    """True in private chats, and in groups for replies to the bot's own messages."""
    if message.chat.type == ChatType.PRIVATE:
        return True
    reply = message.reply_to_message
    return reply is not None and reply.from_user is not None and reply.from_user.id == message.get_bot().id


def read(conversations: Conversations, update: Update, message: Message, text: str) -> tuple[Reading, Turn] | None:
    """How ``text`` continues the user's last question here, with that turn; None if it stands alone."""
    user = update.effective_user
    if user is None or not may_follow_up(update, message):
        return None
    turn = conversations.last(message.chat_id, user.id)
    if turn is None:
        return None
    reading = read_followup(turn.question, text)
    return (reading, turn) if reading is not None else None

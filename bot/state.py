"""What the running bot keeps in memory, and the typed context that hands it to handlers."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import CallbackContext, ExtBot

from bot.render import HtmlPage
from index.models import Answer, IndexStats

if TYPE_CHECKING:
    from bot.conversation import Conversations
    from bot.inline import InlineCache
    from bot.settings import BotSettings
    from index.feeds import FeedWatcher
    from index.service import AnswerService
    from index.store.feedback import FeedbackStore

Clock = Callable[[], float]


@dataclass
class Result:
    """An answer shown in a chat, kept so its buttons can page and open passages."""

    chat_id: int
    user_id: int | None
    answer: Answer
    pages: tuple[HtmlPage, ...]
    page: int = 0
    message_id: int | None = None  # the bot's message carrying the buttons, once sent
    expires: float = 0.0
    lang: str = "en"  # the language of the bot's words on the pages and buttons


class ResultCache:
    """Results by random id: least recently used dropped beyond ``capacity``, expired after ``ttl``.

    Ids come from ``secrets.token_urlsafe``, so they cannot be guessed; a lookup also checks
    the chat (and the message, once known), so an id from another chat shows nothing.
    """

    ID_BYTES = 12  # 16 URL-safe characters: "full:<id>:<n>" stays far below Telegram's 64 bytes

    def __init__(self, capacity: int = 1000, ttl: float = 6 * 3600, clock: Clock = time.monotonic) -> None:
        self.capacity, self.ttl, self.clock = capacity, ttl, clock
        self._items: OrderedDict[str, Result] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, result: Result) -> str:
        """Store ``result`` under a new random id and return the id."""
        rid = secrets.token_urlsafe(self.ID_BYTES)
        result.expires = self.clock() + self.ttl
        self._items[rid] = result
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return rid

    def get(self, rid: str, chat_id: int | None, message_id: int | None = None) -> Result | None:
        """The live result ``rid`` if it belongs to ``chat_id`` (and ``message_id``), else None."""
        result = self._items.get(rid)
        if result is None:
            return None
        if result.expires <= self.clock():
            del self._items[rid]
            return None
        if result.chat_id != chat_id:
            return None
        if message_id is not None and result.message_id not in (None, message_id):
            return None
        self._items.move_to_end(rid)
        return result


@dataclass(frozen=True)
class Verdict:
    """The flood gate's answer: go ahead, or wait ``wait`` seconds (tell the user if ``notify``)."""

    allowed: bool
    wait: int = 0
    notify: bool = False


class FloodGate:
    """At most ``per_minute`` questions per user in any 60-second window (0: no limit).

    Over the limit the user is told once how long to wait; further questions in the same
    wait are dropped silently, so a flood never turns into a flood of replies.
    """

    WINDOW = 60.0

    def __init__(self, per_minute: int, clock: Clock = time.monotonic) -> None:
        self.per_minute, self.clock = per_minute, clock
        self._asked: dict[int, deque[float]] = {}
        self._told: dict[int, float] = {}  # user -> when their current wait ends

    def check(self, user_id: int) -> Verdict:
        """Record a question from ``user_id`` if allowed, else say how long to wait."""
        if self.per_minute <= 0:
            return Verdict(True)
        now = self.clock()
        if len(self._asked) > 10_000:  # forget users who have been quiet for a window
            self._asked = {u: q for u, q in self._asked.items() if q and q[-1] > now - self.WINDOW}
        asked = self._asked.setdefault(user_id, deque())
        while asked and asked[0] <= now - self.WINDOW:
            asked.popleft()
        if len(asked) < self.per_minute:
            asked.append(now)
            self._told.pop(user_id, None)
            return Verdict(True)
        until = asked[0] + self.WINDOW
        notify = self._told.get(user_id) != until
        self._told[user_id] = until
        return Verdict(False, wait=max(1, round(until - now + 0.5)), notify=notify)


@dataclass
class BotState:
    """Everything handlers share: settings, the library, cached results and counters.

    PTB creates it (as ``bot_data``) with no arguments; ``build_application`` fills it in.
    """

    settings: BotSettings | None = None
    library: AnswerService | None = None
    stats: IndexStats | None = None
    results: ResultCache = field(default_factory=ResultCache)
    flood: FloodGate = field(default_factory=lambda: FloodGate(0))
    started: float = field(default_factory=time.monotonic)
    questions: int = 0
    errors: int = 0
    next_index_check: float = 0.0  # monotonic time of the next look at the index's CURRENT pointer
    switching: bool = False  # a reload to a newer generation is running
    failed_generation: str | None = None  # a published generation that failed to open; not retried
    conversations: Conversations = field(default_factory=lambda: _conversations())
    inline: InlineCache = field(default_factory=lambda: _inline_cache())
    feedback: FeedbackStore | None = None  # votes on answers; None when STEPPE_FEEDBACK_DAYS=0
    feeds: FeedWatcher | None = None  # the watched feeds (bot/feeds.py)

    def allows(self, chat_id: int | None, user_id: int | None, private: bool) -> bool:
        """True unless an allow-list is set and this chat (or admin's private chat) is not on it."""
        assert self.settings is not None
        allowed = self.settings.allowed_chats
        if allowed is None or chat_id is None or chat_id in allowed:
            return True
        return private and user_id in self.settings.admin_ids

    def is_admin(self, user_id: int | None) -> bool:
        """True if ``user_id`` is listed in STEPPE_ADMIN_IDS."""
        assert self.settings is not None
        return user_id is not None and user_id in self.settings.admin_ids


def _conversations() -> Conversations:
    from bot.conversation import Conversations  # it imports this module: a late import avoids the cycle

    return Conversations()


def _inline_cache() -> InlineCache:
    from bot.inline import InlineCache

    return InlineCache()


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotState]):
    """The handlers' context, with the shared state as typed properties."""

    @property
    def state(self) -> BotState:
        """The bot-wide state (PTB's ``bot_data``)."""
        return self.bot_data

    @property
    def settings(self) -> BotSettings:
        """The settings the application was built with."""
        assert self.bot_data.settings is not None, "build_application sets the settings"
        return self.bot_data.settings

    @property
    def library(self) -> AnswerService:
        """The answer layer, opened once at start-up (post_init)."""
        assert self.bot_data.library is not None, "post_init opens the library"
        return self.bot_data.library

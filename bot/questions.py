"""What counts as a question in a chat, and the cleaned text of it."""

from __future__ import annotations

import re
import unicodedata

from telegram import Message, MessageEntity
from telegram.ext import filters

from bot.render import clean

_SPACE = re.compile(r"\s+")


class AddressedToBot(filters.MessageFilter):
    """Messages that mention the bot (@name or a text mention) or reply to one of its messages."""

    def filter(self, message: Message) -> bool:
        """True if the message is addressed to this bot."""
        bot = message.get_bot()
        reply = message.reply_to_message
        if reply is not None and reply.from_user is not None and reply.from_user.id == bot.id:
            return True
        return bool(_mentions(message))


def entity_texts(message: Message, types: list[str]) -> dict[MessageEntity, str]:
    """The message's entities of ``types`` with their text, like ``Message.parse_entities``.

    Offsets count UTF-16 code units. PTB encodes the text strictly, so a lone surrogate
    (which Telegram's JSON can carry as an escape) would raise; here it is passed through.
    """
    units = (message.text or "").encode("utf-16-le", "surrogatepass")
    return {
        entity: units[2 * entity.offset : 2 * (entity.offset + entity.length)].decode("utf-16-le", "surrogatepass")
        for entity in message.entities
        if entity.type in types
    }


def _mentions(message: Message) -> list[str]:
    """The texts of the entities in ``message`` that mention this bot."""
    bot = message.get_bot()
    username = (bot.username or "").lower()
    entities = entity_texts(message, [MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
    return [
        text
        for entity, text in entities.items()
        if (entity.type == MessageEntity.MENTION and username and text[1:].lower() == username)
        or (entity.type == MessageEntity.TEXT_MENTION and entity.user is not None and entity.user.id == bot.id)
    ]


def question_text(message: Message) -> str:
    """The question in a message: its text without a leading /command and without mentions of us."""
    text = message.text or ""
    commands = [
        (entity, value)
        for entity, value in entity_texts(message, [MessageEntity.BOT_COMMAND]).items()
        if entity.offset == 0
    ]
    if commands:
        text = text[len(commands[0][1]) :]
    for mention in _mentions(message):
        text = text.replace(mention, " ")
    return text


def normalise(text: str) -> str:
    """Control characters removed and runs of whitespace made single spaces."""
    return _SPACE.sub(" ", clean(text)).strip()


def has_words(text: str) -> bool:
    """True if ``text`` has a letter or a digit (emoji and punctuation alone are not a question)."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)

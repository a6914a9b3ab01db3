"""Inline mode: ``@bot question`` in any chat offers the top passages as results to send.

Each result lists a passage's title and source; choosing it sends the question, the excerpt
quoted with its answering sentence in bold, and the citation link. Telegram sends a query
per keystroke, so a query waits a moment and is dropped when the same user has typed on;
results are cached per question (here and, through ``cache_time``, by Telegram), the
per-user flood limit applies to the searches that run, and a search that would miss
Telegram's deadline (about 10 s) is answered with a "busy" button instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode

from bot.answering import lang_of
from bot.questions import has_words, normalise
from bot.render import format_date, preview, render_excerpt_html
from bot.state import BotContext, Clock
from bot.strings import t, t_text
from index.errors import UserFacingError
from index.filters import parse_query
from index.models import Answer

logger = logging.getLogger(__name__)

MAX_RESULTS = 5
SETTLE = 0.35  # seconds a query waits for the user to stop typing
DEADLINE = 8.0  # seconds a search may take; Telegram refuses answers after about 10
TITLE_CHARS, DESCRIPTION_CHARS = 100, 160

Results = list[InlineQueryResultArticle]


class InlineCache:
    """Built results by (question, language), for ``ttl`` seconds, least recently used dropped."""

    def __init__(self, ttl: float = 300, capacity: int = 500, clock: Clock = time.monotonic) -> None:
        self.ttl, self.capacity, self.clock = ttl, capacity, clock
        self._items: OrderedDict[tuple[str, str], tuple[float, Results]] = OrderedDict()
        self.latest: dict[int, str] = {}  # user -> id of their newest query

    def get(self, key: tuple[str, str]) -> Results | None:
        """The cached results for ``key``, if fresh."""
        item = self._items.get(key)
        if item is None or item[0] <= self.clock():
            self._items.pop(key, None)
            return None
        self._items.move_to_end(key)
        return item[1]

    def put(self, key: tuple[str, str], results: Results) -> None:
        """Keep ``results`` for ``key``."""
        self._items[key] = (self.clock() + self.ttl, results)
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)


def results_for(answer: Answer, lang: str) -> Results:
    """One article per passage (title, source and date, the answering sentence), or one "not found"."""
    no_preview = LinkPreviewOptions(is_disabled=True)
    if not answer.answered or not answer.excerpts:
        return [
            InlineQueryResultArticle(
                id="not-found",
                title=t_text("inline_not_found", lang),
                description=preview(answer.question, DESCRIPTION_CHARS),
                input_message_content=InputTextMessageContent(
                    t("inline_not_found_text", lang, question=preview(answer.question, 200)),
                    parse_mode=ParseMode.HTML,
                    link_preview_options=no_preview,
                ),
            )
        ]
    results = []
    for n, excerpt in enumerate(answer.excerpts[:MAX_RESULTS], start=1):
        doc = excerpt.hit.doc
        sentence = " ".join(excerpt.text[a:b] for a, b in excerpt.highlights) or excerpt.text
        where = ", ".join(part for part in (doc.source, format_date(doc.date, lang)) if part)
        results.append(
            InlineQueryResultArticle(
                id=str(n),
                title=preview(doc.title or doc.path, TITLE_CHARS) or str(n),
                description=preview(f"{where} — {sentence}" if where else sentence, DESCRIPTION_CHARS),
                input_message_content=InputTextMessageContent(
                    render_excerpt_html(answer.question, excerpt, lang=lang),
                    parse_mode=ParseMode.HTML,
                    link_preview_options=no_preview,
                ),
            )
        )
    return results


async def _hint(update: Update, key: str, lang: str, **values: object) -> None:
    """No results, only a button with ``key``'s words (it opens a private chat with the bot)."""
    assert update.inline_query is not None
    button = InlineQueryResultsButton(text=t_text(key, lang, **values), start_parameter="inline")
    await update.inline_query.answer([], cache_time=0, is_personal=True, button=button)


async def answer_inline(update: Update, context: BotContext) -> None:
    """Answer an inline query with passages, a hint, or a "not found" result."""
    query = update.inline_query
    assert query is not None
    user = query.from_user
    text = normalise(query.query)[: context.settings.max_question_chars]
    lang = lang_of(update, text)
    state = context.state
    if not state.allows(user.id, user.id, True):
        await _hint(update, "inline_private", lang)
        return
    question, filters = text, None
    try:
        question, parsed = parse_query(text)
        filters = None if parsed.is_empty() else parsed
    except UserFacingError:
        question = ""
    if not question or not has_words(question):
        await _hint(update, "inline_hint", lang)
        return
    key = (text.casefold(), lang)
    results = state.inline.get(key)
    if results is None:
        state.inline.latest[user.id] = query.id
        await asyncio.sleep(SETTLE)
        if state.inline.latest.get(user.id) != query.id:
            return  # the user typed on: only their newest query is answered
        verdict = state.flood.check(user.id)
        if not verdict.allowed:
            await _hint(update, "inline_slow", lang, seconds=verdict.wait)
            return
        search = asyncio.ensure_future(
            asyncio.to_thread(context.library.answer, question, k=MAX_RESULTS, filters=filters)
        )
        try:
            answer = await asyncio.wait_for(search, DEADLINE)
        except TimeoutError:
            logger.warning("inline search for user %s missed the deadline", user.id)
            await _hint(update, "inline_busy", lang)
            return
        results = results_for(answer, lang)
        state.inline.put(key, results)
        state.questions += 1
    # personal: results are worded in the user's language (dates, "not found"), so Telegram must not share them
    await query.answer(results, cache_time=context.settings.inline_cache_seconds, is_personal=True)

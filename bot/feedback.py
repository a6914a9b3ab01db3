"""👍/👎 under every answer: the buttons, storing a vote, and the admins' /feedback summary.

Votes go to ``index.store.feedback.FeedbackStore`` (SQLite in STEPPE_STATE_DIR, users as salted
hashes, deleted after STEPPE_FEEDBACK_DAYS); the file is written off the event loop.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import CallbackQuery, InlineKeyboardButton

from bot.render import TELEGRAM_LIMIT, utf16_len
from bot.state import BotContext, Result
from bot.strings import t, t_text
from index.feedback import format_report, report, shown_passages

logger = logging.getLogger(__name__)
VOTES = {"up": 1, "down": -1}
LABELS = {"up": "👍", "down": "👎"}  # the same in every language


def buttons(rid: str) -> list[InlineKeyboardButton]:
    """The 👍 and 👎 buttons of the answer kept as ``rid``."""
    return [InlineKeyboardButton(label, callback_data=f"vote:{rid}:{value}") for value, label in LABELS.items()]


async def record(query: CallbackQuery, context: BotContext, rid: str, result: Result, value: str) -> None:
    """Store the presser's vote on ``result`` (a second vote replaces the first) and thank them."""
    store = context.state.feedback
    if store is None:  # feedback was turned off after the answer was sent
        await query.answer(t_text("feedback_off", result.lang), show_alert=True)
        return
    answer = result.answer
    outcome = await asyncio.to_thread(
        store.vote,
        rid,
        query.from_user.id,
        VOTES[value],
        question=answer.question,
        passages=shown_passages(answer) if answer.answered else [],
        answered=answer.answered,
        lang=result.lang,
    )
    logger.info("a %s vote (%s) on an answer", value, outcome)
    key = {"new": f"vote_{value}", "changed": "vote_changed", "same": "vote_same"}[outcome]
    await query.answer(t_text(key, result.lang))


async def summary_html(context: BotContext, lang: str) -> str:
    """The /feedback report for admins, as Telegram HTML within one message."""
    store = context.state.feedback
    if store is None:
        return t("feedback_off", lang)
    text = format_report(report(await asyncio.to_thread(store.votes), store.retention_days))
    while utf16_len(t("feedback_report", lang, report=text)) > TELEGRAM_LIMIT:
        text = text[: len(text) * 9 // 10].rsplit("\n", 1)[0] + "\n…"
    return t("feedback_report", lang, report=text)

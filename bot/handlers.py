"""The bot's handlers: thin, typed, one per command or kind of update.

They read the update, call the library through ``context.library`` (off the event loop) and
reply with text from bot/strings.py rendered by bot/render.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import urlsplit

from telegram import Update
from telegram.error import NetworkError, TimedOut
from telegram.ext import ApplicationHandlerStop

from bot import answering
from bot import feedback as votes
from bot import inline as inline_mode
from bot.answering import example_for, lang_of
from bot.questions import normalise, question_text
from bot.render import count_documents, render_about_html, render_sources_html, render_stats_html, source_counts
from bot.state import BotContext
from bot.strings import DEFAULT_LANG, t, t_text
from index.errors import UserFacingError

logger = logging.getLogger(__name__)

PUBLIC_COMMANDS = ("start", "help", "ask", "sources", "about")
ADMIN_COMMANDS = ("reload", "stats", "add", "feedback", "feeds")  # /feeds: bot/feeds.py


async def _reply(update: Update, html: str) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(html)


async def start(update: Update, context: BotContext) -> None:
    """Say what the bot knows, with one example question."""
    stats, lang = context.state.stats, lang_of(update)
    assert stats is not None, "post_init caches the stats"
    if update.effective_chat and update.effective_user:  # a fresh start: no follow-ups on older questions
        context.state.conversations.forget(update.effective_chat.id, update.effective_user.id)
    documents = count_documents(stats.documents, lang)
    sources = source_counts(stats, lang)
    text = t("start", lang, documents=documents, sources=sources, example=example_for(context, lang))
    if lang != DEFAULT_LANG and not context.library.multilingual:
        text += "\n\n" + t("start_english_only", lang)
    await _reply(update, text)


async def help_command(update: Update, context: BotContext) -> None:
    """Explain how to ask, the filters and the commands."""
    lang = lang_of(update)
    names = PUBLIC_COMMANDS + (ADMIN_COMMANDS if context.state.is_admin(_user_id(update)) else ())
    commands = "\n".join(f"/{name} — {t_text('cmd_' + name, lang)}" for name in names)
    await _reply(update, t("help", lang, commands=commands))


async def ask(update: Update, context: BotContext) -> None:
    """/ask QUESTION: answer it; /ask alone explains how."""
    assert update.effective_message is not None
    raw = question_text(update.effective_message)
    if not normalise(raw):
        lang = lang_of(update)
        await _reply(update, t("ask_usage", lang, example=example_for(context, lang)))
        return
    await answering.answer_question(update, context, raw)


async def question(update: Update, context: BotContext) -> None:
    """A text message that is a question: any in private chats, addressed ones in groups."""
    assert update.effective_message is not None
    await answering.answer_question(update, context, question_text(update.effective_message))


async def button(update: Update, context: BotContext) -> None:
    """An inline button: "More" or "full text"."""
    await answering.press(update, context)


async def inline(update: Update, context: BotContext) -> None:
    """An inline query (@bot question in any chat): passages to send."""
    await inline_mode.answer_inline(update, context)


async def sources(update: Update, context: BotContext) -> None:
    """/sources: what the corpus holds."""
    assert context.state.stats is not None
    await _reply(update, render_sources_html(context.state.stats, lang=lang_of(update)))


async def about(update: Update, context: BotContext) -> None:
    """/about: the model, the index size and the licences of the sources."""
    assert context.state.stats is not None
    await _reply(update, render_about_html(context.state.stats, lang=lang_of(update)))


def _user_id(update: Update) -> int | None:
    return update.effective_user.id if update.effective_user else None


async def _admin(update: Update, context: BotContext, command: str) -> bool:
    """True for admins; everyone else gets a polite refusal (logged by user id only)."""
    if context.state.is_admin(_user_id(update)):
        return True
    logger.warning("refused /%s for non-admin user %s", command, _user_id(update))
    await _reply(update, t("admin_only", lang_of(update)))
    return False


async def reload(update: Update, context: BotContext) -> None:
    """/reload (admins): re-open the index from disk if it changed."""
    if not await _admin(update, context, "reload"):
        return
    lang = lang_of(update)
    try:
        switched = await asyncio.to_thread(context.library.reload)
        context.state.stats = await asyncio.to_thread(context.library.stats)
    except UserFacingError as exc:
        logger.error("admin %s asked for a reload, which failed: %s", _user_id(update), exc)
        await _reply(update, t("reload_failed", lang, message=exc))
        return
    context.state.failed_generation = None
    logger.info("admin %s reloaded the index: %s", _user_id(update), "switched" if switched else "unchanged")
    await _reply(update, t("reload_done" if switched else "reload_same", lang))


async def stats(update: Update, context: BotContext) -> None:
    """/stats (admins): the index summary and the bot's counters."""
    if not await _admin(update, context, "stats"):
        return
    state, lang = context.state, lang_of(update)
    assert state.stats is not None
    uptime = int(time.monotonic() - state.started)
    runtime = t(
        "runtime",
        lang,
        uptime=t_text("uptime", lang, hours=uptime // 3600, minutes=uptime % 3600 // 60),
        questions=state.questions,
        errors=state.errors,
        results=len(state.results),
    )
    await _reply(update, runtime + "\n\n" + render_stats_html(state.stats, lang=lang, limit=4096 - 300))


async def add(update: Update, context: BotContext) -> None:
    """/add URL (admins): fetch an article into the corpus and index it (``index.ingest.add_url``)."""
    if not await _admin(update, context, "add"):
        return
    lang, url = lang_of(update), " ".join(context.args or [])
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        await _reply(update, t("add_usage", lang))
        return
    from index.ingest import add_url  # fetching and indexing code loads only for admins who add

    assert update.effective_message is not None
    try:
        async with answering.typing(update.effective_message):
            # add_url fetches, indexes and reloads the library itself; it blocks, hence the thread.
            result = await asyncio.to_thread(add_url, context.library, url, settings=context.settings)
        context.state.stats = await asyncio.to_thread(context.library.stats)
    except UserFacingError as exc:
        await _reply(update, t("message", lang, message=exc))
        return
    logger.info("admin %s added a URL (ok=%s)", _user_id(update), result.ok)
    await _reply(update, t("message", lang, message=result.line()))


async def feedback(update: Update, context: BotContext) -> None:
    """/feedback (admins): how users rated answers, the most 👎 first."""
    if await _admin(update, context, "feedback"):
        await _reply(update, await votes.summary_html(context, lang_of(update)))


async def not_text(update: Update, context: BotContext) -> None:
    """Stickers, photos, voice, files, locations in a private chat: explain we read text only."""
    lang = lang_of(update)
    await _reply(update, t("not_text", lang, example=example_for(context, lang)))


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command we don't have, in a private chat."""
    await _reply(update, t("unknown_command", lang_of(update)))


async def gate(update: Update, context: BotContext) -> None:
    """Runs before every handler: outside STEPPE_ALLOWED_CHATS, say the bot is private and stop."""
    chat = update.effective_chat
    private = chat is not None and chat.type == chat.PRIVATE
    if context.state.allows(chat.id if chat else None, _user_id(update), private):
        return
    await answering.refuse_chat(update, context)
    raise ApplicationHandlerStop


async def error(update: object, context: BotContext) -> None:
    """Log the exception with the update id, then apologise once; the bot keeps serving."""
    if update is None and isinstance(context.error, NetworkError):  # polling hiccup; PTB retries
        logger.warning("network problem while fetching updates: %s", context.error)
        return
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(context.error, TimedOut):
        # Telegram took too long to confirm a reply it has most likely sent: an apology would
        # be a second message (and would probably time out too).
        logger.warning("Telegram did not confirm in time while handling update %s: %s", update_id, context.error)
        return
    logger.error("Exception while handling update %s", update_id, exc_info=context.error)
    context.state.errors += 1
    await answering.apologise(update)

"""Watched feeds in the bot: the job queue polls them, admins manage them with /feeds.

The polling itself is index/feeds.py (the same code as `steppe corpus watch`); this module only
schedules it on PTB's JobQueue (every STEPPE_FEED_CHECK_SECONDS, for the feeds that are due),
switches the bot to the new index generation when a poll added passages, and answers /feeds:

    /feeds                      each feed with its state (failures and their reasons included)
    /feeds add URL [name]       check that URL is a feed and watch it
    /feeds remove N|URL         stop watching it (its articles stay)
    /feeds pause N|URL          stop polling it for now; /feeds resume N|URL starts again
    /feeds check [N|URL]        poll now, due or not
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from telegram import Update
from telegram.ext import Application, JobQueue

from bot.answering import lang_of
from bot.state import BotContext, BotState
from bot.strings import t
from index.errors import UserFacingError

if TYPE_CHECKING:
    from index.feeds import Round

logger = logging.getLogger(__name__)

JOB_NAME = "feeds"
CHECK_WAIT = 300.0  # seconds /feeds check waits for a poll the job queue is running
MESSAGE_LIMIT = 4000  # characters of a /feeds reply (Telegram's limit is 4,096)


async def start(app: Application) -> None:
    """Make the bot's feed watcher (with its library's model) and schedule polls if feeds are configured."""
    from index.feeds import FeedWatcher  # fetching and indexing code: loaded once the bot is up

    state: BotState = app.bot_data
    assert state.settings is not None and state.library is not None
    state.feeds = FeedWatcher(state.settings, index_dir=state.library.index_dir, embedder=state.library.embedder)
    if state.feeds.feeds_file.is_file():
        schedule(app.job_queue, state)


def schedule(job_queue: JobQueue | None, state: BotState) -> None:
    """Poll the due feeds every STEPPE_FEED_CHECK_SECONDS, once (a second call does nothing)."""
    if job_queue is None:
        logger.warning("feeds are configured but PTB's job queue is missing: install python-telegram-bot[job-queue]")
        return
    if job_queue.get_jobs_by_name(JOB_NAME):
        return
    assert state.settings is not None
    every = state.settings.feed_check_seconds
    job_queue.run_repeating(poll_job, interval=every, first=min(every, 5.0), name=JOB_NAME)
    logger.info("watching the feeds in %s (a look every %g s)", state.settings.feeds_file, every)


async def poll_job(context: BotContext) -> None:
    """One round of polls in a worker thread; never raises (the bot keeps answering whatever feeds do)."""
    watcher = context.state.feeds
    if watcher is None:
        return
    try:
        round_ = await asyncio.to_thread(watcher.poll)
    except UserFacingError as exc:  # a malformed feeds file: said in the log and in /feeds
        logger.error("feeds not polled: %s", exc)
        return
    except Exception:
        logger.exception("polling the feeds failed")
        return
    await _switch(context, round_)


async def _switch(context: BotContext, round_: Round) -> None:
    """After a round that indexed new passages, answer from the new generation at once."""
    if not round_.indexed:
        return
    try:
        await asyncio.to_thread(context.library.reload)
        context.state.stats = await asyncio.to_thread(context.library.stats)
        context.state.failed_generation = None
    except UserFacingError as exc:
        logger.error("feeds indexed new articles, but the bot could not switch to the new index: %s", exc)
    except Exception:
        logger.exception("feeds indexed new articles, but the bot could not switch to the new index")


async def command(update: Update, context: BotContext) -> None:
    """/feeds (admins): list the watched feeds, or add, remove, pause, resume or check one."""
    assert update.effective_message is not None
    user = update.effective_user.id if update.effective_user else None
    lang = lang_of(update)
    if not context.state.is_admin(user):
        logger.warning("refused /feeds for non-admin user %s", user)
        await update.effective_message.reply_text(t("admin_only", lang))
        return
    watcher = context.state.feeds
    assert watcher is not None, "feeds.start makes the watcher"
    args = list(context.args or [])
    action = args.pop(0).lower() if args else "list"
    try:
        if action == "list":
            text = "\n\n".join(await asyncio.to_thread(watcher.status)) or t("feeds_none", lang)
        elif action == "add" and args:
            text = await asyncio.to_thread(watcher.add, args[0], " ".join(args[1:]) or None)
            schedule(context.job_queue, context.state)
        elif action == "remove" and len(args) == 1:
            text = await asyncio.to_thread(watcher.remove, args[0])
        elif action in ("pause", "resume") and len(args) == 1:
            text = await asyncio.to_thread(watcher.pause, args[0], action == "pause")
        elif action == "check" and len(args) <= 1:
            only = args[0] if args else None
            round_ = await asyncio.to_thread(watcher.poll, force=True, only=only, wait=CHECK_WAIT)
            await _switch(context, round_)
            text = "\n".join(round_.lines())
        else:
            await update.effective_message.reply_text(t("feeds_usage", lang))
            return
    except UserFacingError as exc:
        text = str(exc)
    logger.info("admin %s: /feeds %s", user, action)
    if len(text) > MESSAGE_LIMIT:
        text = text[: MESSAGE_LIMIT - 1] + "…"
    await update.effective_message.reply_text(t("message", lang, message=text))

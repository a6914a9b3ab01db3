"""Build the Telegram application (every handler in one block) and run it by polling or webhook.

``main_bot`` is `steppe bot`: settings from the environment, the index opened once, then run.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from telegram import BotCommand, BotCommandScopeChat, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import feeds
from bot import handlers as h
from bot.conversation import Conversations
from bot.inline import InlineCache
from bot.logs import install_token_redaction, redact, setup_logging
from bot.questions import AddressedToBot
from bot.settings import BotSettings
from bot.state import BotContext, BotState, FloodGate
from bot.strings import STRINGS, t_text
from index.errors import UserFacingError

if TYPE_CHECKING:
    from index.service import AnswerService

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member", "inline_query"]  # edited messages are ignored
BOT_API_CONNECTIONS = 8  # pooled connections to the Bot API (build_application says why so few)
BOT_API_POOL_TIMEOUT = 30.0  # seconds a request may wait for a free connection


class PatientRateLimiter(AIORateLimiter):
    """AIORateLimiter (flood limits, retry after RetryAfter) that also retries transient failures.

    A 5xx answer, a dropped connection (a plain NetworkError, not BadRequest) or a timeout
    before the request was sent (connecting, or waiting for a free connection) is retried
    after a short back-off. A dropped connection after Telegram acted could in principle
    duplicate a message; a lost reply is the worse failure. A timeout waiting for the answer
    is not retried: Telegram has most likely acted, and a retry would send the reply twice.
    Chat actions are not retried: a late "typing…" would only hold up the answer it announces.
    Nor do they wait in the flood limiter's queue: Telegram's limit of about 30 a second is for
    messages, and a "typing…" counted as one halved the answers a busy bot could send (15 a
    second with 50 users, bench/bot_load.py). A chat action Telegram refuses is only logged.
    """

    NO_RETRY = frozenset({"sendChatAction"})

    def __init__(self, network_retries: int = 3, backoff: float = 0.3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.network_retries, self.backoff = network_retries, backoff

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Run the request through AIORateLimiter, retrying plain network errors; chat actions go straight out."""
        if endpoint in self.NO_RETRY:
            return await callback(*args, **kwargs)
        for attempt in range(self.network_retries + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except NetworkError as exc:
                if not _unsent(exc) or attempt == self.network_retries:
                    raise
                logger.info("Telegram %s failed (%s); retrying", endpoint, exc)
                await asyncio.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")


def _unsent(exc: NetworkError) -> bool:
    """True for failures after which a retry cannot duplicate: 5xx, dropped, or never sent."""
    if type(exc) is NetworkError:
        return True
    return isinstance(exc, TimedOut) and isinstance(exc.__cause__, (httpx.ConnectTimeout, httpx.PoolTimeout))


def bot_commands(lang: str, admin: bool = False) -> list[BotCommand]:
    """The command menu Telegram shows, in ``lang``."""
    names = h.PUBLIC_COMMANDS + (h.ADMIN_COMMANDS if admin else ())
    return [BotCommand(name, t_text(f"cmd_{name}", lang)) for name in names]


async def post_init(app: Application) -> None:
    """Open the index and model once (unless given), cache its stats, register the command menus."""
    state: BotState = app.bot_data
    assert state.settings is not None
    if state.library is None:
        from index.service import Library  # the heavy model import happens once, here

        settings = state.settings
        state.library = await asyncio.to_thread(
            lambda: Library.open(settings.index_dir, settings.model, microbatch=settings.microbatch, settings=settings)
        )
    state.stats = await asyncio.to_thread(state.library.stats)
    if state.settings.feedback_days > 0 and state.feedback is None:
        from index.feedback import open_store

        try:
            state.feedback = await asyncio.to_thread(open_store, state.settings)
        except UserFacingError as exc:  # answering matters more than votes: serve without the buttons
            logger.error("feedback is off: %s", exc)
    for lang in STRINGS:
        code = None if lang == "en" else lang
        await app.bot.set_my_commands(bot_commands(lang), language_code=code)
    for admin_id in state.settings.admin_ids:
        try:
            for lang in STRINGS:
                code = None if lang == "en" else lang
                scope = BotCommandScopeChat(admin_id)
                await app.bot.set_my_commands(bot_commands(lang, admin=True), scope=scope, language_code=code)
        except TelegramError as exc:  # the admin has not started a chat with the bot yet
            logger.info("no admin command menu for user %s: %s", admin_id, exc)
    await feeds.start(app)
    logger.info("ready: %s documents, %s chunks", state.stats.documents, state.stats.chunks)


async def post_shutdown(app: Application) -> None:
    """Close the feedback store."""
    state: BotState = app.bot_data
    if state.feedback is not None:
        state.feedback.close()
        state.feedback = None


def build_application(settings: BotSettings, library: AnswerService | None = None) -> Application:
    """The bot with every handler registered; ``library`` is opened in post_init if not given."""
    install_token_redaction(settings.token)
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .context_types(ContextTypes(context=BotContext, bot_data=BotState))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                do_quote=True,
                allow_sending_without_reply=True,
            )
        )
        .rate_limiter(PatientRateLimiter(max_retries=3))
        # httpcore checks every pooled connection on each request: PTB's default of 256 cost the
        # event loop ~20 ms an answer under load (bench, section bot). Telegram takes ~30 messages a
        # second, so a few connections carry them; a request waits for a free one up to pool_timeout.
        .connection_pool_size(BOT_API_CONNECTIONS)
        .pool_timeout(BOT_API_POOL_TIMEOUT)
        .concurrent_updates(True)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if settings.base_url:
        builder = builder.base_url(settings.base_url)
    app = builder.build()
    state: BotState = app.bot_data
    state.settings, state.library = settings, library
    state.flood = FloodGate(settings.rate_limit)
    state.conversations = Conversations(ttl=settings.followup_seconds)
    state.inline = InlineCache(ttl=settings.inline_cache_seconds)

    message = filters.UpdateType.MESSAGE  # new messages only: edits are not re-answered
    private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    app.add_handler(TypeHandler(Update, h.gate), group=-1)
    app.add_handlers(
        [
            CommandHandler("start", h.start, filters=message),
            CommandHandler("help", h.help_command, filters=message),
            CommandHandler("ask", h.ask, filters=message),
            CommandHandler("sources", h.sources, filters=message),
            CommandHandler("about", h.about, filters=message),
            CommandHandler("reload", h.reload, filters=message),
            CommandHandler("stats", h.stats, filters=message),
            CommandHandler("add", h.add, filters=message),
            CommandHandler("feedback", h.feedback, filters=message),
            CommandHandler("feeds", feeds.command, filters=message),
            CallbackQueryHandler(h.button),
            InlineQueryHandler(h.inline),
            MessageHandler(message & private & filters.TEXT & ~filters.COMMAND, h.question),
            MessageHandler(message & groups & filters.TEXT & ~filters.COMMAND & AddressedToBot(), h.question),
            MessageHandler(message & private & filters.COMMAND, h.unknown_command),
            MessageHandler(message & private & ~filters.TEXT & ~filters.StatusUpdate.ALL, h.not_text),
        ]
    )
    app.add_error_handler(h.error)
    return app


def webhook_kwargs(settings: BotSettings) -> dict[str, Any]:
    """Arguments for ``run_webhook``/``start_webhook``: serve the URL's path, check the secret."""
    assert settings.webhook_url is not None
    host, port = settings.webhook_listen
    return {
        "listen": host,
        "port": port,
        "url_path": urlsplit(settings.webhook_url).path.lstrip("/"),
        "webhook_url": settings.webhook_url,
        "secret_token": settings.webhook_secret,  # PTB answers 403 to requests without it
        "allowed_updates": ALLOWED_UPDATES,
    }


def run_bot(settings: BotSettings, library: AnswerService | None = None) -> None:
    """Run until interrupted: long polling, or a webhook server when STEPPE_WEBHOOK_URL is set."""
    app = build_application(settings, library)
    if settings.webhook_url:
        logger.info("serving a webhook on %s:%s", *settings.webhook_listen)
        app.run_webhook(**webhook_kwargs(settings))
    else:
        logger.info("polling for updates")
        app.run_polling(allowed_updates=ALLOWED_UPDATES)


def main_bot(environ: Mapping[str, str] | None = None) -> int:
    """`steppe bot`: settings or index problems print a message and return their exit code (2).

    ``environ`` is the environment the CLI has read already (None: read it here).
    """
    try:
        settings = BotSettings.from_env(environ, env_file=None if environ is not None else Path(".env"))
    except UserFacingError as exc:
        print(f"steppe bot: {exc}", file=sys.stderr)
        return exc.exit_code
    setup_logging(settings.log_level, settings.token)
    try:
        from index.service import Library  # loads the embedding stack: only once settings are fine

        library = Library.open(
            settings.index_dir, model=settings.model, microbatch=settings.microbatch, settings=settings
        )
    except UserFacingError as exc:
        print(f"steppe bot: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        run_bot(settings, library)
    except InvalidToken:  # PTB's message quotes the token: never print it
        print(
            "steppe bot: Telegram rejected TELEGRAM_BOT_TOKEN (revoked or mistyped). Copy it again from @BotFather.",
            file=sys.stderr,
        )
        return 2
    except TelegramError as exc:  # the Bot API cannot be reached at start; a supervisor may retry
        print(f"steppe bot: cannot reach the Telegram Bot API: {redact(str(exc))}", file=sys.stderr)
        return 1
    return 0

"""The bot's settings: the library's (index.config.Settings) plus the Telegram-specific ones.

Read once, at start, from the environment and an optional .env file (index.config reads both);
the token and the webhook secret never appear in ``repr`` or in messages.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from index.config import Settings, SettingsError, read_environment, seconds, whole_number

TOKEN_RE = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{30,100}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
OFFICIAL_API_HOST = "api.telegram.org"
OFFICIAL_WEBHOOK_PORTS = (443, 80, 88, 8443)  # the only ports Telegram's own servers call


@dataclass(frozen=True, kw_only=True)
class BotSettings(Settings):
    """Everything the bot reads from its environment. Secrets are kept out of ``repr``."""

    token: str = field(repr=False)
    base_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_listen: tuple[str, int] = ("127.0.0.1", 8443)
    admin_ids: frozenset[int] = frozenset()
    allowed_chats: frozenset[int] | None = None
    log_level: str = "INFO"
    rate_limit: int = 10  # questions per minute per user; 0 turns the limit off
    max_question_chars: int = 1000
    reload_interval: float = 5.0  # seconds between looks for a newer index generation; 0: never
    followup_seconds: int = 300  # a message this soon after a question may be read as its follow-up; 0: never
    inline_cache_seconds: int = 300  # how long inline results are kept (by us and by Telegram)
    feed_check_seconds: float = 60.0  # STEPPE_FEED_CHECK_SECONDS: how often the job queue looks for due feeds

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> BotSettings:
        """Read settings from ``environ`` (default ``os.environ``), falling back to ``env_file``.

        Real environment variables win over the file. Raises SettingsError (exit code 2).
        """
        env = read_environment(environ, env_file)
        base_url = _base_url(env.get("STEPPE_BASE_URL"))
        webhook_url = _webhook_url(env.get("STEPPE_WEBHOOK_URL"), official=is_official_api(base_url))
        secret = env.get("STEPPE_WEBHOOK_SECRET")
        if secret is not None and not SECRET_RE.match(secret):
            raise SettingsError("STEPPE_WEBHOOK_SECRET may hold only letters, digits, '_' and '-' (1 to 256 of them).")
        if webhook_url and secret is None:
            # Telegram echoes the secret in a header; a random one still keeps strangers out.
            secret = secrets.token_urlsafe(32)
        return cls(
            token=_token(env.get("TELEGRAM_BOT_TOKEN")),
            base_url=base_url,
            webhook_url=webhook_url,
            webhook_secret=secret,
            webhook_listen=_listen(env.get("STEPPE_WEBHOOK_LISTEN")),
            admin_ids=_ids("STEPPE_ADMIN_IDS", env.get("STEPPE_ADMIN_IDS")) or frozenset(),
            allowed_chats=_ids("STEPPE_ALLOWED_CHATS", env.get("STEPPE_ALLOWED_CHATS")),
            log_level=_log_level(env.get("STEPPE_LOG_LEVEL")),
            rate_limit=whole_number("STEPPE_RATE_LIMIT", env.get("STEPPE_RATE_LIMIT"), 10, minimum=0),
            max_question_chars=whole_number("STEPPE_MAX_QUESTION", env.get("STEPPE_MAX_QUESTION"), 1000, minimum=20),
            reload_interval=seconds("STEPPE_RELOAD_SECONDS", env.get("STEPPE_RELOAD_SECONDS"), 5.0),
            followup_seconds=whole_number(
                "STEPPE_FOLLOWUP_SECONDS", env.get("STEPPE_FOLLOWUP_SECONDS"), 300, maximum=86400
            ),
            inline_cache_seconds=whole_number(
                "STEPPE_INLINE_CACHE_SECONDS", env.get("STEPPE_INLINE_CACHE_SECONDS"), 300, maximum=86400
            ),
            feed_check_seconds=seconds("STEPPE_FEED_CHECK_SECONDS", env.get("STEPPE_FEED_CHECK_SECONDS"), 60.0) or 60.0,
            **Settings.values(env),
        )


def _token(value: str | None) -> str:
    if value is None:
        raise SettingsError(
            "TELEGRAM_BOT_TOKEN is not set. Get a token from @BotFather and put it in the "
            "environment or in a .env file."
        )
    if not TOKEN_RE.match(value):
        raise SettingsError(
            "TELEGRAM_BOT_TOKEN does not look like a bot token (digits, a colon, then at least "
            "30 letters, digits, '_' or '-'). Copy it again from @BotFather."
        )
    return value


def _base_url(value: str | None) -> str | None:
    if value is not None and urlsplit(value).scheme not in ("http", "https"):
        raise SettingsError("STEPPE_BASE_URL must be an http:// or https:// URL, e.g. http://127.0.0.1:8081/bot")
    return value


def is_official_api(base_url: str | None) -> bool:
    """True when the bot talks to Telegram's own Bot API (no STEPPE_BASE_URL, or one on api.telegram.org)."""
    return base_url is None or (urlsplit(base_url).hostname or "").lower().rstrip(".") == OFFICIAL_API_HOST


def _webhook_url(value: str | None, *, official: bool) -> str | None:
    """The webhook URL: https:// on one of Telegram's ports for the official Bot API; a
    self-hosted Bot API server (local mode) also calls http:// webhooks on any port."""
    if value is None:
        return None
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise SettingsError(
            "STEPPE_WEBHOOK_URL must be an http:// or https:// URL with a host, e.g. https://bot.example.org/hook"
        )
    if official and parts.scheme != "https":
        raise SettingsError(
            "STEPPE_WEBHOOK_URL must be an https:// URL (Telegram only calls HTTPS webhooks; "
            "a self-hosted Bot API server named by STEPPE_BASE_URL also calls http:// ones)."
        )
    if official and port is not None and port not in OFFICIAL_WEBHOOK_PORTS:
        ports = ", ".join(map(str, OFFICIAL_WEBHOOK_PORTS))
        raise SettingsError(f"STEPPE_WEBHOOK_URL's port must be one of {ports} (Telegram calls no others; got {port}).")
    return value


def _listen(value: str | None) -> tuple[str, int]:
    if value is None:
        return ("127.0.0.1", 8443)
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"STEPPE_WEBHOOK_LISTEN must be host:port, e.g. 0.0.0.0:8443 (got {value!r}).")
    return (host, int(port))


def _ids(name: str, value: str | None) -> frozenset[int] | None:
    if value is None:
        return None
    try:
        return frozenset(int(part) for part in value.replace(" ", "").split(",") if part)
    except ValueError:
        raise SettingsError(f"{name} must be comma-separated numeric ids, e.g. 12345,-100987654321.") from None


def _log_level(value: str | None) -> str:
    level = (value or "INFO").upper()
    if level not in LOG_LEVELS:
        raise SettingsError(f"STEPPE_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)} (got {value!r}).")
    return level

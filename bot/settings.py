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

from index.config import Settings, SettingsError, read_environment, whole_number

TOKEN_RE = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{30,100}$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> BotSettings:
        """Read settings from ``environ`` (default ``os.environ``), falling back to ``env_file``.

        Real environment variables win over the file. Raises SettingsError (exit code 2).
        """
        env = read_environment(environ, env_file)
        webhook_url = _webhook_url(env.get("STEPPE_WEBHOOK_URL"))
        secret = env.get("STEPPE_WEBHOOK_SECRET")
        if secret is not None and not SECRET_RE.match(secret):
            raise SettingsError("STEPPE_WEBHOOK_SECRET may hold only letters, digits, '_' and '-' (1 to 256 of them).")
        if webhook_url and secret is None:
            # Telegram echoes the secret in a header; a random one still keeps strangers out.
            secret = secrets.token_urlsafe(32)
        return cls(
            token=_token(env.get("TELEGRAM_BOT_TOKEN")),
            base_url=_base_url(env.get("STEPPE_BASE_URL")),
            webhook_url=webhook_url,
            webhook_secret=secret,
            webhook_listen=_listen(env.get("STEPPE_WEBHOOK_LISTEN")),
            admin_ids=_ids("STEPPE_ADMIN_IDS", env.get("STEPPE_ADMIN_IDS")) or frozenset(),
            allowed_chats=_ids("STEPPE_ALLOWED_CHATS", env.get("STEPPE_ALLOWED_CHATS")),
            log_level=_log_level(env.get("STEPPE_LOG_LEVEL")),
            rate_limit=_int("STEPPE_RATE_LIMIT", env.get("STEPPE_RATE_LIMIT"), 10, minimum=0),
            max_question_chars=_int("STEPPE_MAX_QUESTION", env.get("STEPPE_MAX_QUESTION"), 1000, minimum=20),
            reload_interval=_seconds("STEPPE_RELOAD_SECONDS", env.get("STEPPE_RELOAD_SECONDS"), 5.0),
            followup_seconds=whole_number(
                "STEPPE_FOLLOWUP_SECONDS", env.get("STEPPE_FOLLOWUP_SECONDS"), 300, maximum=86400
            ),
            inline_cache_seconds=whole_number(
                "STEPPE_INLINE_CACHE_SECONDS", env.get("STEPPE_INLINE_CACHE_SECONDS"), 300, maximum=86400
            ),
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


def _webhook_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        raise SettingsError("STEPPE_WEBHOOK_URL must be an https:// URL (Telegram only calls HTTPS webhooks).")
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


def _int(name: str, value: str | None, default: int, *, minimum: int) -> int:
    if value is None:
        return default
    if not value.isdigit() or int(value) < minimum:
        raise SettingsError(f"{name} must be a whole number of at least {minimum} (got {value!r}).")
    return int(value)


def _seconds(name: str, value: str | None, default: float) -> float:
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < 86400:  # also rejects nan and inf
        raise SettingsError(f"{name} must be a number of seconds from 0 to 86399, e.g. 5 or 0.5 (got {value!r}).")
    return seconds

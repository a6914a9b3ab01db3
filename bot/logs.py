"""Logging for the bot, with the bot token redacted from every record.

httpx logs request URLs, and Bot API URLs contain the token (``.../bot<token>/getMe``). The
redaction runs when a record is created (a record factory applying ``RedactToken``), so it
covers every handler, including ones added later such as pytest's caplog.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from typing import IO, Any

TOKEN_PATTERN = re.compile(r"bot\d+:[A-Za-z0-9_-]+")
REDACTED = "bot<redacted>"
BARE_TOKEN = re.compile(r"(?<![\w-])\d{1,20}:[A-Za-z0-9_-]{30,100}(?![\w-])")  # a token outside a URL

_tokens: set[str] = set()
_lock = threading.Lock()
_installed = False


def redact(text: str) -> str:
    """``text`` with every bot token (known or ``bot<digits>:<secret>``-shaped) replaced."""
    text = BARE_TOKEN.sub("<redacted>", TOKEN_PATTERN.sub(REDACTED, text))
    for token in _tokens:
        text = text.replace(token, "<redacted>")
    return text


class RedactToken(logging.Filter):
    """Rewrites a record's message, traceback and stack so no bot token survives."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place; never drops the record."""
        try:
            message = record.getMessage()
        except Exception:  # a badly formatted record must still be logged, not lost
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_token_redaction(token: str | None = None) -> None:
    """Redact ``token`` (and anything token-shaped) from all log records from now on."""
    global _installed
    with _lock:
        if token:
            _tokens.add(token)
        if _installed:
            return
        previous = logging.getLogRecordFactory()
        redactor = RedactToken()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            redactor.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


def setup_logging(level: str, token: str | None = None, stream: IO[str] | None = None) -> None:
    """Log to stderr at ``level``, tokens redacted; httpx/httpcore (URLs hold the token) and faiss quiet."""
    install_token_redaction(token)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "faiss.loader"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

"""Helpers for end-to-end bot tests: users, the bot running in a thread, and reply checks.

Test modules import these (``from botkit import ...``) next to ``fakebotapi`` and ``fakelib``.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from fakebotapi import FakeBotAPI, parse_telegram_html

from bot.app import ALLOWED_UPDATES, build_application, webhook_kwargs
from bot.settings import BotSettings

TOKEN = "123456789:AAHfakeTOKENforTests_abcdefghijklmn"
ALICE = {"id": 1001, "is_bot": False, "first_name": "Alice", "language_code": "en"}
BORIS = {"id": 1002, "is_bot": False, "first_name": "Boris", "language_code": "ru"}
CAROL = {"id": 1003, "is_bot": False, "first_name": "Carol"}
ADMIN = {"id": 42, "is_bot": False, "first_name": "Admin", "language_code": "en"}
QUESTION = "Why does Russia keep a military base in Tajikistan?"


class BotRunner:
    """The application running in a thread with its own event loop, started like run_polling does.

    ``polling=False`` starts everything but the updater: tests then hand updates to
    ``app.process_update`` themselves (through ``call``).
    """

    def __init__(self, settings: BotSettings, library: Any, poll_timeout: int = 5) -> None:
        self.settings, self.library, self.poll_timeout = settings, library, poll_timeout
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="bot-loop", daemon=True)
        self.app: Any = None

    def call(self, coro: Any, timeout: float = 15) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, webhook: bool = False, polling: bool = True) -> BotRunner:
        self.thread.start()
        self.call(self._start(webhook, polling))
        return self

    async def _start(self, webhook: bool, polling: bool) -> None:
        self.app = build_application(self.settings, self.library)
        await self.app.initialize()
        await self.app.post_init(self.app)
        if webhook:
            await self.app.updater.start_webhook(**webhook_kwargs(self.settings))
        elif polling:
            await self.app.updater.start_polling(
                timeout=self.poll_timeout, poll_interval=0, allowed_updates=ALLOWED_UPDATES
            )
        await self.app.start()

    async def _stop(self) -> None:
        if self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    def stop(self, timeout: float = 15) -> None:
        if not self.thread.is_alive():
            return
        self.call(self._stop(), timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def settings_for(api: FakeBotAPI, **env: str) -> BotSettings:
    """Settings for a bot talking to ``api``; votes go to a fresh temporary folder unless ``env`` says."""
    base = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "STEPPE_BASE_URL": api.base_url,
        "STEPPE_ADMIN_IDS": "42",
        "STEPPE_STATE_DIR": tempfile.mkdtemp(prefix="steppe-state-"),
    }
    # The test's own feeds file (conftest.py; none for module-wide bots), never the project's.
    base["STEPPE_FEEDS"] = os.environ.get("STEPPE_FEEDS") or str(Path(__file__).with_name("no-feeds.toml"))
    return BotSettings.from_env({**base, **env}, env_file=None)


def reply_to(api: FakeBotAPI, message: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
    """The one reply to ``message`` (waits for it, then checks no second one follows)."""
    api.wait_for_reply(message, timeout=timeout)
    time.sleep(0.05)
    replies = api.replies_to(message)
    assert len(replies) == 1, f"expected exactly one reply, got {len(replies)}"
    return replies[0].params


def visible(params: dict[str, Any]) -> str:
    text, _ = parse_telegram_html(params["text"])
    return text


def buttons(params: dict[str, Any]) -> list[str]:
    rows = (params.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["callback_data"] for row in rows for button in row]


def button_labels(params: dict[str, Any]) -> list[str]:
    rows = (params.get("reply_markup") or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


def assert_ignored(api: FakeBotAPI, message: dict[str, Any], update_id: int, user: dict[str, Any]) -> None:
    """The update was fetched and produced no message in its chat (checked with a later /ask)."""
    chat = message["chat"]
    before = len(api.calls("sendMessage", chat_id=chat["id"]))
    api.wait_until_delivered(update_id)
    probe = api.send(chat, user, f"/ask {QUESTION}")
    reply_to(api, probe)
    assert len(api.calls("sendMessage", chat_id=chat["id"])) == before + 1
    assert api.replies_to(message) == []


def ask(api: FakeBotAPI, text: str, user: dict[str, Any] = ALICE) -> dict[str, Any]:
    return api.send(api.private_chat(user), user, text)

"""How steppe runs beside other software: webhooks behind a self-hosted Bot API server."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from botkit import ALICE, QUESTION, TOKEN, BotRunner, reply_to, settings_for
from fakebotapi import FakeBotAPI
from fakelib import FakeLibrary, Recorder

from bot.settings import BotSettings, SettingsError


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    with FakeBotAPI(TOKEN) as server:
        yield server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_self_hosted_bot_api_delivers_http_webhooks_on_any_port(api: FakeBotAPI) -> None:
    """STEPPE_BASE_URL names a local server (telegram-bot-api --local): a plain http:// webhook
    on an unusual port is accepted, registered, and the question it delivers is answered."""
    port = _free_port()
    hook = f"http://127.0.0.1:{port}/steppe/hook"
    settings = settings_for(api, STEPPE_WEBHOOK_URL=hook, STEPPE_WEBHOOK_LISTEN=f"127.0.0.1:{port}")
    runner = BotRunner(settings, Recorder(FakeLibrary())).start(webhook=True)
    try:
        registered = api.calls("setWebhook")[0].params
        assert registered["url"] == hook and registered["secret_token"] == settings.webhook_secret
        message = api.send(api.private_chat(ALICE), ALICE, QUESTION)  # the server POSTs it to the hook
        assert "[1]" in reply_to(api, message)["text"]
        assert api.deliveries and all(status == 200 for _, status in api.deliveries)
        assert api.all_calls("getUpdates") == []  # answered through the webhook, not by polling
    finally:
        runner.stop()


@pytest.mark.parametrize(
    ("base_url", "hook", "error"),
    [
        (None, "http://bot.example.org/hook", "must be an https:// URL"),
        ("https://api.telegram.org/bot", "http://bot.example.org/hook", "must be an https:// URL"),
        (None, "https://bot.example.org:9000/hook", "port must be one of 443, 80, 88, 8443"),
        ("http://127.0.0.1:8081/bot", "ftp://bot.example.org/hook", "http:// or https://"),
    ],
)
def test_the_official_bot_api_still_refuses_plain_http_webhooks(base_url: str | None, hook: str, error: str) -> None:
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "STEPPE_WEBHOOK_URL": hook}
    if base_url:
        env["STEPPE_BASE_URL"] = base_url
    with pytest.raises(SettingsError, match=error):
        BotSettings.from_env(env, env_file=None)


@pytest.mark.parametrize("hook", ["http://10.0.0.5:8080/hook", "https://bot.example.org:9443/hook"])
def test_a_self_hosted_bot_api_accepts_any_webhook(hook: str) -> None:
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "STEPPE_BASE_URL": "http://127.0.0.1:8081/bot", "STEPPE_WEBHOOK_URL": hook}
    assert BotSettings.from_env(env, env_file=None).webhook_url == hook

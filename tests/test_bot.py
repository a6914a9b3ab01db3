"""End-to-end tests: the real Application, polling (or serving a webhook) against a fake Bot API.

The bot runs in its own thread and event loop (as in production: initialize, post_init,
start polling, start); tests feed updates to the fake server and check the recorded calls.
The answer layer is injected by the ``library`` fixture (a FakeLibrary by default; a real
small index works too: expectations are computed from the library itself, and the few
tests that need a particular kind of answer skip when the library does not give one).
"""

from __future__ import annotations

import io
import logging
import re
import socket
import sys
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botkit import (
    ADMIN,
    ALICE,
    BORIS,
    CAROL,
    QUESTION,
    TOKEN,
    BotRunner,
    ask,
    assert_ignored,
    buttons,
    reply_to,
    settings_for,
    visible,
)
from fakebotapi import FakeBotAPI, parse_telegram_html
from fakelib import Recorder
from telegram.ext import CommandHandler

from bot.app import main_bot, webhook_kwargs
from bot.handlers import ADMIN_COMMANDS, PUBLIC_COMMANDS
from bot.logs import setup_logging
from bot.render import citation_html, count_documents, merged_sources, paginate_html, preview, render_passage_html
from bot.settings import BotSettings, SettingsError
from bot.state import FloodGate, Result, ResultCache
from bot.strings import t_text
from index.errors import IndexNotFound
from index.models import Answer

# settings and the CLI entry


def test_settings_read_and_validated(tmp_path: Path) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "STEPPE_ADMIN_IDS": "42, 43",
        "STEPPE_ALLOWED_CHATS": "-100123,1001",
        "STEPPE_WEBHOOK_URL": "https://bot.example.test/steppe/hook",
        "STEPPE_WEBHOOK_LISTEN": "0.0.0.0:8443",
        "STEPPE_RATE_LIMIT": "5",
        "STEPPE_LOG_LEVEL": "debug",
        "STEPPE_MICROBATCH": "0",
    }
    settings = BotSettings.from_env(env, env_file=None)
    assert not settings.microbatch and BotSettings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN}, env_file=None).microbatch
    assert settings.admin_ids == {42, 43} and settings.allowed_chats == {-100123, 1001}
    assert settings.webhook_listen == ("0.0.0.0", 8443) and settings.rate_limit == 5
    assert settings.log_level == "DEBUG" and settings.webhook_secret  # generated when not given
    assert TOKEN not in repr(settings) and settings.webhook_secret not in repr(settings)
    assert webhook_kwargs(settings)["url_path"] == "steppe/hook"

    dotenv = tmp_path / ".env"
    dotenv.write_text(f"# comment\nexport TELEGRAM_BOT_TOKEN='{TOKEN}'\nSTEPPE_INDEX_DIR=/from/file\n")
    settings = BotSettings.from_env({"STEPPE_INDEX_DIR": "/from/env"}, env_file=dotenv)
    assert settings.token == TOKEN and settings.index_dir == Path("/from/env")


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({}, "TELEGRAM_BOT_TOKEN is not set"),
        ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "does not look like a bot token"),
        ({"TELEGRAM_BOT_TOKEN": "123:short"}, "does not look like a bot token"),
        ({"STEPPE_ADMIN_IDS": "alice"}, "STEPPE_ADMIN_IDS"),
        ({"STEPPE_RATE_LIMIT": "-1"}, "STEPPE_RATE_LIMIT"),
        ({"STEPPE_WEBHOOK_URL": "http://plain.example"}, "https"),
        ({"STEPPE_WEBHOOK_LISTEN": "host:port"}, "STEPPE_WEBHOOK_LISTEN"),
        ({"STEPPE_WEBHOOK_SECRET": "spaces are bad"}, "STEPPE_WEBHOOK_SECRET"),
        ({"STEPPE_LOG_LEVEL": "LOUD"}, "STEPPE_LOG_LEVEL"),
        ({"STEPPE_BASE_URL": "ftp://x"}, "STEPPE_BASE_URL"),
        ({"STEPPE_MICROBATCH": "maybe"}, "STEPPE_MICROBATCH"),
    ],
)
def test_bad_settings_are_explained(env: dict[str, str], names: str) -> None:
    full = env if not env or "TELEGRAM_BOT_TOKEN" in env else {"TELEGRAM_BOT_TOKEN": TOKEN, **env}
    with pytest.raises(SettingsError, match=names) as info:
        BotSettings.from_env(full, env_file=None)
    assert info.value.exit_code == 2
    assert "not-a-token" not in str(info.value) and TOKEN not in str(info.value)


def test_cli_exits_2_with_a_message(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(Path(__file__).parent)  # no .env here
    for name in ("TELEGRAM_BOT_TOKEN", "STEPPE_INDEX_DIR"):
        monkeypatch.delenv(name, raising=False)
    assert main_bot() == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in capsys.readouterr().err

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:malformed secret")
    assert main_bot() == 2
    assert "malformed" not in capsys.readouterr().err

    class MissingLibrary:
        @classmethod
        def open(cls, index_dir: Path, model: str | None = None, **options: object) -> None:
            raise IndexNotFound(f"No index in {index_dir}. Run `steppe index build` first.")

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("STEPPE_INDEX_DIR", "/nowhere")
    monkeypatch.setitem(sys.modules, "index.service", types.SimpleNamespace(Library=MissingLibrary))
    configured: list[tuple[str, str | None]] = []
    monkeypatch.setattr("bot.app.setup_logging", lambda level, token: configured.append((level, token)))
    assert main_bot() == 2
    assert configured == [("INFO", TOKEN)]
    err = capsys.readouterr().err
    assert "No index in /nowhere" in err and TOKEN not in err


# commands


def test_commands_menu_and_start(api: FakeBotAPI, bot: BotRunner, library: Any) -> None:
    menus = api.calls("setMyCommands")
    public = [c for c in menus if not c.params.get("scope")]
    assert [cmd["command"] for cmd in public[0].params["commands"]] == list(PUBLIC_COMMANDS)
    admin = [c for c in menus if c.params.get("scope")]
    assert admin[0].params["scope"] == {"type": "chat", "chat_id": 42}
    assert {cmd["command"] for cmd in admin[0].params["commands"]} >= set(ADMIN_COMMANDS)

    params = reply_to(api, ask(api, "/start"))
    assert params["parse_mode"] == "HTML" and params["link_preview_options"] == {"is_disabled": True}
    text = visible(params)
    assert count_documents(library.stats().documents) in text
    assert "Why does Russia keep a military base in Tajikistan?" in text
    for source in merged_sources(library.stats()):  # each source once, with its documents
        assert text.count(f"{source.source}: ") == 1 and f"{source.source}: {count_documents(source.documents)}" in text


def test_help_lists_every_command_and_filters(api: FakeBotAPI, bot: BotRunner) -> None:
    registered = {c for h in bot.app.handlers[0] if isinstance(h, CommandHandler) for c in h.commands}
    assert registered == set(PUBLIC_COMMANDS + ADMIN_COMMANDS)
    text = visible(reply_to(api, ask(api, "/help")))
    assert all(f"/{name}" in text for name in PUBLIC_COMMANDS)
    assert not any(f"/{name} " in text for name in ADMIN_COMMANDS)
    assert "since:2012 country:Tajikistan military base" in text and "Edited messages" in text
    admin_text = visible(reply_to(api, ask(api, "/help", ADMIN)))
    assert all(f"/{name}" in admin_text for name in PUBLIC_COMMANDS + ADMIN_COMMANDS)


def test_sources_and_about(api: FakeBotAPI, bot: BotRunner, library: Any) -> None:
    stats = library.stats()
    sources = visible(reply_to(api, ask(api, "/sources")))
    for source in merged_sources(stats):
        assert sources.count(f"{source.source}: ") == 1
        assert f"{source.source}: {count_documents(source.documents)}" in sources
    name, count = stats.countries[0]
    assert f"{name} ({count:,})" in sources
    about = visible(reply_to(api, ask(api, "/about")))
    assert stats.model in about and f"{stats.chunks:,} passages" in about
    for source in merged_sources(stats):
        line = f"{source.source} ({count_documents(source.documents)}): {source.license or 'licence not recorded'}"
        assert about.count(f"{source.source} (") == 1 and line in about
        if source.source.lower().startswith("wikipedia"):
            assert "Wikipedia contributors" in about


# questions and answers


def test_private_question_is_answered_with_excerpts_and_buttons(
    api: FakeBotAPI, bot: BotRunner, library: Any, recorder: Recorder
) -> None:
    message = ask(api, QUESTION)
    params = reply_to(api, message)
    assert params["chat_id"] == ALICE["id"]
    assert params["reply_parameters"]["message_id"] == message["message_id"]
    assert params["parse_mode"] == "HTML" and params["link_preview_options"] == {"is_disabled": True}

    expected = library.answer(QUESTION)
    pages = paginate_html(expected)
    assert expected.answered, "the test question must be answerable by the library under test"
    assert params["text"] == pages[0].text
    first = expected.excerpts[0]
    assert params["text"].startswith(f"<blockquote>{QUESTION}</blockquote>")
    assert citation_html(first.hit.doc, 1) in params["text"]
    assert ("<b>" in params["text"]) == any(a < b for a, b in first.highlights)

    data = buttons(params)
    rid = data[0].split(":")[1]
    more = [f"more:{rid}"] if len(pages) > 1 else []
    votes = [f"vote:{rid}:up", f"vote:{rid}:down"]
    assert data == [f"full:{rid}:{n + 1}" for n in range(pages[0].first, pages[0].stop)] + more + votes
    assert all(len(d.encode()) <= 64 for d in data)

    typing = api.calls("sendChatAction", chat_id=ALICE["id"])
    assert typing and typing[0].params["action"] == "typing"
    assert typing[0].at <= api.replies_to(message)[0].at
    assert recorder.calls[0].question == QUESTION and recorder.calls[0].thread != bot.thread.ident


def test_more_edits_the_same_message_through_every_page(api: FakeBotAPI, bot: BotRunner, library: Any) -> None:
    pages = paginate_html(library.answer(QUESTION))
    if len(pages) < 2:
        pytest.skip("the library gives a single page for the test question")
    message = ask(api, QUESTION)
    rid = buttons(reply_to(api, message))[0].split(":")[1]
    results = api.bot_replies(message)[0]

    pressed = []
    for number, page in enumerate(pages[1:], 2):
        pressed.append(api.press(results, ALICE, f"more:{rid}"))
        edit = api.wait_for(lambda n=number: (e := api.calls("editMessageText")) and len(e) == n - 1 and e)[-1].params
        assert (edit["chat_id"], edit["message_id"]) == (ALICE["id"], results["message_id"])
        assert edit["text"] == page.text and edit["link_preview_options"] == {"is_disabled": True}
        more = [f"more:{rid}"] if number < len(pages) else []
        votes = [f"vote:{rid}:up", f"vote:{rid}:down"]
        assert buttons(edit) == [f"full:{rid}:{n + 1}" for n in range(page.first, page.stop)] + more + votes
    if len(pages) == 3:  # the canned library: check the words too
        assert "Results 4–6 of 7" in visible(api.calls("editMessageText")[0].params)
        assert "Result 7 of 7" in visible(api.calls("editMessageText")[1].params)

    pressed.append(api.press(results, ALICE, f"more:{rid}"))  # an old "More" pressed again
    answers = [api.wait_for(lambda q=query: api.calls("answerCallbackQuery", callback_query_id=q)) for query in pressed]
    assert [len(a) for a in answers] == [1] * len(pressed)
    assert [a[0].params.get("text") for a in answers] == [None] * (len(pages) - 1) + [
        "That was the last page of results."
    ]
    assert len(api.calls("editMessageText")) == len(pages) - 1


def test_full_text_button_replies_with_the_passage(api: FakeBotAPI, bot: BotRunner, library: Any) -> None:
    message = ask(api, QUESTION)
    rid = buttons(reply_to(api, message))[0].split(":")[1]
    results = api.bot_replies(message)[0]

    query = api.press(results, ALICE, f"full:{rid}:2")
    passage = reply_to(api, results)
    chunk_id = library.answer(QUESTION).excerpts[1].hit.chunk.chunk_id
    assert passage["text"] == render_passage_html(library.passage(chunk_id))
    assert "<blockquote>" in passage["text"]
    answered = api.wait_for(lambda: api.calls("answerCallbackQuery", callback_query_id=query))
    assert not answered[0].params.get("text")


def test_expired_forged_and_foreign_buttons_are_refused(api: FakeBotAPI, start_bot: Callable[..., BotRunner]) -> None:
    runner = start_bot()
    mine = ask(api, QUESTION)
    rid = buttons(reply_to(api, mine))[0].split(":")[1]
    my_results = api.bot_replies(mine)[0]
    theirs = ask(api, QUESTION, CAROL)
    reply_to(api, theirs)
    their_results = api.bot_replies(theirs)[0]

    forged = [
        (my_results, ALICE, "\x00\xff garbage"),
        (my_results, ALICE, "more:AAAAAAAAAAAAAAAA"),
        (my_results, ALICE, f"full:{rid}:99"),
        (my_results, ALICE, f"full:{rid}:0"),
        (their_results, CAROL, f"more:{rid}"),  # Alice's result id from Carol's chat
        (their_results, CAROL, f"full:{rid}:1"),
        (mine, ALICE, f"more:{rid}"),  # the right chat but another message
    ]
    queries = [api.press(message, user, data) for message, user, data in forged]
    api.wait_for(lambda: len(api.calls("answerCallbackQuery")) == len(queries))
    runner.stop()
    start_bot()  # a restart forgets every result
    queries.append(api.press(my_results, ALICE, f"more:{rid}"))

    for query in queries:
        answer = api.wait_for(lambda q=query: api.calls("answerCallbackQuery", callback_query_id=q))[0]
        assert answer.params["text"] == "This result has expired, please ask again."
        assert answer.params["show_alert"] is True
    assert api.calls("editMessageText") == []
    assert len(api.calls("sendMessage")) == 2  # only the two answers
    reply_to(api, ask(api, QUESTION))  # and the bot keeps serving


def test_not_found_says_so_and_suggests(api: FakeBotAPI, bot: BotRunner, library: Any) -> None:
    question = "Best recipe for chocolate cake?"
    expected = library.answer(question)
    if expected.answered:
        pytest.skip("the library under test answers the off-topic question")
    params = reply_to(api, ask(api, question))
    assert params["text"] == paginate_html(expected)[0].text
    assert [b.split(":")[2] for b in buttons(params)] == ["up", "down"]  # a "not found" can be rated too
    text = visible(params)
    assert "I found nothing in the corpus that answers this." in text
    assert all(preview(s, 120) in text for s in expected.suggestions[:3])


def test_russian_question_gets_the_english_notice_in_russian(api: FakeBotAPI, bot: BotRunner, library: Any) -> None:
    text = visible(reply_to(api, ask(api, "Почему у России военная база в Таджикистане?", BORIS)))
    notice = t_text("notice_english_only", "ru")
    assert (notice in text) is (not library.multilingual)
    assert "english_only" not in text


def test_filters_reach_the_library(api: FakeBotAPI, bot: BotRunner, recorder: Recorder) -> None:
    reply_to(api, ask(api, "/ask since:2012 country:Tajikistan military base"))
    call = recorder.calls[-1]
    assert call.question == "military base"
    assert call.filters is not None and call.filters.since == "2012" and call.filters.countries == ("Tajikistan",)
    only_filters = visible(reply_to(api, ask(api, "/ask since:2012 country:Tajikistan")))
    assert "I see filters but no question" in only_filters
    unknown = visible(reply_to(api, ask(api, "/ask country:Atlantis military base")))
    assert "Atlantis" in unknown and len(recorder.calls) == 1


# groups and chats


def test_group_rules(api: FakeBotAPI, bot: BotRunner) -> None:
    group = api.group_chat(-100555)
    plain = api.send(group, ALICE, "military base in Tajikistan")
    assert_ignored(api, plain, api.last_update_id, ALICE)
    other_bot = api.send(group, ALICE, "/ask@other_bot military base")
    assert_ignored(api, other_bot, api.last_update_id, ALICE)
    sticker = api.send(group, ALICE, sticker={"file_id": "s", "file_unique_id": "s", "type": "regular",
                                              "width": 512, "height": 512, "is_animated": False, "is_video": False})  # fmt: skip
    assert_ignored(api, sticker, api.last_update_id, ALICE)

    mention = api.send(group, ALICE, f"@{FakeBotAPI.USERNAME} {QUESTION}")
    answer = reply_to(api, mention)
    assert "[1]" in answer["text"]
    assert visible(answer).startswith(QUESTION) and "@steppe" not in visible(answer)
    addressed = api.send(group, CAROL, f"/ask@{FakeBotAPI.USERNAME} {QUESTION}")
    assert "[1]" in reply_to(api, addressed)["text"]
    bot_message = api.bot_replies(mention)[0]
    reply = api.send(group, CAROL, QUESTION, reply_to_message=bot_message)
    params = reply_to(api, reply)
    assert params["chat_id"] == group["id"] and "[1]" in params["text"]


def test_allowed_chats_only(api: FakeBotAPI, start_bot: Callable[..., BotRunner]) -> None:
    start_bot(STEPPE_ALLOWED_CHATS="-100777")
    stranger = visible(reply_to(api, ask(api, QUESTION, CAROL)))
    assert "private bot" in stranger
    assert "[1]" in reply_to(api, ask(api, QUESTION, ADMIN))["text"]  # admins' own chats are fine

    outsider = api.group_chat(-100888)
    api.send(outsider, ALICE, f"/ask {QUESTION}")
    left = api.wait_for(lambda: api.calls("leaveChat", chat_id=-100888))
    assert len(left) == 1
    assert "private bot" in api.calls("sendMessage", chat_id=-100888)[0].params["text"]
    added = api.group_chat(-100999)
    api.push("my_chat_member", {
        "chat": added, "from": ALICE, "date": int(time.time()),
        "old_chat_member": {"status": "left", "user": api.bot_user},
        "new_chat_member": {"status": "member", "user": api.bot_user},
    })  # fmt: skip
    api.wait_for(lambda: api.calls("leaveChat", chat_id=-100999))

    allowed = api.group_chat(-100777)
    assert "[1]" in reply_to(api, api.send(allowed, ALICE, f"/ask {QUESTION}"))["text"]


# bad input


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("   \n\t  ", "Please send your question as text"),
        ("x" * 5000, "That message is 5,000 characters long; please ask in at most 1,000 characters."),
        ("🇷🇺🤝🇰🇿 ❤️‍🔥", "I can only search for words"),
        ("!!! ??? ...", "I can only search for words"),
        ("/ask", "Please put your question after the command"),
        ("/ask    ", "Please put your question after the command"),
        ("/frobnicate", "I don't know that command"),
    ],
)
def test_bad_text_gets_a_polite_reply(api: FakeBotAPI, bot: BotRunner, text: str, expected: str) -> None:
    assert expected in visible(reply_to(api, ask(api, text)))
    assert "[1]" in reply_to(api, ask(api, QUESTION))["text"]  # still serving


def test_markup_in_questions_is_shown_literally(api: FakeBotAPI, bot: BotRunner, library: Any) -> None:
    question = "<b>base</b> &amp; *bold* _it_ [link](http://x.y) `code` <a href='javascript:x'> in Tajikistan"
    params = reply_to(api, ask(api, question))
    assert params["text"] == paginate_html(library.answer(question))[0].text
    text, _ = parse_telegram_html(params["text"])
    assert text.startswith(question)


def test_control_characters_are_dropped(api: FakeBotAPI, bot: BotRunner, recorder: Recorder) -> None:
    params = reply_to(api, ask(api, "military\x00 base\x1b[31m in\u200f Tajikistan\x07?"))
    assert "\x00" not in params["text"] and "\x1b" not in params["text"]
    assert recorder.calls[-1].question == "military base[31m in\u200f Tajikistan?"


@pytest.mark.parametrize(
    "extra",
    [
        {"sticker": {"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 512, "height": 512,
                     "is_animated": False, "is_video": False}},
        {"photo": [{"file_id": "p", "file_unique_id": "p", "width": 90, "height": 90}], "caption": "base?"},
        {"voice": {"file_id": "v", "file_unique_id": "v", "duration": 3}},
        {"document": {"file_id": "d", "file_unique_id": "d", "file_name": "q.pdf"}},
        {"location": {"latitude": 38.56, "longitude": 68.77}},
    ],
    ids=["sticker", "photo", "voice", "document", "location"],
)  # fmt: skip
def test_non_text_messages_are_explained(api: FakeBotAPI, bot: BotRunner, extra: dict[str, Any]) -> None:
    message = api.send(api.private_chat(ALICE), ALICE, **extra)
    assert "I answer text questions only" in visible(reply_to(api, message))


def test_edited_messages_are_ignored(api: FakeBotAPI, bot: BotRunner) -> None:
    message = ask(api, QUESTION)
    reply_to(api, message)
    api.edit(message, "What about Kyrgyzstan?")
    api.wait_until_delivered(api.last_update_id)
    reply_to(api, ask(api, QUESTION))
    assert len(api.replies_to(message)) == 1


# robustness


def test_flood_protection_says_how_long_to_wait(api: FakeBotAPI, start_bot: Callable[..., BotRunner]) -> None:
    start_bot(STEPPE_RATE_LIMIT="3")
    answered = [reply_to(api, ask(api, f"{QUESTION} {i}")) for i in range(3)]
    assert all("[1]" in p["text"] for p in answered)
    slow = visible(reply_to(api, ask(api, QUESTION)))
    seconds = int(re.search(r"try again in (\d+) seconds", slow)[1])
    assert "Please slow down" in slow and 1 <= seconds <= 60
    flood = ask(api, QUESTION)
    assert_ignored(api, flood, api.last_update_id, CAROL)  # told once; Carol is not limited


def test_errors_are_logged_and_apologised_for_once(
    api: FakeBotAPI, bot: BotRunner, recorder: Recorder, caplog: Any
) -> None:
    recorder.fail_word = "explode"
    with caplog.at_level(logging.INFO):
        message = ask(api, "please explode the base")
        assert visible(reply_to(api, message)) == "Sorry, something went wrong. Please try again."
        update_id = api.last_update_id
        assert "[1]" in reply_to(api, ask(api, QUESTION))["text"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and f"update {update_id}" in errors[0].getMessage() and "boom" in errors[0].exc_text
    assert "explode" not in caplog.text.replace(errors[0].exc_text, "")  # no message text below DEBUG


def test_slow_questions_do_not_block_others(api: FakeBotAPI, recorder: Recorder, bot: BotRunner) -> None:
    recorder.hold_word = "slow"
    slow = ask(api, f"slow: {QUESTION}", ALICE)
    api.wait_for(lambda: any("slow" in c.question for c in recorder.calls))
    fast = ask(api, QUESTION, CAROL)
    assert "[1]" in reply_to(api, fast)["text"]
    assert api.replies_to(slow) == []
    recorder.gate.set()
    assert "[1]" in reply_to(api, slow)["text"]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB's own RetryAfter
@pytest.mark.parametrize(
    ("method", "fault", "options"),
    [
        ("sendMessage", "429", {"retry_after": 1}),
        ("sendMessage", "500", {}),
        ("sendMessage", "502", {}),
        ("sendMessage", "drop", {}),
        ("sendMessage", "slow", {"delay": 1.0}),
        ("getUpdates", "502", {}),
        ("sendChatAction", "drop", {"times": 5}),
    ],
)
def test_telegram_faults_still_give_one_answer(
    api: FakeBotAPI, bot: BotRunner, method: str, fault: str, options: dict[str, Any]
) -> None:
    api.inject(method, fault, **options)
    message = ask(api, QUESTION)
    params = api.wait_for_reply(message, timeout=10)[0].params
    assert "[1]" in params["text"]
    assert "[1]" in api.wait_for_reply(ask(api, f"{QUESTION}?"), timeout=10)[0].params["text"]
    time.sleep(0.2)
    assert len(api.replies_to(message)) == 1
    assert any(c.status != 200 for c in api.all_calls(method))


@pytest.fixture
def logger_levels() -> Iterator[None]:
    """Put logger levels back after a test changes them (through setLevel, which clears caches)."""
    names = ("", "httpx", "httpcore", "telegram")
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_setup_logging_quiets_httpx_and_redacts(logger_levels: None) -> None:
    stream, root = io.StringIO(), logging.getLogger()
    handlers = list(root.handlers)
    try:
        setup_logging("INFO", TOKEN, stream=stream)
        assert root.handlers != handlers
        assert logging.getLogger("httpx").level == logging.WARNING == logging.getLogger("httpcore").level
        logging.getLogger("bot.test").info("GET http://api/bot%s/getMe and bot98765:other_secret-x", TOKEN)
        logging.getLogger("httpx").info("HTTP Request: POST http://api/bot%s/getMe", TOKEN)  # below WARNING
        try:
            raise RuntimeError(f"failed at https://api.telegram.org/bot{TOKEN}/sendMessage")
        except RuntimeError:
            logging.getLogger("bot.test").exception("with a traceback")
    finally:
        root.handlers[:] = handlers
    out = stream.getvalue()
    assert "GET http://api/bot<redacted>/getMe and bot<redacted>" in out
    assert "HTTP Request" not in out and "failed at https://api.telegram.org/bot<redacted>/sendMessage" in out
    assert TOKEN.split(":")[1] not in out and "other_secret" not in out


def test_token_never_reaches_the_logs(api: FakeBotAPI, recorder: Recorder, caplog: Any, logger_levels: None) -> None:
    secret = TOKEN.split(":")[1]
    for name in ("httpx", "httpcore", "telegram"):
        logging.getLogger(name).setLevel(logging.DEBUG)  # make httpx log its URLs, token included
    with caplog.at_level(logging.DEBUG):
        runner = BotRunner(settings_for(api, STEPPE_LOG_LEVEL="DEBUG"), recorder).start()
        try:
            reply_to(api, ask(api, QUESTION))
            logging.getLogger("test").error("token in a message: %s and %s", TOKEN, f"bot{TOKEN}")
        finally:
            runner.stop()
    assert "HTTP Request: POST" in caplog.text  # httpx really logged its URLs
    assert "bot<redacted>" in caplog.text
    assert TOKEN not in caplog.text and secret not in caplog.text


def test_admin_commands(
    api: FakeBotAPI, bot: BotRunner, recorder: Recorder, library: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    with caplog.at_level(logging.INFO):
        refused = visible(reply_to(api, ask(api, "/reload please", CAROL)))
    assert "only for the bot's admins" in refused and recorder.reloads == 0
    refusal = next(r.getMessage() for r in caplog.records if "refused /reload" in r.getMessage())
    assert str(CAROL["id"]) in refusal and "please" not in refusal
    assert "only for the bot's admins" in visible(reply_to(api, ask(api, "/stats", CAROL)))
    assert "only for the bot's admins" in visible(reply_to(api, ask(api, "/add https://e.org/a", CAROL)))

    assert "nothing to reload" in visible(reply_to(api, ask(api, "/reload", ADMIN)))
    assert recorder.reloads == 1
    stats = visible(reply_to(api, ask(api, "/stats", ADMIN)))
    source = merged_sources(library.stats())[0]
    assert "questions answered" in stats and f"{source.source}: {count_documents(source.documents)}" in stats

    assert "Usage: /add" in visible(reply_to(api, ask(api, "/add not-a-url", ADMIN)))

    import index.ingest

    calls: list[tuple[Any, str, Any]] = []

    def add_url(lib: Any, url: str, *, settings: Any) -> Any:
        calls.append((lib, url, settings))
        return index.ingest.AddResult(url, True, "added", title="Gas deal", path=Path("corpus/web/gas.txt"), passages=4)

    monkeypatch.setattr(index.ingest, "add_url", add_url)
    done = visible(reply_to(api, ask(api, "/add https://example.com/article", ADMIN)))
    assert done.startswith("added: Gas deal (4 passages)")
    assert calls == [(recorder, "https://example.com/article", bot.settings)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_webhook_checks_the_secret_token(api: FakeBotAPI, start_bot: Callable[..., BotRunner]) -> None:
    port = _free_port()
    start_bot(
        webhook=True,
        STEPPE_WEBHOOK_URL="https://bot.example.test/steppe/hook",
        STEPPE_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
        STEPPE_WEBHOOK_SECRET="s3cret-Token_1",
    )
    registered = api.calls("setWebhook")[0].params
    assert registered["url"] == "https://bot.example.test/steppe/hook"
    assert registered["secret_token"] == "s3cret-Token_1"

    chat = api.private_chat(ALICE)
    url = f"http://127.0.0.1:{port}/steppe/hook"

    def post(message: dict[str, Any], headers: dict[str, str]) -> int:
        update = {"update_id": 900 + message["message_id"] % 100, "message": message}
        return httpx.post(url, json=update, headers=headers, timeout=5).status_code

    unsigned = api.message(chat, ALICE, QUESTION)
    assert post(unsigned, {}) == 403
    forged = api.message(chat, ALICE, QUESTION)
    assert post(forged, {"X-Telegram-Bot-Api-Secret-Token": "guess"}) == 403
    signed = api.message(chat, ALICE, QUESTION)
    assert post(signed, {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1"}) == 200
    assert "[1]" in reply_to(api, signed)["text"]
    assert api.replies_to(unsigned) == [] and api.replies_to(forged) == []


# the in-memory pieces


def test_result_cache_is_bounded_expires_and_checks_the_chat() -> None:
    now = [0.0]
    cache = ResultCache(capacity=2, ttl=10, clock=lambda: now[0])
    answer = Answer(question="q", answered=False, excerpts=())
    first = cache.put(Result(chat_id=1, user_id=1, answer=answer, pages=()))
    second = cache.put(Result(chat_id=2, user_id=2, answer=answer, pages=()))
    assert len(first) == 16 and first != second
    assert cache.get(first, 1) is not None and cache.get(first, 2) is None
    cache.put(Result(chat_id=3, user_id=3, answer=answer, pages=()))
    assert cache.get(second, 2) is None and cache.get(first, 1) is not None  # LRU: second went
    cache.get(first, 1).message_id = 5
    assert cache.get(first, 1, 6) is None and cache.get(first, 1, 5) is not None
    now[0] = 11
    assert cache.get(first, 1) is None and len(cache) == 1


def test_flood_gate_window() -> None:
    now = [0.0]
    gate = FloodGate(2, clock=lambda: now[0])
    assert gate.check(1).allowed and gate.check(1).allowed
    blocked = gate.check(1)
    assert not blocked.allowed and blocked.notify and blocked.wait == 60
    now[0] = 30
    again = gate.check(1)
    assert not again.allowed and not again.notify and again.wait == 30
    assert gate.check(2).allowed
    now[0] = 60.5
    assert gate.check(1).allowed
    assert FloodGate(0).check(1).allowed

"""Security (issue 7): hostile questions and buttons, access control, secrets in logs and
crash messages, persistence, and corpus files or web pages built to exhaust memory.

The question and button handlers run in the real Application with a real small index
(HashEmbedder), so hostile text goes through the real search path (FTS5 quoting included);
replies go to the fake Bot API server, which checks them the way Telegram does.
"""

from __future__ import annotations

import contextlib
import gzip
import html
import io
import itertools
import json
import logging
import os
import re
import subprocess
import sys
import threading
import tracemalloc
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botkit import ALICE, CAROL, QUESTION, TOKEN, BotRunner, ask, buttons, reply_to, settings_for
from conftest import TINY_ARTICLES
from fakebotapi import FakeBotAPI, parse_telegram_html
from fakelib import FakeLibrary, Recorder
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from telegram import Message, Update

from bot.cli import main as cli_main
from bot.logs import setup_logging
from bot.questions import normalise, question_text
from bot.render import QUESTION_PREVIEW, preview, utf16_len
from bot.strings import t_text
from index.build import build_index
from index.embedding import HashEmbedder
from index.errors import FetchError
from index.filters import parse_query
from index.service import Library
from index.sources import load_corpus
from index.sources.web import MAX_BYTES, download, make_client

ROOT = Path(__file__).resolve().parents[1]
SECRET = TOKEN.split(":")[1]
TELEGRAM_TAGS = {"b", "i", "u", "s", "a", "code", "pre", "blockquote"}  # all Telegram's HTML has


def hash_index(root: Path) -> Path:
    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    for name, text in TINY_ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    build_index(root / "index", [str(corpus)], embedder=HashEmbedder(), progress=False, log=lambda message: None)
    return root / "index"


class Harness:
    """The bot with a real small library, fed updates straight into ``process_update``."""

    def __init__(self, api: FakeBotAPI, runner: BotRunner) -> None:
        self.api, self.runner, self.app = api, runner, runner.app
        self.ids = itertools.count(10_000)

    def process(self, kind: str, payload: dict[str, Any]) -> None:
        update = Update.de_json({"update_id": next(self.ids), kind: payload}, self.app.bot)
        self.runner.call(self.app.process_update(update))

    def failures(self) -> list[Any]:
        return [c for c in self.api.log if c.status != 200]


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    library = Library.open(hash_index(tmp_path_factory.mktemp("security")), embedder=HashEmbedder())
    with FakeBotAPI(TOKEN) as api:
        runner = BotRunner(settings_for(api, STEPPE_RATE_LIMIT="0"), library).start(polling=False)
        try:
            yield Harness(api, runner)
        finally:
            runner.stop()


# --- hostile questions ------------------------------------------------------------------------

HOSTILE = [
    '"', '""', "*", "NEAR(", "NEAR(a b)", "AND", "OR", "NOT", ":", "^", "-", "(", ")", "{x}", "col:",
    "since:", "country:", 'source:"', "since:2012", "country:Atlantis",
    "<b>", "</b>", "<i>", "<a href=\"javascript:alert(1)\">x</a>", "<script>", "&amp;", "&", "&#0;", "&lt;", "<",
    ">", "<blockquote>", "</pre>", "<!--", "]]>",
    "\u202e", "\u200f", "\u200e", "\u200d", "\u200b", "\ufeff", "\u2028", "\x00", "\x07", "\x1b[31m", "\x7f",
    "\x85", "\ud800", "\udfff", "\udbff\udc00", "\r\n", "\t", "👨‍👩‍👧", "🇷🇺", "e\u0301", "Таджикистан", "قازاقستان",
    "military base", "Tajikistan", "oil", "/", "@steppe_test_bot", "\\", "%s", "{0}", "{example}",
]  # fmt: skip
QUESTIONS = st.lists(
    st.one_of(st.sampled_from(HOSTILE), st.text(min_size=1, max_size=40)), min_size=1, max_size=25
).map("".join)
HUGE = st.builds(lambda piece, n: piece * n, st.sampled_from(HOSTILE), st.integers(300, 20_000))


def check_reply(text: str) -> str:
    """The visible text of a reply after checking it is valid Telegram HTML within the limit."""
    assert utf16_len(text) <= 4096
    visible, tags = parse_telegram_html(text)  # balanced, known entities, http(s) links only
    assert set(tags) <= TELEGRAM_TAGS
    return visible


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(QUESTIONS, HUGE), group=st.booleans())
@example(text="x" * 100_000, group=False)
@example(text="\ud800 military base \udfff", group=False)
@example(text='"military" NEAR(base, 5) AND Tajik* OR col:umn ^ -', group=False)
@example(text="<b>base</b> & <i>Tajikistan</i> <a href='http://x'>", group=False)
@example(text="country:@steppe_test_bot military base", group=False)
@example(text="\ud800@steppe_test_bot military base", group=False)  # PTB's parse_entities raises on this
@example(text="\ud800 base", group=True)
def test_the_question_handler_survives_any_text(harness: Harness, text: str, group: bool) -> None:
    """In a private chat, or addressed to the bot in a group: one valid reply, never an error."""
    api = harness.api
    errors, failed = harness.app.bot_data.errors, len(harness.failures())
    if group:
        group_id = -1_001_000_000_000 - next(harness.ids)  # a new group each time: PTB limits 20 a minute per group
        message = api.message(api.group_chat(group_id), ALICE, f"@{FakeBotAPI.USERNAME} {text}")
    else:
        message = api.message(api.private_chat(ALICE), ALICE, text)
    harness.process("message", message)
    replies = api.replies_to(message)
    assert len(replies) == 1, f"{len(replies)} replies"
    assert harness.app.bot_data.errors == errors and len(harness.failures()) == failed  # nothing raised
    reply = replies[0].params["text"]
    check_reply(reply)
    assert "went wrong" not in reply
    if reply.startswith("<blockquote>"):  # an answer: what the handler searched for, quoted literally
        question, _ = parse_query(normalise(question_text(Message.de_json(message, harness.app.bot))))
        quoted = html.escape(preview(question.strip(), QUESTION_PREVIEW), quote=False)
        assert reply.startswith(f"<blockquote>{quoted}</blockquote>")


def test_lone_surrogates_are_what_json_can_deliver() -> None:
    """Telegram's JSON may escape a lone surrogate; decoded, it is a str that UTF-8 cannot encode."""
    text = json.loads('{"text": "base \\ud800 Tajikistan"}')["text"]
    with pytest.raises(UnicodeEncodeError):
        text.encode("utf-8")
    assert normalise(text) == "base Tajikistan"


@pytest.fixture(scope="module")
def result_message(harness: Harness) -> dict[str, Any]:
    """A bot message with live result buttons in Alice's chat."""
    api = harness.api
    message = api.message(api.private_chat(ALICE), ALICE, QUESTION)
    harness.process("message", message)
    reply = api.replies_to(message)[-1].params
    assert buttons(reply)
    return api.bot_replies(message)[-1]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        st.text(max_size=80),
        st.from_regex(r"\A(more|full):[A-Za-z0-9_-]{0,20}(:-?[0-9]{1,3})?\Z"),
        st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
    )
)
def test_forged_button_data_is_refused_cleanly(harness: Harness, result_message: dict[str, Any], data: str) -> None:
    api = harness.api
    errors, failed = harness.app.bot_data.errors, len(harness.failures())
    query_id = f"forged-{next(harness.ids)}"
    harness.process(
        "callback_query",
        {"id": query_id, "from": ALICE, "chat_instance": "ci", "data": data, "message": result_message},
    )
    answers = api.calls("answerCallbackQuery", callback_query_id=query_id)
    assert [a.params.get("text") for a in answers] == [t_text("expired")]
    assert harness.app.bot_data.errors == errors and len(harness.failures()) == failed


# --- access and secrets -----------------------------------------------------------------------


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    with FakeBotAPI(TOKEN) as server:
        yield server


@pytest.fixture
def logger_levels() -> Iterator[None]:
    names = ("", "httpx", "httpcore", "telegram", "faiss.loader")
    levels = {name: logging.getLogger(name).level for name in names}
    handlers = list(logging.getLogger().handlers)
    yield
    logging.getLogger().handlers[:] = handlers
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_admin_refusals_are_polite_and_logged_by_id_only(api: FakeBotAPI, caplog: Any) -> None:
    mallory = {"id": 666, "is_bot": False, "first_name": "Mallory", "last_name": "Hacker", "username": "mal_h"}
    runner = BotRunner(settings_for(api), Recorder(FakeLibrary())).start()
    try:
        with caplog.at_level(logging.DEBUG, logger="bot"):
            replies = [reply_to(api, ask(api, f"/{cmd} topsecretword", mallory)) for cmd in ("reload", "stats", "add")]
    finally:
        runner.stop()
    for reply in replies:
        assert check_reply(reply["text"]) == "Sorry, that command is only for the bot's admins."
    refusals = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused /")]
    assert refusals == [f"refused /{cmd} for non-admin user 666" for cmd in ("reload", "stats", "add")]
    bot_logs = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot"))
    assert not any(word in bot_logs for word in ("Mallory", "Hacker", "mal_h", "topsecretword"))


def test_no_message_text_in_logs_below_debug(api: FakeBotAPI, logger_levels: None) -> None:
    """STEPPE_LOG_LEVEL=INFO (the default) logs ids and lengths; DEBUG adds the text."""
    outputs = {}
    for level in ("INFO", "DEBUG"):
        stream = io.StringIO()
        setup_logging(level, TOKEN, stream=stream)
        runner = BotRunner(settings_for(api, STEPPE_LOG_LEVEL=level), Recorder(FakeLibrary())).start()
        try:
            reply_to(api, ask(api, f"marker{level}word military base", {**CAROL, "username": "carol_c"}))
        finally:
            runner.stop()
        outputs[level] = stream.getvalue()
    assert "question from user 1003" in outputs["INFO"]
    assert "markerINFOword" not in outputs["INFO"] and "carol_c" not in outputs["INFO"]
    assert "markerDEBUGword" in outputs["DEBUG"]  # DEBUG is for debugging, and says so in README
    assert SECRET not in outputs["INFO"] + outputs["DEBUG"]


def test_token_in_a_handler_exception_is_redacted_everywhere(api: FakeBotAPI, logger_levels: None) -> None:
    class Leaky(Recorder):
        def answer(self, question: str, **kwargs: Any) -> Any:
            raise RuntimeError(f"POST https://api.telegram.org/bot{TOKEN}/sendMessage failed (token {TOKEN})")

    stream = io.StringIO()
    setup_logging("DEBUG", TOKEN, stream=stream)
    runner = BotRunner(settings_for(api), Leaky(FakeLibrary())).start()
    try:
        reply = reply_to(api, ask(api, QUESTION))
    finally:
        runner.stop()
    out = stream.getvalue()
    assert "Traceback" in out and "RuntimeError: POST https://api.telegram.org/bot<redacted>/sendMessage" in out
    assert SECRET not in out and SECRET not in reply["text"]
    assert check_reply(reply["text"]) == "Sorry, something went wrong. Please try again."


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hash_index(tmp_path_factory.mktemp("startup"))


def test_token_never_reaches_stderr_when_startup_fails(api: FakeBotAPI, small_index: Path, tmp_path: Path) -> None:
    """A token Telegram rejects (PTB's InvalidToken message quotes it) and an unreachable Bot API
    (with DEBUG logging and STEPPE_DEBUG=1): clear messages, exit codes 2 and 1, no token."""
    other = "987654321:ZZrejectedTOKENforTests_abcdefghijk"
    with contextlib.closing(__import__("socket").socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/bot"
    cases = {
        "rejected": {"TELEGRAM_BOT_TOKEN": other},
        "unreachable": {"STEPPE_BASE_URL": closed, "STEPPE_LOG_LEVEL": "DEBUG", "STEPPE_DEBUG": "1"},
    }
    base = {k: v for k, v in os.environ.items() if not k.startswith(("STEPPE_", "TELEGRAM_"))}
    base.update(TELEGRAM_BOT_TOKEN=TOKEN, STEPPE_BASE_URL=api.base_url, STEPPE_INDEX_DIR=str(small_index))
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "bot"],
            env={**base, **extra},
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, extra in cases.items()
    }
    results = {name: (p.wait(60), *p.communicate()) for name, p in processes.items()}
    for name, (_code, out, err) in results.items():
        assert SECRET not in out + err and "ZZrejectedTOKEN" not in out + err, name
    assert results["rejected"][0] == 2 and "Telegram rejected TELEGRAM_BOT_TOKEN" in results["rejected"][2]
    assert "HTTP Request" in results["unreachable"][2] or "getMe" in results["unreachable"][2]  # DEBUG was on
    assert results["unreachable"][0] == 1 and "cannot reach the Telegram Bot API" in results["unreachable"][2]


def test_crash_reports_are_redacted_too(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """An unexpected exception quoting a token: one line, or a traceback with STEPPE_DEBUG=1; no token."""

    def crash(args: Any, context: Any) -> int:
        raise RuntimeError(f"POST https://api.telegram.org/bot{TOKEN}/getMe: token {TOKEN} refused")

    monkeypatch.setattr("bot.cli.cmd_bot", crash)
    assert cli_main(["bot"]) == 1
    monkeypatch.setenv("STEPPE_DEBUG", "1")
    assert cli_main(["bot"]) == 1
    err = capsys.readouterr().err
    assert "steppe: unexpected error: RuntimeError: POST https://api.telegram.org/bot<redacted>/getMe" in err
    assert "Traceback (most recent call last)" in err and SECRET not in err


def test_no_pickle_persistence(api: FakeBotAPI) -> None:
    for path in [*ROOT.joinpath("bot").glob("*.py"), *ROOT.joinpath("index").glob("*.py")]:
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"\bpickle\b|PicklePersistence|persistence\(", source, re.I), path.name
    from bot.app import build_application

    assert build_application(settings_for(api), FakeLibrary()).persistence is None


# --- corpus files and web pages built to exhaust memory ---------------------------------------


def test_huge_binary_and_compressed_files_are_skipped_without_reading_them(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "fine.md").write_text(TINY_ARTICLES["kazakh-oil.md"], encoding="utf-8")
    with open(corpus / "huge.txt", "wb") as handle:
        handle.truncate(30 * 1024 * 1024)  # sparse: 30 MB on paper
    page = b"<html><body>" + b"<p>steppe</p>" * 100_000
    (corpus / "page.html.gz").write_bytes(gzip.compress(page))
    (corpus / "gzipped.html").write_bytes(gzip.compress(page))  # compressed bytes behind an .html name
    russian = (
        "Соглашение о нефти\n\nРоссия и Казахстан подписали соглашение о поставках нефти по Каспийскому трубопроводу.\n"
    )
    (corpus / "cp1251.txt").write_bytes(russian.encode("cp1251"))  # a legacy encoding still loads
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 64)
    tracemalloc.start()
    try:
        documents, errors = load_corpus(corpus, "c")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024  # the 30 MB file was never read, nothing was inflated
    reasons = {e.path: e.reason for e in errors}
    assert reasons["huge.txt"].startswith("file is too large (31,457,280 bytes")
    assert reasons["page.html.gz"] == "unsupported format: gzip archive files (.gz) are not read"
    assert "binary" in reasons["gzipped.html"] and "binary" in reasons["binary.txt"]
    assert sorted(d.doc_id for d in documents) == ["c/cp1251.txt", "c/fine.md"]


def test_pages_with_entity_and_data_uri_bombs_load_as_their_text(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    entities = "".join(f'<!ENTITY e{i + 1} "{f"&e{i};" * 10}">' for i in range(8))
    article = (
        "<article><h1>Pipeline news</h1><p>Russia and Kazakhstan signed a pipeline deal on Tuesday in Astana, "
        "the ministry said.</p>{}<p>The pipeline will carry Caspian oil to China from next year.</p></article>"
    )
    (corpus / "laughs.html").write_text(
        f'<!DOCTYPE html [<!ENTITY e0 "lol">{entities}]><html><body>{article.format("<p>&e8;</p>")}</body></html>'
    )
    blob = "A" * 1_000_000
    (corpus / "data-uri.html").write_text(
        f"<html><body>{article.format(f'<img src=data:image/png;base64,{blob}>')}</body></html>"
    )
    documents, errors = load_corpus(corpus, "c")
    assert errors == []
    for document in documents:
        assert "Caspian oil" in document.text and len(document.text) < 1000  # nothing expanded or inlined


class _Bombs(BaseHTTPRequestHandler):
    """Pages whose compressed bodies inflate far beyond the fetch cap."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._route()

    def _route(self) -> None:
        encoding = {"/gzip": "gzip", "/deflate": "deflate", "/twice": "gzip, gzip", "/br": "br", "/page": "gzip"}
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Encoding", encoding[self.path])
        if self.path == "/page":  # an honest compressed article
            body = gzip.compress((Path(__file__).parent / "fixtures" / "web" / "water-talks.html").read_bytes())
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.end_headers()
        wbits = 15 if self.path == "/deflate" else 31
        inner, outer = zlib.compressobj(9, zlib.DEFLATED, wbits), zlib.compressobj(9, zlib.DEFLATED, 31)
        twice = self.path == "/twice"  # gzip of gzip: a few KB on the wire
        block = b"<p>steppe</p>" * 80_000  # ~1 MB
        for _ in range(1024):  # 1 GB inflated, ~1 MB compressed, made as the client reads
            data = inner.compress(block)
            self.wfile.write(outer.compress(data) if twice else data)
        data = inner.flush()
        self.wfile.write(outer.compress(data) + outer.flush() if twice else data)


@pytest.fixture(scope="module")
def bombs() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Bombs)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/gzip", "too large (more than the 5 MB limit)"),
        ("/deflate", "too large (more than the 5 MB limit)"),
        ("/twice", "compressed as 'gzip, gzip'"),
        ("/br", "compressed as 'br'"),
    ],
)
def test_compressed_page_bombs_are_cut_at_the_decoded_cap(
    bombs: str, path: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    tracemalloc.start()
    try:
        with make_client() as client, pytest.raises(FetchError, match=re.escape(message)):
            download(client, bombs + path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * MAX_BYTES + 4 * 1024 * 1024  # the cap plus one piece, never the gigabyte


def test_an_honest_compressed_page_is_read(bombs: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with make_client() as client:
        got = download(client, bombs + "/page")
    assert got.data == (Path(__file__).parent / "fixtures" / "web" / "water-talks.html").read_bytes()

"""Reliability (issue 7): Bot API faults, graceful stops, index rebuilds while serving, killed
builds, full disks and damaged indexes.

Bot tests run the real Application against the fake Bot API server (tests/fakebotapi.py);
index tests use real small indexes built with the deterministic HashEmbedder.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botkit import ADMIN, QUESTION, TOKEN, BotRunner, ask, reply_to, settings_for, visible
from conftest import TINY_ARTICLES
from fakebotapi import FakeBotAPI
from fakelib import FakeLibrary, Recorder
from telegram.error import TimedOut
from telegram.ext import ApplicationBuilder

from bot.app import _unsent
from bot.cli import main as cli_main
from index.build import build_index
from index.embedding import HashEmbedder
from index.errors import UserFacingError
from index.service import Library
from index.store import current_generation
from index.store.local import connect as real_connect

SECRET = TOKEN.split(":")[1]
NEW_ARTICLE = (
    "---\ntitle: Zebra farms of Turkmenistan\n---\n\nZebra farms in Turkmenistan export zebra milk to Russia.\n"
)


def user(n: int) -> dict[str, Any]:
    return {"id": 5000 + n, "is_bot": False, "first_name": f"Tester{n}", "language_code": "en"}


def write_corpus(root: Path, edition: int = 0, extra: dict[str, str] | None = None) -> Path:
    """TINY_ARTICLES with every title and body tagged "edNNN" (so a hit tells its build), plus ``extra``."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in TINY_ARTICLES.items():
        tagged = re.sub(r"^title: (.*)$", rf"title: \1 ed{edition}", text, count=1, flags=re.M)
        (root / name).write_text(f"{tagged}\nThis is edition ed{edition}.\n", encoding="utf-8")
    for name, text in (extra or {}).items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def build(index_dir: Path, corpus: Path) -> None:
    build_index(index_dir, [str(corpus)], embedder=HashEmbedder(), progress=False, log=lambda message: None)


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    """A small real index (HashEmbedder) of the tagged tiny corpus, edition 0."""
    build(tmp_path / "index", write_corpus(tmp_path / "corpus"))
    return tmp_path / "index"


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    with FakeBotAPI(TOKEN) as server:
        yield server


@pytest.fixture
def runners() -> Iterator[list[BotRunner]]:
    started: list[BotRunner] = []
    yield started
    for runner in started:
        runner.stop()


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Telegram answers are awaited for 1 s instead of PTB's 5 s, so timeouts are quick to provoke."""
    monkeypatch.setattr(
        "bot.app.ApplicationBuilder", lambda: ApplicationBuilder().read_timeout(1.0).get_updates_read_timeout(1.0)
    )


def run(api: FakeBotAPI, runners: list[BotRunner], library: Any, poll_timeout: int = 1, **env: str) -> BotRunner:
    runner = BotRunner(settings_for(api, **env), library, poll_timeout=poll_timeout).start()
    runners.append(runner)
    return runner


def answered_once(api: FakeBotAPI, message: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
    params = reply_to(api, message, timeout=timeout)
    assert "[1]" in params["text"], visible(params)
    return params


# --- Bot API faults ---------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB's own RetryAfter
def test_faults_on_both_ends_lose_and_repeat_nothing(
    api: FakeBotAPI, runners: list[BotRunner], short_timeouts: None
) -> None:
    """getUpdates fails with 429 (retry_after), 500, a dropped connection and a timeout, one after
    another, while sendMessage fails with 429, 500, 502 and drops; questions keep arriving
    throughout. Each is answered exactly once, and nobody gets an apology."""
    run(api, runners, Recorder(FakeLibrary()))
    answered_once(api, ask(api, QUESTION, user(0)))  # polling is up
    for fault, options in [("429", {"retry_after": 1}), ("500", {}), ("drop", {}), ("slow", {"delay": 2.5})]:
        api.inject("getUpdates", fault, **options)
    for fault, options in [("429", {"retry_after": 1}), ("500", {}), ("drop", {}), ("502", {})]:
        api.inject("sendMessage", fault, **options)
    messages = []
    for n in range(1, 13):  # spread over the faulty polls
        messages.append(ask(api, f"{QUESTION} ({n})", user(n)))
        time.sleep(0.35)
    for message in messages:
        api.wait_for_reply(message, timeout=15)
    time.sleep(0.3)
    assert [len(api.replies_to(m)) for m in messages] == [1] * len(messages)
    assert all("[1]" in api.replies_to(m)[0].params["text"] for m in messages), [
        api.replies_to(m)[0].params["text"][:300] for m in messages
    ]
    assert not any("went wrong" in c.params["text"] for c in api.calls("sendMessage"))
    failed = {(c.method, c.status) for c in api.log if c.status != 200}
    assert failed == {("getUpdates", 429), ("getUpdates", 500), ("getUpdates", 0),
                      ("sendMessage", 429), ("sendMessage", 500), ("sendMessage", 502), ("sendMessage", 0)}  # fmt: skip
    assert not any(api.faults.values())  # every injected fault was hit


def test_a_reply_confirmed_late_is_neither_repeated_nor_apologised_for(
    api: FakeBotAPI, runners: list[BotRunner], short_timeouts: None, caplog: Any
) -> None:
    """sendMessage answered after the read timeout: Telegram sent it, so no retry and no apology."""
    run(api, runners, Recorder(FakeLibrary()))
    api.inject("sendMessage", "slow", delay=1.5)
    with caplog.at_level(logging.WARNING):
        message = ask(api, QUESTION)
        api.wait_for_reply(message)
        time.sleep(0.5)  # time for a (wrong) retry or apology to show up
        answered_once(api, ask(api, QUESTION, user(2)))
    assert len(api.replies_to(message)) == 1 and "[1]" in api.replies_to(message)[0].params["text"]
    assert "did not confirm in time" in caplog.text
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)


def test_only_unsent_requests_are_retried() -> None:
    def timed_out(cause: Exception) -> TimedOut:
        exc = TimedOut()
        exc.__cause__ = cause
        return exc

    assert _unsent(timed_out(httpx.ConnectTimeout("connect")))
    assert _unsent(timed_out(httpx.PoolTimeout("pool")))
    assert not _unsent(timed_out(httpx.ReadTimeout("read")))  # Telegram may have acted
    assert not _unsent(timed_out(httpx.WriteTimeout("write")))


# --- stopping ---------------------------------------------------------------------------------


def test_offsets_are_confirmed_before_questions_are_answered(api: FakeBotAPI, runners: list[BotRunner]) -> None:
    """What a hard kill loses: PTB confirms a batch with the very next getUpdates, while its
    questions are still being answered, so Telegram will not deliver them again."""
    recorder = Recorder(FakeLibrary(), hold_word="slow")
    run(api, runners, recorder)
    message = ask(api, f"slow {QUESTION}")
    update_id = api.last_update_id
    api.wait_for(lambda: recorder.calls)  # the search has started
    api.wait_until_delivered(update_id)  # ...and the update is already confirmed
    assert api.replies_to(message) == []  # a SIGKILL now would lose this question for good
    recorder.gate.set()
    answered_once(api, message)


def test_stop_answers_the_questions_in_flight(api: FakeBotAPI) -> None:
    recorder = Recorder(FakeLibrary(), hold_word="slow")
    runner = BotRunner(settings_for(api), recorder, poll_timeout=1).start()
    messages = [ask(api, f"slow {QUESTION} {n}", user(n)) for n in range(5)]
    api.wait_for(lambda: len(recorder.calls) == 5)
    stopper = threading.Thread(target=runner.stop, kwargs={"timeout": 20})
    stopper.start()
    time.sleep(0.5)
    assert stopper.is_alive() and api.calls("sendMessage") == []  # stop waits for the handlers
    recorder.gate.set()
    stopper.join(20)
    assert not stopper.is_alive()
    assert [len(api.replies_to(m)) for m in messages] == [1] * 5


SLOW_BOT = """
import sys, time
from index import embedding
encode = embedding.HashEmbedder.encode_queries
embedding.HashEmbedder.encode_queries = lambda self, texts: (time.sleep({delay}), encode(self, texts))[1]
from bot.cli import main
sys.exit(main(["bot"]))
"""


def bot_env(api: FakeBotAPI, index_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STEPPE_", "TELEGRAM_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN, STEPPE_BASE_URL=api.base_url, STEPPE_INDEX_DIR=str(index_dir), HF_HUB_OFFLINE="1"
    )
    env.update(extra)
    return env


def test_sigterm_answers_every_question_already_received(api: FakeBotAPI, index_dir: Path, tmp_path: Path) -> None:
    """`steppe bot` (searches slowed to 1.5 s) gets five questions, then SIGTERM: five answers, exit 0."""
    stderr = tmp_path / "stderr.txt"
    with open(stderr, "w") as err:
        process = subprocess.Popen(
            [sys.executable, "-c", SLOW_BOT.format(delay=1.5)],
            env=bot_env(api, index_dir),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        api.wait_for(lambda: api.calls("deleteWebhook"), timeout=30)  # polling starts right after
        questions = [f"Why does Russia keep a base near Dushanbe? ({n})" for n in range(5)]
        messages = [ask(api, q, user(n)) for n, q in enumerate(questions)]
        api.wait_for(lambda: len(api.calls("sendChatAction")) >= 5, timeout=10)  # five searches running
        assert api.calls("sendMessage") == []
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
    replies = [api.replies_to(m) for m in messages]
    assert [len(r) for r in replies] == [1] * 5
    assert all(r[0].at > signalled and "[1]" in r[0].params["text"] for r in replies)
    assert api.confirmed_offset > api.last_update_id  # PTB's last getUpdates confirmed them all
    log = stderr.read_text()
    assert "question from user 5000" in log  # INFO logging was on
    assert SECRET not in log and "Tester" not in log and not any(q[:20] in log for q in questions)


# --- the index changes underneath -------------------------------------------------------------


def editions(answer: Any) -> set[str]:
    return {tag for e in answer.excerpts for tag in re.findall(r"ed\d+", e.hit.chunk.text + e.hit.doc.title)}


def test_questions_during_rebuilds_each_come_from_one_generation(tmp_path: Path, index_dir: Path) -> None:
    library = Library.open(index_dir, embedder=HashEmbedder())
    corpus, rounds = tmp_path / "corpus", 6
    done, failures, seen = threading.Event(), [], []
    questions = [
        "Why does Russia keep a military base in Tajikistan?",
        "oil exports Kazakhstan pipeline",
        "cotton harvest Uzbekistan",
        "zebra milk novelty",
    ]

    def answerer(offset: int) -> None:
        n = offset
        while not done.is_set():
            try:
                answer = library.answer(questions[n % len(questions)])
                found = editions(answer)
                seen.append(found)
                if len(found) > 1:
                    failures.append(f"mixed editions {found}")
            except Exception as exc:
                failures.append(repr(exc))
            n += 1

    def reloader() -> None:  # what the bot does before questions, only much more often
        while not done.is_set():
            try:
                if library.changed_on_disk():
                    library.reload()
            except Exception as exc:
                failures.append(f"reload: {exc!r}")
            time.sleep(0.02)

    threads = [threading.Thread(target=answerer, args=(i,)) for i in range(4)] + [threading.Thread(target=reloader)]
    for thread in threads:
        thread.start()
    try:
        for edition in range(1, rounds + 1):
            novelties = {f"novelty-{n}.md": NEW_ARTICLE.replace("Zebra", f"Zebra{n}") for n in range(1, edition + 1)}
            build(index_dir, write_corpus(corpus, edition, novelties))
            time.sleep(0.05)
    finally:
        done.set()
        for thread in threads:
            thread.join(30)
    assert failures == []
    assert len(seen) > 50 and len({tag for found in seen for tag in found}) >= 3  # switched under load
    library.reload()
    answer = library.answer(f"zebra{rounds} milk farms")
    assert editions(answer) <= {f"ed{rounds}"}
    assert answer.excerpts[0].hit.doc.title == f"Zebra{rounds} farms of Turkmenistan"


def test_a_generation_deleted_under_a_running_library_is_replaced(tmp_path: Path, index_dir: Path) -> None:
    """Two builds in a row delete the generation in use (a build keeps two); calls move to the newest."""
    library = Library.open(index_dir, embedder=HashEmbedder())
    first = library.generation()
    library.answer("oil exports")  # this thread has its connection; new threads will not
    build(index_dir, write_corpus(tmp_path / "corpus", 1))
    build(index_dir, write_corpus(tmp_path / "corpus", 2, {"zebra.md": NEW_ARTICLE}))
    assert not (index_dir / first).exists()
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(library.answer("zebra milk farms")))
    thread.start()
    thread.join(10)
    assert results and results[0].excerpts[0].hit.doc.title == "Zebra farms of Turkmenistan"
    assert library.generation() == current_generation(index_dir).name
    assert library.stats().documents == 4


def test_the_bot_switches_to_a_new_index_and_survives_a_broken_one(
    api: FakeBotAPI, runners: list[BotRunner], tmp_path: Path, index_dir: Path, caplog: Any
) -> None:
    library = Library.open(index_dir, embedder=HashEmbedder())
    run(api, runners, library, STEPPE_RELOAD_SECONDS="0.1")
    corpus = tmp_path / "corpus"
    assert "Zebra farms" not in visible(reply_to(api, ask(api, "zebra milk farms")))

    build(index_dir, write_corpus(corpus, 1, {"zebra.md": NEW_ARTICLE}))  # `steppe index build` meanwhile
    time.sleep(0.15)
    assert "Zebra farms of Turkmenistan" in visible(reply_to(api, ask(api, "zebra milk farms")))
    assert "4 documents" in visible(reply_to(api, ask(api, "/sources")))
    good = library.generation()

    build(index_dir, write_corpus(corpus, 2, {"zebra.md": NEW_ARTICLE}))
    broken = current_generation(index_dir)
    faiss_file = broken / "index.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])  # truncated after publishing
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            time.sleep(0.15)
            assert "oil exports ed1" in visible(reply_to(api, ask(api, "oil exports Kazakhstan")))  # the good one
    failures = [r for r in caplog.records if "could not open the new index generation" in r.getMessage()]
    assert len(failures) == 1 and "index.faiss" in failures[0].getMessage()  # logged once, not per question
    assert library.generation() == good
    refused = visible(reply_to(api, ask(api, "/reload", ADMIN)))
    assert refused.startswith("Could not switch to the new index") and "index.faiss" in refused

    build(index_dir, write_corpus(corpus, 3, {"zebra.md": NEW_ARTICLE}))  # the fix: build again
    time.sleep(0.15)
    assert "oil exports ed3" in visible(reply_to(api, ask(api, "oil exports Kazakhstan")))


# --- builds that die --------------------------------------------------------------------------


KILLED_BUILD = """
import pathlib, sys, time
from index.build import build_index
from index.embedding import HashEmbedder

class Slow(HashEmbedder):
    def encode_documents(self, texts, batch_size=16):
        pathlib.Path(sys.argv[3]).touch()  # embedding has started: the parent kills us now
        time.sleep(60)
        return super().encode_documents(texts, batch_size)

build_index(pathlib.Path(sys.argv[1]), [sys.argv[2]], embedder=Slow(), progress=False)
"""


def test_a_build_killed_halfway_leaves_the_old_index_and_the_next_build_recovers(
    tmp_path: Path, index_dir: Path
) -> None:
    before = current_generation(index_dir)
    corpus = write_corpus(tmp_path / "corpus", 0, {"zebra.md": NEW_ARTICLE})
    marker = tmp_path / "embedding-started"
    process = subprocess.Popen([sys.executable, "-c", KILLED_BUILD, str(index_dir), str(corpus), str(marker)])
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), "the build never reached the embedding step"
        process.send_signal(signal.SIGKILL)
        assert process.wait(10) == -signal.SIGKILL
    finally:
        process.kill()
    assert list(index_dir.glob(".tmp-gen-*")), "the killed build left its half-written generation"
    assert current_generation(index_dir) == before
    library = Library.open(index_dir, embedder=HashEmbedder())
    assert library.search("oil exports Kazakhstan", k=1).hits[0].doc.title == "Kazakhstan's oil exports ed0"
    assert library.stats().documents == 3

    finished = threading.Thread(target=build, args=(index_dir, corpus))  # the lock died with the process
    finished.start()
    finished.join(30)
    assert not finished.is_alive()
    assert not list(index_dir.glob(".tmp-gen-*"))
    assert library.reload()
    assert library.answer("zebra milk farms").excerpts[0].hit.doc.title == "Zebra farms of Turkmenistan"


class DiskFull(sqlite3.Connection):
    """A connection whose bulk inserts fail the way SQLite fails on a full disk."""

    def executemany(self, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
        raise sqlite3.OperationalError("database or disk is full")


def test_sqlite_running_out_of_disk_mid_build(
    tmp_path: Path, index_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = current_generation(index_dir)
    corpus = write_corpus(tmp_path / "corpus", 0, {"zebra.md": NEW_ARTICLE})

    def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
        if readonly:
            return real_connect(path, readonly=True)
        conn = sqlite3.connect(path, factory=DiskFull, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        return conn

    monkeypatch.setattr("index.store.local.connect", connect)
    with pytest.raises(UserFacingError, match=r"the disk is full\. The previous index is unchanged"):
        build(index_dir, corpus)
    assert cli_main(["index", "build", "--corpus", str(corpus), "--index-dir", str(index_dir), "-q"]) == 1
    err = capsys.readouterr().err
    assert f"Could not write the index in {index_dir}: the disk is full" in err and "Traceback" not in err
    assert current_generation(index_dir) == before and not list(index_dir.glob(".tmp-gen-*"))
    assert Library.open(index_dir, embedder=HashEmbedder()).stats().documents == 3
    monkeypatch.undo()
    build(index_dir, corpus)
    assert Library.open(index_dir, embedder=HashEmbedder()).stats().documents == 4


# --- damaged indexes: refuse to start ---------------------------------------------------------


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garble(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * (path.stat().st_size // 256) + b"x" * (path.stat().st_size % 256))


def _other_model(generation: Path) -> None:
    manifest = generation / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"model": "hash-64"', '"model": "hash-32"'))


DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "missing-faiss": (lambda g: (g / "index.faiss").unlink(), "index.faiss"),
    "truncated-faiss": (lambda g: _truncate(g / "index.faiss"), "index.faiss"),
    "corrupt-faiss": (lambda g: _garble(g / "index.faiss"), "index.faiss"),
    "missing-sqlite": (lambda g: (g / "store.sqlite").unlink(), "store.sqlite"),
    "truncated-sqlite": (lambda g: _truncate(g / "store.sqlite"), "store.sqlite"),
    "corrupt-sqlite": (lambda g: _garble(g / "store.sqlite"), "store.sqlite"),
    "other-model-manifest": (_other_model, "manifest.json"),
}


def damaged(index_dir: Path, kind: str) -> str:
    """Damage the live generation; returns the file the message must name."""
    damage, name = DAMAGE[kind]
    generation = current_generation(index_dir)
    damage(generation)
    return str(generation / name)


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_bot_and_ask_refuse_a_damaged_index(
    kind: str,
    index_dir: Path,
    api: FakeBotAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`steppe bot` (in-process) and `steppe ask`: exit 2, one line naming the file and the fix."""
    path = damaged(index_dir, kind)
    for name, value in bot_env(api, index_dir).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(index_dir)  # no .env here
    monkeypatch.setattr("bot.app.setup_logging", lambda level, token: None)  # keep pytest's log capture
    assert cli_main(["bot"]) == 2
    assert cli_main(["ask", "oil exports", "--index-dir", str(index_dir)]) == 2
    for line in capsys.readouterr().err.splitlines():
        assert path in line and "--rebuild" in line and "Traceback" not in line and SECRET not in line
    assert api.log == []  # the bot never started talking to Telegram


def test_steppe_bot_process_exits_2_on_a_damaged_index(api: FakeBotAPI, index_dir: Path, tmp_path: Path) -> None:
    path = damaged(index_dir, "corrupt-sqlite")
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "bot"],
        env=bot_env(api, index_dir),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("steppe bot: The SQLite store") and path in done.stderr
    assert "steppe index build --rebuild" in done.stderr and SECRET not in done.stderr
    assert api.log == []


def test_a_running_model_other_than_the_index_model_is_refused(
    index_dir: Path, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in bot_env(api, index_dir, STEPPE_MODEL="hash-32").items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(index_dir)
    monkeypatch.setattr("bot.app.setup_logging", lambda level, token: None)
    assert cli_main(["bot"]) == 2
    err = capsys.readouterr().err
    assert "built with hash-64" in err and str(current_generation(index_dir) / "manifest.json") in err
    assert "--rebuild" in err

"""Watched feeds: the feeds file, conditional polls, back-off, pacing, the CLI and the bot's job queue.

A local HTTP server on 127.0.0.1 serves a feed that the tests change between polls (and break:
500s, timeouts, garbage) and the article pages in tests/fixtures/feeds; nothing else is reached.
The watcher's clock is the tests' to move, so intervals and back-offs are checked without waiting.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from bot.cli import main as cli_main
from index.config import Settings
from index.embedding import HashEmbedder
from index.feeds import (
    MAX_BACKOFF,
    FeedsFileError,
    FeedWatcher,
    HostPacer,
    load_states,
    read_feeds,
)
from index.search import Searcher
from index.sources import load_corpus
from index.store import open_store

PAGES = Path(__file__).parent / "fixtures" / "feeds"
ARTICLES = {  # path on the test site -> (fixture, title in the feed)
    "/news/kambarata": ("kambarata-dam.html", "Kyrgyzstan and Russia revive the Kambarata dam project"),
    "/news/aral": ("aral-fisheries.html", "Fish return to the northern Aral Sea"),
    "/photos/week": ("photo-gallery.html", "Photos of the week"),
}


@dataclass
class Hit:
    path: str
    status: int
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


class Site:
    """What the test server serves: a feed per path (a list of item paths) and how it misbehaves."""

    def __init__(self) -> None:
        self.feeds: dict[str, list[str]] = {}
        self.mode: dict[str, str] = {}  # feed path -> "ok", "500", "503", "slow", "garbage", "same-etag"
        self.hits: list[Hit] = []
        self.stopping = threading.Event()
        self.base = ""

    def url(self, path: str) -> str:
        return self.base + path

    def feed_xml(self, path: str) -> bytes:
        items = []
        for item in self.feeds[path]:
            if item.startswith("nolink:"):
                items.append(f"<item><title>{item[7:]}</title><description>No link here.</description></item>")
                continue
            link = item if ":" in item else self.url(item)
            title = ARTICLES.get(item, ("", item))[1]
            items.append(f"<item><title>{title}</title><link>{link.replace('&', '&amp;')}</link></item>")
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>Tien Shan Courier</title><link>{self.base}/</link><description>News</description>"
            + "".join(items)
            + "</channel></rss>"
        ).encode()

    def requests(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8", **headers: str) -> None:
        self.server.site.hits.append(Hit(self.path, status, dict(self.headers.items()), self.arrived))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def do_GET(self) -> None:
        self.arrived = time.monotonic()
        site = self.server.site
        if self.path in site.feeds:
            mode = site.mode.get(self.path, "ok")
            if mode == "500":
                return self._send(500, b"<h1>Internal Server Error</h1>")
            if mode == "503":
                return self._send(503, b"<h1>Busy</h1>", Retry_After="7200")
            if mode == "slow":
                site.stopping.wait(3)
                return self._send(200, site.feed_xml(self.path), "application/rss+xml")
            if mode == "garbage":
                return self._send(200, b"<rss><channel><item><title>broken", "application/rss+xml")
            body = site.feed_xml(self.path)
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if mode != "same-etag" and self.headers.get("If-None-Match") == etag:
                return self._send(304, b"", ETag=etag)
            return self._send(200, body, "application/rss+xml", ETag=etag, Last_Modified=formatdate(usegmt=True))
        if self.path == "/news/flaky":
            return self._send(503, b"<h1>Service Unavailable</h1>")
        if self.path in ARTICLES:
            return self._send(200, (PAGES / ARTICLES[self.path][0]).read_bytes())
        return self._send(404, b"<h1>Not Found</h1>")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: Site


@pytest.fixture
def site() -> Iterator[Site]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.site = Site()
    server.site.base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.site
    finally:
        server.site.stopping.set()
        server.shutdown()
        server.server_close()


class Clock:
    """Wall-clock time the test moves on."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += minutes * 60


@pytest.fixture
def clock() -> Clock:
    return Clock()


def write_feeds(path: Path, *tables: str) -> Path:
    path.write_text("# watched by the tests\n" + "\n".join(f"[[feed]]\n{t}\n" for t in tables), encoding="utf-8")
    return path


@pytest.fixture
def watcher(tmp_path: Path, site: Site, clock: Clock) -> FeedWatcher:
    site.feeds["/rss"] = ["/news/kambarata", "/photos/week", "nolink:A headline alone", "mailto:desk@example.org"]
    feeds = write_feeds(
        tmp_path / "feeds.toml",
        f'url = "{site.url("/rss")}"\nname = "Tien Shan Courier"\nlanguage = "en"\ncountry = "Kyrgyzstan"\n'
        "interval_minutes = 30",
    )
    settings = replace(Settings.from_env(env_file=None), feed_host_seconds=0.0)
    return FeedWatcher(
        settings,
        feeds_file=feeds,
        corpus_dir=tmp_path / "corpus",
        index_dir=tmp_path / "index",
        embedder=HashEmbedder(),
        timeout=1.0,
        clock=clock,
    )


def generation(watcher: FeedWatcher) -> str | None:
    return open_store(watcher.index_dir).published()


# --- the feeds file ----------------------------------------------------------------------------


def test_the_feeds_file_is_read_with_defaults(tmp_path: Path) -> None:
    path = write_feeds(
        tmp_path / "feeds.toml",
        'url = "https://akipress.example/rss"\nname = "AKIpress"\nlanguage = "ru"\ncountry = "Kyrgyzstan"\n'
        "interval_minutes = 15",
        'url = "https://wire.example/atom.xml"\npaused = true',
    )
    first, second = read_feeds(path)
    assert (first.name, first.language, first.country, first.interval_minutes) == ("AKIpress", "ru", "Kyrgyzstan", 15)
    assert second.interval_minutes == 60 and second.paused and second.label == "https://wire.example/atom.xml"
    assert read_feeds(tmp_path / "absent.toml") == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[feed]]\nname = "no address"\n', r"Feed 1 in .* needs url"),
        ('[[feed]]\nurl = "ftp://files.example/rss"\n', "bad url: unsupported URL scheme"),
        ('[[feed]]\nurl = "https://a.example/rss"\nintervall = 5\n', "unknown keys intervall"),
        ('[[feed]]\nurl = "https://a.example/rss"\ninterval_minutes = 1\n', "at least 5"),
        ('[[feed]]\nurl = "https://a.example/rss"\npaused = "yes"\n', "paused must be true or false"),
        ('[[feed]]\nurl = "https://a.example/rss"\n[[feed]]\nurl = "https://A.example/rss/"\n', "repeats feed 1"),
        ('[[feed]\nurl = "https://a.example/rss"\n', "not valid TOML"),
        ('url = "https://a.example/rss"\n', r"\[\[feed\]\] tables"),
    ],
)
def test_a_malformed_feeds_file_is_explained(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(FeedsFileError, match=message):
        read_feeds(path)


# --- polling -----------------------------------------------------------------------------------


def test_new_items_are_added_indexed_and_record_their_feed(watcher: FeedWatcher, site: Site) -> None:
    round_ = watcher.poll()
    [outcome] = round_.outcomes
    assert outcome.ok and round_.indexed, round_.lines()
    assert outcome.message == "4 items, 1 added, 0 already in the corpus, 2 skipped, 1 without a link"
    added = [r for r in outcome.results if r.ok]
    skipped = {r.item: r.message for r in outcome.results if not r.ok}
    assert [r.title for r in added] == [ARTICLES["/news/kambarata"][1]] and added[0].passages > 0
    assert skipped[site.url("/photos/week")].startswith("no article found on the page")
    assert skipped["mailto:desk@example.org"].startswith("unsupported URL scheme")

    head = added[0].path.read_text(encoding="utf-8").split("---\n")[1]
    meta = yaml.safe_load(head)
    assert meta["feed"] == site.url("/rss") and meta["feed_name"] == "Tien Shan Courier"
    assert meta["language"] == "en" and meta["country"] == "Kyrgyzstan" and meta["source"] == "Tien Shan Courier"
    hit = Searcher.open(watcher.index_dir, embedder=HashEmbedder()).search("Kambarata Naryn hydropower", mode="bm25")
    assert hit.hits[0].doc.title == ARTICLES["/news/kambarata"][1]
    [doc], _ = load_corpus(watcher.corpus_dir)  # read as the index reads it: the feed is kept with the document
    assert doc.extra["feed"] == site.url("/rss") and doc.extra["country"] == "Kyrgyzstan"


def test_an_unchanged_feed_costs_no_download_and_no_index_write(watcher: FeedWatcher, site: Site, clock: Clock) -> None:
    watcher.poll()
    published, files = generation(watcher), sorted(watcher.corpus_dir.iterdir())
    pages = len(site.requests("/news/kambarata"))

    assert (
        watcher.poll().note.startswith("no feed is due (next: Tien Shan Courier in ")
        and len(site.requests("/rss")) == 1
    )  # interval: 30 min

    clock.advance(31)
    [outcome] = watcher.poll().outcomes
    assert outcome.ok and outcome.message == "not modified since the last poll"
    last = site.requests("/rss")[-1]
    assert last.status == 304 and last.headers["If-None-Match"] and last.headers["If-Modified-Since"]

    site.mode["/rss"] = "same-etag"  # a server that ignores If-None-Match but keeps its ETag
    clock.advance(31)
    [outcome] = watcher.poll().outcomes
    assert outcome.message == "not modified since the last poll"
    assert generation(watcher) == published and sorted(watcher.corpus_dir.iterdir()) == files
    assert len(site.requests("/news/kambarata")) == pages  # no article fetched again


def test_a_changed_feed_adds_only_its_new_item(watcher: FeedWatcher, site: Site, clock: Clock) -> None:
    watcher.poll()
    published = generation(watcher)
    site.feeds["/rss"] = ["/news/aral", *site.feeds["/rss"]]
    clock.advance(31)
    [outcome] = watcher.poll().outcomes
    assert [r.title for r in outcome.results if r.ok] == [ARTICLES["/news/aral"][1]]
    assert len(site.requests("/news/kambarata")) == 1  # seen before: not fetched again
    assert generation(watcher) != published
    hit = Searcher.open(watcher.index_dir, embedder=HashEmbedder()).search("pike-perch Aralsk Kokaral", mode="bm25")
    assert hit.hits[0].doc.title == ARTICLES["/news/aral"][1]


def test_an_item_that_failed_for_a_passing_reason_is_retried_then_given_up(
    watcher: FeedWatcher, site: Site, clock: Clock
) -> None:
    site.feeds["/rss"].append("/news/flaky")  # answers 503 every time
    for _ in range(4):
        watcher.poll(force=True)
    assert len(site.requests("/news/flaky")) == 3  # MAX_ITEM_ATTEMPTS, then it is left alone
    assert len(site.requests("/photos/week")) == 1  # not an article: skipped for good at once
    state = load_states(watcher.state_file)[site.url("/rss")]
    assert state.attempts == {} and state.added == 1
    assert [h.status for h in site.requests("/rss")] == [200, 200, 200, 304]  # conditional again once settled


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("500", "the server failed (HTTP 500 Internal Server Error)"),
        ("slow", "timed out"),
        ("garbage", "not a valid RSS or Atom feed"),
    ],
)
def test_a_failing_feed_backs_off_and_says_why(
    watcher: FeedWatcher, site: Site, clock: Clock, mode: str, reason: str
) -> None:
    watcher.poll()
    site.mode["/rss"] = mode
    clock.advance(31)
    [outcome] = watcher.poll().outcomes
    assert not outcome.ok and reason in outcome.message and "next try in 1 h" in outcome.message
    state = load_states(watcher.state_file)[site.url("/rss")]
    assert state.failures == 1 and state.next_poll == clock.now + 2 * 30 * 60  # twice the interval
    [status] = watcher.status()
    assert "failing (1 time in a row" in status and reason in status and "next poll in 1 h" in status

    polls = len(site.requests("/rss"))
    clock.advance(31)
    assert (
        watcher.poll().note.startswith("no feed is due (next: Tien Shan Courier in ")
        and len(site.requests("/rss")) == polls
    )  # backing off
    clock.advance(30)
    [outcome] = watcher.poll().outcomes
    assert "2 failure(s) in a row, next try in 2 h" in outcome.message

    site.mode["/rss"] = "ok"
    clock.advance(2 * 60)
    [outcome] = watcher.poll().outcomes
    assert outcome.ok and load_states(watcher.state_file)[site.url("/rss")].failures == 0


def test_index_stats_show_each_feed_and_its_failure(
    watcher: FeedWatcher, site: Site, clock: Clock, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    watcher.poll()
    site.mode["/rss"] = "503"
    clock.advance(31)
    [outcome] = watcher.poll().outcomes
    assert "next try in 2 h" in outcome.message  # Retry-After: 7200 s, longer than the 1 h back-off
    monkeypatch.setenv("STEPPE_FEEDS", str(watcher.feeds_file))
    capsys.readouterr()
    assert cli_main(["index", "stats", "--index-dir", str(watcher.index_dir)]) == 0
    out = capsys.readouterr().out
    assert f"Watched feeds ({watcher.feeds_file})" in out
    assert f"1. Tien Shan Courier — {site.url('/rss')}" in out
    assert "failing (1 time in a row" in out and "the server failed (HTTP 503" in out


def test_retry_after_and_the_longest_back_off(watcher: FeedWatcher, site: Site, clock: Clock) -> None:
    site.mode["/rss"] = "503"
    for _ in range(12):
        watcher.poll(force=True)
    state = load_states(watcher.state_file)[site.url("/rss")]
    assert state.failures == 12 and state.next_poll == clock.now + MAX_BACKOFF


def test_removing_or_pausing_a_feed_stops_its_polls(watcher: FeedWatcher, site: Site, clock: Clock) -> None:
    site.feeds["/other"] = ["/news/aral"]
    watcher.add(site.url("/other"), "Other")
    text = watcher.feeds_file.read_text(encoding="utf-8")
    assert text.startswith("# watched by the tests") and 'name = "Other"' in text  # comments survive edits
    assert len(site.requests("/other")) == 1  # added only once checked to be a feed
    watcher.poll()
    assert len(site.requests("/rss")) == 1 and len(site.requests("/other")) == 2

    assert watcher.pause("2") == "Paused Other."
    clock.advance(120)
    watcher.poll()
    assert len(site.requests("/other")) == 2 and len(site.requests("/rss")) == 2
    assert "paused" in watcher.status()[1]
    watcher.pause(site.url("/other"), paused=False)
    assert watcher.remove("1").startswith("Stopped watching Tien Shan Courier")
    clock.advance(120)
    watcher.poll(force=True)
    assert len(site.requests("/rss")) == 2 and len(site.requests("/other")) == 3
    assert list(load_states(watcher.state_file)) == [site.url("/other")]
    assert (watcher.corpus_dir / next(p.name for p in watcher.corpus_dir.glob("*kambarata*"))).exists()
    with pytest.raises(FeedsFileError, match="No watched feed is '7'"):
        watcher.remove("7")


def test_adding_something_that_is_not_a_feed_is_refused(watcher: FeedWatcher, site: Site) -> None:
    with pytest.raises(Exception, match="not an RSS or Atom feed: this address is a web page"):
        watcher.add(site.url("/news/kambarata"))
    assert watcher.add(site.url("/rss")).endswith("is watched already.")
    assert len(read_feeds(watcher.feeds_file)) == 1


def test_requests_to_one_host_are_spaced() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    pacer = HostPacer(2.0, clock=lambda: now[0], sleep=sleep)
    import httpx

    for url in ("https://a.example/rss", "https://a.example/news/1", "https://b.example/rss", "https://a.example/2"):
        pacer(httpx.Request("GET", url))
        now[0] += 0.5
    assert waits == [1.5, 1.0]  # a.example waits out its 2 s; b.example does not


def test_the_watcher_paces_a_real_host(watcher: FeedWatcher, site: Site) -> None:
    watcher.pacer = HostPacer(0.5)
    watcher.poll()
    times = [h.at for h in site.hits]
    assert len(times) >= 3 and all(
        b - a >= 0.35 for a, b in itertools.pairwise(times)
    )  # 0.5 s apart, give or take a busy machine's jitter


# --- the command line --------------------------------------------------------------------------


def test_cli_watch_once(
    watcher: FeedWatcher, site: Site, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STEPPE_FEED_HOST_SECONDS", "0")
    monkeypatch.setenv("STEPPE_MODEL", "hash-64")
    args = ["--feeds", str(watcher.feeds_file), "--corpus-dir", str(watcher.corpus_dir)]
    args += ["--index-dir", str(watcher.index_dir), "--once"]
    assert cli_main(["corpus", "watch", *args]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Tien Shan Courier: 4 items, 1 added, 0 already in the corpus, 2 skipped, 1 without a link"
    assert out[1].startswith("  added: Kyrgyzstan and Russia revive the Kambarata dam project (")
    assert cli_main(["corpus", "watch", *args]) == 0
    assert capsys.readouterr().out in {f"no feed is due (next: Tien Shan Courier in {m} min)\n" for m in (29, 30)}

    assert cli_main(["corpus", "watch", "--feeds", str(watcher.feeds_file.with_name("none.toml")), "--once"]) == 2
    assert "No feeds file at" in capsys.readouterr().err


# --- the bot -----------------------------------------------------------------------------------


def _wait(predicate: Callable[[], object], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {predicate}"
        time.sleep(0.05)


def test_the_running_bot_polls_its_feeds_answers_from_them_and_survives_their_failures(
    tmp_path: Path, site: Site, tiny_corpus: Path
) -> None:
    from botkit import ADMIN, TOKEN, BotRunner, ask, reply_to, settings_for, visible
    from fakebotapi import FakeBotAPI

    from index.build import build_index
    from index.service import Library

    index_dir = tmp_path / "index"
    build_index(index_dir, [str(tiny_corpus)], embedder=HashEmbedder(), progress=False, log=lambda message: None)
    library = Library.open(index_dir, embedder=HashEmbedder())
    site.feeds["/rss"] = ["/news/kambarata"]
    feeds = write_feeds(tmp_path / "feeds.toml", f'url = "{site.url("/rss")}"\nname = "Tien Shan Courier"')
    env = {
        "STEPPE_FEEDS": str(feeds),
        "STEPPE_INDEX_DIR": str(index_dir),
        "STEPPE_CORPUS_DIR": str(tmp_path / "feeds-corpus"),
        "STEPPE_FEED_CHECK_SECONDS": "0.2",
        "STEPPE_FEED_HOST_SECONDS": "0",
    }
    with FakeBotAPI(TOKEN) as api:
        runner = BotRunner(settings_for(api, **env), library).start()
        try:
            # The job queue polls the new feed at once; the bot answers from the new generation.
            first = library.generation()
            _wait(lambda: library.generation() != first)
            reply = visible(reply_to(api, ask(api, "What did Kyrgyzstan and Russia agree about the Kambarata dam?")))
            assert "Kambarata" in reply and ARTICLES["/news/kambarata"][1] in reply, reply

            # The feed gains an item; an hour later the next poll brings it in.
            watcher = runner.app.bot_data.feeds
            site.feeds["/rss"] = ["/news/aral", "/news/kambarata"]
            second = library.generation()
            watcher.clock = lambda: time.time() + 3600
            _wait(lambda: library.generation() != second)
            reply = visible(reply_to(api, ask(api, "Why are fishermen in Aralsk catching more pike-perch?")))
            assert ARTICLES["/news/aral"][1] in reply, reply

            # It breaks: the poll fails, backs off and is reported; the bot keeps answering.
            site.mode["/rss"] = "500"
            watcher.clock = lambda: time.time() + 3 * 3600
            _wait(lambda: load_states(watcher.state_file)[site.url("/rss")].failures == 1)
            reply = visible(reply_to(api, ask(api, "What did Kyrgyzstan and Russia agree about the Kambarata dam?")))
            assert ARTICLES["/news/kambarata"][1] in reply
            status = visible(reply_to(api, ask(api, "/feeds", ADMIN)))
            assert status.startswith(f"1. Tien Shan Courier — {site.url('/rss')}")
            assert "failing (1 time in a row" in status and "HTTP 500" in status
            assert "only for the bot's admins" in visible(reply_to(api, ask(api, "/feeds")))

            # Removed, it is polled no more, even when it would be due.
            assert visible(reply_to(api, ask(api, "/feeds remove 1", ADMIN))).startswith("Stopped watching")
            polls = len(site.requests("/rss"))
            watcher.clock = lambda: time.time() + 30 * 86400
            time.sleep(1.0)  # five looks of the job queue
            assert len(site.requests("/rss")) == polls
            assert "No feeds are watched" in visible(reply_to(api, ask(api, "/feeds", ADMIN)))

            # Added back by an admin (checked to be a feed first), then polled on demand.
            refused = visible(reply_to(api, ask(api, f"/feeds add {site.url('/news/aral')}", ADMIN)))
            assert "not an RSS or Atom feed" in refused
            site.mode["/rss"] = "ok"
            added = visible(reply_to(api, ask(api, f"/feeds add {site.url('/rss')} Courier", ADMIN)))
            assert added.startswith("Now watching “Courier” (2 items)")
            checked = visible(reply_to(api, ask(api, "/feeds check", ADMIN)))
            # (its validators outlive the removal: nothing is lost, nothing downloaded twice)
            assert checked in ("Courier: not modified since the last poll", "Courier: no new items (2 in the feed)")
            assert "Usage: /feeds" in visible(reply_to(api, ask(api, "/feeds frobnicate", ADMIN)))
        finally:
            runner.stop()

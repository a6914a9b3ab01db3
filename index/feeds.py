"""Watched news feeds: the feeds file, each feed's polling state, and the watcher that polls them.

The feeds file (``feeds.toml`` at the project root, or STEPPE_FEEDS) lists ``[[feed]]`` tables
with a ``url`` and optional ``name``, ``language``, ``country``, ``interval_minutes`` and
``paused``. ``steppe corpus watch`` and the bot's job queue both call :meth:`FeedWatcher.poll`,
which polls the feeds that are due: conditional requests (ETag / Last-Modified), at least
Settings.feed_host_seconds between two requests to one host, and a growing back-off after
failures whose reason stays on show. New items go through the same fetch, extraction, dedup and
incremental index update as ``corpus add`` (index/ingest.py), recording the feed they came from.
What each feed last did is kept in ``feeds-state.json`` in the index folder; losing that file
costs one full download per feed and nothing else (the corpus itself deduplicates).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from index.config import Settings, resolve
from index.errors import FetchError, UserFacingError
from index.ingest import AddResult, Ingest, Origin
from index.sources.urls import check_url, normalise_url
from index.sources.web import DEFAULT_TIMEOUT, fetch_feed, make_client

if TYPE_CHECKING:
    from index.embedding import Embedder

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_MINUTES = 60
MIN_INTERVAL_MINUTES = 5  # news sites publish a few times an hour at most; be a polite reader
MAX_BACKOFF = 24 * 3600.0  # a failing feed is still tried once a day
MAX_ITEM_ATTEMPTS = 3  # an item failing for a passing reason (timeout, 5xx) is tried in this many polls
SEEN_LIMIT = 2000  # links remembered per feed: far more than any feed lists at once
STATE_NAME = "feeds-state.json"
FEED_KEYS = ("url", "name", "language", "country", "interval_minutes", "paused")
Clock = Callable[[], float]


class FeedsFileError(UserFacingError):
    """The feeds file is missing, unreadable or malformed; the message says where."""

    exit_code = 2


@dataclass(frozen=True)
class Feed:
    """One watched feed, as the feeds file lists it."""

    url: str
    name: str | None = None
    language: str | None = None
    country: str | None = None
    interval_minutes: int = DEFAULT_INTERVAL_MINUTES
    paused: bool = False

    @property
    def label(self) -> str:
        """The feed's name, else its address."""
        return self.name or self.url

    def origin(self) -> Origin:
        """What its articles record about it."""
        return Origin(self.url, self.name, self.language, self.country)


# --- the feeds file ------------------------------------------------------------------------------


def read_feeds(path: Path) -> list[Feed]:
    """The feeds listed in ``path`` (none when it does not exist); FeedsFileError says what is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedsFileError(f"Cannot read the feeds file {path}: {getattr(exc, 'strerror', None) or exc}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise FeedsFileError(f"The feeds file {path} is not valid TOML: {exc}.") from None
    unknown = sorted(set(data) - {"feed"})
    if unknown:
        raise FeedsFileError(f"The feeds file {path} has {', '.join(unknown)}; it lists feeds as [[feed]] tables.")
    tables = data.get("feed", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise FeedsFileError(f'In {path}, feeds are [[feed]] tables, each with a url = "https://...".')
    feeds: list[Feed] = []
    seen: dict[str, int] = {}
    for number, table in enumerate(tables, 1):
        feed = _feed(table, f"Feed {number} in {path}")
        key = normalise_url(feed.url)
        if key in seen:
            raise FeedsFileError(f"Feed {number} in {path} repeats feed {seen[key]} ({feed.url}).")
        seen[key] = number
        feeds.append(feed)
    return feeds


def _feed(table: dict[str, Any], where: str) -> Feed:
    """A Feed from one ``[[feed]]`` table, every value checked."""
    unknown = sorted(set(table) - set(FEED_KEYS))
    if unknown:
        raise FeedsFileError(f"{where} has unknown keys {', '.join(unknown)} (known: {', '.join(FEED_KEYS)}).")
    url = table.get("url")
    if not isinstance(url, str):
        raise FeedsFileError(f'{where} needs url = "https://..." (the address of an RSS or Atom feed).')
    try:
        url = check_url(url)
    except FetchError as exc:
        raise FeedsFileError(f"{where} has a bad url: {exc}.") from None
    texts = {}
    for key in ("name", "language", "country"):
        value = table.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise FeedsFileError(f"{where}: {key} must be a non-empty string.")
        texts[key] = value.strip() if value else None
    interval = table.get("interval_minutes", DEFAULT_INTERVAL_MINUTES)
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < MIN_INTERVAL_MINUTES:
        raise FeedsFileError(
            f"{where}: interval_minutes must be a whole number of at least {MIN_INTERVAL_MINUTES} (got {interval!r})."
        )
    paused = table.get("paused", False)
    if not isinstance(paused, bool):
        raise FeedsFileError(f"{where}: paused must be true or false.")
    return Feed(url=url, interval_minutes=interval, paused=paused, **texts)


def _edit(path: Path, change: Callable[[list[Any]], str]) -> str:
    """Apply ``change`` to the feeds file's [[feed]] tables, keeping its comments and layout
    (tomlkit), and write it back atomically; returns what ``change`` says it did."""
    import tomlkit

    try:
        doc = tomlkit.parse(path.read_text(encoding="utf-8")) if path.exists() else tomlkit.document()
    except (OSError, tomlkit.exceptions.ParseError) as exc:
        raise FeedsFileError(f"Cannot edit the feeds file {path}: {exc}.") from None
    if not isinstance(doc.get("feed"), tomlkit.items.AoT):  # absent, or the empty ``feed = []`` of an emptied file
        doc["feed"] = tomlkit.aot()
    message = change(doc["feed"])
    if not doc["feed"]:
        del doc["feed"]  # tomlkit would write "feed = []", to which it cannot append a table later
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(tomlkit.dumps(doc), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise FeedsFileError(f"Cannot write the feeds file {path}: {exc.strerror or exc}.") from None
    read_feeds(path)  # what was written must read back
    return message


def find_feed(feeds: list[Feed], key: str) -> Feed:
    """The feed named by its number in the list (1, 2, ...) or its address."""
    key = key.strip()
    if key.isdigit() and 1 <= int(key) <= len(feeds):
        return feeds[int(key) - 1]
    wanted = normalise_url(key) if "://" in key else None
    for feed in feeds:
        if normalise_url(feed.url) == wanted:
            return feed
    raise FeedsFileError(f"No watched feed is {key!r}: give its number in the list or its address.")


# --- what each feed last did -------------------------------------------------------------------


@dataclass
class FeedState:
    """One feed's polling record (wall-clock times, seconds since the epoch)."""

    title: str | None = None  # what the feed calls itself
    etag: str | None = None
    last_modified: str | None = None
    last_poll: float | None = None
    last_success: float | None = None
    next_poll: float = 0.0
    failures: int = 0  # in a row
    error: str | None = None  # why the last poll failed
    added: int = 0  # articles added from this feed, all told
    last_added: int = 0  # in its last successful poll
    seen: list[str] = field(default_factory=list)  # normalised links handled, oldest first
    attempts: dict[str, int] = field(default_factory=dict)  # links that failed, and how often


def load_states(path: Path) -> dict[str, FeedState]:
    """The saved states by feed URL; an unreadable file is set aside (with a warning) and started afresh."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        known = {f.name for f in fields(FeedState)}
        return {url: FeedState(**{k: v for k, v in value.items() if k in known}) for url, value in raw.items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        logger.warning("the feeds' state in %s is unreadable (%s); starting afresh", path, exc)
        with contextlib.suppress(OSError):
            os.replace(path, path.with_suffix(".unreadable"))
        return {}


def save_states(path: Path, states: dict[str, FeedState]) -> None:
    """Write the states atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({url: asdict(s) for url, s in states.items()}, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def duration(seconds: float) -> str:
    """A span for people: "40 s", "5 min", "2 h 5 min", "3 d"."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d"


def describe(number: int, feed: Feed, state: FeedState | None, now: float) -> str:
    """Two lines on one feed for /feeds and `steppe index stats`."""
    head = f"{number}. {feed.name or (state.title if state else None) or feed.url} — {feed.url}"
    state = state or FeedState()
    if feed.paused:
        return f"{head}\n   paused"
    due = "due now" if state.next_poll <= now else f"next poll in {duration(state.next_poll - now)}"
    if state.last_poll is None:
        return f"{head}\n   not polled yet; {due}"
    if state.failures:
        return (
            f"{head}\n   failing ({state.failures} time{'s' if state.failures > 1 else ''} in a row, last "
            f"{duration(now - state.last_poll)} ago): {state.error}; backing off, {due}"
        )
    return (
        f"{head}\n   ok: polled {duration(now - state.last_poll)} ago ({state.last_added} new), {due}; "
        f"{state.added} article{'' if state.added == 1 else 's'} added in all"
    )


# --- polling -----------------------------------------------------------------------------------


class HostPacer:
    """Keeps at least ``seconds`` between two requests to the same host (an httpx request hook)."""

    def __init__(self, seconds: float, clock: Clock = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.seconds, self.clock, self.sleep = seconds, clock, sleep
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> None:
        """Wait until the request's host may be asked again."""
        host = request.url.host
        with self._lock:
            last = self._last.get(host)
            wait = 0.0 if last is None else last + self.seconds - self.clock()
            self._last[host] = self.clock() + max(wait, 0.0)  # reserve the slot before sleeping
        if wait > 0:
            self.sleep(wait)


@dataclass
class FeedOutcome:
    """What one poll of one feed did."""

    feed: Feed
    ok: bool
    message: str
    results: list[AddResult] = field(default_factory=list)  # one per new item tried

    def lines(self) -> list[str]:
        """The feed's line, then one per item added or skipped."""
        return [f"{self.feed.label}: {self.message}", *(f"  {r.line()}" for r in self.results)]


@dataclass
class Round:
    """One round of polls: an outcome per feed polled, and whether the index took new passages."""

    outcomes: list[FeedOutcome] = field(default_factory=list)
    indexed: bool = False
    note: str | None = None  # why nothing was polled

    def lines(self) -> list[str]:
        """Everything the round did, for the terminal or an admin."""
        lines = [line for outcome in self.outcomes for line in outcome.lines()]
        return lines or [self.note or "no feed was due"]


class FeedWatcher:
    """Polls the feeds of a feeds file into a corpus folder and its index; thread-safe.

    ``clock`` gives wall-clock seconds (tests move it on); ``embedder`` is the running bot's
    model, so indexing never loads it twice.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        feeds_file: Path | None = None,
        corpus_dir: Path | None = None,
        index_dir: Path | None = None,
        embedder: Embedder | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Clock = time.time,
    ) -> None:
        self.settings = resolve(settings)
        self.feeds_file = Path(feeds_file) if feeds_file else self.settings.feeds_file
        self.corpus_dir = Path(corpus_dir) if corpus_dir else self.settings.project_corpus
        self.index_dir = Path(index_dir) if index_dir else self.settings.index_dir
        self.embedder, self.timeout, self.clock = embedder, timeout, clock
        self.pacer = HostPacer(self.settings.feed_host_seconds)
        self._lock = threading.Lock()

    @property
    def state_file(self) -> Path:
        """Where the feeds' polling state is kept."""
        return self.index_dir / STATE_NAME

    def feeds(self) -> list[Feed]:
        """The feeds file's feeds (FeedsFileError when it is malformed)."""
        return read_feeds(self.feeds_file)

    def status(self) -> list[str]:
        """Each feed's state in words (the file's problem, if it has one)."""
        try:
            feeds = self.feeds()
        except FeedsFileError as exc:
            return [str(exc)]
        states, now = load_states(self.state_file), self.clock()
        return [describe(n, feed, states.get(feed.url), now) for n, feed in enumerate(feeds, 1)]

    def status_json(self) -> list[dict[str, Any]]:
        """Each feed with its state, for `steppe index stats --json`."""
        states = load_states(self.state_file)
        return [
            {**asdict(feed), **{k: v for k, v in asdict(states.get(feed.url, FeedState())).items() if k != "seen"}}
            for feed in self.feeds()
        ]

    def next_due(self) -> float | None:
        """When the next feed is due (wall clock), None when none is watched."""
        states = load_states(self.state_file)
        due = [states.get(f.url, FeedState()).next_poll for f in self.feeds() if not f.paused]
        return min(due) if due else None

    # changing the file

    def add(self, url: str, name: str | None = None) -> str:
        """Check that ``url`` is a readable feed, then add it to the feeds file; says what it did."""
        url = check_url(url)
        if any(normalise_url(f.url) == normalise_url(url) for f in self.feeds()):
            return f"{url} is watched already."
        with make_client(self.timeout, before_request=self.pacer) as client:
            read = fetch_feed(client, url)  # FetchError: not added, with the reason

        def append(tables: list[Any]) -> str:
            import tomlkit

            table = tomlkit.table()
            table["url"] = url
            if name:
                table["name"] = name
            tables.append(table)
            return f"Now watching “{name or read.title or url}” ({len(read.entries)} items); its first poll is due now."

        return _edit(self.feeds_file, append)

    def remove(self, key: str) -> str:
        """Stop watching a feed (by number or address); its articles stay in the corpus."""
        feed = find_feed(self.feeds(), key)

        def drop(tables: list[Any]) -> str:
            del tables[[normalise_url(str(t.get("url", ""))) for t in tables].index(normalise_url(feed.url))]
            return f"Stopped watching {feed.label}; the articles it brought stay in the corpus."

        return _edit(self.feeds_file, drop)

    def pause(self, key: str, paused: bool = True) -> str:
        """Pause or resume a feed (by number or address)."""
        feed = find_feed(self.feeds(), key)

        def flip(tables: list[Any]) -> str:
            table = tables[[normalise_url(str(t.get("url", ""))) for t in tables].index(normalise_url(feed.url))]
            if paused:
                table["paused"] = True
            elif "paused" in table:
                del table["paused"]
            return f"{'Paused' if paused else 'Resumed'} {feed.label}."

        return _edit(self.feeds_file, flip)

    # polling

    def poll(self, *, force: bool = False, only: str | None = None, wait: float = 0.0) -> Round:
        """Poll every feed that is due (``force``: every feed not paused; ``only``: just that one),
        add their new items, and update the index once. A poll already running is waited for up
        to ``wait`` seconds, else this one is skipped. Never raises for a feed's failure;
        FeedsFileError for a malformed feeds file."""
        with self._exclusive(wait) as free:
            if not free:
                return Round(note="another poll of these feeds is running")
            watched = self.feeds()
            if not watched:
                return Round(note=f"no feeds are listed in {self.feeds_file}")
            feeds = [find_feed(watched, only)] if only is not None else watched
            saved = load_states(self.state_file)
            states = {f.url: saved.get(f.url, FeedState()) for f in watched}  # removed feeds are forgotten
            now = self.clock()
            due = [f for f in feeds if not f.paused and (force or states[f.url].next_poll <= now)]
            if not due:
                waiting = [f for f in feeds if not f.paused]
                if not waiting:
                    return Round(note="no feed is due (every feed is paused)")
                first = min(waiting, key=lambda f: states[f.url].next_poll)
                return Round(
                    note=f"no feed is due (next: {first.label} in {duration(states[first.url].next_poll - now)})"
                )
            result = Round()
            ingest: list[Ingest] = []  # made when the first new item turns up: it reads the corpus once
            with make_client(self.timeout, before_request=self.pacer) as client:
                for feed in due:
                    result.outcomes.append(self._poll_one(feed, states[feed.url], client, ingest))
            if ingest and ingest[0].saved:
                ingest[0].index(self.index_dir, settings=self.settings, embedder=self.embedder)
                result.indexed = any(s.result.passages for s in ingest[0].saved)
            for outcome in result.outcomes:
                states[outcome.feed.url].added += sum(r.ok for r in outcome.results)
            save_states(self.state_file, states)
            return result

    @contextlib.contextmanager
    def _exclusive(self, wait: float) -> Iterator[bool]:
        """One poll at a time, in this process (a lock) and across processes (a lock file):
        True once ours, False if another poll still holds it after ``wait`` seconds."""
        ours = self._lock.acquire(timeout=wait) if wait > 0 else self._lock.acquire(blocking=False)
        if not ours:
            yield False
            return
        try:
            self.index_dir.mkdir(parents=True, exist_ok=True)
            deadline = time.monotonic() + wait
            with open(self.index_dir / f".{STATE_NAME}.lock", "w") as handle:
                while True:
                    try:
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() >= deadline:
                            yield False
                            return
                        time.sleep(0.2)
                yield True
        finally:
            self._lock.release()

    def _poll_one(self, feed: Feed, state: FeedState, client: httpx.Client, ingest: list[Ingest]) -> FeedOutcome:
        """Poll one feed; every failure is recorded in ``state`` and returned, never raised."""
        now = state.last_poll = self.clock()
        try:
            # Items that failed are tried again only if the feed is read again: no validators then.
            etag, modified = (None, None) if state.attempts else (state.etag, state.last_modified)
            read = fetch_feed(client, feed.url, etag=etag, last_modified=modified)
            if read.not_modified:
                return self._succeeded(feed, state, now, 0, "not modified since the last poll")
            state.etag, state.last_modified, state.title = read.etag, read.last_modified, read.title or state.title
            seen = set(state.seen)
            fresh = [entry for entry in read.entries if normalise_url(entry.link) not in seen]
            if not fresh:
                return self._succeeded(feed, state, now, 0, f"no new items ({len(read.entries)} in the feed)")
            if not ingest:
                ingest.append(Ingest(self.corpus_dir, client))
            results, known = ingest[0].add_entries(fresh, origin=feed.origin())
        except UserFacingError as exc:
            return self._failed(feed, state, now, str(exc), getattr(exc, "retry_after", None))
        except Exception as exc:  # a bug or an unforeseen answer: report it, keep watching the others
            logger.exception("unexpected error polling the feed %s", feed.url)
            return self._failed(feed, state, now, f"unexpected error ({type(exc).__name__}: {exc})", None)
        failed = {r.item: r for r in results if not r.ok}
        for entry in fresh:
            key = normalise_url(entry.link)
            skipped = failed.get(entry.link)
            if skipped is None:
                state.attempts.pop(key, None)
                state.seen.append(key)
                continue
            if not skipped.retry:  # not an article, too large, a near-duplicate, a bad link: for good
                logger.info("feed %s: skipped %s: %s", feed.url, entry.link, skipped.message)
                state.attempts.pop(key, None)
                state.seen.append(key)
                continue
            tries = state.attempts[key] = state.attempts.get(key, 0) + 1
            if tries >= MAX_ITEM_ATTEMPTS:
                logger.warning(
                    "feed %s: giving up on %s after %d tries: %s", feed.url, entry.link, tries, skipped.message
                )
                del state.attempts[key]
                state.seen.append(key)
            else:
                logger.info("feed %s: skipped %s for now (try %d): %s", feed.url, entry.link, tries, skipped.message)
        del state.seen[:-SEEN_LIMIT]
        added = sum(r.ok for r in results)
        parts = [f"{len(read.entries) + read.no_link} items", f"{added} added", f"{known} already in the corpus"]
        if failed:
            parts.append(f"{len(failed)} skipped")
        if read.no_link:
            parts.append(f"{read.no_link} without a link")
        outcome = self._succeeded(feed, state, now, added, ", ".join(parts))
        outcome.results = results
        return outcome

    def _succeeded(self, feed: Feed, state: FeedState, now: float, added: int, message: str) -> FeedOutcome:
        state.last_success, state.failures, state.error, state.last_added = now, 0, None, added
        state.next_poll = now + feed.interval_minutes * 60
        logger.info("feed %s: %s", feed.url, message)
        return FeedOutcome(feed, True, message)

    def _failed(self, feed: Feed, state: FeedState, now: float, reason: str, retry_after: float | None) -> FeedOutcome:
        state.failures += 1
        state.error = reason
        wait = min(feed.interval_minutes * 60 * 2**state.failures, MAX_BACKOFF)
        if retry_after:
            wait = min(max(wait, retry_after), MAX_BACKOFF)
        state.next_poll = now + wait
        host = urlsplit(feed.url).netloc
        message = f"failed ({reason}); {state.failures} failure(s) in a row, next try in {duration(wait)}"
        logger.warning("feed %s (%s) %s", feed.url, host, message)
        return FeedOutcome(feed, False, message)

"""Fetching over HTTP, carefully: web pages and RSS/Atom feeds for ``corpus add`` and watched feeds.

One client (timeouts, a redirect limit, a User-Agent naming steppe) and one download function
that streams, caps what it decodes (a compressed "bomb" costs at most MAX_BYTES), refuses what
is not a page or a feed, and turns every failure into a FetchError whose message says why.
"""

from __future__ import annotations

import email.utils
import functools
import io
import re
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from index.errors import FetchError
from index.models import Article
from index.sources.common import LoadFailure, clean_text
from index.sources.html import extract_article
from index.sources.urls import check_url

MAX_BYTES = 5 * 1024 * 1024  # never read more than this from one response
MAX_REDIRECTS = 5
DEFAULT_TIMEOUT = 15.0  # seconds for connecting and for each read
TOTAL_TIME_FACTOR = 4  # the whole download may take at most this many timeouts

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "text/rss+xml",
        "text/atom+xml",
    }
)
# Servers that do not say what they send: decide by looking at the bytes.
UNSURE_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream", "text/plain", "application/unknown"})

_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive or Office document"),
    (b"\x89PNG", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"),
    (b"ID3", "an MP3 file"),
    (b"OggS", "an audio or video file"),
    (b"\x00\x00\x00", "a video or other binary file"),
)
_HTML_SNIFF = re.compile(rb"<(?:!doctype\s+html|html|head|body|article|main|title|meta|div|p)[\s>/]", re.I)


@functools.cache
def user_agent() -> str:
    """The User-Agent of every request: steppe, its version and what it does."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("steppe")
    except PackageNotFoundError:
        ours = "0"
    return f"steppe/{ours} (article fetcher for a Russia-Central Asia corpus; httpx)"


@dataclass
class FeedEntry:
    """One item of a feed: its link and what the feed says about it."""

    link: str
    title: str | None = None
    date: str | None = None
    author: str | None = None


@dataclass
class Download:
    """A fetched response: the final URL, its type and charset, the decoded bytes.

    ``etag`` and ``last_modified`` are the response's validators for the next conditional
    request; ``not_modified`` means the server said nothing changed and ``data`` is empty.
    """

    url: str  # after redirects
    content_type: str
    charset: str | None
    data: bytes
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


@dataclass
class FeedRead:
    """A feed as read: its title, the entries with a link, how many had none, and the
    validators for the next poll; ``not_modified``: unchanged since the validators given."""

    url: str
    title: str | None
    entries: list[FeedEntry]
    no_link: int
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


def make_client(
    timeout: float = DEFAULT_TIMEOUT, *, before_request: Callable[[httpx.Request], None] | None = None
) -> httpx.Client:
    """The HTTP client every fetch uses: timeouts, limited redirects, steppe's User-Agent.

    ``before_request`` runs before every request, redirects included (watched feeds pace
    their requests to each host with it).
    """
    return httpx.Client(
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=httpx.Timeout(timeout),
        headers={"User-Agent": user_agent(), "Accept-Language": "en, ru;q=0.8, *;q=0.5"},
        event_hooks={"request": [before_request]} if before_request else None,
    )


def megabytes(n: int) -> str:
    """A byte count for messages: "6 MB", "5.2 MB"."""
    return f"{n / 1024 / 1024:.1f} MB".replace(".0 MB", " MB")


def _status_message(response: httpx.Response) -> str:
    code = response.status_code
    status = f"HTTP {code} {response.reason_phrase}".strip()
    if code in (404, 410):
        return f"the page does not exist ({status})"
    if code in (401, 403, 451):
        return f"access denied ({status}): the site needs a login or blocks automated readers"
    if code == 429:
        return f"the site is rate-limiting requests ({status}); try again later"
    if code >= 500:
        return f"the server failed ({status}); try again later"
    return f"the server answered {status}"


def _retry_after(response: httpx.Response) -> float | None:
    """The seconds a 429 or 503 answer's Retry-After header asks for (seconds or an HTTP date)."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _connect_message(exc: httpx.ConnectError, url: str) -> str:
    parts = urlsplit(url)
    where = parts.netloc or url
    text = str(exc).lower()
    if "refused" in text:
        return f"could not connect to {where}: connection refused (is the address right?)"
    if any(s in text for s in ("name or service", "nodename", "name resolution", "getaddrinfo", "no address")):
        return f"could not find the host {parts.hostname}: the name does not resolve"
    if "certificate" in text or "ssl" in text:
        return f"could not connect to {where} securely: the HTTPS certificate could not be verified"
    return f"could not connect to {where} ({exc or type(exc).__name__})"


def _describe_type(content_type: str) -> str:
    if content_type == "application/pdf":
        return "a PDF document (application/pdf)"
    if content_type.startswith(("image/", "audio/", "video/")):
        return f"{'an' if content_type[0] in 'aeiou' else 'a'} {content_type.split('/')[0]} ({content_type})"
    return content_type


def sniff_binary(data: bytes) -> str | None:
    """What binary format the bytes look like, or None for text."""
    head = data[:4096]
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if b"\x00" in head:
        return "binary data"
    return None


ACCEPT_ENCODING = "gzip, deflate"  # the only encodings _Inflater can decode within the cap


class _Inflater:
    """Decodes a response body (identity, gzip or deflate) yielding pieces of at most ``room()`` bytes.

    httpx decodes each network read in one call, so a few kilobytes of gzip can become a
    gigabyte in memory before any cap is checked (more with stacked encodings). Decoding
    here with zlib's ``max_length`` keeps every piece within what the cap still allows.
    """

    def __init__(self, encoding: str, what: str) -> None:
        codings = [c.strip() for c in encoding.lower().split(",") if c.strip() not in ("", "identity")]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise FetchError(f"the {what} is compressed as {encoding!r}, which steppe does not read")
        self.what = what
        self.coding = codings[0] if codings else None
        wbits = zlib.MAX_WBITS | 16 if self.coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._zlib = zlib.decompressobj(wbits) if self.coding else None
        self._started = False

    def feed(self, data: bytes, room: int) -> Iterator[bytes]:
        """Decoded pieces of ``data``, each at most ``room`` bytes (the caller stops when over its cap)."""
        if self._zlib is None:
            yield data
            return
        while data:
            try:
                piece = self._zlib.decompress(data, max(room, 1))
            except zlib.error as exc:
                if self.coding == "deflate" and not self._started:  # raw deflate, without the zlib header
                    self._zlib, self._started = zlib.decompressobj(-zlib.MAX_WBITS), True
                    continue
                raise FetchError(f"the {self.what}'s compressed data is damaged ({exc})") from None
            self._started = True
            data = b"" if self._zlib.eof else self._zlib.unconsumed_tail  # bytes after the end are ignored
            if piece:
                yield piece
            elif data:  # no output from input that remains: corrupt, stop rather than loop
                raise FetchError(f"the {self.what}'s compressed data is damaged")


def download(
    client: httpx.Client,
    url: str,
    *,
    feed: bool = False,
    max_bytes: int = MAX_BYTES,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Download:
    """GET a web page (or a feed) into memory, streaming, never more than ``max_bytes``.

    The cap counts decoded bytes: a compressed answer is inflated piece by piece and cut at
    ``max_bytes`` (a "zip bomb" costs at most that much memory). With ``etag`` or
    ``last_modified`` from an earlier download the request is conditional: a 304 answer, or a
    200 carrying the same ETag, returns ``not_modified`` without reading the body. Raises
    FetchError with a message for the user on every kind of failure.
    """
    url = check_url(url)
    timeout = client.timeout.read or DEFAULT_TIMEOUT
    deadline = time.monotonic() + TOTAL_TIME_FACTOR * timeout
    accept = (
        "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
        if feed
        else "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
    )
    what = "feed" if feed else "page"
    try:
        headers = {"Accept": accept, "Accept-Encoding": ACCEPT_ENCODING}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        with client.stream("GET", url, headers=headers) as response:
            validators = {
                "etag": response.headers.get("etag") or etag,
                "last_modified": response.headers.get("last-modified") or last_modified,
            }
            same_etag = bool(etag) and response.headers.get("etag") == etag
            if response.status_code == 304 or (response.is_success and same_etag):
                return Download(str(response.url), "", None, b"", not_modified=True, **validators)
            if not response.is_success:
                raise FetchError(
                    _status_message(response),
                    transient=response.status_code >= 500 or response.status_code == 429,
                    retry_after=_retry_after(response),
                )
            header = response.headers.get("content-type", "")
            content_type = header.split(";")[0].strip().lower()
            expected = FEED_TYPES | HTML_TYPES if feed else HTML_TYPES
            if content_type not in expected and content_type not in UNSURE_TYPES:
                kind = "an RSS or Atom feed" if feed else "a web page"
                raise FetchError(f"not {kind}: the server sent {_describe_type(content_type)}")
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > max_bytes:
                raise FetchError(
                    f"the {what} is too large ({megabytes(int(length))}; the limit is {megabytes(max_bytes)})"
                )
            inflater = _Inflater(response.headers.get("content-encoding", ""), what)
            chunks: list[bytes] = []
            size = 0
            for raw in response.iter_raw():  # raw: httpx would inflate each read without a cap
                for chunk in inflater.feed(raw, max_bytes - size + 1):
                    size += len(chunk)
                    if size > max_bytes:
                        raise FetchError(f"the {what} is too large (more than the {megabytes(max_bytes)} limit)")
                    chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise FetchError(
                        f"timed out: the download took longer than {TOTAL_TIME_FACTOR * timeout:g} s", transient=True
                    )
            final_url = str(response.url)
            charset = response.charset_encoding
    except FetchError:
        raise
    except httpx.TimeoutException:
        raise FetchError(f"timed out: no answer within {timeout:g} s", transient=True) from None
    except httpx.TooManyRedirects:
        raise FetchError(f"too many redirects (more than {MAX_REDIRECTS})") from None
    except httpx.UnsupportedProtocol:
        raise FetchError("redirected to an address that is not http:// or https://") from None
    except httpx.InvalidURL as exc:
        raise FetchError(f"invalid URL ({exc})") from None
    except httpx.ConnectError as exc:
        raise FetchError(_connect_message(exc, url), transient=True) from None
    except httpx.HTTPError as exc:  # protocol errors, dropped connections, bad encodings
        raise FetchError(f"could not fetch the {what} ({type(exc).__name__}: {exc})", transient=True) from None
    data = b"".join(chunks)
    if not data.strip():
        raise FetchError(f"the {what} is empty")
    binary = sniff_binary(data)
    if binary:
        raise FetchError(f"not {'a feed' if feed else 'a web page'}: the response is {binary}")
    if not feed and content_type in UNSURE_TYPES and not _HTML_SNIFF.search(data[:8192]):
        # feeds are judged by feedparser instead
        raise FetchError(f"not a web page: no HTML found in the response ({content_type or 'no content type'})")
    return Download(
        url=final_url,
        content_type=content_type,
        charset=charset,
        data=data,
        etag=validators["etag"],
        last_modified=validators["last_modified"],
    )


def _decode(got: Download) -> bytes | str:
    """Text when the server named a usable charset, else the bytes (trafilatura detects it)."""
    if got.charset:
        try:
            return got.data.decode(got.charset, errors="replace")
        except LookupError:
            pass
    return got.data


def fetch_page(client: httpx.Client, url: str) -> tuple[Article, Download]:
    """Download a web page and extract its article; FetchError with the reason otherwise."""
    got = download(client, url)
    try:
        return extract_article(_decode(got), url=got.url), got
    except LoadFailure as exc:
        raise FetchError(str(exc)) from None


def fetch_article(url: str, timeout: float = DEFAULT_TIMEOUT) -> Article:
    """Fetch a web page and extract its article; raises FetchError with a user-facing message."""
    with make_client(timeout) as client:
        return fetch_page(client, url)[0]


def _struct_date(value: Any) -> str | None:
    try:
        return f"{value.tm_year:04d}-{value.tm_mon:02d}-{value.tm_mday:02d}"
    except AttributeError:
        return None


def read_feed(client: httpx.Client, url: str) -> tuple[str | None, list[FeedEntry], int]:
    """(feed title, entries with a link, entries without one) of an RSS or Atom feed."""
    got = fetch_feed(client, url)
    return got.title, got.entries, got.no_link


def fetch_feed(
    client: httpx.Client, url: str, *, etag: str | None = None, last_modified: str | None = None
) -> FeedRead:
    """Download and parse an RSS or Atom feed, conditionally when given the last poll's validators.

    FetchError says why when the address is not a readable feed.
    """
    import feedparser

    got = download(client, url, feed=True, etag=etag, last_modified=last_modified)
    if got.not_modified:
        return FeedRead(got.url, None, [], 0, got.etag, got.last_modified, not_modified=True)
    headers = {"content-location": got.url, "content-type": got.content_type or "application/xml"}
    if got.charset:
        headers["content-type"] += f"; charset={got.charset}"
    parsed = feedparser.parse(io.BytesIO(got.data), response_headers=headers)
    if not parsed.entries:
        if got.content_type in HTML_TYPES and _HTML_SNIFF.search(got.data[:8192]):
            raise FetchError("not an RSS or Atom feed: this address is a web page (give the address of its feed)")
        if parsed.bozo:
            reason = str(parsed.get("bozo_exception") or "unreadable XML").strip()
            raise FetchError(f"not a valid RSS or Atom feed ({reason})")
        if not parsed.version:
            raise FetchError("not an RSS or Atom feed")
    entries: list[FeedEntry] = []
    no_link = 0
    for entry in parsed.entries:
        link = entry.get("link") or next(
            (x.get("href") for x in entry.get("links", []) if x.get("rel", "alternate") == "alternate"), None
        )
        if not link:
            no_link += 1
            continue
        entries.append(
            FeedEntry(
                link=str(link).strip(),
                title=clean_text(entry.get("title") or "") or None,
                date=_struct_date(entry.get("published_parsed") or entry.get("updated_parsed")),
                author=clean_text(entry.get("author") or "") or None,
            )
        )
    if not entries and parsed.bozo:  # broken XML that yielded nothing usable
        reason = str(parsed.get("bozo_exception") or "unreadable XML").strip()
        raise FetchError(f"not a valid RSS or Atom feed ({reason})")
    title = clean_text(parsed.feed.get("title") or "") or None
    return FeedRead(got.url, title, entries, no_link, got.etag, got.last_modified)

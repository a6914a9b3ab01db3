"""Add articles to the corpus: fetch web pages, local files or RSS/Atom feeds, save them as
Markdown with YAML front matter in corpus/, and update the index incrementally.

Every page is fetched with one careful HTTP client (timeouts, a size cap read by streaming,
a redirect limit, a User-Agent naming steppe); trafilatura extracts the article and its
metadata. The same URL (normalised) is never added twice, and a near-duplicate of an article
already in the corpus (the same story syndicated elsewhere) is skipped unless forced.
Each item gets its own :class:`AddResult`; a bad item never stops the others.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import logging
import os
import re
import shutil
import time
import unicodedata
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import yaml

from index.errors import FetchError, UserFacingError

if TYPE_CHECKING:
    from index.embedding import Embedder

logger = logging.getLogger(__name__)

MAX_BYTES = 5 * 1024 * 1024  # never read more than this from one response
MAX_REDIRECTS = 5
DEFAULT_TIMEOUT = 15.0  # seconds for connecting and for each read
TOTAL_TIME_FACTOR = 4  # the whole download may take at most this many timeouts
MIN_ARTICLE_CHARS = 200  # less extracted text than this is "no article"
SHINGLE_WORDS = 5
NEAR_DUP_JACCARD = 0.6  # the two texts share this much of their union ...
NEAR_DUP_CONTAINMENT = 0.8  # ... or this much of the new text is already in an old one
PAGE_SUFFIXES = frozenset({".html", ".htm"})
COPY_SUFFIXES = frozenset({".md", ".txt"})

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
TRACKING_PARAMS = frozenset({"fbclid", "gclid", "dclid", "yclid", "msclkid", "mc_cid", "mc_eid", "_hsenc", "_hsmi"})

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
_ISO_DATE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$")
_WORD = re.compile(r"\w+")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")
_CYRILLIC_LATIN = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі",
        [
            *"a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch".split(),
            *("", "y", "", "e", "yu", "ya"),
            *"a g q n o u u h i".split(),
        ],
        strict=True,
    )
)


@functools.cache
def user_agent() -> str:
    """The User-Agent of every request: steppe, its version and what it does."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("steppe")
    except PackageNotFoundError:
        ours = "0"
    return f"steppe/{ours} (article fetcher for a Russia-Central Asia corpus; httpx)"


# --------------------------------------------------------------------------- results


@dataclass
class Article:
    """An extracted article with its citation fields."""

    title: str
    text: str  # paragraphs separated by blank lines
    author: str | None = None
    date: str | None = None  # ISO: YYYY, YYYY-MM or YYYY-MM-DD
    source: str | None = None  # the site or publisher name
    url: str | None = None
    license: str | None = None


@dataclass
class AddResult:
    """What happened to one item given to :func:`add_to_corpus`."""

    item: str
    ok: bool
    message: str
    title: str | None = None
    path: Path | None = None
    passages: int = 0

    def __str__(self) -> str:
        return self.line()

    def line(self) -> str:
        """One line for the terminal or a chat reply."""
        if not self.ok:
            return f"skipped {self.item}: {self.message}"
        if self.path is None:  # a feed's summary
            return f"{self.item}: {self.message}"
        count = f" ({self.passages} passage{'' if self.passages == 1 else 's'})" if self.passages else ""
        note = f" ({self.message})" if self.message and self.message != "added" else ""
        return f"added: {self.title or self.item}{count} → {shown_path(self.path)}{note}"


class _Reloadable(Protocol):
    def reload(self) -> Any: ...


class _Duplicate(FetchError):
    """The URL is already in the corpus (a feed counts these instead of listing them)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"already in the corpus ({shown_path(path)})")


@dataclass
class _Download:
    url: str  # after redirects
    content_type: str
    charset: str | None
    data: bytes


@dataclass
class _FeedEntry:
    link: str
    title: str | None = None
    date: str | None = None
    author: str | None = None


@dataclass
class _Saved:
    result: AddResult
    path: Path


# --------------------------------------------------------------------------- URLs


def normalise_url(url: str) -> str:
    """A URL's comparison key: lower-case scheme and host, no default port, fragment,
    tracking parameters (utm_*, fbclid, ...) or trailing slash."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    query = urlsplit(clean_url(url)).query
    return urlunsplit((scheme, host, path, query, ""))


def clean_url(url: str) -> str:
    """The URL to cite: without its fragment or tracking parameters, otherwise as given."""
    parts = urlsplit(url.strip())
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    ]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query) if query else "", ""))


def check_url(url: str) -> str:
    """The URL stripped of surrounding space; FetchError unless it is a usable http(s) URL."""
    url = url.strip()
    if not url:
        raise FetchError("empty URL")
    if any(c.isspace() for c in url):
        raise FetchError("invalid URL: it contains spaces")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"'{scheme}'" if scheme else "none"
        raise FetchError(f"unsupported URL scheme ({shown}): only http:// and https:// addresses can be fetched")
    try:
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        raise FetchError("invalid URL: the port is not a number between 0 and 65535") from None
    if not parts.hostname:
        raise FetchError("invalid URL: there is no host name")
    return url


def _trusted_canonical(url: str | None) -> str | None:
    """A page's canonical URL, unless it is missing, not http(s) or just a home page."""
    if not url:
        return None
    try:
        check_url(url)
    except FetchError:
        return None
    return url if urlsplit(url).path.strip("/") else None


# --------------------------------------------------------------------------- HTTP


def make_client(timeout: float = DEFAULT_TIMEOUT) -> httpx.Client:
    """The HTTP client every fetch uses: timeouts, limited redirects, steppe's User-Agent."""
    return httpx.Client(
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=httpx.Timeout(timeout),
        headers={"User-Agent": user_agent(), "Accept-Language": "en, ru;q=0.8, *;q=0.5"},
    )


def _megabytes(n: int) -> str:
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


def _sniff_binary(data: bytes) -> str | None:
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


def download(client: httpx.Client, url: str, *, feed: bool = False, max_bytes: int = MAX_BYTES) -> _Download:
    """GET a web page (or a feed) into memory, streaming, never more than ``max_bytes``.

    The cap counts decoded bytes: a compressed answer is inflated piece by piece and cut at
    ``max_bytes`` (a "zip bomb" costs at most that much memory). Raises FetchError with a
    message for the user on every kind of failure.
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
        with client.stream("GET", url, headers=headers) as response:
            if not response.is_success:
                raise FetchError(_status_message(response))
            header = response.headers.get("content-type", "")
            content_type = header.split(";")[0].strip().lower()
            expected = FEED_TYPES | HTML_TYPES if feed else HTML_TYPES
            if content_type not in expected and content_type not in UNSURE_TYPES:
                kind = "an RSS or Atom feed" if feed else "a web page"
                raise FetchError(f"not {kind}: the server sent {_describe_type(content_type)}")
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > max_bytes:
                raise FetchError(
                    f"the {what} is too large ({_megabytes(int(length))}; the limit is {_megabytes(max_bytes)})"
                )
            inflater = _Inflater(response.headers.get("content-encoding", ""), what)
            chunks: list[bytes] = []
            size = 0
            for raw in response.iter_raw():  # raw: httpx would inflate each read without a cap
                for chunk in inflater.feed(raw, max_bytes - size + 1):
                    size += len(chunk)
                    if size > max_bytes:
                        raise FetchError(f"the {what} is too large (more than the {_megabytes(max_bytes)} limit)")
                    chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise FetchError(f"timed out: the download took longer than {TOTAL_TIME_FACTOR * timeout:g} s")
            final_url = str(response.url)
            charset = response.charset_encoding
    except FetchError:
        raise
    except httpx.TimeoutException:
        raise FetchError(f"timed out: no answer within {timeout:g} s") from None
    except httpx.TooManyRedirects:
        raise FetchError(f"too many redirects (more than {MAX_REDIRECTS})") from None
    except httpx.UnsupportedProtocol:
        raise FetchError("redirected to an address that is not http:// or https://") from None
    except httpx.InvalidURL as exc:
        raise FetchError(f"invalid URL ({exc})") from None
    except httpx.ConnectError as exc:
        raise FetchError(_connect_message(exc, url)) from None
    except httpx.HTTPError as exc:  # protocol errors, dropped connections, bad encodings
        raise FetchError(f"could not fetch the {what} ({type(exc).__name__}: {exc})") from None
    data = b"".join(chunks)
    if not data.strip():
        raise FetchError(f"the {what} is empty")
    binary = _sniff_binary(data)
    if binary:
        raise FetchError(f"not {'a feed' if feed else 'a web page'}: the response is {binary}")
    if not feed and content_type in UNSURE_TYPES and not _HTML_SNIFF.search(data[:8192]):
        # feeds are judged by feedparser instead
        raise FetchError(f"not a web page: no HTML found in the response ({content_type or 'no content type'})")
    return _Download(url=final_url, content_type=content_type, charset=charset, data=data)


# --------------------------------------------------------------------------- extraction


def _clean_line(line: str) -> str:
    line = unicodedata.normalize("NFC", line).replace("\u00ad", "").replace("\u200b", "")
    return re.sub(r"\s+", " ", line).strip()


def _iso_date(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()[:10]
    if not _ISO_DATE.match(text):
        return None
    try:
        dt.date.fromisoformat(f"{text}-01-01"[:10])  # a real month and day
    except ValueError:
        return None
    return text


def _site_name(hostname: str | None) -> str | None:
    if not hostname:
        return None
    host = hostname.lower()
    return host[4:] if host.startswith("www.") else host


def extract_article(html: bytes | str, *, url: str | None = None) -> Article:
    """The article text and metadata of an HTML page; FetchError when there is no article."""
    try:
        import trafilatura
    except ImportError as exc:  # e.g. lxml_html_clean missing
        raise FetchError(f"HTML extraction is unavailable (trafilatura cannot be imported: {exc})") from None
    try:
        result = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception as exc:  # trafilatura and lxml raise many kinds on malformed input
        raise FetchError(f"the page could not be parsed ({type(exc).__name__})") from None
    data: dict[str, Any] = {} if result is None else (result if isinstance(result, dict) else result.as_dict())
    title = _clean_line(data.get("title") or "")
    lines = [_clean_line(line) for line in (data.get("text") or "").split("\n")]
    lines = [line for line in lines if line]
    if lines and title and lines[0].casefold() == title.casefold():
        lines = lines[1:]
    text = "\n\n".join(lines)
    if len(text) < MIN_ARTICLE_CHARS:
        raise FetchError(
            f"no article found on the page (only {len(text)} characters of text; at least {MIN_ARTICLE_CHARS} "
            "are needed): it may be a front page, a paywall or a page built by JavaScript"
        )
    canonical = _trusted_canonical(data.get("url"))
    return Article(
        title=title,
        text=text,
        author=_clean_line(data.get("author") or "") or None,
        date=_iso_date(data.get("date")),
        source=_clean_line(data.get("sitename") or "")
        or _site_name(data.get("hostname") or urlsplit(url or "").hostname),
        url=canonical or url,
        license=_clean_line(data.get("license") or "") or None,
    )


def _decode(got: _Download) -> bytes | str:
    """Text when the server named a usable charset, else the bytes (trafilatura detects it)."""
    if got.charset:
        try:
            return got.data.decode(got.charset, errors="replace")
        except LookupError:
            pass
    return got.data


def _fetch_article(client: httpx.Client, url: str) -> tuple[Article, _Download]:
    got = download(client, url)
    return extract_article(_decode(got), url=got.url), got


def fetch_article(url: str, timeout: float = DEFAULT_TIMEOUT) -> Article:
    """Fetch a web page and extract its article; raises FetchError with a user-facing message."""
    with make_client(timeout) as client:
        return _fetch_article(client, url)[0]


# --------------------------------------------------------------------------- feeds


def _struct_date(value: Any) -> str | None:
    try:
        return f"{value.tm_year:04d}-{value.tm_mon:02d}-{value.tm_mday:02d}"
    except AttributeError:
        return None


def read_feed(client: httpx.Client, url: str) -> tuple[str | None, list[_FeedEntry], int]:
    """(feed title, entries with a link, entries without one) of an RSS or Atom feed."""
    import feedparser

    got = download(client, url, feed=True)
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
    entries: list[_FeedEntry] = []
    no_link = 0
    for entry in parsed.entries:
        link = entry.get("link") or next(
            (x.get("href") for x in entry.get("links", []) if x.get("rel", "alternate") == "alternate"), None
        )
        if not link:
            no_link += 1
            continue
        entries.append(
            _FeedEntry(
                link=str(link).strip(),
                title=_clean_line(entry.get("title") or "") or None,
                date=_struct_date(entry.get("published_parsed") or entry.get("updated_parsed")),
                author=_clean_line(entry.get("author") or "") or None,
            )
        )
    title = _clean_line(parsed.feed.get("title") or "") or None
    return title, entries, no_link


# --------------------------------------------------------------------------- saving


def slugify(text: str, max_len: int = 70) -> str:
    """An ASCII file-name slug: Cyrillic transliterated, words joined by hyphens."""
    text = "".join(_CYRILLIC_LATIN.get(c, c) for c in text.casefold())
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    if len(slug) > max_len:
        slug = slug[:max_len].rsplit("-", 1)[0] if "-" in slug[:max_len] else slug[:max_len]
    return slug.strip("-")


def article_filename(article: Article) -> str:
    """``<date>-<title slug>.md``, e.g. ``2026-11-20-russia-and-kazakhstan-sign-gas-deal.md``."""
    slug = slugify(article.title) or slugify(urlsplit(article.url or "").path.replace("/", " ")) or "article"
    return f"{article.date}-{slug}.md" if article.date else f"{slug}.md"


def article_markdown(article: Article, fetched: dt.datetime | None = None) -> str:
    """The article as Markdown with YAML front matter (title, source, url, date, author, license, fetched)."""
    fetched = fetched or dt.datetime.now(dt.UTC)
    meta: dict[str, Any] = {"title": article.title or "Untitled"}
    date: Any = article.date
    if date and len(date) == 10:
        date = dt.date.fromisoformat(date)  # written unquoted: date: 2026-11-20
    for key, value in (
        ("source", article.source),
        ("url", article.url),
        ("date", date),
        ("author", article.author),
        ("license", article.license),
    ):
        if value:
            meta[key] = value
    meta["fetched"] = fetched.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, default_flow_style=False, width=10_000)
    return f"---\n{front}---\n\n{article.text.strip()}\n"


def _unique_path(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def save_article(article: Article, corpus_dir: Path) -> Path:
    """Write the article into ``corpus_dir`` under a new, unique file name; return its path."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    path = _unique_path(corpus_dir / article_filename(article))
    tmp = path.with_name(f".{path.name}.tmp")  # hidden: corpus loaders skip it
    tmp.write_text(article_markdown(article), encoding="utf-8")
    os.replace(tmp, path)
    return path


def shown_path(path: Path) -> str:
    """A path relative to the working directory when it is inside it, else absolute."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)


# --------------------------------------------------------------------------- deduplication


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[int]:
    """Hashed runs of ``size`` consecutive lower-case words (the whole text if shorter)."""
    words = _WORD.findall(text.casefold())
    if len(words) < size:
        return frozenset({hash(" ".join(words))}) if words else frozenset()
    return frozenset(hash(" ".join(words[i : i + size])) for i in range(len(words) - size + 1))


@dataclass
class _KnownText:
    path: Path
    title: str
    shingles: frozenset[int]


@dataclass
class CorpusCatalog:
    """The URLs and texts already in a corpus folder, for deduplication."""

    urls: dict[str, Path] = field(default_factory=dict)  # normalised URL -> file
    texts: list[_KnownText] = field(default_factory=list)

    def add(self, path: Path, title: str, text: str, urls: Iterable[str | None] = ()) -> None:
        """Remember one article."""
        for url in urls:
            if url:
                self.urls.setdefault(normalise_url(url), path)
        self.texts.append(_KnownText(path, title, shingles(text)))

    def find_url(self, *urls: str | None) -> Path | None:
        """The file holding any of these URLs, if one does."""
        for url in urls:
            if url and (found := self.urls.get(normalise_url(url))):
                return found
        return None

    def near_duplicate(self, text: str) -> tuple[_KnownText, float] | None:
        """The most similar known article if it is a near-duplicate of ``text``, with the share
        of the new text's shingles it already contains."""
        new = shingles(text)
        if not new:
            return None
        best: tuple[_KnownText, float] | None = None
        for known in self.texts:
            common = len(new & known.shingles)
            if not common:
                continue
            jaccard = common / (len(new) + len(known.shingles) - common)
            containment = common / len(new)
            if (jaccard >= NEAR_DUP_JACCARD or containment >= NEAR_DUP_CONTAINMENT) and (
                best is None or containment > best[1]
            ):
                best = (known, containment)
        return best


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Front matter and body of a Markdown file (a fallback for when index.loaders is unusable)."""
    match = re.match(r"\A\ufeff?---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", text, re.S)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}, text[match.end() :]
    return (meta if isinstance(meta, dict) else {}), text[match.end() :]


def scan_corpus(corpus_dir: Path) -> CorpusCatalog:
    """Every article URL and text in a corpus folder (via index.loaders when available)."""
    catalog = CorpusCatalog()
    if not corpus_dir.is_dir():
        return catalog
    try:
        from index.loaders import load_corpus

        documents, _errors = load_corpus(corpus_dir)
    except Exception as exc:  # loaders missing or broken: read the Markdown front matter ourselves
        logger.warning("index.loaders unavailable (%s); reading Markdown front matter directly", exc)
        for path in sorted(corpus_dir.rglob("*.md")):
            if any(part.startswith(".") for part in path.relative_to(corpus_dir).parts):
                continue
            try:
                meta, body = _split_front_matter(path.read_text(encoding="utf-8", errors="replace"))
            except OSError:
                continue
            url = meta.get("url") or meta.get("link")
            catalog.add(path, str(meta.get("title") or path.stem), body, [str(url) if url else None])
        return catalog
    for doc in documents:
        catalog.add(corpus_dir / doc.path, doc.title, doc.text, [doc.url])
    return catalog


def _near_duplicate_message(found: tuple[_KnownText, float]) -> str:
    known, share = found
    return (
        f"near-duplicate of “{known.title}” ({shown_path(known.path)}): {share:.0%} of its text is already "
        "in the corpus (add it with --force to keep both)"
    )


# --------------------------------------------------------------------------- adding


def _classify(item: str) -> str:
    """'url', 'file' or 'bad' for a command-line item."""
    if "://" in item:
        return "url"
    if Path(item).exists():
        return "file"
    if _SCHEME.match(item):
        return "url"  # mailto:, javascript: ... rejected by check_url with the reason
    return "bad"


def _bad_item_message(item: str) -> str:
    first = item.split("/", 1)[0]
    if re.fullmatch(r"[\w-]+(\.[\w-]+)+", first) and ("/" in item or first.startswith("www.")):
        return f"no such file; if it is a web address, write it with https:// (https://{item})"
    return "no such file, and not a URL (URLs start with http:// or https://)"


class _Adder:
    """The state of one add_to_corpus call: client, catalog, saved files, results."""

    def __init__(self, corpus_dir: Path, client: httpx.Client, force: bool) -> None:
        self.corpus_dir = corpus_dir
        self.client = client
        self.force = force
        self.catalog = scan_corpus(corpus_dir)
        self.saved: list[_Saved] = []

    def add_url(self, url: str, hint: _FeedEntry | None = None, item: str | None = None) -> AddResult:
        item = item or url
        url = check_url(url)
        if existing := self.catalog.find_url(url):
            raise _Duplicate(existing)
        article, got = _fetch_article(self.client, url)
        if existing := self.catalog.find_url(got.url, article.url):
            raise _Duplicate(existing)
        if hint is not None:
            article.title = article.title or hint.title or ""
            article.date = article.date or hint.date
            article.author = article.author or hint.author
        article.url = clean_url(article.url or got.url)
        return self._save(item, article, [url, got.url, article.url])

    def add_file(self, item: str) -> AddResult:
        path = Path(item)
        if path.is_dir():
            raise FetchError("a folder, not a file (give the article files themselves)")
        suffix = path.suffix.lower()
        if suffix in PAGE_SUFFIXES:
            try:
                size = path.stat().st_size
                if size > MAX_BYTES:
                    raise FetchError(
                        f"the file is too large ({_megabytes(size)}; the limit is {_megabytes(MAX_BYTES)})"
                    )
                data = path.read_bytes()
            except OSError as exc:
                raise FetchError(f"cannot read the file ({exc.strerror or exc})") from None
            binary = _sniff_binary(data)
            if binary:
                raise FetchError(f"not a web page: the file is {binary}")
            article = extract_article(data)
            if existing := self.catalog.find_url(article.url):
                raise _Duplicate(existing)
            return self._save(item, article, [article.url])
        if suffix in COPY_SUFFIXES:
            return self._copy(path, item)
        shown = suffix or "no extension"
        raise FetchError(f"unsupported file type ({shown}): give .html, .htm, .md or .txt files, or URLs")

    def _save(self, item: str, article: Article, urls: Sequence[str | None]) -> AddResult:
        article.title = article.title or _title_from_text(article.text)
        if not self.force and (found := self.catalog.near_duplicate(article.text)):
            return AddResult(item, False, _near_duplicate_message(found), title=article.title)
        try:
            path = save_article(article, self.corpus_dir)
        except OSError as exc:
            raise FetchError(f"could not save it in {self.corpus_dir}: {exc.strerror or exc}") from None
        self.catalog.add(path, article.title, article.text, urls)
        result = AddResult(item, True, "added", title=article.title, path=path)
        self.saved.append(_Saved(result, path))
        return result

    def _copy(self, source: Path, item: str) -> AddResult:
        corpus = self.corpus_dir.resolve()
        resolved = source.resolve()
        if resolved.is_relative_to(corpus):
            raise _Duplicate(resolved)
        target = self.corpus_dir / source.name
        try:
            data = source.read_bytes()
            if target.exists() and target.read_bytes() == data:
                raise _Duplicate(target)
        except OSError as exc:
            raise FetchError(f"cannot read the file ({exc.strerror or exc})") from None
        title, text, url = _read_article_file(source)
        if existing := self.catalog.find_url(url):
            raise _Duplicate(existing)
        if not self.force and (found := self.catalog.near_duplicate(text)):
            return AddResult(item, False, _near_duplicate_message(found), title=title)
        try:
            self.corpus_dir.mkdir(parents=True, exist_ok=True)
            target = _unique_path(target)
            shutil.copyfile(source, target)
        except OSError as exc:
            raise FetchError(f"could not copy it into {self.corpus_dir}: {exc.strerror or exc}") from None
        self.catalog.add(target, title, text, [url])
        result = AddResult(item, True, "added", title=title, path=target)
        self.saved.append(_Saved(result, target))
        return result


def _title_from_text(text: str, max_len: int = 90) -> str:
    """A stand-in title for a page without one: the start of its first paragraph."""
    first = text.strip().split("\n", 1)[0]
    if len(first) <= max_len:
        return first
    return first[:max_len].rsplit(" ", 1)[0] + "…"


def _read_article_file(path: Path) -> tuple[str, str, str | None]:
    """(title, text, url) of a .md or .txt file, checked the way the index will load it."""
    try:
        from index.loaders import LoadFailure, load_file
    except ImportError:
        text = path.read_text(encoding="utf-8", errors="replace")
        meta, body = _split_front_matter(text) if path.suffix.lower() == ".md" else ({}, text)
        if not body.strip():
            raise FetchError("the file has no article text") from None
        url = meta.get("url") or meta.get("link")
        return str(meta.get("title") or path.stem), body, str(url) if url else None
    try:
        documents = load_file(path, path.parent, "incoming")
    except LoadFailure as exc:
        raise FetchError(f"the file cannot be read as an article: {exc}") from None
    doc = documents[0]
    return doc.title, "\n\n".join(d.text for d in documents), doc.url


def _run_item(adder: _Adder, item: str, allow_files: bool) -> AddResult:
    """One item, every failure turned into a skipped result."""
    try:
        kind = _classify(item) if allow_files else "url"
        if kind == "url":
            return adder.add_url(item)
        if kind == "file":
            return adder.add_file(item)
        return AddResult(item, False, _bad_item_message(item))
    except UserFacingError as exc:
        return AddResult(item, False, str(exc))
    except Exception as exc:  # a bug or an unforeseen input must not stop the other items
        logger.exception("unexpected error adding %s", item)
        return AddResult(item, False, f"unexpected error ({type(exc).__name__}: {exc})")


def _run_feed(adder: _Adder, feed_url: str) -> list[AddResult]:
    """A summary result for the feed, then one result per new entry."""
    try:
        title, entries, no_link = read_feed(adder.client, check_url(feed_url))
    except UserFacingError as exc:
        return [AddResult(feed_url, False, str(exc))]
    except Exception as exc:
        logger.exception("unexpected error reading the feed %s", feed_url)
        return [AddResult(feed_url, False, f"unexpected error ({type(exc).__name__}: {exc})")]
    results: list[AddResult] = []
    known = 0
    for entry in entries:
        if adder.catalog.find_url(entry.link):
            known += 1
            continue
        try:
            results.append(adder.add_url(entry.link, hint=entry))
        except _Duplicate:
            known += 1
        except UserFacingError as exc:
            results.append(AddResult(entry.link, False, str(exc)))
        except Exception as exc:
            logger.exception("unexpected error adding %s", entry.link)
            results.append(AddResult(entry.link, False, f"unexpected error ({type(exc).__name__}: {exc})"))
    name = f"feed “{title}”" if title else "feed"
    added = sum(r.ok for r in results)
    parts = [f"{len(entries) + no_link} items", f"{added} added", f"{known} already in the corpus"]
    if len(results) > added:
        parts.append(f"{len(results) - added} skipped")
    if no_link:
        parts.append(f"{no_link} without a link")
    summary = AddResult(feed_url, True, f"{name}: " + ", ".join(parts), title=title)
    return [summary, *results]


# --------------------------------------------------------------------------- indexing


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def _corpora_for(index_dir: Path, corpus_dir: Path) -> tuple[list[str] | None, list[str]]:
    """(``corpora`` for build_index, the folders that build will read).

    An existing index keeps its recorded corpora, plus ``corpus_dir`` when none holds it.
    A new index reads the defaults for the project's corpus/, else ``corpus_dir`` alone.
    """
    from index.build import BUILTIN_FACTBOOK, PROJECT_ROOT, default_corpora
    from index.store import load_manifest

    target = str(corpus_dir.resolve())
    if (index_dir / "CURRENT").exists():
        try:
            recorded = [c["spec"] for c in load_manifest(index_dir)[1].corpora]
        except UserFacingError:
            return None, []  # build_index reports the broken index itself
        folders = [s for s in recorded if s != BUILTIN_FACTBOOK]
        if any(_inside(corpus_dir, Path(s)) for s in folders):
            return None, folders
        return [*recorded, target], [*folders, target]
    if corpus_dir.resolve() == (PROJECT_ROOT / "corpus").resolve():
        return None, [s for s in default_corpora() if s != BUILTIN_FACTBOOK]
    return [target], [target]


def _doc_id(path: Path, folders: Sequence[str]) -> str | None:
    """The index's document id of a corpus file (``<folder name>/<relative path>``)."""
    roots = [Path(f).resolve() for f in folders if _inside(path, Path(f))]
    if not roots:
        return None
    root = max(roots, key=lambda p: len(p.parts))
    return f"{root.name}/{path.resolve().relative_to(root).as_posix()}"


def _passage_counts(index_dir: Path, doc_ids: Sequence[str]) -> dict[str, int]:
    from index.store import STORE, connect, current_generation

    conn = connect(current_generation(index_dir) / STORE, readonly=True)
    try:
        return {
            doc_id: conn.execute("SELECT count(*) FROM chunks WHERE doc_id = ?", (doc_id,)).fetchone()[0]
            for doc_id in doc_ids
        }
    finally:
        conn.close()


def _reindex(index_dir: Path, corpus_dir: Path, saved: list[_Saved], embedder: Embedder | None) -> None:
    """One incremental build for everything saved; fills in passage counts or explains failures."""
    from index.build import build_index

    try:
        corpora, folders = _corpora_for(index_dir, corpus_dir)
        summary = build_index(index_dir, corpora, embedder=embedder, progress=False, log=logger.warning)
        ids = {s.path: _doc_id(s.path, folders) for s in saved}
        counts = _passage_counts(index_dir, [i for i in ids.values() if i])
    except UserFacingError as exc:
        for s in saved:
            s.result.message = f"saved, but the index was not updated: {exc}"
        return
    except Exception as exc:
        logger.exception("unexpected error while indexing")
        for s in saved:
            s.result.message = f"saved, but indexing failed ({type(exc).__name__}: {exc})"
        return
    errors = {e.path: e.reason for e in summary.errors}
    for s in saved:
        doc_id = ids[s.path]
        s.result.passages = counts.get(doc_id, 0) if doc_id else 0
        if s.result.passages:
            continue
        rel = doc_id.split("/", 1)[1] if doc_id else None
        reason = errors.get(rel or "") or "the index does not read this folder"
        s.result.message = f"saved, but not indexed: {reason}"


def add_to_corpus(
    items: Sequence[str],
    *,
    feeds: Sequence[str] = (),
    corpus_dir: Path | None = None,
    index_dir: Path | None = None,
    force: bool = False,
    reindex: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    embedder: Embedder | None = None,
    allow_files: bool = True,
) -> list[AddResult]:
    """Add URLs, local files (.html/.htm extracted, .md/.txt copied) and every new item of
    RSS/Atom ``feeds`` to ``corpus_dir``, then update the index once.

    Returns one result per item (a feed gives a summary line plus one per new entry), in
    order. ``force`` keeps near-duplicates; the same URL is never added twice. ``embedder``
    is passed to build_index (tests use HashEmbedder). ``allow_files=False`` treats every
    item as a URL, for callers such as the bot that must never read local files.
    """
    from index.build import PROJECT_ROOT, default_index_dir

    corpus_dir = Path(corpus_dir) if corpus_dir else PROJECT_ROOT / "corpus"
    index_dir = Path(index_dir) if index_dir else default_index_dir()
    results: list[AddResult] = []
    with make_client(timeout) as client:
        adder = _Adder(corpus_dir, client, force)
        for item in items:
            results.append(_run_item(adder, item, allow_files))
        for feed in feeds:
            results.extend(_run_feed(adder, feed))
    if adder.saved:
        if reindex:
            _reindex(index_dir, corpus_dir, adder.saved, embedder)
        else:
            for s in adder.saved:
                s.result.message = "not indexed yet: run `steppe index build`"
    return results


def add_url(
    library: _Reloadable | None,
    url: str,
    *,
    index_dir: Path | None = None,
    corpus_dir: Path | None = None,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    embedder: Embedder | None = None,
) -> AddResult:
    """Fetch one URL into the corpus and index it (the bot's admin ``/add URL``).

    Blocking: call it from a worker thread. When ``library`` (an index.service.Library) is
    given, its index folder and loaded model are used unless ``index_dir``/``embedder`` say
    otherwise, and it is reloaded after indexing so the running bot answers from the new
    index at once. Local paths are refused. Check ``result.ok``; ``result.line()`` says what happened.
    """
    searcher = getattr(library, "searcher", None)
    index_dir = index_dir or getattr(searcher, "index_dir", None)
    embedder = embedder or getattr(searcher, "embedder", None)  # never load the model twice
    results = add_to_corpus(
        [url],
        corpus_dir=corpus_dir,
        index_dir=index_dir,
        force=force,
        timeout=timeout,
        embedder=embedder,
        allow_files=False,
    )
    result = results[0]
    if library is not None and result.ok and result.passages:
        try:
            library.reload()
        except UserFacingError as exc:
            result.message = f"indexed, but the bot could not switch to the new index: {exc}"
        except Exception as exc:
            logger.exception("reloading the library failed")
            result.message = f"indexed, but the bot could not switch to the new index ({type(exc).__name__})"
    return result

"""Adding articles to a corpus folder (``steppe corpus add``, the bot's ``/add``, watched feeds).

Pages and feeds are fetched by index/sources/web.py, articles saved as Markdown with front
matter by index/sources/markdown.py (the same module the index reads them with), and the index
updated incrementally by one build. The same URL (normalised) is never added twice, and a
near-duplicate of an article already in the corpus (the same story syndicated elsewhere) is
skipped unless forced. Each item gets its own :class:`AddResult`; a bad item never stops the others.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from index.build import build_index
from index.config import Settings, resolve
from index.errors import FetchError, UserFacingError
from index.models import Article
from index.sources import LoadFailure, load_corpus, load_file
from index.sources.common import title_from_text
from index.sources.html import extract_article
from index.sources.markdown import save_article, unique_path
from index.sources.urls import check_url, clean_url, normalise_url
from index.sources.web import (
    DEFAULT_TIMEOUT,
    MAX_BYTES,
    FeedEntry,
    fetch_page,
    make_client,
    megabytes,
    read_feed,
    sniff_binary,
)
from index.store import BUILTIN_FACTBOOK, file_document_id, open_store

if TYPE_CHECKING:
    from index.embedding import Embedder
    from index.service import AnswerService

logger = logging.getLogger(__name__)

SHINGLE_WORDS = 5
NEAR_DUP_JACCARD = 0.6  # the two texts share this much of their union ...
NEAR_DUP_CONTAINMENT = 0.8  # ... or this much of the new text is already in an old one
PAGE_SUFFIXES = frozenset({".html", ".htm"})
COPY_SUFFIXES = frozenset({".md", ".txt"})
_WORD = re.compile(r"\w+")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")


@dataclass
class AddResult:
    """What happened to one item given to :func:`add_to_corpus`."""

    item: str
    ok: bool
    message: str
    title: str | None = None
    path: Path | None = None
    passages: int = 0
    retry: bool = False  # the failure may pass (a timeout, a 5xx answer): worth trying again later

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


class _Duplicate(FetchError):
    """The URL is already in the corpus (a feed counts these instead of listing them)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"already in the corpus ({shown_path(path)})")


@dataclass(frozen=True)
class Origin:
    """The watched feed an article came from, recorded in its front matter."""

    feed: str  # the feed's URL
    name: str | None = None
    language: str | None = None
    country: str | None = None

    def front_matter(self) -> dict[str, str]:
        """The fields saved with the article (``feed_name`` for the name)."""
        fields = {"feed": self.feed, "feed_name": self.name, "language": self.language, "country": self.country}
        return {key: value for key, value in fields.items() if value}


@dataclass
class _Saved:
    result: AddResult
    path: Path


def shown_path(path: Path) -> str:
    """A path relative to the working directory when it is inside it, else absolute."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[int]:
    """Hashed runs of ``size`` consecutive lower-case words (the whole text if shorter)."""
    words = _WORD.findall(text.casefold())
    if len(words) < size:
        return frozenset({hash(" ".join(words))}) if words else frozenset()
    return frozenset(hash(" ".join(words[i : i + size])) for i in range(len(words) - size + 1))


@dataclass
class KnownText:
    path: Path
    title: str
    shingles: frozenset[int]


@dataclass
class CorpusCatalog:
    """The URLs and texts already in a corpus folder, for deduplication."""

    urls: dict[str, Path] = field(default_factory=dict)  # normalised URL -> file
    texts: list[KnownText] = field(default_factory=list)

    def add(self, path: Path, title: str, text: str, urls: Iterable[str | None] = ()) -> None:
        """Remember one article."""
        for url in urls:
            if url:
                self.urls.setdefault(normalise_url(url), path)
        self.texts.append(KnownText(path, title, shingles(text)))

    def find_url(self, *urls: str | None) -> Path | None:
        """The file holding any of these URLs, if one does."""
        for url in urls:
            if url and (found := self.urls.get(normalise_url(url))):
                return found
        return None

    def near_duplicate(self, text: str) -> tuple[KnownText, float] | None:
        """The most similar known article if it is a near-duplicate of ``text``, with the share
        of the new text's shingles it already contains."""
        new = shingles(text)
        if not new:
            return None
        best: tuple[KnownText, float] | None = None
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


def scan_corpus(corpus_dir: Path) -> CorpusCatalog:
    """Every article URL and text in a corpus folder, read the way the index reads them."""
    catalog = CorpusCatalog()
    if not corpus_dir.is_dir():
        return catalog
    documents, _errors = load_corpus(corpus_dir)
    for doc in documents:
        catalog.add(corpus_dir / doc.path, doc.title, doc.text, [doc.url])
    return catalog


def _near_duplicate_message(found: tuple[KnownText, float]) -> str:
    known, share = found
    return (
        f"near-duplicate of “{known.title}” ({shown_path(known.path)}): {share:.0%} of its text is already "
        "in the corpus (add it with --force to keep both)"
    )


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


class Ingest:
    """One round of additions to a corpus folder: fetch, deduplicate, save; then ``index`` once.

    Each ``add_*`` returns one AddResult per item (and never raises for a bad item); ``index``
    updates the index incrementally and fills in how many passages each saved article got.
    """

    def __init__(self, corpus_dir: Path, client: httpx.Client, *, force: bool = False) -> None:
        self.corpus_dir = corpus_dir
        self.client = client
        self.force = force
        self.catalog = scan_corpus(corpus_dir)
        self.saved: list[_Saved] = []

    def add_url(
        self, url: str, hint: FeedEntry | None = None, item: str | None = None, origin: Origin | None = None
    ) -> AddResult:
        """Fetch one page and save its article (recording ``origin``, the watched feed it came
        from); raises _Duplicate or FetchError (see add_item)."""
        item = item or url
        url = check_url(url)
        if existing := self.catalog.find_url(url):
            raise _Duplicate(existing)
        article, got = fetch_page(self.client, url)
        if existing := self.catalog.find_url(got.url, article.url):
            raise _Duplicate(existing)
        if hint is not None:
            article.title = article.title or hint.title or ""
            article.date = article.date or hint.date
            article.author = article.author or hint.author
        article.url = clean_url(article.url or got.url)
        if origin is not None:
            article.source = article.source or origin.name
            article.recorded.update(origin.front_matter())
        return self.add_article(item, article, [url, got.url, article.url])

    def add_file(self, item: str) -> AddResult:
        """Extract a local .html/.htm page, or copy a .md/.txt article; raises like add_url."""
        path = Path(item)
        if path.is_dir():
            raise FetchError("a folder, not a file (give the article files themselves)")
        suffix = path.suffix.lower()
        if suffix in PAGE_SUFFIXES:
            try:
                size = path.stat().st_size
                if size > MAX_BYTES:
                    raise FetchError(f"the file is too large ({megabytes(size)}; the limit is {megabytes(MAX_BYTES)})")
                data = path.read_bytes()
            except OSError as exc:
                raise FetchError(f"cannot read the file ({exc.strerror or exc})") from None
            binary = sniff_binary(data)
            if binary:
                raise FetchError(f"not a web page: the file is {binary}")
            try:
                article = extract_article(data)
            except LoadFailure as exc:
                raise FetchError(str(exc)) from None
            if existing := self.catalog.find_url(article.url):
                raise _Duplicate(existing)
            return self.add_article(item, article, [article.url])
        if suffix in COPY_SUFFIXES:
            return self._copy(path, item)
        shown = suffix or "no extension"
        raise FetchError(f"unsupported file type ({shown}): give .html, .htm, .md or .txt files, or URLs")

    def add_article(self, item: str, article: Article, urls: Sequence[str | None] = ()) -> AddResult:
        """Save an article already fetched (known by ``urls`` too) unless it is a near-duplicate."""
        article.title = article.title or title_from_text(article.text)
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
            target = unique_path(target)
            shutil.copyfile(source, target)
        except OSError as exc:
            raise FetchError(f"could not copy it into {self.corpus_dir}: {exc.strerror or exc}") from None
        self.catalog.add(target, title, text, [url])
        result = AddResult(item, True, "added", title=title, path=target)
        self.saved.append(_Saved(result, target))
        return result

    def add_item(self, item: str, *, allow_files: bool = True) -> AddResult:
        """A URL or (``allow_files``) a local file; every failure becomes a skipped result."""
        try:
            kind = _classify(item) if allow_files else "url"
            if kind == "url":
                return self.add_url(item)
            if kind == "file":
                return self.add_file(item)
            return AddResult(item, False, _bad_item_message(item))
        except UserFacingError as exc:
            return AddResult(item, False, str(exc))
        except Exception as exc:  # a bug or an unforeseen input must not stop the other items
            logger.exception("unexpected error adding %s", item)
            return AddResult(item, False, f"unexpected error ({type(exc).__name__}: {exc})")

    def add_feed(self, feed_url: str) -> list[AddResult]:
        """Every new item of an RSS/Atom feed: a summary result for the feed, then one per new entry."""
        try:
            title, entries, no_link = read_feed(self.client, check_url(feed_url))
        except UserFacingError as exc:
            return [AddResult(feed_url, False, str(exc))]
        except Exception as exc:
            logger.exception("unexpected error reading the feed %s", feed_url)
            return [AddResult(feed_url, False, f"unexpected error ({type(exc).__name__}: {exc})")]
        results, known = self.add_entries(entries)
        name = f"feed “{title}”" if title else "feed"
        added = sum(r.ok for r in results)
        parts = [f"{len(entries) + no_link} items", f"{added} added", f"{known} already in the corpus"]
        if len(results) > added:
            parts.append(f"{len(results) - added} skipped")
        if no_link:
            parts.append(f"{no_link} without a link")
        summary = AddResult(feed_url, True, f"{name}: " + ", ".join(parts), title=title)
        return [summary, *results]

    def add_entries(self, entries: Iterable[FeedEntry], origin: Origin | None = None) -> tuple[list[AddResult], int]:
        """Fetch and save a feed's entries not yet in the corpus: (one result per entry tried,
        how many were already in it). A bad entry is a skipped result, never an exception."""
        results: list[AddResult] = []
        known = 0
        for entry in entries:
            if self.catalog.find_url(entry.link):
                known += 1
                continue
            try:
                results.append(self.add_url(entry.link, hint=entry, origin=origin))
            except _Duplicate:
                known += 1
            except UserFacingError as exc:
                results.append(AddResult(entry.link, False, str(exc), retry=getattr(exc, "transient", False)))
            except Exception as exc:
                logger.exception("unexpected error adding %s", entry.link)
                results.append(AddResult(entry.link, False, f"unexpected error ({type(exc).__name__}: {exc})"))
        return results, known

    def index(self, index_dir: Path, *, settings: Settings, embedder: Embedder | None = None) -> None:
        """One incremental build for everything saved; fills in passage counts or explains failures."""
        if not self.saved:
            return
        try:
            summary = build_index(
                index_dir,
                _corpora_for(index_dir, self.corpus_dir, settings),
                embedder=embedder,
                progress=False,
                log=logger.warning,
                settings=settings,
            )
            ids = {s.path: file_document_id(s.path, summary.corpora, settings.project_corpus) for s in self.saved}
            counts = open_store(index_dir).passage_counts([i for i in ids.values() if i])
        except UserFacingError as exc:
            for s in self.saved:
                s.result.message = f"saved, but the index was not updated: {exc}"
            return
        except Exception as exc:
            logger.exception("unexpected error while indexing")
            for s in self.saved:
                s.result.message = f"saved, but indexing failed ({type(exc).__name__}: {exc})"
            return
        errors = {e.path: e.reason for e in summary.errors}
        for s in self.saved:
            doc_id = ids[s.path]
            s.result.passages = counts.get(doc_id, 0) if doc_id else 0
            if s.result.passages:
                continue
            rel = doc_id.split("/", 1)[1] if doc_id else None
            reason = errors.get(rel or "") or "the index does not read this folder"
            s.result.message = f"saved, but not indexed: {reason}"

    def not_indexed(self) -> None:
        """Mark everything saved as waiting for the next build."""
        for s in self.saved:
            s.result.message = "not indexed yet: run `steppe index build`"


def _read_article_file(path: Path) -> tuple[str, str, str | None]:
    """(title, text, url) of a .md or .txt file, checked the way the index will load it."""
    try:
        documents = load_file(path, path.parent, "incoming")
    except LoadFailure as exc:
        raise FetchError(f"the file cannot be read as an article: {exc}") from None
    doc = documents[0]
    return doc.title, "\n\n".join(d.text for d in documents), doc.url


def _corpora_for(index_dir: Path, corpus_dir: Path, settings: Settings) -> list[str] | None:
    """The ``corpora`` of the build that indexes ``corpus_dir`` (None: what build_index chooses).

    An existing index keeps its recorded corpora, plus ``corpus_dir`` when none holds it. A new
    index reads the defaults for the project's corpus folder, else ``corpus_dir`` alone.
    """
    target = corpus_dir.resolve()
    store = open_store(index_dir)
    if store.published() is not None:
        try:
            previous = store.previous()
        except UserFacingError:
            return None  # build_index reports the broken index itself
        recorded = [c["spec"] for c in previous.corpora] if previous else []
        if any(s != BUILTIN_FACTBOOK and target.is_relative_to(Path(s).resolve()) for s in recorded):
            return None
        return [*recorded, str(target)]
    if target == settings.project_corpus.resolve():
        return None
    return [str(target)]


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
    settings: Settings | None = None,
) -> list[AddResult]:
    """Add URLs, local files (.html/.htm extracted, .md/.txt copied) and every new item of
    RSS/Atom ``feeds`` to ``corpus_dir`` (default: the project's corpus folder), then update
    the index (default: the settings') once.

    Returns one result per item (a feed gives a summary line plus one per new entry), in
    order. ``force`` keeps near-duplicates; the same URL is never added twice. ``embedder``
    is passed to build_index (tests use HashEmbedder). ``allow_files=False`` treats every
    item as a URL, for callers such as the bot that must never read local files.
    """
    settings = resolve(settings)
    corpus_dir = Path(corpus_dir) if corpus_dir else settings.project_corpus
    index_dir = Path(index_dir) if index_dir else settings.index_dir
    results: list[AddResult] = []
    with make_client(timeout) as client:
        ingest = Ingest(corpus_dir, client, force=force)
        for item in items:
            results.append(ingest.add_item(item, allow_files=allow_files))
        for feed in feeds:
            results.extend(ingest.add_feed(feed))
    if reindex:
        ingest.index(index_dir, settings=settings, embedder=embedder)
    else:
        ingest.not_indexed()
    return results


def ingest_articles(
    articles: Sequence[Article],
    *,
    corpus_dir: Path,
    index_dir: Path,
    settings: Settings,
    embedder: Embedder | None = None,
    force: bool = False,
) -> list[AddResult]:
    """Save articles fetched elsewhere (a watched feed) into ``corpus_dir``, skipping duplicates,
    and index them in one incremental build; one result per article, in order."""
    with make_client() as client:
        ingest = Ingest(corpus_dir, client, force=force)
        results = []
        for article in articles:
            item = article.url or article.title
            if existing := ingest.catalog.find_url(article.url):
                results.append(AddResult(item, False, str(_Duplicate(existing))))
                continue
            results.append(ingest.add_article(item, article, [article.url]))
    ingest.index(index_dir, settings=settings, embedder=embedder)
    return results


def add_url(
    library: AnswerService | None,
    url: str,
    *,
    index_dir: Path | None = None,
    corpus_dir: Path | None = None,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    embedder: Embedder | None = None,
    settings: Settings | None = None,
) -> AddResult:
    """Fetch one URL into the corpus and index it (the bot's admin ``/add URL``).

    Blocking: call it from a worker thread. When ``library`` is given, its index folder and
    loaded model are used unless ``index_dir``/``embedder`` say otherwise, and it is reloaded
    after indexing so the running bot answers from the new index at once. Local paths are
    refused. Check ``result.ok``; ``result.line()`` says what happened.
    """
    if library is not None:
        index_dir = index_dir or library.index_dir
        embedder = embedder or library.embedder  # never load the model twice
    [result] = add_to_corpus(
        [url],
        corpus_dir=corpus_dir,
        index_dir=index_dir,
        force=force,
        timeout=timeout,
        embedder=embedder,
        allow_files=False,
        settings=settings,
    )
    if library is not None and result.ok and result.passages:
        try:
            library.reload()
        except UserFacingError as exc:
            result.message = f"indexed, but the bot could not switch to the new index: {exc}"
        except Exception as exc:
            logger.exception("reloading the library failed")
            result.message = f"indexed, but the bot could not switch to the new index ({type(exc).__name__})"
    return result

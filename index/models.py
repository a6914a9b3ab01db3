"""The plain data that flows through steppe: documents, chunks, hits and answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """One cleaned article (or one Factbook section), ready to chunk.

    ``text`` is the cleaned text; chunk offsets point into it. ``path`` is the source
    file's path relative to the corpus folder it was loaded from (POSIX separators).
    ``doc_id`` is stable across runs and machines: ``<corpus label>/<path>`` plus
    ``#<fragment>`` when one file yields several documents.
    """

    doc_id: str
    title: str
    text: str
    source: str
    path: str
    date: str | None = None  # ISO 8601 (YYYY, YYYY-MM or YYYY-MM-DD) when known
    url: str | None = None
    author: str | None = None
    license: str | None = None
    section: str | None = None  # e.g. a Factbook section such as "Transnational Issues"
    edition: str | None = None  # e.g. "2012" for a Factbook edition
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Article:
    """An article extracted from a web page (or an HTML file), with its citation fields.

    ``corpus add`` saves it as Markdown with front matter (index/sources/markdown.py).
    """

    title: str
    text: str  # paragraphs separated by blank lines, list items still marked "- "
    author: str | None = None
    date: str | None = None  # ISO: YYYY, YYYY-MM or YYYY-MM-DD
    source: str | None = None  # the site or publisher name
    url: str | None = None
    license: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. description, language (not saved)
    recorded: dict[str, str] = field(default_factory=dict)  # saved as more front matter: a watched feed's details


@dataclass(frozen=True)
class LoadError:
    """A file that could not be loaded, with the reason in plain words."""

    path: str
    reason: str


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: ``text == document.text[start:end]``."""

    chunk_id: int
    doc_id: str
    seq: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class DocInfo:
    """The citation fields of a stored document."""

    doc_id: str
    title: str
    source: str
    path: str
    date: str | None = None
    url: str | None = None
    author: str | None = None
    license: str | None = None
    section: str | None = None
    edition: str | None = None
    corpus: str | None = None


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its score (higher is always better).

    ``parts``: the indexed chunks a merged result is made of (neighbours of one document, the best
    first), empty for a single chunk. ``also``: near-identical passages of other documents (other
    Factbook editions) this result stands for and cites.
    """

    chunk: Chunk
    doc: DocInfo
    score: float
    rank: int = 0
    parts: tuple[Chunk, ...] = ()
    also: tuple[Hit, ...] = ()


@dataclass(frozen=True)
class Excerpt:
    """A trimmed, highlighted passage for display.

    ``text`` is the shown excerpt (a slice of the document text, sentence-aligned);
    ``highlights`` are (start, end) spans into ``text`` of the answering sentences.
    ``cut_before``/``cut_after`` say whether an ellipsis belongs at either end.
    """

    hit: Hit
    text: str
    highlights: tuple[tuple[int, int], ...]
    cut_before: bool
    cut_after: bool


@dataclass(frozen=True)
class Answer:
    """What every front end renders: the question, excerpts, or an honest refusal."""

    question: str
    answered: bool
    excerpts: tuple[Excerpt, ...]
    suggestions: tuple[str, ...] = ()  # topics the corpus does cover, when refused
    notice: str | None = None  # e.g. "answers work best in English"


@dataclass(frozen=True)
class Filters:
    """Restrictions on what a search may return. Empty means no restriction.

    ``sources`` match a document's source case-insensitively by prefix ("factbook"
    matches "CIA World Factbook" too: any word of the source may start with it).
    ``since``/``until`` are ISO dates or years, inclusive. ``countries`` are canonical
    names from ``index.countries``; a chunk matches if it mentions any of them.
    """

    sources: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    countries: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        """True when nothing is filtered."""
        return not (self.sources or self.since or self.until or self.countries)


@dataclass(frozen=True)
class Passage:
    """A chunk shown in full with its neighbouring text, for "show the full passage"."""

    doc: DocInfo
    text: str  # the neighbourhood text: previous chunk(s) + the chunk + next chunk(s)
    focus_start: int  # where the chunk itself starts within ``text``
    focus_end: int
    cut_before: bool
    cut_after: bool


@dataclass(frozen=True)
class SourceStats:
    """What one source contributes to the index."""

    source: str
    license: str | None
    documents: int
    chunks: int
    first_date: str | None
    last_date: str | None
    attribution: str | None = None


def source_attribution(source: str, first_author: str | None) -> str | None:
    """Who a source's excerpts must credit: Wikipedia's contributors, a wire's named author, else nobody."""
    if source.lower().startswith("wikipedia"):
        return "Wikipedia contributors (CC BY-SA); each excerpt links its article"
    return first_author if first_author and source.lower().startswith("trend") else None


@dataclass(frozen=True)
class IndexStats:
    """A summary of an index for `steppe index stats`, /sources and /about."""

    documents: int
    chunks: int
    model: str
    backend: str
    dim: int
    built_at: str
    size_bytes: int
    sources: tuple[SourceStats, ...]
    countries: tuple[tuple[str, int], ...]  # (country, documents mentioning it), most first
    first_date: str | None
    last_date: str | None

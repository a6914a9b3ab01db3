"""What every store offers: the interfaces the builder, the searcher and the service program against.

Three roles, each a ``typing.Protocol``:

* :class:`Store` is an index location: which generation is live, open it for reading, and
  build a new one under a lock.
* :class:`StoreReader` is one published generation, read-only and thread-safe: what search,
  answers, stats and evaluation need.
* :class:`StoreWriter` is a generation being built from the previous one; ``publish`` makes
  it live atomically, and leaving its ``with`` block without publishing leaves nothing behind.

The local implementation (FAISS + SQLite generations in a folder) is index/store/local.py; a
second one (Qdrant) implements the same three.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from index.models import Chunk, DocInfo, Document, Filters, IndexStats
from index.store.generations import Manifest

Scored = list[tuple[int, float]]  # (chunk id, score), best first; a higher score is always better


@dataclass(frozen=True)
class PendingDocument:
    """A document on its way into a store, with what the builder derived from it."""

    document: Document
    content_hash: str  # changes when the text, metadata, chunking or model change
    countries: tuple[str, ...]  # the countries its title and text mention (index.countries)


@dataclass
class PendingChunk:
    """A chunk on its way into a store: its place in the document, its embedding text and vector."""

    doc_id: str
    seq: int
    start: int
    end: int
    text: str
    title: str
    countries: tuple[str, ...]
    embed_text: str
    embed_hash: str
    vector: bytes | None = None  # float32, filled in by the builder


class StoreReader(Protocol):
    """One published index generation, read-only. Thread-safe; open once, share between threads."""

    @property
    def name(self) -> str:
        """The generation's name (what ``Store.published`` returns while it is live)."""
        ...

    @property
    def manifest(self) -> Manifest:
        """What the generation promises: model, dimension, counts, corpora."""
        ...

    @property
    def manifest_path(self) -> Path:
        """Where the manifest lives, for messages that must name the file."""
        ...

    @property
    def read_errors(self) -> tuple[type[BaseException], ...]:
        """Exceptions a read raises when the generation was deleted underneath it (see ``exists``)."""
        ...

    @property
    def documents(self) -> Mapping[str, DocInfo]:
        """Every document's citation fields by id."""
        ...

    @property
    def document_lengths(self) -> Mapping[str, int]:
        """Characters of each document's cleaned text, by id."""
        ...

    def exists(self) -> bool:
        """False once a later build has deleted this generation."""
        ...

    def allowed_ids(self, filters: Filters | None) -> np.ndarray | None:
        """Sorted chunk ids passing ``filters``, or None when nothing is filtered."""
        ...

    def dense(self, vector: np.ndarray, n: int, allowed: np.ndarray | None = None) -> Scored:
        """The top ``n`` chunks by cosine similarity, among ``allowed`` if given."""
        ...

    def dense_scores(self, vector: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """The exact cosine similarity of ``vector`` to each of ``ids`` (stored chunk ids)."""
        ...

    def bm25(
        self, terms: Sequence[str], n: int, allowed: np.ndarray | None = None, among: Sequence[int] | None = None
    ) -> Scored:
        """The top ``n`` chunks by BM25 over ``terms`` (ORed); only ``allowed`` ones; or the
        scores of exactly the matching chunks ``among`` some ids (``n`` is then ignored)."""
        ...

    def chunks(self, ids: Iterable[int]) -> dict[int, Chunk]:
        """Stored chunks by id; ids that do not exist are left out."""
        ...

    def chunk_documents(self, ids: Iterable[int]) -> dict[int, str]:
        """The document id of each chunk id."""
        ...

    def neighbours(self, chunk_id: int, before: int = 1, after: int = 1) -> list[Chunk]:
        """The chunk with up to ``before``/``after`` chunks of its document around it; KeyError if unknown."""
        ...

    def document_text(self, doc_id: str) -> str:
        """The cleaned text of a document; KeyError if unknown."""
        ...

    def stats(self) -> IndexStats:
        """Documents and chunks per source, dates, countries, model and size."""
        ...

    def close(self) -> None:
        """Release files and connections; the reader is unusable afterwards."""
        ...


class StoreWriter(Protocol):
    """A generation being built, starting as a copy of the live one (or empty)."""

    def drop_documents(self, doc_ids: Sequence[str]) -> dict[str, bytes]:
        """Delete documents and their chunks; return their vectors by embedding hash, for reuse."""
        ...

    def stored_vector(self, embed_hash: str) -> bytes | None:
        """The vector of a stored chunk with this embedding hash, if any."""
        ...

    def insert(self, documents: Sequence[PendingDocument], chunks: Sequence[PendingChunk]) -> None:
        """Add documents and their chunks (with vectors)."""
        ...

    def counts(self) -> tuple[int, int]:
        """(documents, chunks) the generation holds now."""
        ...

    def publish(self, manifest: Manifest) -> str:
        """Write the vector index and the manifest (counts and files filled in), then make the
        generation live atomically; returns its name."""
        ...


class Store(Protocol):
    """An index location: its live generation, readers for it, and builds of new ones."""

    @property
    def index_dir(self) -> Path:
        """The index folder (it holds the manifest of whatever store serves it)."""
        ...

    def published(self) -> str | None:
        """The name of the live generation (a cheap look), or None when there is none or it is unreadable."""
        ...

    def open(self, *, mmap: bool = False) -> StoreReader:
        """A reader of the live generation; IndexNotFound, IndexCorrupt or ModelMismatch with the fix."""
        ...

    def lock(self) -> AbstractContextManager[None]:
        """Held by a build from start to publish; a second build waits for the first."""
        ...

    def previous(self) -> Manifest | None:
        """The live generation's manifest (under the lock), or None when there is none yet."""
        ...

    def stored_hashes(self) -> dict[str, str]:
        """The live generation's content hash of each document, by id."""
        ...

    def passage_counts(self, doc_ids: Iterable[str]) -> dict[str, int]:
        """How many chunks each document has in the live generation (0 for documents not stored)."""
        ...

    def discard(self) -> None:
        """Delete the whole index, every generation (a throwaway index, e.g. a BEIR evaluation's)."""
        ...

    def writer(self, *, from_previous: bool) -> AbstractContextManager[StoreWriter]:
        """A new generation, copied from the live one or empty. Errors inside the block (a full
        disk, no permission) leave the live generation as it was and become clear messages."""
        ...

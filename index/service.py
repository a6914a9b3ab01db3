"""The one object front ends talk to: open an index once, answer questions, reload safely."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from index.answer import AnswerPolicy, build_answer
from index.embedding import Embedder, load_embedder
from index.errors import IndexCorrupt, ModelMismatch
from index.microbatch import MicroBatchEmbedder
from index.models import Answer, Filters, IndexStats, Passage, SourceStats
from index.search import MAX_QUERY_CHARS, Searcher, SearchResult
from index.store import CURRENT, MANIFEST, STORE, current_generation, dir_size

T = TypeVar("T")


class Library:
    """An opened index plus its model. Thread-safe; ``reload`` swaps generations atomically.

    Every call works on one generation from start to end. A build keeps only the newest two
    generations, so one still in use can be deleted by two builds in a row; a call that finds
    its generation gone switches to the newest one and runs again there, whole.
    """

    def __init__(self, searcher: Searcher) -> None:
        self._searcher = searcher
        self._reload_lock = threading.Lock()

    @classmethod
    def open(
        cls, index_dir: Path, model: str | None = None, embedder: Embedder | None = None, *, microbatch: bool = False
    ) -> Library:
        """Open the live index generation; raises IndexNotFound, IndexCorrupt or ModelMismatch.

        ``microbatch`` merges encode calls made at the same time from several threads (a server).
        """
        try:
            searcher = Searcher(Path(index_dir), model=model, embedder=embedder)
            if microbatch and not isinstance(searcher.embedder, MicroBatchEmbedder):
                searcher.embedder = MicroBatchEmbedder(searcher.embedder)
            return cls(searcher)
        except ModelMismatch as exc:  # say which index, so the message names the file and the fix
            manifest = current_generation(Path(index_dir)) / MANIFEST
            if str(manifest) in str(exc) or str(manifest.parent) in str(exc):
                raise
            raise ModelMismatch(f"{exc} (index manifest: {manifest})") from exc

    @property
    def searcher(self) -> Searcher:
        """The searcher of the live generation (replaced as a whole on reload)."""
        return self._searcher

    @property
    def multilingual(self) -> bool:
        """True when the model understands questions in Russian."""
        return self._searcher.embedder.multilingual

    @property
    def policy(self) -> AnswerPolicy:
        """The answer policy calibrated for this index's model."""
        return AnswerPolicy.for_model(self._searcher.manifest.model)

    def search(
        self, question: str, *, k: int = 10, mode: str = "hybrid", filters: Filters | None = None
    ) -> SearchResult:
        """Ranked chunks with their signals."""
        return self._on_live(lambda searcher: searcher.search(question, k=k, mode=mode, filters=filters))

    def answer(
        self,
        question: str,
        *,
        k: int = 10,
        mode: str = "hybrid",
        filters: Filters | None = None,
        excerpts: bool = True,
    ) -> Answer:
        """Cited excerpts answering the question, or an honest "not found"."""
        return self._on_live(lambda searcher: self._answer(searcher, question, k, mode, filters, excerpts))

    @staticmethod
    def _answer(
        searcher: Searcher, question: str, k: int, mode: str, filters: Filters | None, excerpts: bool
    ) -> Answer:
        # One generation (searcher) for the whole answer, even during a reload.
        result = searcher.search(question, k=k, mode=mode, filters=filters)
        return build_answer(
            question.strip(),
            result,
            policy=AnswerPolicy.for_model(searcher.manifest.model),
            mode=mode,
            embedder=searcher.embedder,
            document_lengths=searcher.document_lengths,
            with_excerpts=excerpts,
            query_vector=searcher.encode_query(question.strip()[:MAX_QUERY_CHARS]),
        )

    def passage(self, chunk_id: int, neighbours: int = 1) -> Passage:
        """A chunk in full with its neighbouring chunks; KeyError when it no longer exists."""
        return self._on_live(lambda searcher: self._passage(searcher, chunk_id, neighbours))

    @staticmethod
    def _passage(searcher: Searcher, chunk_id: int, neighbours: int) -> Passage:
        chunks = searcher.neighbours(chunk_id, neighbours, neighbours)
        focus = next(c for c in chunks if c.chunk_id == chunk_id)
        text = searcher.document_text(focus.doc_id)
        start, end = chunks[0].start, max(c.end for c in chunks)
        return Passage(
            doc=searcher.doc(focus.doc_id),
            text=text[start:end],
            focus_start=focus.start - start,
            focus_end=focus.end - start,
            cut_before=start > 0,
            cut_after=end < len(text),
        )

    def generation(self) -> str:
        """The name of the generation in use."""
        return self._searcher.generation.name

    def _on_live(self, work: Callable[[Searcher], T]) -> T:
        """``work`` on the live generation; once more on the newest if a build deleted it meanwhile."""
        searcher = self._searcher
        try:
            return work(searcher)
        except (IndexCorrupt, sqlite3.Error, FileNotFoundError):
            if (searcher.generation / STORE).is_file():
                raise  # really broken, not replaced
        self.reload()
        return work(self._searcher)

    def published_generation(self) -> str | None:
        """The name of the generation CURRENT points to now (one small read), or None if unreadable."""
        try:
            name = (self._searcher.index_dir / CURRENT).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return name or None

    def changed_on_disk(self) -> bool:
        """True when a newer generation has been published since this one was opened."""
        published = self.published_generation()
        return published is not None and published != self._searcher.generation.name

    def reload(self) -> bool:
        """Open the newest generation and switch to it atomically; True if it switched.

        The new generation is fully opened before the switch, so questions in flight finish
        on the old one and no question ever sees a mix of both. A generation that cannot be
        opened raises (IndexCorrupt, ModelMismatch, ...) and the old one stays live.
        """
        with self._reload_lock:
            if not self.changed_on_disk():
                return False
            old = self._searcher
            embedder = old.embedder
            fresh = Searcher(old.index_dir, embedder=embedder if _same_model(old, embedder) else None)
            self._searcher = fresh
            return True

    def stats(self) -> IndexStats:
        """Documents and chunks per source, dates, countries, model and size."""
        return self._on_live(self._stats)

    @staticmethod
    def _stats(searcher: Searcher) -> IndexStats:
        conn = searcher._conn()
        rows = conn.execute(
            "SELECT d.source, d.license, count(DISTINCT d.doc_id), count(c.chunk_id), min(d.date), max(d.date),"
            " min(d.author) FROM documents d LEFT JOIN chunks c USING (doc_id) GROUP BY d.source, d.license"
            " ORDER BY count(c.chunk_id) DESC"
        ).fetchall()
        sources = tuple(
            SourceStats(
                source=r[0],
                license=r[1],
                documents=r[2],
                chunks=r[3],
                first_date=r[4],
                last_date=r[5],
                attribution=_attribution(r[0], r[6]),
            )
            for r in rows
        )
        countries: Counter[str] = Counter()
        for (tags,) in conn.execute("SELECT countries FROM documents"):
            countries.update(t for t in tags.split("|") if t)
        manifest = searcher.manifest
        dates = conn.execute("SELECT min(date), max(date) FROM documents").fetchone()
        return IndexStats(
            documents=manifest.documents,
            chunks=manifest.chunks,
            model=manifest.model,
            backend=manifest.backend,
            dim=manifest.dim,
            built_at=manifest.built_at,
            size_bytes=dir_size(searcher.generation),
            sources=sources,
            countries=tuple(countries.most_common()),
            first_date=dates[0],
            last_date=dates[1],
        )


def _same_model(searcher: Searcher, embedder: Embedder) -> bool:
    from index.store import MANIFEST, Manifest

    manifest = Manifest.from_file(current_generation(searcher.index_dir) / MANIFEST)
    return (manifest.backend, manifest.model, manifest.dim) == (embedder.backend, embedder.model, embedder.dim)


def _attribution(source: str, author: str | None) -> str | None:
    if source.lower().startswith("wikipedia"):
        return "Wikipedia contributors (CC BY-SA); each excerpt links its article"
    return author if author and source.lower().startswith("trend") else None


__all__ = ["Library", "load_embedder"]

"""The one object front ends talk to: open an index once, answer questions, reload safely.

:class:`AnswerService` is what the bot and the terminal chat need; :class:`Library` implements
it over a store (index/store) and its model, and tests/fakelib.py implements it with canned answers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from index.answer import AnswerPolicy, build_answer
from index.config import Settings
from index.embedding import Embedder, load_embedder
from index.microbatch import MicroBatchEmbedder
from index.models import Answer, Filters, IndexStats, Passage
from index.search import Searcher, SearchResult
from index.store import Store, open_store

T = TypeVar("T")


class AnswerService(Protocol):
    """What a front end (the bot, the terminal chat) asks of the library."""

    @property
    def index_dir(self) -> Path:
        """The index folder being served."""
        ...

    @property
    def multilingual(self) -> bool:
        """True when the model understands questions in Russian."""
        ...

    @property
    def embedder(self) -> Embedder | None:
        """The loaded model, for indexing in the same process (None: load the index's own)."""
        ...

    def answer(self, question: str, *, k: int = 10, mode: str = "hybrid", filters: Filters | None = None) -> Answer:
        """Cited excerpts answering the question, or an honest "not found"."""
        ...

    def passage(self, chunk_id: int, neighbours: int = 1) -> Passage:
        """A chunk in full with its neighbouring chunks; KeyError when it no longer exists."""
        ...

    def stats(self) -> IndexStats:
        """Documents and chunks per source, dates, countries, model and size."""
        ...

    def generation(self) -> str:
        """The name of the generation in use."""
        ...

    def published_generation(self) -> str | None:
        """The name of the live generation on disk now (a cheap look), or None if unreadable."""
        ...

    def reload(self) -> bool:
        """Switch to the newest generation if there is one; True if it switched."""
        ...


class Library:
    """An opened index plus its model. Thread-safe; ``reload`` swaps generations atomically.

    Every call works on one generation from start to end. A build keeps only the newest two
    generations, so one still in use can be deleted by two builds in a row; a call that finds
    its generation gone switches to the newest one and runs again there, whole.
    """

    def __init__(self, store: Store, searcher: Searcher, settings: Settings | None = None) -> None:
        self._store = store
        self._searcher = searcher
        self._settings = settings
        self._reload_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        index_dir: Path,
        model: str | None = None,
        embedder: Embedder | None = None,
        *,
        microbatch: bool = False,
        mmap: bool = False,
        settings: Settings | None = None,
    ) -> Library:
        """Open the live index generation; raises IndexNotFound, IndexCorrupt or ModelMismatch.

        ``microbatch`` merges encode calls made at the same time from several threads (a server);
        ``mmap`` maps the vectors from the file instead of reading them (shared between processes).
        """
        store = open_store(Path(index_dir))
        searcher = Searcher.open(Path(index_dir), model=model, embedder=embedder, mmap=mmap, settings=settings)
        if microbatch and not isinstance(searcher.embedder, MicroBatchEmbedder):
            searcher.embedder = MicroBatchEmbedder(searcher.embedder)
        return cls(store, searcher, settings)

    @property
    def index_dir(self) -> Path:
        """The index folder being served."""
        return self._store.index_dir

    @property
    def searcher(self) -> Searcher:
        """The searcher of the live generation (replaced as a whole on reload)."""
        return self._searcher

    @property
    def embedder(self) -> Embedder:
        """The model in use."""
        return self._searcher.embedder

    @property
    def multilingual(self) -> bool:
        """True when the model understands questions in Russian."""
        return self._searcher.embedder.multilingual

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
    ) -> Answer:
        """Cited excerpts answering the question, or an honest "not found"; one question encode,
        no other model call (sentence vectors are stored in the index)."""
        return self._on_live(lambda searcher: self._answer(searcher, question, k, mode, filters))

    @staticmethod
    def _answer(searcher: Searcher, question: str, k: int, mode: str, filters: Filters | None) -> Answer:
        # One generation (searcher) for the whole answer, even during a reload.
        result = searcher.search(question, k=k, mode=mode, filters=filters)
        return build_answer(
            question.strip(),
            result,
            policy=AnswerPolicy.for_model(searcher.manifest.model),
            mode=mode,
            multilingual=searcher.embedder.multilingual,
            document_lengths=searcher.store.document_lengths,
        )

    def passage(self, chunk_id: int, neighbours: int = 1) -> Passage:
        """A chunk in full with its neighbouring chunks; KeyError when it no longer exists."""
        return self._on_live(lambda searcher: self._passage(searcher, chunk_id, neighbours))

    @staticmethod
    def _passage(searcher: Searcher, chunk_id: int, neighbours: int) -> Passage:
        store = searcher.store
        chunks = store.neighbours(chunk_id, neighbours, neighbours)
        focus = next(c for c in chunks if c.chunk_id == chunk_id)
        text = store.document_text(focus.doc_id)
        start, end = chunks[0].start, max(c.end for c in chunks)
        return Passage(
            doc=store.documents[focus.doc_id],
            text=text[start:end],
            focus_start=focus.start - start,
            focus_end=focus.end - start,
            cut_before=start > 0,
            cut_after=end < len(text),
        )

    def stats(self) -> IndexStats:
        """Documents and chunks per source, dates, countries, model and size."""
        return self._on_live(lambda searcher: searcher.store.stats())

    def clear_caches(self) -> None:
        """Forget cached question vectors (benchmarks measure every encode)."""
        self._searcher.clear_query_cache()

    def generation(self) -> str:
        """The name of the generation in use."""
        return self._searcher.generation

    def _on_live(self, work: Callable[[Searcher], T]) -> T:
        """``work`` on the live generation; once more on the newest if a build deleted it meanwhile."""
        searcher = self._searcher
        try:
            return work(searcher)
        except searcher.store.read_errors:
            if searcher.store.exists():
                raise  # really broken, not replaced
        self.reload()
        return work(self._searcher)

    def published_generation(self) -> str | None:
        """The name of the generation CURRENT points to now (one small read), or None if unreadable."""
        return self._store.published()

    def changed_on_disk(self) -> bool:
        """True when a newer generation has been published since this one was opened."""
        published = self.published_generation()
        return published is not None and published != self._searcher.generation

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
            reader = self._store.open()
            try:
                manifest, embedder = reader.manifest, old.embedder
                if (manifest.backend, manifest.model, manifest.dim) != (embedder.backend, embedder.model, embedder.dim):
                    embedder = load_embedder(manifest.model, self._settings)
                self._searcher = Searcher(reader, embedder)
            except BaseException:
                reader.close()
                raise
            return True


__all__ = ["AnswerService", "Library", "load_embedder"]

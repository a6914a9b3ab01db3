"""The Searcher: dense, BM25 and hybrid search over one index generation.

It composes the pieces: the question's terms (query.py), the store's dense and BM25
rankings (index/store), fusion (fusion.py), the year rule (rules.py) and diversification
(diversify.py). Hybrid takes the union of both candidate lists, scores every candidate on
both signals exactly, then fuses.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.config import Settings
from index.embedding import Embedder, check_compatible, load_embedder
from index.errors import EmptyQuery, ModelMismatch, UserFacingError
from index.models import Chunk, DocInfo, Filters, Hit, ScoredSentences
from index.search.diversify import diversify, pool_size
from index.search.fusion import adaptive_fuse, fuse, fusion_weights
from index.search.query import MAX_QUERY_CHARS, dense_query, query_terms, search_query
from index.search.rules import named_sources, prefer_named, years_in
from index.search.sentences import sentence_weight_for, with_best_sentence
from index.store import Manifest, StoreReader, open_store

MODES = ("dense", "bm25", "hybrid")
CANDIDATES = 100  # per signal, at least (4 * k for larger k)
BM25_POOL = 5000  # how deep hybrid reads the BM25 ranking in one query (see Searcher.search)
NAMED_SOURCE_CANDIDATES = 10  # per signal: the best passages of a source the question names
QUERY_CACHE = 2048  # question vectors kept per generation


@dataclass(frozen=True)
class SearchResult:
    """Ranked hits plus the signals the "not found" decision needs."""

    hits: list[Hit]
    top_dense: float  # best cosine similarity among candidates (0 when dense was not run)
    top_bm25: float  # best raw BM25 score (0 when nothing matched)
    query_terms: int  # searchable terms in the question
    dense: dict[int, float]  # cosine similarity of each candidate chunk, by chunk id
    language: str = "en"  # the question's language (index.language.detect_language)
    # The sentences of every returned hit (and of every dense candidate) with their similarity to
    # the question, by chunk id: what answers highlight and decide on, without running the model.
    sentences: dict[int, ScoredSentences] = field(default_factory=dict)
    named_sources: frozenset[str] = frozenset()  # the index's sources the question names (rules.py)


class Searcher:
    """Searches one generation of an index. Thread-safe; open once, reuse for every query."""

    def __init__(self, store: StoreReader, embedder: Embedder) -> None:
        manifest = store.manifest
        try:
            check_compatible(embedder, manifest.backend, manifest.model, manifest.dim)
        except ModelMismatch as exc:  # name the file, so the message says where and how to fix it
            raise ModelMismatch(f"{exc} (index manifest: {store.manifest_path})") from exc
        self.store = store
        self.embedder = embedder
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._sources: frozenset[str] | None = None
        self._cache_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        index_dir: Path,
        *,
        embedder: Embedder | None = None,
        model: str | None = None,
        mmap: bool = False,
        settings: Settings | None = None,
    ) -> Searcher:
        """Open the live generation of ``index_dir`` with its own model (or ``model``/``embedder``)."""
        store = open_store(Path(index_dir)).open(mmap=mmap)
        if embedder is None:
            embedder = load_embedder(model or store.manifest.model, settings)
        return cls(store, embedder)

    @property
    def manifest(self) -> Manifest:
        """The generation's manifest."""
        return self.store.manifest

    @property
    def generation(self) -> str:
        """The generation's name."""
        return self.store.name

    def close(self) -> None:
        """Release the store's files and connections."""
        self.store.close()

    def encode_query(self, text: str) -> np.ndarray:
        """The question's vector, cached for repeated questions.

        A question not in English is encoded with the English names of its places, bodies and
        people appended (cross_lingual_query), so search and sentence scoring share one vector.
        """
        with self._cache_lock:
            cached = self._query_cache.get(text)
            if cached is not None:
                self._query_cache.move_to_end(text)
                return cached
        vector = self.embedder.encode_queries([dense_query(text)])[0]
        with self._cache_lock:
            self._query_cache[text] = vector
            if len(self._query_cache) > QUERY_CACHE:
                self._query_cache.popitem(last=False)
        return vector

    def clear_query_cache(self) -> None:
        """Forget cached question vectors (benchmarks measure every encode)."""
        with self._cache_lock:
            self._query_cache.clear()

    def search(
        self,
        query: str,
        k: int = 10,
        mode: str = "hybrid",
        filters: Filters | None = None,
        *,
        dense_weight: float | None = None,
        sentence_weight: float | None = None,
        diversify: bool = True,
    ) -> SearchResult:
        """The k best chunks for a question, diversified, with the signals behind them.

        ``sentence_weight`` is the best sentence's share of a chunk's dense score (None: the
        model's, sentences.py).
        """
        if mode not in MODES:
            raise UserFacingError(f"Unknown search mode {mode!r}; choose one of {', '.join(MODES)}.")
        query = query.strip()[:MAX_QUERY_CHARS]
        if not query_terms(query):
            raise EmptyQuery("The question has no words to search for. Please ask in words.")
        terms, language = search_query(query)
        allowed = self.store.allowed_ids(filters)
        n = max(CANDIDATES, 4 * k)

        dense_hits: dict[int, float] = {}
        bm25_hits: dict[int, float] = {}
        sentences: dict[int, ScoredSentences] = {}
        vector = None
        if mode in ("dense", "hybrid"):
            vector = self.encode_query(query)
            dense_hits = dict(self.store.dense(vector, n, allowed))
        named = frozenset(named_sources(query, self.sources))
        named_bm25 = self._named_source_candidates(named, terms, mode, allowed, vector, dense_hits)
        if mode == "bm25":
            bm25_hits = dict(self.store.bm25(terms, n, allowed)) | named_bm25
        if mode == "hybrid":
            bm25_hits = self._hybrid_candidates(terms, n, allowed, vector, dense_hits, named_bm25)
        if vector is not None:
            sentences = self.store.sentence_scores(vector, dense_hits)
        # The dense signal: each candidate's chunk similarity blended with its best sentence's.
        if sentence_weight is None:
            sentence_weight = sentence_weight_for(self.manifest.model)
        dense_signal = with_best_sentence(dense_hits, sentences, sentence_weight)
        if mode == "hybrid":
            if dense_weight is None:  # adaptive: by how much the two rankings agree (fusion.py)
                weights = fusion_weights(self.manifest.model, language, self.embedder.multilingual)
                scored, dense_weight = adaptive_fuse(dense_signal, bm25_hits, weights)
            else:
                scored = fuse(dense_signal, bm25_hits, dense_weight)
        else:
            scored = dense_signal if mode == "dense" else bm25_hits

        scored = self._prefer_named(scored, query, named)
        ranked = sorted(scored.items(), key=lambda item: (-item[1], item[0]))
        hits = self._diversified(ranked, k, query, sentences) if diversify else self._hits(ranked[:k])
        unscored = [
            chunk.chunk_id for hit in hits for chunk in (hit.chunk, *hit.parts) if chunk.chunk_id not in sentences
        ]
        if unscored:  # BM25 alone, or merged neighbours: answers still need their sentences
            sentences.update(self.store.sentence_scores(self.encode_query(query), unscored))
        return SearchResult(
            hits=hits,
            top_dense=max(dense_hits.values(), default=0.0),
            top_bm25=max(bm25_hits.values(), default=0.0),
            query_terms=len(terms),
            dense=dense_hits,
            language=language,
            sentences=sentences,
            named_sources=named,
        )

    def _hybrid_candidates(
        self,
        terms: list[str],
        n: int,
        allowed: np.ndarray | None,
        vector: np.ndarray | None,
        dense_hits: dict[int, float],
        extra_bm25: dict[int, float],
    ) -> dict[int, float]:
        """BM25's top ``n`` (and ``extra_bm25``, more BM25 candidates) plus both scores for every
        candidate of either list.

        BM25 is read once, BM25_POOL deep: the dense candidates' BM25 scores are then almost
        always in it, instead of costing a second full-text query (half of hybrid's time).
        ``dense_hits`` gains the exact dense scores of BM25's candidates.
        """
        ranked_bm25 = self.store.bm25(terms, BM25_POOL, allowed)
        bm25_hits = dict(ranked_bm25[:n]) | extra_bm25
        bm25_pool = dict(ranked_bm25)
        pool_complete = len(ranked_bm25) < BM25_POOL  # every matching chunk is in it
        candidates = np.array(sorted(set(dense_hits) | set(bm25_hits)), dtype=np.int64)
        missing_dense = [int(i) for i in candidates if int(i) not in dense_hits]
        if missing_dense and vector is not None:
            scores = self.store.dense_scores(vector, np.array(missing_dense))
            dense_hits.update(zip(missing_dense, scores.tolist(), strict=True))
        missing_bm25 = [int(i) for i in candidates if int(i) not in bm25_hits]
        bm25_hits.update((i, bm25_pool[i]) for i in missing_bm25 if i in bm25_pool)
        unscored = [i for i in missing_bm25 if i not in bm25_pool]
        if unscored and bm25_hits and not pool_complete:
            bm25_hits.update(self.store.bm25(terms, len(unscored), None, among=unscored))
        return bm25_hits

    def _named_source_candidates(
        self,
        named: frozenset[str],
        terms: list[str],
        mode: str,
        allowed: np.ndarray | None,
        vector: np.ndarray | None,
        dense_hits: dict[int, float],
    ) -> dict[int, float]:
        """The best passages of the ``named`` sources ("What did Trend write …"), however far down
        the whole ranking they are: the dense ones join ``dense_hits``, the BM25 ones are returned
        (hybrid then gives every candidate both scores). rules.prefer_named lifts them as an inline
        ``source:`` filter would, without excluding the rest."""
        if not named:
            return {}
        ids = self.store.allowed_ids(Filters(sources=tuple(sorted(named))))
        if allowed is not None:
            ids = np.intersect1d(ids, allowed)
        if len(ids) == 0:
            return {}
        if vector is not None:
            dense_hits.update(self.store.dense(vector, NAMED_SOURCE_CANDIDATES, ids))
        return {} if mode == "dense" else dict(self.store.bm25(terms, NAMED_SOURCE_CANDIDATES, ids))

    @property
    def sources(self) -> frozenset[str]:
        """Every source name in this generation (for sources named in a question)."""
        if self._sources is None:
            self._sources = frozenset(doc.source for doc in self.store.documents.values())
        return self._sources

    def _prefer_named(self, scored: dict[int, float], query: str, named: frozenset[str]) -> dict[int, float]:
        """The year and source rules (rules.py), when the question names a year or a source (``named``)."""
        if not scored or not (named or years_in(query)):
            return scored
        return prefer_named(scored, query, self._documents_of(scored), self.sources)

    def _documents_of(self, scored: dict[int, float]) -> dict[int, DocInfo | None]:
        documents = self.store.documents
        return {chunk_id: documents.get(doc_id) for chunk_id, doc_id in self.store.chunk_documents(scored).items()}

    def _hits(self, ranked: list[tuple[int, float]]) -> list[Hit]:
        chunks = self.store.chunks(i for i, _ in ranked)
        found = [(chunks[i], s) for i, s in ranked if i in chunks]
        return self._numbered(found)

    def _diversified(
        self, ranked: list[tuple[int, float]], k: int, query: str, sentences: dict[int, ScoredSentences]
    ) -> list[Hit]:
        chunks = self.store.chunks(i for i, _ in ranked[: pool_size(k)])
        documents = self.store.documents
        answers = {}  # each scored edition's sentence most similar to the question (collapse)
        for chunk_id, chunk in chunks.items():
            found = sentences.get(chunk_id)
            doc = documents.get(chunk.doc_id)
            if found is not None and len(found.scores) and doc is not None and doc.edition:
                start, end = found.spans[int(found.scores.argmax())]
                answers[chunk_id] = chunk.text[int(start) : int(end)]
        placed = diversify(
            ranked,
            chunks,
            k,
            docs=documents,
            years=years_in(query),
            document_text=self.store.document_text,
            answers=answers,
        )
        return [
            Hit(
                chunk=p.chunk,
                doc=documents[p.chunk.doc_id],
                score=float(p.score),
                rank=rank,
                parts=tuple(p.parts) if len(p.parts) > 1 else (),
                also=tuple(Hit(chunk=c, doc=documents[c.doc_id], score=float(p.score), rank=rank) for c in p.also),
            )
            for rank, p in enumerate(placed, 1)
        ]

    def _numbered(self, chosen: list[tuple[Chunk, float]]) -> list[Hit]:
        documents = self.store.documents
        return [Hit(chunk=c, doc=documents[c.doc_id], score=float(s), rank=r) for r, (c, s) in enumerate(chosen, 1)]

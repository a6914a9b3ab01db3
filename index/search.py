"""Dense, BM25 and hybrid search over one index generation.

Dense search is FAISS inner product on normalised vectors (cosine similarity). BM25 is
SQLite FTS5's own ``bm25()`` over chunk text and title. Hybrid takes the union of both
candidate lists, scores every candidate on both signals exactly, and fuses them by a
convex combination of normalised scores (Bruch et al., 2023, found this beats RRF).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from index.embedding import Embedder, check_compatible, load_embedder
from index.errors import EmptyQuery, UserFacingError
from index.glossary import english_names
from index.language import NON_ENGLISH, detect_language, is_cyrillic, script_of
from index.models import Chunk, DocInfo, Filters, Hit
from index.store import (
    FAISS_FILE,
    MANIFEST,
    STORE,
    Manifest,
    check_files,
    current_generation,
    open_store,
    read_faiss,
)

MODES = ("dense", "bm25", "hybrid")
# Weight of the dense signal in hybrid fusion; tuned on eval/ and BEIR SciFact (README).
DENSE_WEIGHT = 0.6
# Questions not in English: BM25 can only match the English names, numbers and Latin words
# cross_lingual_query gives it, so a multilingual model leans on its dense side; an English-only
# model's dense side is noise for them (Recall@5 0.00 on eval/questions_ru.jsonl), so it does not.
CROSS_LINGUAL_DENSE_WEIGHT = 0.8
ENGLISH_ONLY_CROSS_LINGUAL_WEIGHT = 0.5
# Per model, measured on eval/ (README, "Choosing a model"): "en" for English questions, "xx"
# for questions in any other language. Models not listed use the defaults above.
DENSE_WEIGHTS: dict[str, dict[str, float]] = {
    "multilingual": {"en": 0.7, "xx": 0.8},
    "all-MiniLM-L6-v2": {"xx": ENGLISH_ONLY_CROSS_LINGUAL_WEIGHT},
}
# Title matches count for less than body matches in BM25 (column weights of bm25()).
BM25_WEIGHTS = (0.4, 1.0)
CANDIDATES = 100
BM25_POOL = 5000  # how deep hybrid reads the BM25 ranking in one query (see Searcher.search)
MAX_QUERY_CHARS = 2000
MAX_PER_DOC_IN_TOP = 2
TOP_FOR_DIVERSITY = 5
YEAR_BOOST = 0.25

_WORD = re.compile(r"\w+", re.UNICODE)
_YEAR = re.compile(r"\b(19[5-9]\d|20[0-4]\d)\b")
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves tell know please according say said does did whats s t""".split()
)


@dataclass(frozen=True)
class SearchResult:
    """Ranked hits plus the signals the "not found" decision needs."""

    hits: list[Hit]
    top_dense: float  # best cosine similarity among candidates (0 when dense was not run)
    top_bm25: float  # best raw BM25 score (0 when nothing matched)
    query_terms: int  # searchable terms in the question
    dense: dict[int, float]  # cosine similarity of each candidate chunk, by chunk id
    language: str = "en"  # the question's language (index.language.detect_language)


def query_terms(text: str) -> list[str]:
    """Lower-cased content words of a question, in order, without duplicates."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        if word not in STOPWORDS and (len(word) > 1 or word.isdigit()):
            seen.setdefault(word, None)
    return list(seen)


def fts_query(terms: Sequence[str]) -> str:
    """An FTS5 MATCH expression that ORs the terms; every term is quoted, so no syntax can leak."""
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)


def years_in(text: str) -> set[str]:
    """Years (1950–2049) a question names, e.g. "in 2012" or "the 2015 Factbook"."""
    return set(_YEAR.findall(text))


def cross_lingual_query(query: str, terms: list[str]) -> tuple[list[str], str]:
    """BM25 terms and the dense model's text for a question that is not in English.

    Its own words are dropped from BM25 (in another script they only match stray native
    names in the English corpus) and replaced by the English names of index/glossary.py,
    which are also appended to the text the dense model encodes. Measured on
    eval/questions_ru.jsonl (README, "Choosing a model"): Recall@5 0.68 -> 0.80.
    """
    names = english_names(query)
    kept = [t for t in terms if script_of(t) in ("latin", "none")]  # numbers, "Factbook", "CSTO"
    terms = kept + [t for t in query_terms(" ".join(names)) if t not in kept]
    return terms, f"{query} ({', '.join(names)})" if names else query


def fusion_weight(model: str, language: str, multilingual: bool = True) -> float:
    """The dense weight of hybrid fusion for a model and a question language (detect_language)."""
    table = DENSE_WEIGHTS.get(model, {})
    if language not in NON_ENGLISH:
        return table.get("en", DENSE_WEIGHT)
    return table.get("xx", CROSS_LINGUAL_DENSE_WEIGHT if multilingual else ENGLISH_ONLY_CROSS_LINGUAL_WEIGHT)


class Searcher:
    """Searches one generation of an index. Thread-safe; open once, reuse for every query."""

    def __init__(
        self, index_dir: Path, *, embedder: Embedder | None = None, model: str | None = None, mmap: bool = False
    ) -> None:
        self.index_dir = Path(index_dir)
        self.generation = current_generation(self.index_dir)
        self.manifest = Manifest.from_file(self.generation / MANIFEST)
        check_files(self.generation, self.manifest)
        if embedder is None:
            embedder = load_embedder(model or self.manifest.model)
        check_compatible(embedder, self.manifest.backend, self.manifest.model, self.manifest.dim)
        self.embedder = embedder
        self._local = threading.local()
        self._conn_lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._conn()  # validates the store now, not on the first question
        self.index = read_faiss(self.generation / FAISS_FILE, mmap=mmap)
        if self.index.d != self.manifest.dim or self.index.ntotal != self.manifest.chunks:
            raise UserFacingError(
                f"The FAISS file {self.generation / FAISS_FILE} does not match its manifest "
                f"({self.index.ntotal} vectors of {self.index.d} dimensions, expected {self.manifest.chunks} "
                f"of {self.manifest.dim}). Rebuild it with `steppe index build --rebuild`."
            )
        self._ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
        self._matrix = self._vector_matrix()
        self._docs = self._load_docs()
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._allowed: dict[Filters, np.ndarray] = {}
        self._cache_lock = threading.Lock()

    # --- storage -------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = open_store(self.generation)
            self._local.conn = conn
            with self._conn_lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        """Close every SQLite connection this searcher opened."""
        with self._conn_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    def _vector_matrix(self) -> np.ndarray:
        """A zero-copy view of the stored vectors, row i for chunk id self._ids[i]."""
        base = faiss.downcast_index(self.index.index)
        flat = base if isinstance(base, faiss.IndexFlat) else faiss.downcast_index(base.storage)
        n, d = flat.ntotal, flat.d
        if n == 0:
            return np.zeros((0, d), dtype=np.float32)
        return faiss.rev_swig_ptr(flat.get_xb(), n * d).reshape(n, d)

    def _load_docs(self) -> dict[str, DocInfo]:
        rows = self._conn().execute(
            "SELECT doc_id, title, source, path, date, url, author, license, section, edition, corpus FROM documents"
        )
        docs = {row["doc_id"]: DocInfo(**dict(row)) for row in rows}
        self.document_lengths = dict(self._conn().execute("SELECT doc_id, length(text) FROM documents").fetchall())
        return docs

    def doc(self, doc_id: str) -> DocInfo:
        """Citation fields of a document."""
        return self._docs[doc_id]

    @property
    def documents(self) -> dict[str, DocInfo]:
        """Every document's citation fields by id."""
        return self._docs

    def chunks(self, ids: Iterable[int]) -> dict[int, Chunk]:
        """Stored chunks by id, in one query."""
        ids = [int(i) for i in ids]
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._conn().execute(
            f"SELECT chunk_id, doc_id, seq, start, end, text FROM chunks WHERE chunk_id IN ({marks})", ids
        )
        return {row["chunk_id"]: Chunk(**dict(row)) for row in rows}

    def neighbours(self, chunk_id: int, before: int = 1, after: int = 1) -> list[Chunk]:
        """The chunk with up to ``before``/``after`` chunks of the same document around it."""
        row = self._conn().execute("SELECT doc_id, seq FROM chunks WHERE chunk_id = ?", (chunk_id,)).fetchone()
        if row is None:
            raise KeyError(chunk_id)
        rows = self._conn().execute(
            "SELECT chunk_id, doc_id, seq, start, end, text FROM chunks WHERE doc_id = ? AND seq BETWEEN ? AND ?"
            " ORDER BY seq",
            (row["doc_id"], row["seq"] - before, row["seq"] + after),
        )
        return [Chunk(**dict(r)) for r in rows]

    def document_text(self, doc_id: str) -> str:
        """The cleaned text of a document."""
        row = self._conn().execute("SELECT text FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is None:
            raise KeyError(doc_id)
        return row["text"]

    # --- filters ---------------------------------------------------------------------------
    def allowed_ids(self, filters: Filters | None) -> np.ndarray | None:
        """Sorted chunk ids passing the filters, or None when nothing is filtered."""
        if filters is None or filters.is_empty():
            return None
        cached = self._allowed.get(filters)
        if cached is None:
            cached = self._allowed_query(filters)
            if len(self._allowed) >= 256:  # a bounded, per-generation cache: it dies with this searcher
                self._allowed.pop(next(iter(self._allowed)))
            self._allowed[filters] = cached
        return cached

    def _allowed_query(self, filters: Filters) -> np.ndarray:
        clauses, params = [], []
        if filters.sources:
            parts = []
            for source in filters.sources:
                prefix = source.lower().replace("%", "").replace("_", "")
                parts.append("(lower(d.source) LIKE ? OR lower(d.source) LIKE ? OR lower(d.doc_id) LIKE ?)")
                params += [f"{prefix}%", f"% {prefix}%", f"{prefix}%"]
            clauses.append("(" + " OR ".join(parts) + ")")
        if filters.since:
            clauses.append("d.date IS NOT NULL AND substr(d.date, 1, ?) >= ?")
            params += [len(filters.since), filters.since]
        if filters.until:
            clauses.append("d.date IS NOT NULL AND substr(d.date, 1, ?) <= ?")
            params += [len(filters.until), filters.until]
        if filters.countries:
            clauses.append("(" + " OR ".join("c.countries LIKE ?" for _ in filters.countries) + ")")
            params += [f"%|{country}|%" for country in filters.countries]
        sql = "SELECT c.chunk_id FROM chunks c JOIN documents d USING (doc_id) WHERE " + " AND ".join(clauses)
        ids = [row[0] for row in self._conn().execute(sql, params)]
        return np.array(sorted(ids), dtype=np.int64)

    # --- scoring ---------------------------------------------------------------------------
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
        dense_text = text
        if detect_language(text) in NON_ENGLISH:
            _, dense_text = cross_lingual_query(text, query_terms(text))
        vector = self.embedder.encode_queries([dense_text])[0]
        with self._cache_lock:
            self._query_cache[text] = vector
            if len(self._query_cache) > 2048:
                self._query_cache.popitem(last=False)
        return vector

    def dense_scores(self, vector: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Exact cosine similarity of the question to the given chunk ids."""
        rows = np.searchsorted(self._ids, ids)
        return self._matrix[rows] @ vector

    def dense(self, vector: np.ndarray, n: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """Top-n chunk ids by cosine similarity."""
        if self.index.ntotal == 0 or n <= 0:
            return []
        if allowed is not None:
            if len(allowed) == 0:
                return []
            scores = self.dense_scores(vector, allowed)
            top = np.argsort(-scores)[:n]
            return [(int(allowed[i]), float(scores[i])) for i in top]
        scores, ids = self.index.search(vector[None, :].astype(np.float32), min(n, self.index.ntotal))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def bm25(
        self, terms: Sequence[str], n: int, allowed: np.ndarray | None = None, among: Sequence[int] | None = None
    ) -> list[tuple[int, float]]:
        """Top-n chunk ids by FTS5 BM25 (higher is better), optionally only among some ids."""
        if not terms:
            return []
        sql = "SELECT rowid, -bm25(chunks_fts, ?, ?) AS score FROM chunks_fts WHERE chunks_fts MATCH ?"
        params: list[object] = [*BM25_WEIGHTS, fts_query(terms)]
        if among is not None:
            if not among:
                return []
            sql += f" AND rowid IN ({','.join('?' * len(among))})"
            params += [int(i) for i in among]
        if allowed is None or among is not None:
            sql += " ORDER BY rank LIMIT ?" if among is None else ""
            params += [n] if among is None else []
            rows = self._conn().execute(sql, params).fetchall()
            results = [(int(r[0]), float(r[1])) for r in rows]
            if allowed is not None:
                results = [(i, s) for i, s in results if _contains(allowed, i)]
            return results
        # With a filter: rank everything that matches, then keep the allowed ids.
        rows = self._conn().execute(sql + " ORDER BY rank", params)
        results = []
        for chunk_id, score in rows:
            if _contains(allowed, chunk_id):
                results.append((int(chunk_id), float(score)))
                if len(results) >= n:
                    break
        return results

    # --- search ----------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 10,
        mode: str = "hybrid",
        filters: Filters | None = None,
        *,
        dense_weight: float | None = None,
        diversify: bool = True,
    ) -> SearchResult:
        """The k best chunks for a question, diversified, with the signals behind them."""
        if mode not in MODES:
            raise UserFacingError(f"Unknown search mode {mode!r}; choose one of {', '.join(MODES)}.")
        query = query.strip()[:MAX_QUERY_CHARS]
        terms = query_terms(query)
        if not terms:
            raise EmptyQuery("The question has no words to search for. Please ask in words.")
        language = detect_language(query)
        if language in NON_ENGLISH:
            # BM25 over English text cannot match a Russian question; the region's names can be looked up.
            terms, _ = cross_lingual_query(query, terms)
        allowed = self.allowed_ids(filters)
        n = max(CANDIDATES, 4 * k)
        if dense_weight is None:
            dense_weight = fusion_weight(self.manifest.model, language, self.embedder.multilingual)
        alpha = dense_weight

        dense_hits: dict[int, float] = {}
        bm25_hits: dict[int, float] = {}
        vector = None
        if mode in ("dense", "hybrid"):
            vector = self.encode_query(query)
            dense_hits = dict(self.dense(vector, n, allowed))
        bm25_pool: dict[int, float] = {}
        pool_complete = True
        if mode in ("bm25", "hybrid"):
            # Hybrid fetches a deep BM25 list once: the dense candidates' BM25 scores are then
            # almost always in it, instead of costing a second full-text query (half of hybrid's time).
            ranked_bm25 = self.bm25(terms, BM25_POOL if mode == "hybrid" else n, allowed)
            bm25_hits = dict(ranked_bm25[:n])
            bm25_pool = dict(ranked_bm25)
            pool_complete = len(ranked_bm25) < BM25_POOL  # every matching chunk is in it

        if mode == "hybrid":
            candidates = np.array(sorted(set(dense_hits) | set(bm25_hits)), dtype=np.int64)
            missing_dense = [int(i) for i in candidates if int(i) not in dense_hits]
            if missing_dense and vector is not None:
                dense_hits.update(
                    zip(missing_dense, self.dense_scores(vector, np.array(missing_dense)).tolist(), strict=True)
                )
            missing_bm25 = [int(i) for i in candidates if int(i) not in bm25_hits]
            bm25_hits.update((i, bm25_pool[i]) for i in missing_bm25 if i in bm25_pool)
            unscored = [i for i in missing_bm25 if i not in bm25_pool]
            if unscored and bm25_hits and not pool_complete:
                bm25_hits.update(self.bm25(terms, len(unscored), None, among=unscored))
            scored = _fuse(dense_hits, bm25_hits, alpha)
        else:
            scored = dense_hits if mode == "dense" else bm25_hits

        scored = self._prefer_years(scored, query)
        ranked = sorted(scored.items(), key=lambda item: (-item[1], item[0]))
        hits = self._diversify(ranked, k) if diversify else self._to_hits(ranked[:k])
        return SearchResult(
            hits=hits,
            top_dense=max(dense_hits.values(), default=0.0),
            top_bm25=max(bm25_hits.values(), default=0.0),
            query_terms=len(terms),
            dense=dense_hits,
            language=language,
        )

    def _prefer_years(self, scored: dict[int, float], query: str) -> dict[int, float]:
        """Lift documents from the edition or year a question names.

        "the 2015 Factbook" lifts only that Factbook edition; a bare year ("in 2012") lifts
        documents dated in that year and Factbook editions of it.
        """
        years = years_in(query)
        if not years or not scored:
            return scored
        factbook_only = "factbook" in query.lower()
        chunk_docs = self._doc_ids(scored)
        top = max(scored.values())
        boost = YEAR_BOOST * (top if top > 0 else 1.0)
        lifted = {}
        for chunk_id, score in scored.items():
            doc = self._docs.get(chunk_docs.get(chunk_id, ""))
            if doc is None:
                lifted[chunk_id] = score
                continue
            edition = doc.edition in years
            dated = (doc.date or "")[:4] in years and not factbook_only
            lifted[chunk_id] = score + boost if edition or dated else score
        return lifted

    def _doc_ids(self, scored: dict[int, float]) -> dict[int, str]:
        ids = list(scored)
        marks = ",".join("?" * len(ids))
        rows = self._conn().execute(f"SELECT chunk_id, doc_id FROM chunks WHERE chunk_id IN ({marks})", ids)
        return {r[0]: r[1] for r in rows}

    def _to_hits(self, ranked: list[tuple[int, float]]) -> list[Hit]:
        chunks = self.chunks(i for i, _ in ranked)
        return [
            Hit(chunk=chunks[i], doc=self._docs[chunks[i].doc_id], score=s, rank=r)
            for r, (i, s) in enumerate(((i, s) for i, s in ranked if i in chunks), start=1)
        ]

    def _diversify(self, ranked: list[tuple[int, float]], k: int) -> list[Hit]:
        """No two passages overlap; at most two per document in the top five unless nothing else is left."""
        pool = ranked[: max(4 * k, 40)]
        chunks = self.chunks(i for i, _ in pool)
        chosen: list[tuple[Chunk, float]] = []
        deferred: list[tuple[Chunk, float]] = []

        def overlaps(chunk: Chunk) -> bool:
            return any(c.doc_id == chunk.doc_id and c.start < chunk.end and chunk.start < c.end for c, _ in chosen)

        for chunk_id, score in pool:
            chunk = chunks.get(chunk_id)
            if chunk is None or overlaps(chunk):
                continue
            same_doc = sum(c.doc_id == chunk.doc_id for c, _ in chosen)
            if len(chosen) < TOP_FOR_DIVERSITY and same_doc >= MAX_PER_DOC_IN_TOP:
                deferred.append((chunk, score))
                continue
            chosen.append((chunk, score))
            if len(chosen) >= k:
                break
        for chunk, score in deferred:  # nothing else relevant: fill with what was held back
            if len(chosen) >= k:
                break
            if not overlaps(chunk):
                chosen.append((chunk, score))
        return [Hit(chunk=c, doc=self._docs[c.doc_id], score=float(s), rank=r) for r, (c, s) in enumerate(chosen, 1)]


def _contains(sorted_ids: np.ndarray, value: int) -> bool:
    position = int(np.searchsorted(sorted_ids, value))
    return position < len(sorted_ids) and int(sorted_ids[position]) == value


def _fuse(dense: dict[int, float], bm25: dict[int, float], alpha: float) -> dict[int, float]:
    """Convex combination of min-max normalised dense and BM25 scores over the candidates."""
    ids = list(dense.keys() | bm25.keys())
    if not ids:
        return {}
    d = np.array([dense.get(i, 0.0) for i in ids], dtype=np.float64)
    b = np.array([bm25.get(i, 0.0) for i in ids], dtype=np.float64)
    d_norm = (d - d.min()) / (d.max() - d.min()) if d.max() > d.min() else np.zeros_like(d)
    b_norm = b / b.max() if b.max() > 0 else np.zeros_like(b)
    fused = alpha * d_norm + (1 - alpha) * b_norm
    return dict(zip(ids, fused.tolist(), strict=True))


def open_searcher(index_dir: Path, model: str | None = None) -> Searcher:
    """Open an index for searching, with clear errors for every way it can be broken."""
    return Searcher(index_dir, model=model)


__all__ = [
    "MODES",
    "STORE",
    "SearchResult",
    "Searcher",
    "cross_lingual_query",
    "fts_query",
    "fusion_weight",
    "is_cyrillic",
    "open_searcher",
    "query_terms",
]

"""The local store: generations of a SQLite file and a FAISS file in one folder; every SQL statement of steppe.

Inside a generation, ``store.sqlite`` holds documents, chunks (offsets, text, countries, embedding
hash, vector, sentence spans and sentence vectors) and an FTS5 table over chunk title, text and, for
Russian and other Cyrillic chunks, their words normalised (index/text.py); ``index.faiss`` holds the
vectors (its ids are the SQLite chunk ids), ``sentences.npy`` and ``sentence_spans.npy`` the sentence
vectors for reading. Dense search is exact inner product on normalised vectors, or HNSW above
FLAT_LIMIT; re-scoring reads FAISS's flat storage (no copy). BM25 is FTS5's own ``bm25()``.

Readers open one SQLite connection per thread (reused), cache the chunk ids passing each filter,
and never write. Writers copy the live store, change it, build the FAISS file from the stored
vectors and publish the folder (index/store/generations.py).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import faiss
import numpy as np

from index.errors import IndexCorrupt, UserFacingError
from index.models import Chunk, DocInfo, Filters, IndexStats, ScoredSentences, SourceStats, source_attribution
from index.store.base import PendingChunk, PendingDocument, Scored, StoredVectors
from index.store.generations import (
    FAISS_FILE,
    MANIFEST,
    REBUILD_HINT,
    STORE,
    Manifest,
    build_lock,
    check_files,
    current_generation,
    describe_write_error,
    dir_size,
    new_generation,
    publish_generation,
    published_name,
    write_failed,
)
from index.store.vectors import (
    build_faiss,
    flat_matrix,
    read_faiss,
    read_sentences,
    sentence_arrays,
    write_generation_files,
)
from index.text import is_native, native_words

# Title matches count for less than body matches in BM25 (column weights of bm25(): title, text, native).
BM25_WEIGHTS = (0.4, 1.0, 1.0)
# The full-text table. ``native`` (schema 2): the chunk's Cyrillic words normalised (index/text.py).
FTS_TABLE = "CREATE VIRTUAL TABLE chunks_fts USING fts5(title, text, native, tokenize = 'porter unicode61 remove_diacritics 2');"
FILTER_CACHE = 256  # filters whose allowed chunk ids a reader keeps

SCHEMA = (
    """
CREATE TABLE documents (
    doc_id TEXT PRIMARY KEY,
    corpus TEXT NOT NULL,
    path TEXT NOT NULL,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    date TEXT,
    url TEXT,
    author TEXT,
    license TEXT,
    section TEXT,
    edition TEXT,
    extra TEXT NOT NULL DEFAULT '{}',
    countries TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL,
    content_hash TEXT NOT NULL
);
CREATE TABLE chunks (
    chunk_id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a chunk id names one passage forever
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    countries TEXT NOT NULL DEFAULT '',
    embed_hash TEXT NOT NULL,
    vector BLOB NOT NULL,             -- float32
    sentence_spans BLOB NOT NULL,     -- int32 (start, end) pairs into text
    sentence_vectors BLOB NOT NULL    -- float16, one vector per span
);
CREATE INDEX chunks_doc ON chunks(doc_id, seq);
CREATE INDEX chunks_embed_hash ON chunks(embed_hash);
"""
    + FTS_TABLE
)
_CHUNK_COLUMNS = "chunk_id, doc_id, seq, start, end, text"
_DOC_COLUMNS = "doc_id, title, source, path, date, url, author, license, section, edition, corpus"


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    """A SQLite connection with the settings every part of steppe uses."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = DELETE")  # one self-contained file per generation
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def open_sqlite(generation: Path) -> sqlite3.Connection:
    """Open a generation's SQLite store read-only, or IndexCorrupt naming the file."""
    path = generation / STORE
    try:
        conn = connect(path, readonly=True)
        conn.execute("SELECT count(*) FROM chunks").fetchone()
        conn.execute("SELECT rowid FROM chunks_fts LIMIT 1").fetchone()
    except sqlite3.DatabaseError as exc:
        raise IndexCorrupt(f"The SQLite store {path} is corrupt or not a steppe store ({exc}). {REBUILD_HINT}") from exc
    return conn


def fts_query(terms: Sequence[str]) -> str:
    """An FTS5 MATCH expression that ORs the terms; every term is quoted, so no syntax can leak.
    A Cyrillic term is looked for in the ``native`` column (normalised words of Cyrillic chunks) only.
    """

    def phrase(term: str) -> str:
        quoted = '"' + term.replace('"', '""') + '"'
        return f"native : {quoted}" if is_native(term) else quoted

    return " OR ".join(phrase(term) for term in terms)


def pipe(countries: Sequence[str]) -> str:
    """Countries as stored: ``|A|B|``, so a LIKE '%|A|%' finds exactly A."""
    return "|" + "|".join(countries) + "|" if countries else ""


def _contains(sorted_ids: np.ndarray, value: int) -> bool:
    position = int(np.searchsorted(sorted_ids, value))
    return position < len(sorted_ids) and int(sorted_ids[position]) == value


# --- reading -------------------------------------------------------------------------------------


class LocalReader:
    """One generation folder opened for reading (the StoreReader of the local store)."""

    read_errors = (IndexCorrupt, sqlite3.Error, FileNotFoundError)

    def __init__(self, generation: Path, *, mmap: bool = False) -> None:
        self.generation = generation
        self._manifest = Manifest.from_file(generation / MANIFEST)
        check_files(generation, self._manifest)
        self._local = threading.local()
        self._conn_lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._conn()  # validates the store now, not on the first question
        self.index = read_faiss(generation / FAISS_FILE, mmap=mmap)
        if self.index.d != self._manifest.dim or self.index.ntotal != self._manifest.chunks:
            raise UserFacingError(
                f"The FAISS file {generation / FAISS_FILE} does not match its manifest "
                f"({self.index.ntotal} vectors of {self.index.d} dimensions, expected {self._manifest.chunks} "
                f"of {self._manifest.dim}). Rebuild it with `steppe index build --rebuild`."
            )
        self._ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
        self._matrix = flat_matrix(self.index)
        self._sentences = read_sentences(generation, self._manifest.dim)
        rows = self._conn().execute(f"SELECT {_DOC_COLUMNS} FROM documents")
        self._docs = {row["doc_id"]: DocInfo(**dict(row)) for row in rows}
        self._lengths = dict(self._conn().execute("SELECT doc_id, length(text) FROM documents").fetchall())
        self._allowed: dict[Filters, np.ndarray] = {}

    @property
    def name(self) -> str:
        """The generation folder's name."""
        return self.generation.name

    @property
    def manifest(self) -> Manifest:
        """The generation's manifest."""
        return self._manifest

    @property
    def manifest_path(self) -> Path:
        """The manifest file."""
        return self.generation / MANIFEST

    @property
    def documents(self) -> dict[str, DocInfo]:
        """Every document's citation fields by id."""
        return self._docs

    @property
    def document_lengths(self) -> dict[str, int]:
        """Characters of each document's text, by id."""
        return self._lengths

    def exists(self) -> bool:
        """False once a later build deleted the folder."""
        return (self.generation / STORE).is_file()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = open_sqlite(self.generation)
            self._local.conn = conn
            with self._conn_lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        """Close every SQLite connection this reader opened."""
        with self._conn_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    # --- vectors ---------------------------------------------------------------------------------
    def vectors(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of chunk ids, rows read from FAISS's own storage."""
        return self._matrix[np.searchsorted(self._ids, ids)]

    def dense_scores(self, vector: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Exact cosine similarity of the question to the given chunk ids."""
        return self.vectors(ids) @ vector

    def sentence_scores(self, vector: np.ndarray, ids: Iterable[int]) -> dict[int, ScoredSentences]:
        """Each chunk's sentences with their similarity to the question, from the memory-mapped vectors."""
        return self._sentences.scores(vector, ids)

    def dense(self, vector: np.ndarray, n: int, allowed: np.ndarray | None = None) -> Scored:
        """Top-n chunk ids by cosine similarity (exact among ``allowed``)."""
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

    # --- full text -------------------------------------------------------------------------------
    def bm25(
        self, terms: Sequence[str], n: int, allowed: np.ndarray | None = None, among: Sequence[int] | None = None
    ) -> Scored:
        """Top-n chunk ids by FTS5 BM25 (higher is better), optionally only among some ids."""
        if not terms or (among is not None and not among):
            return []
        sql = "SELECT rowid, -bm25(chunks_fts, ?, ?, ?) AS score FROM chunks_fts WHERE chunks_fts MATCH ?"
        params: list[object] = [*BM25_WEIGHTS, fts_query(terms)]
        if among is not None:
            sql += f" AND rowid IN ({','.join('?' * len(among))})"
            params += [int(i) for i in among]
        if allowed is None or among is not None:
            sql += " ORDER BY rank LIMIT ?" if among is None else ""
            params += [n] if among is None else []
            cursor = self._conn().cursor()
            cursor.row_factory = None  # plain (rowid, score) tuples: thousands of rows, no Row objects
            results: Scored = cursor.execute(sql, params).fetchall()
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

    # --- filters ---------------------------------------------------------------------------------
    def allowed_ids(self, filters: Filters | None) -> np.ndarray | None:
        """Sorted chunk ids passing the filters, or None when nothing is filtered."""
        if filters is None or filters.is_empty():
            return None
        cached = self._allowed.get(filters)
        if cached is None:
            cached = self._allowed_query(filters)
            if len(self._allowed) >= FILTER_CACHE:  # bounded, and it dies with this generation
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

    # --- chunks and documents --------------------------------------------------------------------
    def _chunk_rows(self, columns: str, ids: Iterable[int]) -> list[sqlite3.Row]:
        """``columns`` of the chunks with these ids, in one query."""
        ids = [int(i) for i in ids]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return self._conn().execute(f"SELECT {columns} FROM chunks WHERE chunk_id IN ({marks})", ids).fetchall()

    def chunks(self, ids: Iterable[int]) -> dict[int, Chunk]:
        """Stored chunks by id."""
        return {row["chunk_id"]: Chunk(**dict(row)) for row in self._chunk_rows(_CHUNK_COLUMNS, ids)}

    def chunk_documents(self, ids: Iterable[int]) -> dict[int, str]:
        """The document id of each chunk id."""
        return {row[0]: row[1] for row in self._chunk_rows("chunk_id, doc_id", ids)}

    def neighbours(self, chunk_id: int, before: int = 1, after: int = 1) -> list[Chunk]:
        """The chunk with up to ``before``/``after`` chunks of the same document around it."""
        row = self._conn().execute("SELECT doc_id, seq FROM chunks WHERE chunk_id = ?", (chunk_id,)).fetchone()
        if row is None:
            raise KeyError(chunk_id)
        rows = self._conn().execute(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE doc_id = ? AND seq BETWEEN ? AND ? ORDER BY seq",
            (row["doc_id"], row["seq"] - before, row["seq"] + after),
        )
        return [Chunk(**dict(r)) for r in rows]

    def document_text(self, doc_id: str) -> str:
        """The cleaned text of a document."""
        row = self._conn().execute("SELECT text FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is None:
            raise KeyError(doc_id)
        return row["text"]

    def stats(self) -> IndexStats:
        """Documents and chunks per source, dates, countries, model and size."""
        conn = self._conn()
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
                attribution=source_attribution(r[0], r[6]),
            )
            for r in rows
        )
        countries: Counter[str] = Counter()
        for (tags,) in conn.execute("SELECT countries FROM documents"):
            countries.update(t for t in tags.split("|") if t)
        manifest = self._manifest
        dates = conn.execute("SELECT min(date), max(date) FROM documents").fetchone()
        return IndexStats(
            documents=manifest.documents,
            chunks=manifest.chunks,
            model=manifest.model,
            backend=manifest.backend,
            dim=manifest.dim,
            built_at=manifest.built_at,
            size_bytes=dir_size(self.generation),
            sources=sources,
            countries=tuple(countries.most_common()),
            first_date=dates[0],
            last_date=dates[1],
        )


# --- writing -------------------------------------------------------------------------------------


class LocalWriter:
    """A generation being written in a temporary folder (the StoreWriter of the local store)."""

    def __init__(self, index_dir: Path, folder: Path, previous: Path | None) -> None:
        self.index_dir, self.folder = index_dir, folder
        path = folder / STORE
        if previous is not None:
            shutil.copyfile(previous / STORE, path)
            self._conn = connect(path)
        else:
            self._conn = connect(path)
            self._conn.executescript(SCHEMA)

    def drop_documents(self, doc_ids: Sequence[str]) -> dict[str, StoredVectors]:
        """Delete documents with their chunks; return their vectors by embedding hash for reuse."""
        conn, reusable = self._conn, {}
        for doc_id in doc_ids:
            rows = conn.execute(
                "SELECT chunk_id, embed_hash, vector, sentence_vectors FROM chunks WHERE doc_id = ?", (doc_id,)
            ).fetchall()
            for row in rows:
                reusable[row["embed_hash"]] = StoredVectors(row["vector"], row["sentence_vectors"])
            conn.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(row["chunk_id"],) for row in rows])
            conn.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
            conn.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
        return reusable

    def stored_vectors(self, embed_hash: str) -> StoredVectors | None:
        """The vectors of any stored chunk with this embedding hash."""
        row = self._conn.execute(
            "SELECT vector, sentence_vectors FROM chunks WHERE embed_hash = ? LIMIT 1", (embed_hash,)
        ).fetchone()
        return StoredVectors(row["vector"], row["sentence_vectors"]) if row else None

    def insert(self, documents: Sequence[PendingDocument], chunks: Sequence[PendingChunk]) -> None:
        """Add documents and their chunks, each chunk also to the full-text table."""
        conn = self._conn
        conn.executemany(
            "INSERT INTO documents (doc_id, corpus, path, title, source, date, url, author, license, section,"
            " edition, extra, countries, text, content_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    d.doc_id,
                    d.doc_id.split("/", 1)[0],
                    d.path,
                    d.title,
                    d.source,
                    d.date,
                    d.url,
                    d.author,
                    d.license,
                    d.section,
                    d.edition,
                    json.dumps(d.extra, ensure_ascii=False, sort_keys=True),
                    pipe(p.countries),
                    d.text,
                    p.content_hash,
                )
                for p in documents
                for d in (p.document,)
            ],
        )
        for chunk in chunks:
            if chunk.vectors is None:
                raise ValueError(f"chunk {chunk.seq} of {chunk.doc_id} has no vectors")
            cursor = conn.execute(
                "INSERT INTO chunks (doc_id, seq, start, end, text, countries, embed_hash, vector,"
                " sentence_spans, sentence_vectors) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    chunk.doc_id,
                    chunk.seq,
                    chunk.start,
                    chunk.end,
                    chunk.text,
                    pipe(chunk.countries),
                    chunk.embed_hash,
                    chunk.vectors.chunk,
                    np.asarray(chunk.sentence_spans, dtype=np.int32).reshape(-1, 2).tobytes(),
                    chunk.vectors.sentences,
                ),
            )
            conn.execute(
                "INSERT INTO chunks_fts (rowid, title, text, native) VALUES (?, ?, ?, ?)",
                (cursor.lastrowid, chunk.title, chunk.text, native_words(chunk.title, chunk.text)),
            )

    def counts(self) -> tuple[int, int]:
        """(documents, chunks) in the store now."""
        documents = self._conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        return documents, self._conn.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def publish(self, manifest: Manifest) -> str:
        """Commit and compact the store, build the FAISS file from its vectors, write the manifest,
        and point CURRENT at the folder."""
        manifest.documents, manifest.chunks = self.counts()
        self._conn.commit()
        self._conn.execute("VACUUM")
        rows = self._conn.execute(
            "SELECT chunk_id, vector, sentence_spans, sentence_vectors FROM chunks ORDER BY chunk_id"
        ).fetchall()
        self.close()
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        vectors = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32).reshape(len(rows), manifest.dim)
        index, manifest.faiss_factory = build_faiss(ids, vectors, manifest.dim)
        spans, sentences = sentence_arrays(ids, [row[2] for row in rows], [row[3] for row in rows], manifest.dim)
        write_generation_files(self.folder, manifest, index, spans, sentences)
        return publish_generation(self.index_dir, self.folder).name

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self._conn.close()


# --- the index folder ------------------------------------------------------------------------------


class LocalStore:
    """An index folder of FAISS + SQLite generations (the Store of the local implementation)."""

    def __init__(self, index_dir: Path) -> None:
        self._index_dir = Path(index_dir)

    @property
    def index_dir(self) -> Path:
        """The index folder."""
        return self._index_dir

    def published(self) -> str | None:
        """The name CURRENT points to now."""
        return published_name(self.index_dir)

    def open(self, *, mmap: bool = False) -> LocalReader:
        """A reader of the live generation."""
        return LocalReader(current_generation(self.index_dir), mmap=mmap)

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """The folder's build lock."""
        return build_lock(self.index_dir)

    def previous(self) -> Manifest | None:
        """The live generation's manifest (of any format version: the builder decides), or None for a
        new folder; a broken one says how to start over."""
        if not (self.index_dir / "CURRENT").exists():
            return None
        try:
            return Manifest.from_file(current_generation(self.index_dir) / MANIFEST, any_version=True)
        except UserFacingError as exc:
            raise UserFacingError(f"{exc} (Or pass --rebuild to start over.)") from exc

    def stored_hashes(self) -> dict[str, str]:
        """Content hash by document id in the live generation."""
        path = current_generation(self.index_dir) / STORE
        try:
            conn = connect(path, readonly=True)
            try:
                return dict(conn.execute("SELECT doc_id, content_hash FROM documents").fetchall())
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            raise UserFacingError(
                f"The existing index store {path} is unreadable ({exc}). Run `steppe index build --rebuild`."
            ) from exc

    def passage_counts(self, doc_ids: Iterable[str]) -> dict[str, int]:
        """Chunks per document id in the live generation."""
        conn = connect(current_generation(self.index_dir) / STORE, readonly=True)
        try:
            sql = "SELECT count(*) FROM chunks WHERE doc_id = ?"
            return {doc_id: conn.execute(sql, (doc_id,)).fetchone()[0] for doc_id in doc_ids}
        finally:
            conn.close()

    def discard(self) -> None:
        """Delete the index folder with every generation (a throwaway index)."""
        shutil.rmtree(self.index_dir, ignore_errors=True)

    @contextlib.contextmanager
    def writer(self, *, from_previous: bool) -> Iterator[LocalWriter]:
        """A new generation in a temporary folder; removed again unless published."""
        folder = new_generation(self.index_dir)
        writer = None
        try:
            writer = LocalWriter(self.index_dir, folder, current_generation(self.index_dir) if from_previous else None)
            yield writer
        except OSError as exc:
            raise describe_write_error(exc, self.index_dir) from exc
        except sqlite3.Error as exc:  # SQLite reports a full disk as "database or disk is full"
            reason = "the disk is full" if "full" in str(exc).lower() else f"SQLite failed ({exc})"
            raise write_failed(self.index_dir, reason) from exc
        finally:
            if writer is not None:
                writer.close()
            shutil.rmtree(folder, ignore_errors=True)  # gone anyway once published (renamed)


def stored_vectors(generation: Path) -> dict[int, np.ndarray]:
    """Every chunk's vector as stored in SQLite, by chunk id (for checks against FAISS)."""
    conn = connect(generation / STORE, readonly=True)
    try:
        rows = conn.execute("SELECT chunk_id, vector FROM chunks")
        return {cid: np.frombuffer(blob, dtype=np.float32) for cid, blob in rows}
    finally:
        conn.close()

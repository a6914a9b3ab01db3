"""The on-disk index: a directory of generations, each a manifest, a SQLite store and a FAISS file.

Layout::

    INDEX_DIR/
      CURRENT              name of the live generation (replaced atomically)
      .lock                held by a running build
      gen-<stamp>/         one complete, immutable generation
        manifest.json      schema, model, dimension, chunking, counts, corpora, file sizes
        store.sqlite       documents, chunks, vectors, and an FTS5 table over chunk text
        index.faiss        the vectors; FAISS ids are SQLite chunk ids (the one id rule)

A build writes a new generation in a temporary folder and only then points CURRENT at
it, so a crash or a full disk mid-build leaves the previous generation live.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.errors import IndexCorrupt, IndexNotFound, ModelMismatch, UserFacingError

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
STORE = "store.sqlite"
FAISS_FILE = "index.faiss"
CURRENT = "CURRENT"
REBUILD_HINT = "Rebuild it with `steppe index build --rebuild`."
# Up to this many vectors exact search is fast enough (one query scans 50k x 384 in a few ms on
# one core) and rebuilding it is instant; above it, HNSW (bench/scale.py; figures in bench/results/report.md).
FLAT_LIMIT = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
# efSearch by size, for recall@10 >= 0.95 against exact search on clustered synthetic vectors
# (harder than the real corpus): 100k needs 64 (0.98) and gets 128 (0.99); 1M needs 768 (0.95)
# and gets 1024 (0.96, ~4.5 ms a query). Beyond 1M it is extrapolated, not measured.
HNSW_EF_SEARCH = ((200_000, 128), (1_000_000, 1024))
HNSW_EF_SEARCH_MAX = 2048
# FAISS files at least this large are memory-mapped unless the caller decides: every process
# serving the same generation then shares one copy of the vectors in the page cache.
MMAP_MIN_BYTES = 64 * 2**20

SCHEMA = """
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
    vector BLOB NOT NULL
);
CREATE INDEX chunks_doc ON chunks(doc_id, seq);
CREATE INDEX chunks_embed_hash ON chunks(embed_hash);
CREATE VIRTUAL TABLE chunks_fts USING fts5(title, text, tokenize = 'porter unicode61 remove_diacritics 2');
"""


@dataclass
class Manifest:
    """What an index generation promises about itself."""

    backend: str
    model: str
    dim: int
    chunking: dict[str, int]
    max_tokens: int
    schema_version: int = SCHEMA_VERSION
    normalized: bool = True
    metric: str = "inner_product"  # inner product of normalised vectors is cosine similarity
    faiss_factory: str = "IDMap,Flat"
    documents: int = 0
    chunks: int = 0
    built_at: str = ""
    corpora: list[dict[str, str]] = field(default_factory=list)
    files: dict[str, int] = field(default_factory=dict)  # file name -> size in bytes
    versions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        """The manifest as pretty JSON."""
        return json.dumps(self.__dict__, indent=2, sort_keys=True)

    @classmethod
    def from_file(cls, path: Path) -> Manifest:
        """Read and validate a manifest file."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            manifest = cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        except FileNotFoundError as exc:
            raise IndexCorrupt(f"The index manifest {path} is missing. {REBUILD_HINT}") from exc
        except (OSError, ValueError, TypeError) as exc:
            raise IndexCorrupt(f"The index manifest {path} is unreadable ({exc}). {REBUILD_HINT}") from exc
        if manifest.schema_version != SCHEMA_VERSION:
            raise ModelMismatch(
                f"The index at {path.parent} uses schema version {manifest.schema_version}, "
                f"this steppe reads version {SCHEMA_VERSION}. {REBUILD_HINT}"
            )
        return manifest


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


def current_generation(index_dir: Path) -> Path:
    """The live generation folder, or IndexNotFound / IndexCorrupt with the fix."""
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        raise IndexNotFound(
            f"No index found in {index_dir}. Build one with `steppe index build` "
            "(or set STEPPE_INDEX_DIR to the folder that holds it)."
        )
    name = pointer.read_text(encoding="utf-8").strip()
    generation = index_dir / name
    if not name or "/" in name or not generation.is_dir():
        raise IndexCorrupt(f"The index pointer {pointer} names a missing generation {name!r}. {REBUILD_HINT}")
    return generation


def check_files(generation: Path, manifest: Manifest) -> None:
    """Raise IndexCorrupt naming the file when a file is missing or has the wrong size."""
    for name in (STORE, FAISS_FILE):
        path = generation / name
        if not path.is_file():
            raise IndexCorrupt(f"The index file {path} is missing. {REBUILD_HINT}")
        expected = manifest.files.get(name)
        if expected is not None and path.stat().st_size != expected:
            raise IndexCorrupt(
                f"The index file {path} is {path.stat().st_size} bytes, the manifest says {expected}: "
                f"it is truncated or was changed. {REBUILD_HINT}"
            )


def read_faiss(path: Path, *, mmap: bool | None = None) -> faiss.Index:
    """Load a FAISS index, or IndexCorrupt naming the file.

    ``mmap=True`` maps the vectors (and an HNSW graph) straight from the file instead of
    copying them into the process (``IO_FLAG_MMAP_IFC``; the older ``IO_FLAG_MMAP`` maps only
    IVF lists and silently copies flat and HNSW storage). Generations are never rewritten in
    place, so a mapping stays valid while the files exist. ``None`` maps files of at least
    MMAP_MIN_BYTES.
    """
    try:
        if mmap is None:
            mmap = path.stat().st_size >= MMAP_MIN_BYTES
        flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mmap else 0
        return faiss.read_index(str(path), flags)
    except (RuntimeError, OSError) as exc:
        raise IndexCorrupt(
            f"The FAISS file {path} cannot be read ({str(exc).splitlines()[0]}). {REBUILD_HINT}"
        ) from exc


def open_store(generation: Path) -> sqlite3.Connection:
    """Open a generation's SQLite store read-only, or IndexCorrupt naming the file."""
    path = generation / STORE
    try:
        conn = connect(path, readonly=True)
        conn.execute("SELECT count(*) FROM chunks").fetchone()
        conn.execute("SELECT rowid FROM chunks_fts LIMIT 1").fetchone()
    except sqlite3.DatabaseError as exc:
        raise IndexCorrupt(f"The SQLite store {path} is corrupt or not a steppe store ({exc}). {REBUILD_HINT}") from exc
    return conn


def build_faiss(ids: np.ndarray, vectors: np.ndarray, dim: int) -> tuple[faiss.Index, str]:
    """An id-mapped FAISS index chosen by size: exact flat search, or HNSW for large corpora.

    Both keep the exact vectors in a flat storage (search.py re-scores hybrid candidates and
    filtered searches from it), so no compressed (PQ) index: at 1M chunks the vectors are
    1.5 GB, shared between processes when memory-mapped.
    """
    n = len(ids)
    if n <= FLAT_LIMIT:
        factory = "IDMap,Flat"
        base = faiss.IndexFlatIP(dim)  # inner product on normalised vectors == cosine similarity
    else:
        factory = f"IDMap,HNSW{HNSW_M},Flat"
        base = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        base.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        # Stored in the file, so readers need not know it.
        base.hnsw.efSearch = next((ef for limit, ef in HNSW_EF_SEARCH if n <= limit), HNSW_EF_SEARCH_MAX)
    index = faiss.IndexIDMap2(base)
    if n:
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64))
    return index, factory


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index directory's build lock; a second concurrent build waits for the first."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def new_generation(index_dir: Path) -> Path:
    """A fresh temporary folder for a generation being built (swept if a build dies)."""
    for stale in index_dir.glob(".tmp-gen-*"):
        shutil.rmtree(stale, ignore_errors=True)
    path = index_dir / f".tmp-gen-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    path.mkdir(parents=True)
    return path


def publish_generation(index_dir: Path, tmp: Path) -> Path:
    """Move a finished generation into place and point CURRENT at it, atomically."""
    final = index_dir / tmp.name.replace(".tmp-gen-", "gen-", 1)
    for child in tmp.iterdir():
        with open(child, "rb") as handle:
            os.fsync(handle.fileno())
    os.rename(tmp, final)
    pointer_tmp = index_dir / f".{CURRENT}.tmp"
    with open(pointer_tmp, "w", encoding="utf-8") as handle:
        handle.write(final.name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    previous = (index_dir / CURRENT).read_text().strip() if (index_dir / CURRENT).is_file() else None
    os.replace(pointer_tmp, index_dir / CURRENT)
    _fsync_dir(index_dir)
    # Keep the previous generation for readers that still have it open; drop older ones.
    for old in index_dir.glob("gen-*"):
        if old.name not in {final.name, previous}:
            shutil.rmtree(old, ignore_errors=True)
    return final


def write_generation_files(tmp: Path, manifest: Manifest, index: faiss.Index) -> None:
    """Write the FAISS file and the manifest (with file sizes) into a generation folder."""
    faiss.write_index(index, str(tmp / FAISS_FILE))
    manifest.files = {name: (tmp / name).stat().st_size for name in (STORE, FAISS_FILE)}
    (tmp / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")


def describe_write_error(exc: OSError, index_dir: Path) -> UserFacingError:
    """Turn a failed write (full disk, permissions) into a clear message."""
    import errno

    if exc.errno == errno.ENOSPC:
        reason = "the disk is full"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = "steppe may not write there"
    else:
        reason = exc.strerror or str(exc)
    return UserFacingError(
        f"Could not write the index in {index_dir}: {reason}. The previous index is unchanged and still used."
    )


def load_manifest(index_dir: Path) -> tuple[Path, Manifest]:
    """The live generation and its manifest."""
    generation = current_generation(index_dir)
    return generation, Manifest.from_file(generation / MANIFEST)


def dir_size(path: Path) -> int:
    """Total bytes of the files in a folder."""
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def as_json_dict(value: Any) -> str:
    """Compact JSON for metadata columns."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)

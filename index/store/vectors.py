"""The local store's vector files: which FAISS index for how many vectors, reading and writing it.

FAISS ids are the SQLite chunk ids (an ``IndexIDMap2``). Vectors are normalised, so inner
product is cosine similarity. Every index keeps the exact vectors in a flat storage, which
readers use for exact re-scoring without copying them (``flat_matrix``).
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from index.errors import IndexCorrupt
from index.store.generations import FAISS_FILE, MANIFEST, REBUILD_HINT, STORE, Manifest

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


def build_faiss(ids: np.ndarray, vectors: np.ndarray, dim: int) -> tuple[faiss.Index, str]:
    """An id-mapped FAISS index chosen by size: exact flat search, or HNSW for large corpora.

    Both keep the exact vectors in a flat storage (readers re-score hybrid candidates and
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


def write_generation_files(folder: Path, manifest: Manifest, index: faiss.Index) -> None:
    """Write the FAISS file and the manifest (with file sizes) into a generation folder."""
    faiss.write_index(index, str(folder / FAISS_FILE))
    manifest.files = {name: (folder / name).stat().st_size for name in (STORE, FAISS_FILE)}
    (folder / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")


def flat_matrix(index: faiss.Index) -> np.ndarray:
    """A zero-copy view of an id-mapped index's vectors: row i is the vector of id_map[i]."""
    base = faiss.downcast_index(index.index)
    flat = base if isinstance(base, faiss.IndexFlat) else faiss.downcast_index(base.storage)
    n, d = flat.ntotal, flat.d
    if n == 0:
        return np.zeros((0, d), dtype=np.float32)
    return faiss.rev_swig_ptr(flat.get_xb(), n * d).reshape(n, d)

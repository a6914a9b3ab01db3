"""The local store's vector files: which FAISS index for how many vectors, reading and writing it;
and the sentence vectors beside it.

FAISS ids are the SQLite chunk ids (an ``IndexIDMap2``). Vectors are normalised, so inner
product is cosine similarity. Every index keeps the exact vectors in a flat storage, which
readers use for exact re-scoring without copying them (``flat_matrix``).

Sentence vectors are only ever scored for a few hundred candidate chunks at a time, never
searched, so they need no index: a float16 NumPy array (half the memory; similarities change
by under 0.002) memory-mapped by every reader, and an array of (chunk id, start, end) rows
sorted by chunk id that says which rows belong to which chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from index.errors import IndexCorrupt
from index.models import ScoredSentences
from index.store.generations import (
    FAISS_FILE,
    MANIFEST,
    REBUILD_HINT,
    SENTENCE_SPANS,
    SENTENCE_VECTORS,
    STORE,
    Manifest,
)

SENTENCE_DTYPE = np.float16

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


@dataclass(frozen=True)
class SentenceMatrix:
    """Every chunk's sentence vectors (float16, one row per sentence) and their (chunk id, start,
    end) rows, sorted by chunk id; start and end are offsets into the chunk's text."""

    spans: np.ndarray  # int64, shape (sentences, 3)
    vectors: np.ndarray  # SENTENCE_DTYPE, shape (sentences, dim)

    def scores(self, vector: np.ndarray, ids: Iterable[int]) -> dict[int, ScoredSentences]:
        """The sentences of each chunk id with their cosine similarity to ``vector``."""
        ids = np.unique(np.fromiter((int(i) for i in ids), dtype=np.int64))
        owners = self.spans[:, 0]
        first = np.searchsorted(owners, ids, side="left")
        last = np.searchsorted(owners, ids, side="right")
        counts = last - first
        # Row numbers of every wanted chunk's sentences, in one array (no Python loop over rows).
        rows = np.repeat(first - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        similarity = self.vectors[rows].astype(np.float32) @ vector.astype(np.float32)
        spans = np.asarray(self.spans[rows, 1:])
        ends = np.cumsum(counts)
        found = counts > 0
        tops = np.full(len(ids), 0.0, dtype=np.float32)
        if found.any():
            tops[found] = np.maximum.reduceat(similarity, (ends - counts)[found])
        return {
            chunk_id: ScoredSentences(spans=spans[end - n : end], scores=similarity[end - n : end], top=top)
            for chunk_id, n, end, top in zip(ids.tolist(), counts.tolist(), ends.tolist(), tops.tolist(), strict=True)
            if n
        }


def read_sentences(folder: Path, dim: int) -> SentenceMatrix:
    """Memory-map a generation's sentence files, or IndexCorrupt naming the file."""
    arrays = []
    for name in (SENTENCE_SPANS, SENTENCE_VECTORS):
        path = folder / name
        try:
            arrays.append(np.load(path, mmap_mode="r", allow_pickle=False))
        except (OSError, ValueError) as exc:
            raise IndexCorrupt(f"The sentence file {path} cannot be read ({exc}). {REBUILD_HINT}") from exc
    spans, vectors = arrays
    if spans.ndim != 2 or spans.shape[1] != 3 or vectors.shape != (len(spans), dim):
        raise IndexCorrupt(
            f"The sentence files in {folder} do not match ({spans.shape} spans, {vectors.shape} vectors "
            f"of {dim} dimensions expected). {REBUILD_HINT}"
        )
    return SentenceMatrix(spans=spans, vectors=vectors)


def sentence_arrays(
    ids: np.ndarray, spans: Sequence[bytes], vectors: Sequence[bytes], dim: int
) -> tuple[np.ndarray, np.ndarray]:
    """(chunk id, start, end) rows and the matching vector rows, from each chunk's stored blobs
    (int32 span pairs, float16 vectors), in the order of ``ids``."""
    pairs = [np.frombuffer(blob, dtype=np.int32).reshape(-1, 2) for blob in spans]
    owners = np.repeat(ids, [len(p) for p in pairs])
    rows = np.column_stack([owners, np.concatenate(pairs or [np.zeros((0, 2), np.int32)])])
    return rows, np.frombuffer(b"".join(vectors), dtype=SENTENCE_DTYPE).reshape(len(owners), dim)


def write_generation_files(
    folder: Path, manifest: Manifest, index: faiss.Index, sentence_spans: np.ndarray, sentence_vectors: np.ndarray
) -> None:
    """Write the FAISS file, the sentence files and the manifest (with file sizes) into a generation folder.

    ``sentence_spans`` holds (chunk id, start, end) rows sorted by chunk id; ``sentence_vectors``
    the matching rows of vectors.
    """
    faiss.write_index(index, str(folder / FAISS_FILE))
    np.save(folder / SENTENCE_SPANS, np.ascontiguousarray(sentence_spans, dtype=np.int64), allow_pickle=False)
    np.save(folder / SENTENCE_VECTORS, np.ascontiguousarray(sentence_vectors, dtype=SENTENCE_DTYPE), allow_pickle=False)
    names = (STORE, FAISS_FILE, SENTENCE_SPANS, SENTENCE_VECTORS)
    manifest.files = {name: (folder / name).stat().st_size for name in names}
    (folder / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")


def flat_matrix(index: faiss.Index) -> np.ndarray:
    """A zero-copy view of an id-mapped index's vectors: row i is the vector of id_map[i]."""
    base = faiss.downcast_index(index.index)
    flat = base if isinstance(base, faiss.IndexFlat) else faiss.downcast_index(base.storage)
    n, d = flat.ntotal, flat.d
    if n == 0:
        return np.zeros((0, d), dtype=np.float32)
    return faiss.rev_swig_ptr(flat.get_xb(), n * d).reshape(n, d)

"""The store picks its FAISS index by size, keeps recall@10 >= 0.95, and opens it memory-mapped.

Sizes are small (FLAT_LIMIT is lowered), the data clustered like sentence embeddings (see
bench/scale.py), and the reference is brute-force numpy, not FAISS.
"""

from __future__ import annotations

import sys
from pathlib import Path

import faiss
import numpy as np
import pytest

from index.build import build_index
from index.search import Searcher
from index.store import local, vectors

DIM = 96
K = 10


def clustered(n: int, queries: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors in uneven topics, each spread over its own low-dimensional subspace, plus noise."""
    rng = np.random.default_rng(seed)
    topics = max(4, n // 200)
    centres = rng.standard_normal((topics, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    bases = rng.standard_normal((topics, 8, DIM)).astype(np.float32) / np.sqrt(DIM)
    topic = rng.choice(topics, n + queries, p=rng.dirichlet(np.ones(topics)))
    spread = rng.standard_normal((n + queries, 8)).astype(np.float32) * 0.35
    x = centres[topic] + np.einsum("nk,nkd->nd", spread, bases[topic]) * np.sqrt(DIM) / 3
    x += rng.standard_normal(x.shape).astype(np.float32) * 0.6 / np.sqrt(DIM)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x[:n].copy(), x[n:].copy()


def recall_at_k(index: faiss.Index, ids: np.ndarray, base: np.ndarray, queries: np.ndarray) -> float:
    """Mean share of the exact top k (numpy) that the index returns."""
    exact = ids[np.argsort(-(queries @ base.T), axis=1)[:, :K]]
    _, found = index.search(queries, K)
    return float(np.mean([len(set(f) & set(e)) / K for f, e in zip(found, exact, strict=True)]))


def test_small_corpora_get_exact_flat_search(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vectors, "FLAT_LIMIT", 5_000)
    base, queries = clustered(3_001)
    ids = np.arange(len(base), dtype=np.int64) * 7 + 5  # chunk ids are not row numbers
    index, factory = vectors.build_faiss(ids, base, DIM)
    assert factory == "IDMap,Flat"
    assert recall_at_k(index, ids, base, queries) == 1.0


def test_large_corpora_get_hnsw_with_recall_at_10_over_095(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vectors, "FLAT_LIMIT", 1_000)
    base, queries = clustered(6_007)
    ids = np.arange(len(base), dtype=np.int64) * 3 + 11
    index, factory = vectors.build_faiss(ids, base, DIM)
    assert "HNSW" in factory
    assert isinstance(faiss.downcast_index(index.index), faiss.IndexHNSWFlat)
    assert recall_at_k(index, ids, base, queries) >= 0.95


def _mapped(path: Path) -> bool:
    return str(path) in Path("/proc/self/maps").read_text()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
@pytest.mark.parametrize("limit", [10_000, 100], ids=["flat", "hnsw"])
def test_memory_mapped_opening_shares_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    monkeypatch.setattr(vectors, "FLAT_LIMIT", limit)
    base, queries = clustered(2_003)
    ids = np.arange(len(base), dtype=np.int64) + 1
    built, _ = vectors.build_faiss(ids, base, DIM)
    path = tmp_path / "index.faiss"
    faiss.write_index(built, str(path))

    copied = vectors.read_faiss(path, mmap=False)
    assert not _mapped(path)
    mapped = vectors.read_faiss(path, mmap=True)
    assert _mapped(path)
    for index in (copied, mapped):
        scores, found = index.search(queries, K)
        expected_scores, expected = built.search(queries, K)
        np.testing.assert_array_equal(found, expected)
        np.testing.assert_allclose(scores, expected_scores, rtol=1e-6)
    del mapped

    monkeypatch.setattr(vectors, "MMAP_MIN_BYTES", path.stat().st_size)  # None: decided by size
    auto = vectors.read_faiss(path)
    assert _mapped(path)
    assert auto.ntotal == len(base)


def test_searcher_works_over_a_memory_mapped_hnsw_index(
    tmp_path: Path, tiny_corpus: Path, hash_embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vectors, "FLAT_LIMIT", 0)  # even three documents get HNSW
    index_dir = tmp_path / "index"
    build_index(index_dir, [str(tiny_corpus)], embedder=hash_embedder, progress=False, log=lambda message: None)
    searcher = Searcher.open(index_dir, embedder=hash_embedder, mmap=True)
    try:
        assert "HNSW" in searcher.manifest.faiss_factory
        # The exact vectors hybrid search re-scores with come from the HNSW's flat storage.
        stored = local.stored_vectors(searcher.store.generation)
        ids = np.array(sorted(stored), dtype=np.int64)
        for chunk_id, vector in zip(ids, searcher.store.vectors(ids), strict=True):
            np.testing.assert_array_equal(vector, stored[int(chunk_id)])
        result = searcher.search("military base in Tajikistan near Dushanbe", k=2, mode="hybrid")
        assert result.hits[0].doc.title == "Russia's military base in Tajikistan"
    finally:
        searcher.close()

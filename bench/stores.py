"""Stores side by side: the local FAISS + SQLite store and the Qdrant store (embedded engine) at
100k and 1M chunks: build time, dense and BM25 query time (p50/p95), memory and disk per chunk.

Both stores are written through the same StoreWriter interface the builder uses, with the same
synthetic clustered vectors as the scale section (bench/scale.py) and short synthetic passages
drawn from the real corpus vocabulary, so BM25 has realistic term statistics. Embedding is not
part of it: what is measured is what the store itself costs. Each store is then opened in a fresh
process that answers the queries; its peak resident memory is what serving that index costs.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import PYTHON, SHARED_CORPUS, Stats, bench_env, log, markdown_table, mib
from bench.scale import synthetic

SIZES = (100_000, 1_000_000)
QUICK_SIZES = (20_000, 100_000)
CHUNKS_PER_DOC = 20
WORDS_PER_CHUNK = 120
QUERIES = 200
BATCH = 5_000

_PROBE = r"""
import json, sys, time
import numpy as np
from bench.common import Stats, proc_status
from index.store import open_store
index_dir, queries_file = sys.argv[1], sys.argv[2]
data = np.load(queries_file)
vectors, terms = data["vectors"], [t.split() for t in data["terms"]]
started = time.perf_counter()
reader = open_store(index_dir).open(mmap=True)
opened = time.perf_counter() - started
dense, bm25 = [], []
for vector, words in zip(vectors, terms):
    t = time.perf_counter(); reader.dense(vector, 100); dense.append(time.perf_counter() - t)
    t = time.perf_counter(); reader.bm25(words, 100); bm25.append(time.perf_counter() - t)
status = proc_status()
print(json.dumps({"open_s": opened, "dense": Stats.of(dense[5:]).ms(), "bm25": Stats.of(bm25[5:]).ms(),
                  "peak_rss": status.get("VmHWM", 0)}))
"""


def vocabulary(limit: int = 20_000) -> list[str]:
    """Words of the real corpus (or a fallback list), most frequent first."""
    from collections import Counter

    counts: Counter[str] = Counter()
    if SHARED_CORPUS.is_dir():
        for path in sorted(SHARED_CORPUS.rglob("*.md"))[:60]:
            counts.update(w.lower() for w in path.read_text(encoding="utf-8", errors="ignore").split() if w.isalpha())
    words = [w for w, _ in counts.most_common(limit)]
    return words or [f"word{i}" for i in range(limit)]


def passages(n: int, words: list[str], seed: int = 0) -> list[str]:
    """n passages of Zipf-distributed corpus words."""
    rng = np.random.default_rng(seed)
    ranks = np.minimum(rng.zipf(1.2, size=(n, WORDS_PER_CHUNK)) - 1, len(words) - 1)
    return [" ".join(words[i] for i in row) for row in ranks]


def build_store(kind: str, index_dir: Path, vectors: np.ndarray, texts: list[str]) -> float:
    """Write every chunk through the store's writer and publish; the seconds it took."""
    from index.models import Document
    from index.store import Manifest, PendingChunk, PendingDocument, StoredVectors, open_store
    from index.store.vectors import SENTENCE_DTYPE

    started = time.perf_counter()
    store = open_store(index_dir, kind)
    with store.lock(), store.writer(from_previous=False) as writer:
        for first in range(0, len(texts), BATCH):
            docs, chunks = [], []
            for i in range(first, min(first + BATCH, len(texts))):
                doc_id = f"bench/doc{i // CHUNKS_PER_DOC}.md"
                if i % CHUNKS_PER_DOC == 0:
                    text = " ".join(texts[i : i + CHUNKS_PER_DOC])
                    document = Document(doc_id=doc_id, title=doc_id, text=text, source="Bench", path=doc_id)
                    docs.append(PendingDocument(document, f"h{i}", ()))
                chunks.append(
                    PendingChunk(
                        doc_id=doc_id,
                        seq=i % CHUNKS_PER_DOC,
                        start=0,
                        end=len(texts[i]),
                        text=texts[i],
                        title=doc_id,
                        countries=(),
                        embed_text=texts[i],
                        embed_hash=f"e{i}",
                        sentence_spans=((0, len(texts[i])),),  # one sentence: the passage itself
                        vectors=StoredVectors(vectors[i].tobytes(), vectors[i].astype(SENTENCE_DTYPE).tobytes()),
                    )
                )
            writer.insert(docs, chunks)
        writer.publish(Manifest(backend="bench", model="synthetic", dim=vectors.shape[1], chunking={}, max_tokens=0))
    return time.perf_counter() - started


def disk_bytes(*paths: Path) -> int:
    """Bytes of every file under the folders."""
    return sum(p.stat().st_size for root in paths if root.exists() for p in root.rglob("*") if p.is_file())


def measure(kind: str, n: int, vectors: np.ndarray, queries: np.ndarray, texts: list[str], work: Path) -> dict:
    """Build one store of n chunks and serve the queries from a fresh process."""
    index_dir, qdrant = work / f"{kind}-{n}", work / f"qdrant-{n}"
    env = bench_env()
    if kind == "qdrant":
        os.environ["STEPPE_QDRANT_PATH"] = env["STEPPE_QDRANT_PATH"] = str(qdrant)
    log(f"stores: {kind} {n:,} build")
    build_s = build_store(kind, index_dir, vectors[:n], texts[:n])
    terms = np.array([" ".join(t.split()[:6]) for t in passages(len(queries), vocabulary(), seed=1)])
    queries_file = work / "queries.npz"
    np.savez(queries_file, vectors=queries, terms=terms)
    proc = subprocess.run(
        [PYTHON, "-c", _PROBE, str(index_dir), str(queries_file)], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} probe failed: {proc.stderr[-2000:]}")
    served = json.loads(proc.stdout.strip().splitlines()[-1])
    size = disk_bytes(index_dir, qdrant if kind == "qdrant" else Path("/nonexistent"))
    return {"store": kind, "chunks": n, "build_s": round(build_s, 1), "disk_bytes": size, **served}


def run(quick: bool = False) -> dict[str, Any]:
    """Both stores at each size."""
    sizes = QUICK_SIZES if quick else SIZES
    base, queries = synthetic(max(sizes), QUERIES)
    texts = passages(max(sizes), vocabulary())
    rows = []
    with tempfile.TemporaryDirectory(prefix="steppe-bench-stores-") as tmp:
        for n in sizes:
            for kind in ("local", "qdrant"):
                rows.append(measure(kind, n, base, queries, texts, Path(tmp)))
    return {"rows": rows}


def table(result: dict[str, Any]) -> str:
    """Markdown: one row per store and size."""
    rows = []
    for r in result["rows"]:
        dense, bm25 = Stats(**r["dense"]), Stats(**r["bm25"])
        rows.append(
            [
                r["store"],
                f"{r['chunks']:,}",
                f"{r['build_s']:.0f} s",
                f"{dense.median:.1f} / {dense.p95:.1f} ms",
                f"{bm25.median:.1f} / {bm25.p95:.1f} ms",
                f"{r['open_s']:.1f} s",
                mib(r["peak_rss"]),
                f"{r['peak_rss'] / r['chunks'] / 1024:.2f} KiB",
                mib(r["disk_bytes"]),
            ]
        )
    header = ["store", "chunks", "build", "dense p50/p95", "BM25 p50/p95", "open", "peak RSS", "RSS/chunk", "disk"]
    return markdown_table(header, rows)

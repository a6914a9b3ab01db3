"""Scale: FAISS index types on synthetic clustered vectors at 100k and 1M x 384.

Flat (exact) is the baseline and the ground truth. Every approximate index has its search
parameter (HNSW efSearch, IVF nprobe) swept; the smallest value reaching recall@10 >= 0.95
against flat on 200 held-out queries is the one reported. Finally the store's own automatic
choice (``index.store.build_faiss``) is written, reopened memory-mapped in a fresh process
and checked for recall, latency and resident memory.

Uniform random vectors make every neighbour equally far and recall meaningless, so the data
is a mixture of Gaussians shaped like sentence embeddings: uneven topic sizes (Pareto),
each topic spread over its own 32-dimensional subspace, isotropic noise, and a shared mean
direction (real MiniLM vectors are anisotropic: a random pair has cosine ~0.05-0.1). Queries
are held-out points with extra noise, since questions sit farther from passages than passages
from each other. ``realism`` compares these statistics with the real corpus index.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bench.common import CACHED_INDEX, PYTHON, Stats, bench_env, log, markdown_table, mib

DIM = 384
K = 10
QUERIES = 200
TARGET_RECALL = 0.95
SIZES = (100_000, 1_000_000)
QUICK_SIZES = (20_000, 100_000)
EF_SEARCH = (16, 32, 64, 128, 256, 512, 1024, 2048)
NPROBE = (1, 2, 4, 8, 16, 32, 64, 128, 256)
POINTS_PER_TOPIC = 1000
INTRINSIC_DIM = 32
SPREAD = 1.0  # within-topic spread along the topic's subspace (the topic centre has norm 1)
NOISE = 0.6  # isotropic noise norm
ANISOTROPY = 0.35  # weight of the mean direction every vector shares
QUERY_NOISE = 0.6  # extra noise on held-out queries
REFINE_K_FACTOR = 16  # PQ candidates re-scored exactly per result wanted (4 reaches only ~0.9 here)


def _normalise(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def synthetic(n: int, nq: int = QUERIES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n base vectors and nq held-out query vectors, float32, unit length (see module docstring)."""
    rng = np.random.default_rng(seed)
    topics = max(10, n // POINTS_PER_TOPIC)
    mean = _normalise(rng.standard_normal((1, DIM), dtype=np.float32))[0]
    centres = _normalise(rng.standard_normal((topics, DIM), dtype=np.float32))
    weights = rng.pareto(1.5, topics) + 1.0
    sizes = rng.multinomial(n + nq, weights / weights.sum())
    out = np.empty((n + nq, DIM), dtype=np.float32)
    row = 0
    for topic, size in enumerate(sizes):
        if not size:
            continue
        basis = _normalise(rng.standard_normal((INTRINSIC_DIM, DIM), dtype=np.float32))
        z = rng.standard_normal((size, INTRINSIC_DIM), dtype=np.float32) * (SPREAD / math.sqrt(INTRINSIC_DIM))
        block = out[row : row + size]
        np.matmul(z, basis, out=block)
        block += ANISOTROPY * mean + centres[topic]
        block += rng.standard_normal((size, DIM), dtype=np.float32) * (NOISE / math.sqrt(DIM))
        row += size
    out = out[rng.permutation(n + nq)]
    queries = out[n:].copy()
    queries += rng.standard_normal(queries.shape, dtype=np.float32) * (QUERY_NOISE / math.sqrt(DIM))
    base = out[:n]
    for start in range(0, n, 100_000):  # in place, in slices: no second 1.5 GB copy
        _normalise(base[start : start + 100_000])
    return base, _normalise(queries)


def neighbour_stats(vectors: np.ndarray, probes: np.ndarray, exclude_self: bool) -> dict[str, float]:
    """Median cosine of the 1st and 10th neighbour of the probes, and of random pairs."""
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    scores, _ = flat.search(probes, K + 1)
    first = 1 if exclude_self else 0
    rng = np.random.default_rng(1)
    a = vectors[rng.integers(0, len(vectors), 2000)]
    b = vectors[rng.integers(0, len(vectors), 2000)]
    return {
        "nn1": round(float(np.median(scores[:, first])), 3),
        "nn10": round(float(np.median(scores[:, first + K - 1])), 3),
        "random_pair": round(float(np.median(np.einsum("ij,ij->i", a, b))), 3),
    }


def realism() -> dict[str, Any]:
    """Neighbour statistics of the real corpus vectors (if the bench index exists) and of synthetic ones."""
    out: dict[str, Any] = {}
    synthetic_base, _ = synthetic(20_000, 0, seed=3)
    out["synthetic_doc_to_doc"] = neighbour_stats(synthetic_base, synthetic_base[:500], exclude_self=True)
    try:
        from index.store import FAISS_FILE, current_generation

        index = faiss.read_index(str(current_generation(CACHED_INDEX) / FAISS_FILE))
        base = faiss.downcast_index(faiss.downcast_index(index).index)
        real = faiss.rev_swig_ptr(base.get_xb(), base.ntotal * base.d).reshape(base.ntotal, base.d).copy()
        out["real_doc_to_doc"] = neighbour_stats(real, real[:: max(1, len(real) // 500)], exclude_self=True)
        out["real_chunks"] = len(real)
    except Exception as exc:  # the comparison is optional
        out["real_doc_to_doc"] = f"unavailable ({exc})"
    return out


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean recall@k of the found ids against the exact ids."""
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)]))


@contextlib.contextmanager
def faiss_threads(n: int) -> Iterator[None]:
    """Run the block with n OpenMP threads in FAISS, then restore the previous number."""
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def single_query_times(index: faiss.Index, queries: np.ndarray, k: int = K, threads: int = 1) -> list[float]:
    """Seconds per single-query search, one query at a time (as the bot searches).

    One OpenMP thread by default: FAISS splits a lone flat query across threads, and with the
    cores busy (torch, other questions, other processes) the thread hand-offs cost 10-20x the
    search itself (20k flat: 1.7 ms on one thread, 24 ms on two on a loaded 2-core machine).
    """
    times = []
    with faiss_threads(threads):
        for i in range(len(queries)):
            q = queries[i : i + 1]
            start = time.perf_counter()
            index.search(q, k)
            times.append(time.perf_counter() - start)
    return times


def index_bytes(index: faiss.Index, directory: Path) -> int:
    """Size of the serialised index: what it costs on disk and, read normally, in memory."""
    path = directory / "probe.faiss"
    faiss.write_index(index, str(path))
    size = path.stat().st_size
    path.unlink()
    return size


def _sweep(
    index: faiss.Index, set_param: Any, values: tuple[int, ...], queries: np.ndarray, truth: np.ndarray
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    points, chosen = [], None
    for value in values:
        set_param(value)
        _, found = index.search(queries, K)
        r = recall(found, truth)
        times = Stats.of(single_query_times(index, queries))
        point = {"param": value, "recall": round(r, 4), "query": times.ms()}
        points.append(point)
        if chosen is None and r >= TARGET_RECALL:
            chosen = point
        if r >= 0.995:
            break
    return points, chosen


def _ivf_train_sample(base: np.ndarray, nlist: int) -> np.ndarray:
    size = min(len(base), 64 * nlist)  # FAISS wants >= 39 points per centroid; 64 is plenty
    rows = np.sort(np.random.default_rng(2).choice(len(base), size, replace=False))
    return base[rows]


def measure_size(n: int, workdir: Path) -> dict[str, Any]:
    """Every index type at one size: build time, bytes, recall and single-query latency."""
    log(f"scale: generating {n:,} x {DIM} clustered vectors")
    seconds_gen = time.perf_counter()
    base, queries = synthetic(n)
    seconds_gen = time.perf_counter() - seconds_gen
    nlist = max(1, min(round(4 * math.sqrt(n)), n // 39))  # FAISS wants >= 39 training points per list
    results: dict[str, Any] = {"n": n, "generate_s": round(seconds_gen, 2), "nlist": nlist, "indexes": []}

    log(f"scale: {n:,} flat")
    flat = faiss.IndexFlatIP(DIM)  # inner product on unit vectors == cosine similarity
    build_s = time.perf_counter()
    flat.add(base)
    build_s = time.perf_counter() - build_s
    _, truth = flat.search(queries, K)
    flat_times = Stats.of(single_query_times(flat, queries))
    flat_times_all = Stats.of(single_query_times(flat, queries, threads=faiss.omp_get_max_threads()))
    results["indexes"].append(
        {
            "name": "Flat (exact)",
            "factory": "Flat",
            "build_s": round(build_s, 2),
            "bytes": index_bytes(flat, workdir),
            "recall": 1.0,
            "param": None,
            "query": flat_times.ms(),
            "query_all_threads": flat_times_all.ms(),
        }
    )
    del flat
    gc.collect()

    # Above 200k only the store's own HNSW is built (in store_choice, which sweeps it too):
    # a 1M-vector HNSW takes minutes, and building the same graph twice would double that.
    hnsw_variants = [(32, 40), (32, 80)] if n <= 200_000 else []
    for m, ef_construction in hnsw_variants:
        log(f"scale: {n:,} HNSW{m} efConstruction={ef_construction}")
        hnsw = faiss.IndexHNSWFlat(DIM, m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = ef_construction
        build_s = time.perf_counter()
        hnsw.add(base)
        build_s = time.perf_counter() - build_s

        def set_ef(value: int, hnsw: faiss.IndexHNSWFlat = hnsw) -> None:
            hnsw.hnsw.efSearch = value

        points, chosen = _sweep(hnsw, set_ef, EF_SEARCH, queries, truth)
        results["indexes"].append(
            {
                "name": f"HNSW{m},Flat efC={ef_construction}",
                "factory": f"HNSW{m},Flat",
                "build_s": round(build_s, 2),
                "bytes": index_bytes(hnsw, workdir),
                "param_name": "efSearch",
                "sweep": points,
                **_chosen(chosen),
            }
        )
        del hnsw
        gc.collect()

    sample = _ivf_train_sample(base, nlist)
    log(f"scale: {n:,} IVF{nlist},Flat")
    build_s = time.perf_counter()
    index = faiss.index_factory(DIM, f"IVF{nlist},Flat", faiss.METRIC_INNER_PRODUCT)
    index.train(sample)
    index.add(base)
    build_s = time.perf_counter() - build_s
    results["indexes"].append(_ivf_entry(f"IVF{nlist},Flat", index, index, build_s, workdir, queries, truth))
    del index
    gc.collect()

    # PQ48: 48 bytes a vector. Alone it cannot reach the target on this data (neighbours within a
    # topic differ by a few hundredths of cosine), so it is also measured re-ranked by exact vectors.
    factory = f"IVF{nlist},PQ48np"  # "np": no polysemous training (slow, only for Hamming filtering)
    log(f"scale: {n:,} {factory} (+ refine)")
    build_s = time.perf_counter()
    compressed = faiss.index_factory(DIM, factory, faiss.METRIC_INNER_PRODUCT)
    ivf = faiss.downcast_index(faiss.extract_index_ivf(compressed))
    ivf.pq.cp.max_points_per_centroid = 64  # 16k points per sub-quantizer: 5x faster, same recall here
    refined = faiss.IndexRefineFlat(compressed)
    refined.train(sample)
    refined.add(base)
    build_s = time.perf_counter() - build_s
    refined.k_factor = 1  # the refine step then only re-orders the PQ top 10: recall of PQ alone
    results["indexes"].append(_ivf_entry(factory, refined, ivf, build_s, workdir, queries, truth, compressed))
    refined.k_factor = REFINE_K_FACTOR
    name = f"{factory} + refine Flat (k×{REFINE_K_FACTOR})"
    results["indexes"].append(_ivf_entry(name, refined, ivf, build_s, workdir, queries, truth))
    del refined, compressed, ivf
    gc.collect()
    del sample

    results["store_choice"] = store_choice(base, queries, truth, workdir)
    sweep = results["store_choice"].pop("sweep_entry", None)
    if sweep is not None and not hnsw_variants:
        results["indexes"].insert(1, sweep)
    return results


def _ivf_entry(
    name: str,
    index: faiss.Index,
    ivf: faiss.Index,
    build_s: float,
    workdir: Path,
    queries: np.ndarray,
    truth: np.ndarray,
    stored: faiss.Index | None = None,
) -> dict[str, Any]:
    """Sweep nprobe of an IVF index; ``stored`` is the part whose size counts (default: all of it)."""

    def set_nprobe(value: int) -> None:
        ivf.nprobe = value

    points, chosen = _sweep(index, set_nprobe, NPROBE, queries, truth)
    return {
        "name": name,
        "factory": name,
        "build_s": round(build_s, 2),
        "bytes": index_bytes(stored if stored is not None else index, workdir),
        "param_name": "nprobe",
        "sweep": points,
        **_chosen(chosen),
    }


def _chosen(point: dict[str, Any] | None) -> dict[str, Any]:
    if point is None:
        return {"param": None, "recall": None, "query": None, "note": f"recall@{K} < {TARGET_RECALL} at every setting"}
    return {"param": point["param"], "recall": point["recall"], "query": point["query"]}


_MMAP_PROBE = """
import json, sys, time
import numpy as np
from bench.common import proc_status
from bench.scale import recall, single_query_times
from index.store import read_faiss
from pathlib import Path
path, mmap = Path(sys.argv[1]), sys.argv[2] == "1"
queries = np.load(path.parent / "queries.npy"); truth = np.load(path.parent / "truth.npy")
before = proc_status()
start = time.perf_counter()
index = read_faiss(path, mmap=mmap)
open_s = time.perf_counter() - start
opened = proc_status()
_, found = index.search(queries, 10)
times = single_query_times(index, queries)
after = proc_status()
print(json.dumps({"open_s": open_s, "recall": recall(found, truth), "times": times,
                  "anon_open": opened["RssAnon"] - before["RssAnon"], "file_open": opened["RssFile"] - before["RssFile"],
                  "anon_after": after["RssAnon"] - before["RssAnon"], "file_after": after["RssFile"] - before["RssFile"]}))
"""


def store_choice(base: np.ndarray, queries: np.ndarray, truth: np.ndarray, workdir: Path) -> dict[str, Any]:
    """The store's automatic index for this size: build, then reopen in fresh processes, copied and mmapped."""
    from index import store

    log(f"scale: {len(base):,} store.build_faiss (FLAT_LIMIT={store.FLAT_LIMIT:,})")
    ids = np.arange(1, len(base) + 1, dtype=np.int64) * 3  # chunk ids are not row numbers
    build_s = time.perf_counter()
    index, factory = store.build_faiss(ids, base, DIM)
    build_s = time.perf_counter() - build_s
    out: dict[str, Any] = {"factory": factory, "build_s": round(build_s, 2)}
    base_index = faiss.downcast_index(index.index)
    if isinstance(base_index, faiss.IndexHNSW):
        chosen_ef = base_index.hnsw.efSearch

        def set_ef(value: int, target: faiss.IndexHNSW = base_index) -> None:
            target.hnsw.efSearch = value

        points, chosen = _sweep(index, set_ef, EF_SEARCH, queries, (truth + 1) * 3)
        base_index.hnsw.efSearch = chosen_ef  # what the store wrote is what gets measured below
        out["ef_search"] = chosen_ef
        out["sweep_entry"] = {
            "name": f"{factory.removeprefix('IDMap,')} efC={base_index.hnsw.efConstruction} (the store's)",
            "factory": factory,
            "build_s": round(build_s, 2),
            "bytes": index_bytes(index, workdir),
            "param_name": "efSearch",
            "sweep": points,
            **_chosen(chosen),
        }
    path = workdir / "store.faiss"
    faiss.write_index(index, str(path))
    out["bytes"] = path.stat().st_size
    del index, base_index
    gc.collect()
    np.save(workdir / "queries.npy", queries)
    np.save(workdir / "truth.npy", (truth + 1) * 3)
    for label, flag in (("copied", "0"), ("mmap", "1")):
        proc = subprocess.run(
            [PYTHON, "-c", _MMAP_PROBE, str(path), flag], capture_output=True, text=True, env=bench_env(), check=False
        )
        if proc.returncode:
            out[label] = {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}
            continue
        probe = json.loads(proc.stdout)
        out[label] = {
            "open_s": round(probe["open_s"], 3),
            "recall": round(probe["recall"], 4),
            "query": Stats.of(probe["times"]).ms(),
            "rss_anon_after_open": probe["anon_open"],
            "rss_file_after_open": probe["file_open"],
            "rss_anon_after_queries": probe["anon_after"],
            "rss_file_after_queries": probe["file_after"],
        }
    path.unlink()
    return out


def run(quick: bool = False) -> dict[str, Any]:
    """All sizes; the largest dominates the run time (1M: ~15 min on 2 cores)."""
    sizes = QUICK_SIZES if quick else SIZES
    out: dict[str, Any] = {
        "dim": DIM,
        "k": K,
        "queries": QUERIES,
        "target_recall": TARGET_RECALL,
        "data": {
            "points_per_topic": POINTS_PER_TOPIC,
            "intrinsic_dim": INTRINSIC_DIM,
            "spread": SPREAD,
            "noise": NOISE,
            "anisotropy": ANISOTROPY,
            "query_noise": QUERY_NOISE,
        },
        "threads": faiss.omp_get_max_threads(),
        "realism": realism(),
        "sizes": [],
    }
    with tempfile.TemporaryDirectory(prefix="steppe-bench-scale-") as tmp:
        for n in sizes:
            out["sizes"].append(measure_size(n, Path(tmp)))
            gc.collect()
    return out


def table(result: dict[str, Any]) -> str:
    """Markdown: one row per size and index type at its chosen setting, then the store's choice."""
    rows = []
    for size in result["sizes"]:
        n = size["n"]
        for entry in size["indexes"]:
            query = entry["query"]
            param = "" if entry["param"] is None else f"{entry.get('param_name')}={entry['param']}"
            rows.append(
                [
                    f"{n:,}",
                    entry["name"],
                    f"{entry['build_s']:.1f} s",
                    mib(entry["bytes"]),
                    f"{entry['bytes'] / n:.0f}",
                    param or ("exact" if entry["recall"] == 1.0 else "—"),
                    "—" if entry["recall"] is None else f"{entry['recall']:.3f}",
                    "—" if query is None else f"{query['median']:.2f} ({query['min']:.2f}–{query['max']:.2f})",
                ]
            )
            if "query_all_threads" in entry:
                q = entry["query_all_threads"]
                rows.append(
                    [f"{n:,}", f"{entry['name']}, {result['threads']} threads", "", "", "", "exact", "1.000",
                     f"{q['median']:.2f} ({q['min']:.2f}–{q['max']:.2f})"]
                )  # fmt: skip
    text = markdown_table(
        ["vectors", "index", "build", "size", "B/vector", "setting", f"recall@{result['k']}", "1-query ms (min–max)"],
        rows,
    )
    store_rows = []
    for size in result["sizes"]:
        choice = size["store_choice"]
        for label in ("copied", "mmap"):
            probe = choice.get(label, {})
            if "error" in probe or not probe:
                store_rows.append([f"{size['n']:,}", choice["factory"], label, "error", "", "", "", ""])
                continue
            store_rows.append(
                [
                    f"{size['n']:,}",
                    choice["factory"],
                    label,
                    f"{choice['build_s']:.1f} s",
                    f"{probe['open_s'] * 1000:.0f} ms",
                    f"{probe['recall']:.3f}",
                    f"{probe['query']['median']:.2f} (p95 {probe['query']['p95']:.2f})",
                    f"{mib(probe['rss_anon_after_queries'])} / {mib(probe['rss_file_after_queries'])}",
                ]
            )
    text += "\n\nThe store's automatic choice (`index.store.build_faiss`), reopened in a fresh process:\n\n"
    text += markdown_table(
        ["vectors", "factory", "open", "build", "open time", "recall@10", "query ms", "RSS private / shared (file)"],
        store_rows,
    )
    real = result.get("realism", {})
    if isinstance(real.get("real_doc_to_doc"), dict):
        syn, act = real["synthetic_doc_to_doc"], real["real_doc_to_doc"]
        text += (
            f"\n\nSynthetic vs real (MiniLM, {real.get('real_chunks')} chunks) neighbour cosines, median: "
            f"1st neighbour {syn['nn1']} vs {act['nn1']}, 10th {syn['nn10']} vs {act['nn10']}, "
            f"random pair {syn['random_pair']} vs {act['random_pair']}."
        )
    return text

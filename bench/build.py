"""Build: index the shared corpus from scratch against bare ``model.encode``; incremental rebuilds.

1. From scratch: ``build_index`` into a fresh temporary folder with an already loaded model,
   alternated with the baseline, a bare ``SentenceTransformer.encode`` (batch size 16) of the
   very texts the build embedded (title + "\\n" + chunk, read back from the built store).
   The ratio is baseline seconds / build seconds, i.e. build throughput as a share of the
   model's own; the target is >= 0.9. A timing proxy splits the build into encoding,
   tokenizer calls (chunking) and everything else.
2. Incremental, as a user runs it (``steppe index build`` in a fresh process, so interpreter
   start, imports and, when needed, the model load are included) on a copy of the corpus:
   no change, one document added, the same document removed. Target < 5 s.
3. Batch sizes 8/16/32/64 on ~300 chunks, to confirm the default of 16.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import (
    BASELINE_MODEL,
    PYTHON,
    QUICK_CORPUS_FOLDERS,
    SEED_ARTICLE,
    SHARED_CORPUS,
    Stats,
    bare_model,
    bench_env,
    log,
    markdown_table,
    ratio_stats,
    timed,
)

BATCH_SIZES = (8, 16, 32, 64)
BATCH_SAMPLE = 300
TARGET_RATIO = 0.9
TARGET_INCREMENTAL_S = 5.0
# The last from-scratch build of ../shared/corpus before sentence vectors were stored (index format
# 1; README, 2026-11-28, idle machine): chunks only, all-MiniLM-L6-v2 on ONNX Runtime.
BEFORE_SENTENCES = {"build_s": 163.5, "documents": 394, "chunks": 4046, "model": "all-MiniLM-L6-v2"}


class TimingEmbedder:
    """Wraps an embedder and adds up the seconds spent in each of its methods (a proxy, not a mock)."""

    TIMED = ("encode_documents", "encode_queries", "count_tokens")

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.seconds = dict.fromkeys(self.TIMED, 0.0)
        self.calls = dict.fromkeys(self.TIMED, 0)

    def reset(self) -> None:
        """Zero the counters."""
        self.seconds = dict.fromkeys(self.TIMED, 0.0)
        self.calls = dict.fromkeys(self.TIMED, 0)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name not in self.TIMED:
            return value

        def timed_call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start
                self.calls[name] += 1

        return timed_call


def corpus_for(quick: bool, workdir: Path) -> Path:
    """The shared corpus itself, or for --quick a copy of a few of its folders."""
    if not SHARED_CORPUS.is_dir():
        raise FileNotFoundError(f"the shared corpus is missing: {SHARED_CORPUS}")
    if not quick:
        return SHARED_CORPUS
    subset = workdir / "corpus"
    for folder in QUICK_CORPUS_FOLDERS:
        shutil.copytree(SHARED_CORPUS / folder, subset / folder)
    return subset


def embedded_texts(index_dir: Path, embedder: Any) -> list[str]:
    """The distinct texts a build embedded, in chunk order: capped title + "\\n" + chunk text for
    each chunk, then each distinct sentence of the chunks (stored at build time since format 2)."""
    from index.chunking import capped_title, embedding_text
    from index.store.generations import STORE, current_generation
    from index.store.local import connect

    conn = connect(current_generation(index_dir) / STORE, readonly=True)
    try:
        rows = conn.execute(
            "SELECT d.title, c.text FROM chunks c JOIN documents d USING (doc_id) ORDER BY c.chunk_id"
        ).fetchall()
    finally:
        conn.close()
    titles: dict[str, str] = {}
    texts: dict[str, None] = {}
    for title, text in rows:
        if title not in titles:
            titles[title] = capped_title(title, embedder)
        texts.setdefault(embedding_text(titles[title], text), None)
    return list(texts) + sentence_texts(index_dir)


def sentence_texts(index_dir: Path) -> list[str]:
    """The distinct sentences of every chunk, as the store split them, in chunk order."""
    from index.store import open_store

    reader = open_store(index_dir).open()
    try:
        ids = list(range(1, reader.manifest.chunks + 1))  # a build from scratch numbers chunks from 1
        chunks = reader.chunks(ids)
        if len(chunks) != len(ids):
            raise RuntimeError(f"{index_dir} was not built from scratch: its chunk ids have gaps")
        spans = reader.sentence_scores(np.zeros(reader.manifest.dim, dtype=np.float32), ids)
        return list(dict.fromkeys(chunks[i].text[a:b] for i in ids for a, b in spans[i].spans))
    finally:
        reader.close()


def from_scratch(corpus: Path, workdir: Path, reps: int) -> dict[str, Any]:
    """Full builds alternated with bare encodes of the same texts."""
    from index.build import build_index
    from index.embedding import load_embedder

    load_s, embedder = timed(lambda: load_embedder(BASELINE_MODEL))
    warm_s, _ = timed(lambda: embedder.encode_documents(["warm up the model"]))
    model = bare_model()
    model.encode(["warm up the model"], batch_size=16)
    proxy = TimingEmbedder(embedder)
    builds: list[dict[str, Any]] = []
    bare: list[float] = []
    texts: list[str] = []
    for rep in range(reps):
        proxy.reset()
        index_dir = workdir / f"scratch-{rep}"
        log(f"build: from scratch {rep + 1}/{reps}")
        seconds, summary = timed(
            lambda index_dir=index_dir: build_index(
                index_dir, [str(corpus)], embedder=proxy, rebuild=True, progress=False, log=lambda message: None
            )
        )
        builds.append(
            {
                "seconds": seconds,
                "documents": summary.documents,
                "chunks": summary.chunks,
                "embedded": summary.embedded,
                "sentences_embedded": summary.sentences_embedded,
                "encode_s": proxy.seconds["encode_documents"],
                "count_tokens_s": proxy.seconds["count_tokens"],
                "count_tokens_calls": proxy.calls["count_tokens"],
                "errors": len(summary.errors),
            }
        )
        if not texts:
            texts = embedded_texts(index_dir, embedder)
            if len(texts) != summary.embedded + summary.sentences_embedded:
                log(
                    f"build: warning: {len(texts)} distinct texts in the store, the build embedded "
                    f"{summary.embedded} chunks and {summary.sentences_embedded} sentences"
                )
        log(f"build: bare model.encode of {len(texts)} texts {rep + 1}/{reps}")
        bare.append(timed(lambda texts=texts: model.encode(texts, batch_size=16, normalize_embeddings=True))[0])
        if rep + 1 < reps:  # the last one seeds the incremental runs
            shutil.rmtree(index_dir, ignore_errors=True)
    build_s = Stats.of(b["seconds"] for b in builds)
    bare_s = Stats.of(bare)
    first = builds[0]
    return {
        "documents": first["documents"],
        "chunks": first["chunks"],
        "embedded": first["embedded"],
        "sentences_embedded": first["sentences_embedded"],
        "load_errors": first["errors"],
        "model_load_s": round(load_s + warm_s, 2),
        "build_s": build_s.__dict__,
        "bare_encode_s": bare_s.__dict__,
        "chunks_per_s_build": round(first["chunks"] / build_s.median, 1),
        "chunks_per_s_bare": round(len(texts) / bare_s.median, 1),
        "ratio": ratio_stats(bare, [b["seconds"] for b in builds]).__dict__,
        "target_ratio": TARGET_RATIO,
        "breakdown": [
            {
                "total_s": round(b["seconds"], 2),
                "encode_s": round(b["encode_s"], 2),
                "count_tokens_s": round(b["count_tokens_s"], 2),
                "count_tokens_calls": b["count_tokens_calls"],
                "other_s": round(b["seconds"] - b["encode_s"] - b["count_tokens_s"], 2),
            }
            for b in builds
        ],
        "texts": texts,  # kept for the batch-size run; dropped before writing
        "index_dir": index_dir,  # likewise: the last build, reused by the incremental runs
    }


def batch_sizes(texts: Sequence[str], rounds: int) -> dict[str, Any]:
    """Throughput of model.encode at each batch size on the same ~300 chunks, rounds interleaved."""
    model = bare_model()
    step = max(1, len(texts) // BATCH_SAMPLE)
    sample = list(texts[::step][:BATCH_SAMPLE])
    model.encode(sample[:32], batch_size=16)
    seconds: dict[int, list[float]] = {size: [] for size in BATCH_SIZES}
    for round_ in range(rounds):
        log(f"build: batch sizes, round {round_ + 1}/{rounds}")
        for size in BATCH_SIZES:
            seconds[size].append(timed(lambda size=size: model.encode(sample, batch_size=size))[0])
    out = {"chunks": len(sample), "rounds": rounds, "sizes": {}}
    for size in BATCH_SIZES:
        stats = Stats.of(len(sample) / s for s in seconds[size])
        out["sizes"][str(size)] = {
            "chunks_per_s": {k: round(v, 1) for k, v in stats.__dict__.items()},
            "vs_16": round(float(np.median(seconds[16]) / np.median(seconds[size])), 3),
        }
    return out


_SUMMARY = re.compile(r"(\d+) embedded now")


def _cli_build(corpus: Path, index_dir: Path) -> tuple[float, int, str]:
    command = [PYTHON, "-m", "bot.cli", "index", "build", "--corpus", str(corpus), "--index-dir", str(index_dir), "-q"]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=bench_env(), check=False)
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"steppe index build failed: {proc.stderr.strip()}")
    line = proc.stdout.strip().splitlines()[-1]
    match = _SUMMARY.search(line)
    return seconds, int(match[1]) if match else -1, line


def incremental(corpus: Path, workdir: Path, reps: int, seed_index: Path) -> dict[str, Any]:
    """No-change, add-one and remove-one rebuilds through the CLI on a copy of the corpus."""
    from index.build import build_index
    from index.embedding import load_embedder

    copy = workdir / "incremental" / "corpus"
    shutil.copytree(corpus, copy)
    index_dir = workdir / "incremental" / "index"
    log("build: initial index for the incremental runs (the last full build, re-pointed at the copy)")
    shutil.copytree(seed_index, index_dir)
    build_index(
        index_dir, [str(copy)], embedder=load_embedder(BASELINE_MODEL), progress=False, log=lambda message: None
    )
    seed = sorted(SEED_ARTICLE.glob("*.txt"))[0]
    added = copy / f"bench-added-{seed.name}"
    runs: dict[str, list[float]] = {"no_change": [], "add_one": [], "remove_one": []}
    embedded: dict[str, list[int]] = {k: [] for k in runs}
    lines: dict[str, str] = {}
    in_process: list[float] = []
    for rep in range(reps):
        log(f"build: incremental round {rep + 1}/{reps}")
        for name in ("no_change", "add_one", "remove_one"):
            if name == "add_one":
                shutil.copyfile(seed, added)
            elif name == "remove_one":
                added.unlink()
            seconds, count, line = _cli_build(copy, index_dir)
            runs[name].append(seconds)
            embedded[name].append(count)
            lines[name] = line
        # The same no-change update inside a warm process: what the CLI adds is start-up.
        in_process.append(
            timed(lambda: build_index(index_dir, [str(copy)], progress=False, log=lambda message: None))[0]
        )
    return {
        "added_document": seed.name,
        "target_s": TARGET_INCREMENTAL_S,
        "runs": {name: Stats.of(values).__dict__ for name, values in runs.items()},
        "embedded": embedded,
        "summary_lines": lines,
        "no_change_in_process_s": Stats.of(in_process).__dict__,
    }


def run(quick: bool = False) -> dict[str, Any]:
    """All three parts; about 6 minutes on the full corpus, 1 with --quick."""
    reps = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="steppe-bench-build-") as tmp:
        workdir = Path(tmp)
        corpus = corpus_for(quick, workdir)
        scratch = from_scratch(corpus, workdir, reps)
        texts, seed_index = scratch.pop("texts"), scratch.pop("index_dir")
        batches = batch_sizes(texts, rounds=2 if quick else 3)
        inc = incremental(corpus, workdir, reps=2 if quick else 3, seed_index=seed_index)
    return {
        "corpus": str(corpus if not quick else f"{SHARED_CORPUS} ({', '.join(QUICK_CORPUS_FOLDERS)})"),
        "scratch": scratch,
        "batch_sizes": batches,
        "incremental": inc,
    }


def _s(stats: dict[str, float]) -> str:
    return Stats(**stats).fmt_s()


def table(result: dict[str, Any]) -> str:
    """Markdown: from-scratch build vs bare encode, incremental rebuilds, batch sizes."""
    s = result["scratch"]
    ratio = s["ratio"]
    rows = [
        [
            "documents / chunks / distinct texts embedded (chunks + sentences)",
            f"{s['documents']} / {s['chunks']} / {s['embedded']} + {s.get('sentences_embedded', 0)}",
            "",
        ],
        ["build from scratch (model loaded)", _s(s["build_s"]), f"{s['chunks_per_s_build']} chunks/s"],
        [
            "… before sentence vectors (index format 1)",
            f"{BEFORE_SENTENCES['build_s']:.1f}",
            f"{BEFORE_SENTENCES['documents']} documents, {BEFORE_SENTENCES['chunks']} chunks, "
            f"{BEFORE_SENTENCES['model']}; now {s['build_s']['median'] / BEFORE_SENTENCES['build_s']:.2f}× that",
        ],
        ["bare `model.encode`, batch 16, same texts", _s(s["bare_encode_s"]), f"{s['chunks_per_s_bare']} chunks/s"],
        [
            "**ratio** bare / build (target ≥ 0.9)",
            f"**{ratio['median']:.2f}** ({ratio['min']:.2f}–{ratio['max']:.2f})",
            "≥ 0.9 ✓" if ratio["median"] >= TARGET_RATIO else "below target",
        ],
    ]
    b = s["breakdown"][len(s["breakdown"]) // 2]
    rows.append(
        [
            "build time split",
            f"encode {b['encode_s']:.1f} s, tokenizer {b['count_tokens_s']:.1f} s, other {b['other_s']:.1f} s",
            f"{b['count_tokens_calls']:,} tokenizer calls",
        ]
    )
    rows.append(["model load (first encode included)", f"{s['model_load_s']:.2f} s", ""])
    inc = result["incremental"]
    labels = {
        "no_change": "`steppe index build`, nothing changed",
        "add_one": "… after adding one document",
        "remove_one": "… after removing it again",
    }
    for name, label in labels.items():
        stats = inc["runs"][name]
        verdict = "< 5 s ✓" if stats["median"] < TARGET_INCREMENTAL_S else "over 5 s"
        rows.append([label, _s(stats), f"{verdict}, embedded {inc['embedded'][name][0]}"])
    rows.append(["no-change update inside a warm process", _s(inc["no_change_in_process_s"]), ""])
    text = markdown_table(["build", "seconds (min–max)", "note"], rows)
    sizes = result["batch_sizes"]
    text += f"\n\nBatch size, `model.encode` on {sizes['chunks']} chunks ({sizes['rounds']} rounds):\n\n"
    text += markdown_table(
        ["batch size", "chunks/s (min–max)", "vs 16"],
        [
            [size, f"{v['chunks_per_s']['median']:.1f} ({v['chunks_per_s']['min']:.1f}–{v['chunks_per_s']['max']:.1f})",
             f"{v['vs_16']:.2f}"]
            for size, v in sizes["sizes"].items()
        ],
    )  # fmt: skip
    return text

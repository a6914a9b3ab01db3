"""Query: warm search latency against a bare single-question ``model.encode``; cold starts.

Warm: one opened Library, the model loaded and warmed on other questions. For each of the
200 questions, back to back: bare ``model.encode([q])`` (a separate SentenceTransformer),
then ``Library.search`` dense, BM25 and hybrid, then ``Library.answer`` (hybrid, with
excerpts, as the bot calls it). The question-vector cache is emptied before every call, so
each one pays for its encode; the sentence-vector cache of answers is emptied before each
round (within a round, popular passages are scored once, as in a running bot). FAISS runs
once more limited to one thread, to show what that setting would change.
Targets: warm search median <= 1.3x the bare encode; the whole answer (search, the "not found"
decision, excerpts with highlights: what the bot runs) <= 1.5x. Sentence vectors are stored in
the index, so an answer runs the model on the question only.

Cold: ``steppe ask`` in a fresh process, end to end, plus a driver that times each phase
(interpreter, imports, index open, model load, first and second answer) and one
``python -X importtime`` run for the heaviest imports.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.common import (
    PYTHON,
    Stats,
    bare_model,
    bench_env,
    clear_answer_caches,
    ensure_index,
    load_questions,
    log,
    markdown_table,
)

TARGET_RATIO = 1.3
ANSWER_TARGET_RATIO = 1.5
WARMUP = (
    "How did the Soviet Union organise Central Asia?",
    "What is the main religion in Turkmenistan?",
    "Which rivers flow into the Aral Sea?",
    "What does Kazakhstan export to China?",
    "Who leads Kyrgyzstan?",
)
COLD_QUESTION = "Why is Putin visiting Central Asian countries?"


def _clear_query_cache(library: Any) -> None:
    # The searcher caches question vectors; every measured call must pay for its encode.
    library.searcher.clear_query_cache()


def warm(index_dir: Path, rounds: int) -> dict[str, Any]:
    """Per-question latencies of encode, search (three modes) and answer, rounds in shuffled order."""
    import faiss

    from index.search import query_terms
    from index.service import Library

    library = Library.open(index_dir)
    model = bare_model()
    for question in WARMUP:
        model.encode([question])
        library.answer(question)
    questions = load_questions()
    kinds = ("encode", "encode_steppe", "dense", "dense_faiss1", "bm25", "hybrid", "answer")
    embedder = library.searcher.embedder
    faiss_threads = faiss.omp_get_max_threads()
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    # CPU seconds of this process per call: unlike wall time, barely moved by other processes on
    # the machine (a busy machine stretches every wall figure, and unevenly).
    cpu: dict[str, list[float]] = {kind: [] for kind in kinds}

    def measure(kind: str, call: Any) -> Any:
        start, start_cpu = time.perf_counter(), time.process_time()
        value = call()
        times[kind].append(time.perf_counter() - start)
        cpu[kind].append(time.process_time() - start_cpu)
        return value

    answered = 0
    for round_ in range(rounds):
        log(f"query: warm round {round_ + 1}/{rounds} over {len(questions)} questions")
        order = questions[:]
        random.Random(round_).shuffle(order)
        clear_answer_caches(library)  # each round is a freshly started bot meeting 200 new questions
        for question in order:
            if not query_terms(question):  # steppe refuses these before any work
                continue
            measure("encode", lambda question=question: model.encode([question]))
            # steppe's own encoder (ONNX Runtime for MiniLM and e5)
            measure("encode_steppe", lambda question=question: embedder.encode_queries([question]))
            for kind in ("dense", "dense_faiss1", "bm25", "hybrid"):
                mode = kind.removesuffix("_faiss1")
                _clear_query_cache(library)
                faiss.omp_set_num_threads(1 if kind.endswith("_faiss1") else faiss_threads)
                measure(kind, lambda question=question, mode=mode: library.search(question, mode=mode))
            faiss.omp_set_num_threads(faiss_threads)
            _clear_query_cache(library)
            answer = measure("answer", lambda question=question: library.answer(question))
            answered += answer.answered if round_ == 0 else 0
    stats = {kind: Stats.of(values) for kind, values in times.items()}
    cpu_stats = {kind: Stats.of(values) for kind, values in cpu.items()}
    encode = stats["encode"].median
    return {
        "questions": len(questions),
        "rounds": rounds,
        "chunks": library.searcher.manifest.chunks,
        "runtime": getattr(embedder, "runtime", embedder.backend),
        "answered_first_round": answered,
        "faiss_threads": faiss_threads,
        "latency_ms": {kind: s.ms() for kind, s in stats.items()},
        "ratio_to_encode": {kind: round(s.median / encode, 3) for kind, s in stats.items()},
        "ratio_to_steppe_encode": {
            kind: round(s.median / stats["encode_steppe"].median, 3) for kind, s in stats.items()
        },
        "cpu_ms": {kind: s.ms() for kind, s in cpu_stats.items()},
        "cpu_ratio_to_steppe_encode": {
            kind: round(s.median / cpu_stats["encode_steppe"].median, 3) for kind, s in cpu_stats.items()
        },
        "target_ratio": TARGET_RATIO,
        "answer_target_ratio": ANSWER_TARGET_RATIO,
    }


_DRIVER = r"""
import json, sys, time
t_start = time.time()
launched, index_dir, question = float(sys.argv[1]), sys.argv[2], sys.argv[3]
marks = {"interpreter": t_start - launched}
t = time.perf_counter()
from bot.render import render_text
from index.service import Library
marks["imports"] = time.perf_counter() - t
t = time.perf_counter()
library = Library.open(index_dir)
marks["index_open"] = time.perf_counter() - t
t = time.perf_counter()
library.searcher.embedder.encode_queries(["load the model"])
marks["model_load"] = time.perf_counter() - t
t = time.perf_counter()
render_text(library.answer(question, k=5))
marks["first_answer"] = time.perf_counter() - t
t = time.perf_counter()
render_text(library.answer(question + " Explain.", k=5))
marks["second_answer"] = time.perf_counter() - t
marks["total"] = time.time() - launched
print(json.dumps(marks))
"""


def _ask_command(index_dir: Path, question: str) -> list[str]:
    return [PYTHON, "-m", "bot.cli", "ask", question, "--index-dir", str(index_dir)]


def cold(index_dir: Path, reps: int) -> dict[str, Any]:
    """`steppe ask` from process start to answer; per-phase driver; heaviest imports."""
    env = bench_env()
    wall: list[float] = []
    for rep in range(reps):
        log(f"query: cold `steppe ask` {rep + 1}/{reps}")
        start = time.perf_counter()
        proc = subprocess.run(_ask_command(index_dir, COLD_QUESTION), capture_output=True, text=True, env=env)
        wall.append(time.perf_counter() - start)
        if proc.returncode:
            raise RuntimeError(f"steppe ask failed: {proc.stderr.strip()}")
    phases: list[dict[str, float]] = []
    for rep in range(reps):
        log(f"query: cold phases {rep + 1}/{reps}")
        proc = subprocess.run(
            [PYTHON, "-c", _DRIVER, repr(time.time()), str(index_dir), COLD_QUESTION],
            capture_output=True,
            text=True,
            env=env,
        )
        if proc.returncode:
            raise RuntimeError(f"cold-start driver failed: {proc.stderr.strip()[-2000:]}")
        phases.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    log("query: python -X importtime steppe ask")
    proc = subprocess.run(
        [PYTHON, "-X", "importtime", *_ask_command(index_dir, COLD_QUESTION)[1:]],
        capture_output=True,
        text=True,
        env=env,
    )
    return {
        "steppe_ask_s": Stats.of(wall).__dict__,
        "phases_s": {key: Stats.of(p[key] for p in phases).__dict__ for key in phases[0]},
        "heaviest_imports": heaviest_imports(proc.stderr),
    }


_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def heaviest_imports(stderr: str, top: int = 12) -> list[dict[str, Any]]:
    """Packages by the cumulative time of their costliest import line (``python -X importtime``).

    Nested imports are inside their parent's cumulative time, so the figures overlap:
    sentence_transformers includes torch and transformers.
    """
    costs: dict[str, int] = {}
    for line in stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            package = match[4].split(".")[0]
            costs[package] = max(costs.get(package, 0), int(match[2]))
    ranked = sorted(costs.items(), key=lambda item: -item[1])[:top]
    return [{"package": name, "cumulative_ms": round(us / 1000, 1)} for name, us in ranked]


def run(quick: bool = False) -> dict[str, Any]:
    """Warm latencies (3 rounds, 1 with --quick) and cold starts (3 runs, 1 with --quick)."""
    index_dir = ensure_index(quick)
    return {
        "index_dir": str(index_dir),
        "warm": warm(index_dir, rounds=1 if quick else 3),
        "cold": cold(index_dir, reps=1 if quick else 3),
    }


def table(result: dict[str, Any]) -> str:
    """Markdown: warm latencies with ratios to the bare encode; cold start phases."""
    w = result["warm"]
    labels = {
        "encode": "bare `model.encode([q])` (baseline)",
        "encode_steppe": "steppe's own encoder alone, `encode_queries([q])`",
        "dense": "`Library.search` dense",
        "dense_faiss1": "… dense, FAISS limited to 1 thread",
        "bm25": "`Library.search` BM25 only",
        "hybrid": "`Library.search` hybrid (default)",
        "answer": "`Library.answer` hybrid + excerpts (what the bot runs)",
    }
    rows = []
    for kind, label in labels.items():
        if kind not in w["latency_ms"]:  # older result files
            continue
        ms = w["latency_ms"][kind]
        ratio = w["ratio_to_encode"][kind]
        verdict = ""
        if kind in ("dense", "dense_faiss1", "hybrid"):
            verdict = " ✓" if ratio <= TARGET_RATIO else f" (target ≤ {TARGET_RATIO})"
        elif kind == "answer":
            verdict = " ✓" if ratio <= ANSWER_TARGET_RATIO else f" (target ≤ {ANSWER_TARGET_RATIO})"
        rows.append(
            [
                label,
                f"{ms['median']:.1f}",
                f"{ms['p95']:.1f}",
                f"{ms['min']:.1f}–{ms['max']:.1f}",
                f"{ratio:.2f}×{verdict}",
            ]
        )
    text = (
        f"Warm, {w['questions']} questions × {w['rounds']} rounds, {w['chunks']} chunks "
        f"({w['answered_first_round']} answered, the rest honestly refused); steppe encodes with "
        f"{w.get('runtime', 'sentence-transformers')}, the baseline is sentence-transformers' own `encode`:\n\n"
    )
    text += markdown_table(["call", "median ms", "p95 ms", "min–max ms", "× bare encode"], rows)
    if "cpu_ms" in w:
        text += (
            "\n\nThe same calls against steppe's own encoder of the question, in wall time and in CPU time "
            "of this process (CPU time is what other processes on the machine barely move):\n\n"
        )
        text += markdown_table(
            ["call", "× steppe encode (wall)", "CPU ms median", "× steppe encode (CPU)"],
            [
                [
                    labels[kind],
                    f"{w['ratio_to_steppe_encode'][kind]:.2f}×",
                    f"{w['cpu_ms'][kind]['median']:.1f}",
                    f"{w['cpu_ratio_to_steppe_encode'][kind]:.2f}×",
                ]
                for kind in ("encode_steppe", "dense", "bm25", "hybrid", "answer")
            ],
        )
    c = result["cold"]
    phases = c["phases_s"]
    text += "\n\nCold start, `steppe ask` in a fresh process:\n\n"
    phase_rows = [["`steppe ask` end to end (wall)", Stats(**c["steppe_ask_s"]).fmt_s()]]
    names = {
        "interpreter": "interpreter start",
        "imports": "imports (index.service, bot.render)",
        "index_open": "`Library.open` (manifest, SQLite, FAISS, tokenizer)",
        "model_load": "model load (ONNX Runtime session, or torch and sentence-transformers)",
        "first_answer": "first answer",
        "second_answer": "second answer (warm, for contrast)",
    }
    phase_rows += [[label, Stats(**phases[key]).fmt_s()] for key, label in names.items()]
    text += markdown_table(["phase", "seconds"], phase_rows)
    imports = ", ".join(f"{i['package']} {i['cumulative_ms'] / 1000:.2f} s" for i in c["heaviest_imports"][:8])
    text += f"\n\nHeaviest imports (`-X importtime`, cumulative, nested ones overlap): {imports}."
    return text

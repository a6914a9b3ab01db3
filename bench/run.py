"""`make bench`: run the benchmarks, write JSON under bench/results/, print Markdown tables.

    python -m bench.run                      # everything (~30-40 min on 2 cores)
    python -m bench.run --quick              # smaller sizes, one repetition (~5 min)
    python -m bench.run --only build,query   # some sections
    python -m bench.run --only profile       # pyinstrument profiles of the query and build paths

Every figure is measured in one process run against its baseline (bare ``model.encode``,
exact FAISS search, ...) and reported as medians with min and max, and as ratios.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

from bench.common import RESULTS_DIR, ForeignCpu, log, machine_info, write_result

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Section name -> module in bench/. Each module has run(quick) -> dict and table(dict) -> str.
SECTIONS = {
    "build": "bench.build",
    "query": "bench.query",
    "memory": "bench.memory",
    "bot": "bench.bot_load",
    "scale": "bench.scale",
    "profile": "bench.profile",
}
DEFAULT_SECTIONS = ("build", "query", "memory", "bot", "scale")
TITLES = {
    "build": "Build",
    "query": "Query",
    "memory": "Memory",
    "bot": "Bot under load",
    "scale": "Scale (synthetic vectors)",
    "profile": "Profiles",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        help=f"comma-separated sections: {','.join(SECTIONS)} (default: {','.join(DEFAULT_SECTIONS)})",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repetitions")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="where the JSON files go")
    args = parser.parse_args(argv)
    names = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else list(DEFAULT_SECTIONS)
    unknown = [s for s in names if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    args.sections = names
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections in order; a failing section is reported and the others still run."""
    args = parse_args(argv)
    machine = machine_info()
    write_result("machine", machine, args.results)
    report: list[str] = []

    def emit(markdown: str) -> None:
        print(markdown, flush=True)
        report.append(markdown)

    emit(
        f"# steppe benchmarks{' (quick)' if args.quick else ''}\n\n"
        f"{machine['cpu']}, {machine['usable_cores']} cores, {machine['ram']} RAM, Python {machine['python']}, "
        f"torch {machine['versions']['torch']}, sentence-transformers {machine['versions']['sentence-transformers']}, "
        f"faiss {machine['versions']['faiss-cpu']}. {machine['when']}.\n"
    )
    failed = []
    for name in args.sections:
        module = importlib.import_module(SECTIONS[name])
        log(f"section {name}: start")
        started = time.perf_counter()
        load_before, foreign = os.getloadavg(), ForeignCpu()
        try:
            result = module.run(quick=args.quick)
        except Exception as exc:  # one broken section must not hide the others
            import traceback

            traceback.print_exc()
            failed.append(name)
            emit(f"## {TITLES[name]}\n\nFAILED: {type(exc).__name__}: {exc}\n")
            continue
        result["section_seconds"] = round(time.perf_counter() - started, 1)
        result["quick"] = args.quick
        # Other processes on the machine distort every figure: record how busy it was.
        result["loadavg_before"], result["loadavg_after"] = load_before, os.getloadavg()
        result["foreign_cpu_share"] = foreign.share()
        path = write_result(name, result, args.results)
        log(f"section {name}: {result['section_seconds']} s -> {path}")
        share = result["foreign_cpu_share"]
        note = f"\n\n(Other processes used {share:.0%} of the CPU during this section.)" if share > 0.05 else ""
        emit(f"## {TITLES[name]}\n\n{module.table(result)}{note}\n")
        (args.results / "report.md").write_text("\n".join(report), encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

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
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import RESULTS_DIR, ForeignCpu, log, machine_info, write_result

# Section name -> module in bench/. Each module has run(quick) -> dict and table(dict) -> str.
SECTIONS = {
    "build": "bench.build",
    "query": "bench.query",
    "memory": "bench.memory",
    "bot": "bench.bot_load",
    "scale": "bench.scale",
    "stores": "bench.stores",
    "profile": "bench.profile",
}
DEFAULT_SECTIONS = ("build", "query", "memory", "bot", "scale", "stores")
TITLES = {
    "build": "Build",
    "query": "Query",
    "memory": "Memory",
    "bot": "Bot under load",
    "scale": "Scale (synthetic vectors)",
    "stores": "Stores: local and Qdrant (synthetic chunks)",
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


def render_report(results_dir: Path, machine: dict, quick: bool) -> str:
    """report.md from every section's JSON in ``results_dir`` (sections may come from separate runs)."""
    parts = [
        f"# steppe benchmarks{' (quick)' if quick else ''}\n\n"
        f"{machine['cpu']}, {machine['usable_cores']} cores, {machine['ram']} RAM, Python {machine['python']}, "
        f"torch {machine['versions']['torch']}, sentence-transformers {machine['versions']['sentence-transformers']}, "
        f"faiss {machine['versions']['faiss-cpu']}. Each section is one run; its ratios compare figures "
        "from that run only.\n"
    ]
    for name, module_name in SECTIONS.items():
        path = results_dir / f"{name}.json"
        if not path.is_file():
            continue
        result = json.loads(path.read_text(encoding="utf-8"))
        module = importlib.import_module(module_name)
        share = result.get("foreign_cpu_share", 0.0)
        note = f"\n\n(Other processes used {share:.0%} of the CPU during this section.)" if share > 0.05 else ""
        when = (
            f"Measured {result['finished_at']}, {result['section_seconds']} s.\n\n" if "finished_at" in result else ""
        )
        parts.append(f"## {TITLES[name]}\n\n{when}{module.table(result)}{note}\n")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections in order; a failing section is reported and the others still run."""
    args = parse_args(argv)
    machine = machine_info()
    write_result("machine", machine, args.results)
    failed = []
    for name in args.sections:
        module = importlib.import_module(SECTIONS[name])
        log(f"section {name}: start")
        started = time.perf_counter()
        load_before, foreign = os.getloadavg(), ForeignCpu()
        try:
            result = module.run(quick=args.quick)
        except Exception:  # one broken section must not hide the others
            import traceback

            traceback.print_exc()
            failed.append(name)
            log(f"section {name}: FAILED")
            continue
        result["section_seconds"] = round(time.perf_counter() - started, 1)
        result["finished_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        result["quick"] = args.quick
        # Other processes on the machine distort every figure: record how busy it was.
        result["loadavg_before"], result["loadavg_after"] = load_before, os.getloadavg()
        result["foreign_cpu_share"] = foreign.share()
        path = write_result(name, result, args.results)
        log(f"section {name}: {result['section_seconds']} s -> {path}")
        print(f"## {TITLES[name]}\n\n{module.table(result)}\n", flush=True)
    report = render_report(args.results, machine, args.quick)
    (args.results / "report.md").write_text(report, encoding="utf-8")
    log(f"report: {args.results / 'report.md'}" + (f" (failed: {', '.join(failed)})" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

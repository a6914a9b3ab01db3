"""Profiles (pyinstrument) of the query path and the build path, as call trees.

Query: ``Library.answer`` (what the bot runs), then hybrid ``Library.search`` repeated with the
question vectors already cached, to show what retrieval itself costs beyond the encode.

Not part of the default run (``--only profile``). Writes the full call trees as text and
HTML next to the JSON (bench/results/profile_*.txt / .html); the report shows the top of each
call tree, and the JSON also lists the steppe functions with the most time in total.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench.common import (
    BASELINE_MODEL,
    QUICK_CORPUS_FOLDERS,
    RESULTS_DIR,
    SHARED_CORPUS,
    clear_answer_caches,
    ensure_index,
    load_questions,
    log,
)

INTERVAL = 0.0005
PROJECT_PACKAGES = ("index/", "bot/")


def _profiler():
    try:
        from pyinstrument import Profiler
    except ImportError as exc:
        raise RuntimeError("pyinstrument is not installed: .venv/bin/pip install pyinstrument") from exc
    return Profiler(interval=INTERVAL)


def _where(frame: Any) -> str:
    path = frame.file_path_short or frame.file_path or "?"
    return f"{frame.function} ({path}:{frame.line_no})"


def summarise(session: Any, top: int = 12) -> dict[str, Any]:
    """Total time of steppe's own functions over the whole tree (the call tree shows the rest)."""
    from pyinstrument.processors import remove_irrelevant_nodes

    root = remove_irrelevant_nodes(session.root_frame(), options={})
    total: dict[str, float] = {}

    def walk(frame: Any, stack: frozenset[str]) -> None:
        key = _where(frame)
        path = frame.file_path or ""
        if key not in stack and any(f"/{p}" in path for p in PROJECT_PACKAGES) and "/.venv/" not in path:
            total[key] = total.get(key, 0.0) + frame.time
        for child in frame.children:
            walk(child, stack | {key})

    walk(root, frozenset())
    duration = root.time or 1.0
    total_top = sorted(total.items(), key=lambda kv: -kv[1])[:top]
    return {
        "seconds": round(duration, 3),
        "project_total_time": [
            {"function": k, "s": round(v, 3), "share": round(v / duration, 3)} for k, v in total_top
        ],
    }


TREE_LINES = 28


def call_tree(profiler: Any) -> list[str]:
    """The top of pyinstrument's own call tree (library frames folded), without its banner."""
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    lines = [line.rstrip() for line in text.splitlines()]
    start = next((i for i, line in enumerate(lines) if line and line[0].isdigit()), 0)
    return [line for line in lines[start:] if line.strip()][:TREE_LINES]


def _save(profiler: Any, name: str) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"profile_{name}.txt").write_text(
        profiler.output_text(unicode=True, color=False, show_all=False), encoding="utf-8"
    )
    (RESULTS_DIR / f"profile_{name}.html").write_text(profiler.output_html(), encoding="utf-8")


def profile_query(index_dir: Path, questions: list[str]) -> dict[str, dict[str, Any]]:
    """``Library.answer`` over the questions (the bot's path), then hybrid search without the encode."""
    from index.service import Library

    library = Library.open(index_dir)
    library.answer("What is the capital of Tajikistan?")
    clear_answer_caches(library)  # earlier sections in this process may have scored these passages
    profiler = _profiler()
    profiler.start()
    for question in questions:
        library.answer(question)
    profiler.stop()
    _save(profiler, "query")
    out = {"query": {"questions": len(questions), **summarise(profiler.last_session), "tree": call_tree(profiler)}}
    # The question vectors are cached now: what remains is retrieval, fusion and SQLite.
    repeats = 5
    profiler = _profiler()
    profiler.start()
    for _ in range(repeats):
        for question in questions:
            library.search(question, mode="hybrid")
    profiler.stop()
    _save(profiler, "search_hybrid")
    out["search_hybrid"] = {
        "questions": len(questions) * repeats,
        **summarise(profiler.last_session),
        "tree": call_tree(profiler),
    }
    return out


def profile_build(quick: bool) -> dict[str, Any]:
    """A from-scratch build (model already loaded), then a no-change rebuild."""
    from index.build import build_index
    from index.embedding import load_embedder

    embedder = load_embedder(BASELINE_MODEL)
    embedder.encode_documents(["load the model"])
    with tempfile.TemporaryDirectory(prefix="steppe-bench-profile-") as tmp:
        corpus = Path(tmp) / "corpus"
        folders = QUICK_CORPUS_FOLDERS if quick else [p.name for p in SHARED_CORPUS.iterdir() if p.is_dir()]
        for folder in folders:
            shutil.copytree(SHARED_CORPUS / folder, corpus / folder)
        index_dir = Path(tmp) / "index"
        out = {}
        for name, kwargs in (("build", {"embedder": embedder, "rebuild": True}), ("rebuild_nochange", {})):
            log(f"profile: {name}")
            profiler = _profiler()
            profiler.start()
            build_index(index_dir, [str(corpus)], progress=False, log=lambda message: None, **kwargs)
            profiler.stop()
            _save(profiler, name)
            out[name] = {**summarise(profiler.last_session), "tree": call_tree(profiler)}
    return out


def run(quick: bool = False) -> dict[str, Any]:
    """Query path over 50 questions (20 with --quick), then the build path."""
    index_dir = ensure_index(quick)
    questions = load_questions()[: 20 if quick else 50]
    log("profile: query path")
    result = profile_query(index_dir, questions)
    result.update(profile_build(quick))
    return result


def table(result: dict[str, Any]) -> str:
    """Markdown: the top of each profile's call tree (seconds of wall time per call path)."""
    parts = []
    for name, label in (
        ("query", "`Library.answer`"),
        ("search_hybrid", "`Library.search` hybrid, question vectors cached (retrieval only)"),
        ("build", "build from scratch"),
        ("rebuild_nochange", "no-change rebuild"),
    ):
        entry = result[name]
        parts.append(f"**{label}** ({entry['seconds']:.2f} s profiled):\n")
        parts.append("```\n" + "\n".join(entry.get("tree", [])) + "\n```\n")
    return "\n".join(parts) + f"\nFull trees: {RESULTS_DIR.relative_to(RESULTS_DIR.parents[1])}/profile_*.txt / .html"

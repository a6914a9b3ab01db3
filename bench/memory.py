"""Memory: peak RSS of a process serving the shared-corpus index, against the bare model alone.

Each measurement is a fresh subprocess reading /proc/self/status after every phase: imports,
``Library.open``, model load, and 50 answers (``VmHWM`` is the peak). The baseline process
loads the same model with sentence-transformers and encodes the same 50 questions, so the
difference is what the index and steppe's own code cost. Bytes per chunk are given on disk
(store.sqlite + index.faiss) and in memory (RSS growth of ``Library.open`` / chunks).
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from bench.common import PYTHON, Stats, bench_env, ensure_index, load_questions, log, markdown_table, mib

ANSWERS = 50

_STEPPE = r"""
import json, sys
from bench.common import proc_status
marks = {"start": proc_status()}
from index.service import Library
marks["imports"] = proc_status()
index_dir, mmap, questions = sys.argv[1], sys.argv[2] == "1", json.loads(sys.argv[3])
library = Library.open(index_dir, mmap=mmap)
marks["open"] = proc_status()
library.searcher.embedder.encode_queries(["load the model"])
marks["model"] = proc_status()
for question in questions:
    library.answer(question)
marks["answers"] = proc_status()
print(json.dumps({"marks": marks, "chunks": library.searcher.manifest.chunks}))
"""

_BARE = r"""
import json, sys
from bench.common import proc_status, bare_model
marks = {"start": proc_status()}
model = bare_model()
model.encode(["load the model"])
marks["model"] = proc_status()
for question in json.loads(sys.argv[1]):
    model.encode([question])
marks["answers"] = proc_status()
print(json.dumps({"marks": marks}))
"""


def _run(code: str, *args: str) -> dict[str, Any]:
    proc = subprocess.run([PYTHON, "-c", code, *args], capture_output=True, text=True, env=bench_env())
    if proc.returncode:
        raise RuntimeError(f"memory probe failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> dict[str, Any]:
    """Three probes of each kind (one with --quick): steppe copied, steppe mmapped, bare model."""
    from index.store import FAISS_FILE, STORE, load_manifest

    index_dir = ensure_index(quick)
    generation, manifest = load_manifest(index_dir)
    questions = json.dumps(load_questions()[:ANSWERS])
    reps = 1 if quick else 3
    probes: dict[str, list[dict[str, Any]]] = {"steppe": [], "steppe_mmap": [], "bare_model": []}
    for rep in range(reps):
        log(f"memory: probes {rep + 1}/{reps}")
        probes["steppe"].append(_run(_STEPPE, str(index_dir), "0", questions))
        probes["steppe_mmap"].append(_run(_STEPPE, str(index_dir), "1", questions))
        probes["bare_model"].append(_run(_BARE, questions))
    chunks = manifest.chunks
    sizes = {name: (generation / name).stat().st_size for name in (STORE, FAISS_FILE)}

    def stat(kind: str, phase: str, key: str, base_phase: str | None = None) -> dict[str, float]:
        values = []
        for probe in probes[kind]:
            value = probe["marks"][phase][key]
            if base_phase:
                value -= probe["marks"][base_phase][key]
            values.append(value)
        return Stats.of(values).__dict__

    out: dict[str, Any] = {
        "index_dir": str(index_dir),
        "chunks": chunks,
        "documents": manifest.documents,
        "answers": ANSWERS,
        "disk_bytes": sizes,
        "disk_bytes_per_chunk": round(sum(sizes.values()) / chunks, 1),
        "faiss_bytes_per_chunk": round(sizes[FAISS_FILE] / chunks, 1),
        "probes": probes,
    }
    for kind in ("steppe", "steppe_mmap"):
        out[kind] = {
            "peak_rss": stat(kind, "answers", "VmHWM"),
            "rss_after_imports": stat(kind, "imports", "VmRSS"),
            "open_rss_growth": stat(kind, "open", "VmRSS", "imports"),
            "open_anon_growth": stat(kind, "open", "RssAnon", "imports"),
            "model_rss_growth": stat(kind, "model", "VmRSS", "open"),
            "answers_rss_growth": stat(kind, "answers", "VmRSS", "model"),
        }
        out[kind]["memory_bytes_per_chunk"] = round(out[kind]["open_rss_growth"]["median"] / chunks, 1)
    out["bare_model"] = {"peak_rss": stat("bare_model", "answers", "VmHWM")}
    out["peak_ratio_to_bare"] = round(out["steppe"]["peak_rss"]["median"] / out["bare_model"]["peak_rss"]["median"], 3)
    return out


def _mib_range(stats: dict[str, float]) -> str:
    if stats["n"] == 1 or stats["min"] == stats["max"]:
        return mib(stats["median"])
    return f"{mib(stats['median'])} ({stats['min'] / 2**20:.1f}–{stats['max'] / 2**20:.1f})"


def table(result: dict[str, Any]) -> str:
    """Markdown: peak RSS against the bare model, phase growth, bytes per chunk."""
    s, m, b = result["steppe"], result["steppe_mmap"], result["bare_model"]
    rows = [
        ["bare SentenceTransformer + 50 encodes (baseline)", _mib_range(b["peak_rss"]), ""],
        [
            f"steppe: `Library` + {result['answers']} answers",
            _mib_range(s["peak_rss"]),
            f"{result['peak_ratio_to_bare']:.2f}× baseline",
        ],
        ["… same, FAISS memory-mapped", _mib_range(m["peak_rss"]), ""],
        ["RSS after imports (numpy, faiss, index/)", _mib_range(s["rss_after_imports"]), ""],
        [
            "`Library.open` growth (SQLite, FAISS, docs, tokenizer)",
            _mib_range(s["open_rss_growth"]),
            f"{s['memory_bytes_per_chunk']:,.0f} B/chunk",
        ],
        ["model load growth", _mib_range(s["model_rss_growth"]), ""],
        ["growth over 50 answers", _mib_range(s["answers_rss_growth"]), ""],
    ]
    disk = result["disk_bytes"]
    rows.append(
        [
            f"on disk: store.sqlite + index.faiss ({result['chunks']} chunks)",
            f"{mib(disk['store.sqlite'])} + {mib(disk['index.faiss'])}",
            f"{result['disk_bytes_per_chunk']:,.0f} B/chunk ({result['faiss_bytes_per_chunk']:,.0f} FAISS)",
        ]
    )
    return markdown_table(["process / phase", "RSS", "note"], rows)

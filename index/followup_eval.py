"""`steppe eval --followups FILE`: how well follow-ups are read, and what the reading finds.

For each pair of eval/followups.jsonl (see eval/check_followups.py for the format) the follow-up
is read against its previous question (``index.followup.read_followup``). A pair is read
correctly when the reading has the expected question's words (order aside, punctuation
ignored) — for "more", the expected passage; for a standalone message, no reading at all.
Recall@5 is measured three ways over the pairs with gold passages: searching the message as it
was read (what the bot does), the bare message (no follow-up reading), and the expected
question (the best a reading could do).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from index.config import Settings
from index.errors import EmptyQuery, UserFacingError
from index.evaluation import read_jsonl
from index.evaluation_sets import is_relevant, locate_quotes
from index.filters import parse_query
from index.followup import Reading, read_followup

_WORDS = re.compile(r"[\w:]+")


def _bag(text: str) -> list[str]:
    return sorted(word.casefold() for word in _WORDS.findall(text))


def read_correctly(row: dict, reading: Reading | None) -> bool:
    """True if ``reading`` is the reading the pair expects."""
    if row["kind"] == "none":
        return reading is None
    if reading is None:
        return False
    if row["kind"] == "more":
        return reading.kind == "more" and reading.passage == row["passage"]
    return reading.kind != "more" and _bag(reading.question) == _bag(row["expected"])


def _found_at_5(searcher, question: str, gold, mode: str) -> bool:
    """True if one of the top five passages for ``question`` (its filters applied) is a gold one."""
    try:
        text, filters = parse_query(question)
        result = searcher.search(text, k=5, mode=mode, filters=None if filters.is_empty() else filters)
    except EmptyQuery:
        return False
    return any(is_relevant(hit, gold) for hit in result.hits[:5])


def evaluate_followups(
    path: Path,
    index_dir: Path,
    *,
    mode: str = "hybrid",
    splits: Sequence[str] = ("test",),
    settings: Settings | None = None,
) -> dict:
    """Read-correctly share and Recall@5 (as read, bare, expected) per split and language."""
    from index.search import Searcher

    rows = [
        row
        for row in read_jsonl(Path(path), what="a follow-up question set (one JSON object per line)")
        if row.get("split", "test") in splits
    ]
    if not rows:
        raise UserFacingError(f"{path} has no follow-up pairs in the {'/'.join(splits)} split.")
    for row in rows:
        if not {"previous", "message", "kind", "expected"} <= row.keys():
            raise UserFacingError(f"{path}: pair {row.get('id')} needs previous, message, kind and expected.")
    searcher = Searcher.open(Path(index_dir), settings=settings)
    model = searcher.manifest.model
    groups: dict[str, dict[str, int]] = {}
    details = []
    try:
        for row in rows:
            reading = read_followup(row["previous"], row["message"])
            correct = read_correctly(row, reading)
            stats = groups.setdefault(
                row.get("lang", "en"), {"pairs": 0, "read": 0, "judged": 0, "as_read": 0, "bare": 0, "expected": 0}
            )
            stats["pairs"] += 1
            stats["read"] += correct
            detail = {"id": row["id"], "read_correctly": correct, "reading": reading.question if reading else None}
            if row.get("answers") and row["kind"] != "more":
                gold = locate_quotes(searcher, row["answers"])
                searched = reading.question if reading is not None and reading.kind != "more" else row["message"]
                hits = {
                    "as_read": _found_at_5(searcher, searched, gold, mode),
                    "bare": _found_at_5(searcher, row["message"], gold, mode),
                    "expected": _found_at_5(searcher, row["expected"], gold, mode),
                }
                stats["judged"] += 1
                for key, found in hits.items():
                    stats[key] += found
                detail |= hits
            details.append(detail)
    finally:
        searcher.close()
    summary = {lang: _summarise(stats) for lang, stats in groups.items()}
    total = {key: sum(stats[key] for stats in groups.values()) for key in next(iter(groups.values()))}
    summary["all"] = _summarise(total)
    return {"file": str(path), "splits": list(splits), "mode": mode, "model": model,
            "summary": summary, "details": details}  # fmt: skip


def _summarise(stats: dict[str, int]) -> dict[str, float | int]:
    judged = max(1, stats["judged"])
    return {
        "pairs": stats["pairs"],
        "read_correctly": round(stats["read"] / max(1, stats["pairs"]), 3),
        "with_gold": stats["judged"],
        "recall@5_as_read": round(stats["as_read"] / judged, 3),
        "recall@5_bare_message": round(stats["bare"] / judged, 3),
        "recall@5_expected": round(stats["expected"] / judged, 3),
    }


def format_followups(report: dict) -> str:
    """A Markdown table of ``evaluate_followups``."""
    lines = [
        f"{report['file']} ({'/'.join(report['splits'])} split), {report['mode']}, model {report['model']}",
        "",
        "| lang | pairs | read correctly | with gold | Recall@5 as read | bare message | expected question |",
        "|---|---|---|---|---|---|---|",
    ]
    for lang, m in report["summary"].items():
        lines.append(
            f"| {lang} | {m['pairs']} | {m['read_correctly']:.0%} | {m['with_gold']} | {m['recall@5_as_read']:.3f} | "
            f"{m['recall@5_bare_message']:.3f} | {m['recall@5_expected']:.3f} |"
        )
    wrong = [d for d in report["details"] if not d["read_correctly"]]
    if wrong:
        lines += ["", "Read wrongly: " + ", ".join(d["id"] for d in wrong)]
    return "\n".join(lines)

"""Steppe's own question sets (eval/*.jsonl): what the searcher finds and what the bot shows.

For every mode it reports three stages of the same questions:

* raw: the searcher's ranking before diversification (Recall@1/3/5/20, MRR@10);
* ranked: the searcher's diversified list as the answer layer receives it;
* shown: what the bot shows (answer.decide's relevant hits), a refused answerable question
  counting as a miss at every depth (Recall@1/3/5),

plus both "not found" error rates and, for the first shown result holding the answer, whether a
highlighted sentence overlaps the gold quote. Each row may carry a frozen ``split`` (dev/test):
``split`` selects one; tune on dev only.
"""

from __future__ import annotations

import glob
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from index.config import Settings
from index.errors import EmptyQuery, UserFacingError
from index.evaluation import DEFAULT_MODES, read_jsonl

if TYPE_CHECKING:
    from index.models import Excerpt, Hit
    from index.search import Searcher

RAW_DEPTH = 20  # the raw ranking is read this deep (Recall@20)
ANSWER_K = 10  # what the bot asks for (Library.answer's default)
DEPTHS = (1, 3, 5, 20)
SHOWN_DEPTHS = (1, 3, 5)


@dataclass(frozen=True)
class GoldSpan:
    """Where a gold quote sits: a document path and, when found, character offsets in one of its documents."""

    path: str
    doc_id: str | None
    start: int
    end: int


_SPACE = re.compile(r"\s+")


def _collapse(text: str) -> tuple[str, list[int]]:
    """Whitespace-collapsed text and, for each of its characters, the offset in the original."""
    out, offsets = [], []
    previous_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            if previous_space:
                continue
            out.append(" ")
            previous_space = True
        else:
            out.append(ch)
            previous_space = False
        offsets.append(i)
    return "".join(out), offsets


def locate_quotes(searcher: Searcher, answers: Sequence[dict]) -> list[GoldSpan]:
    """Find each gold quote in the indexed documents with that path (whitespace-insensitive)."""
    spans = []
    for answer in answers:
        path, quote = answer["path"], _SPACE.sub(" ", answer.get("quote", "")).strip()
        candidates = [d for d in searcher.store.documents.values() if d.path == path]
        found = False
        for doc in candidates:
            collapsed, offsets = _collapse(searcher.store.document_text(doc.doc_id))
            position = collapsed.find(quote) if quote else -1
            if position >= 0:
                spans.append(GoldSpan(path, doc.doc_id, offsets[position], offsets[position + len(quote) - 1] + 1))
                found = True
        if not found:
            spans.append(GoldSpan(path, None, 0, 0))  # fall back to document-level relevance
    return spans


def is_relevant(hit: Hit, gold: Sequence[GoldSpan]) -> bool:
    """True when the hit's passage, or a near-identical one it cites (``Hit.also``), overlaps a gold
    quote (or, for an unlocated quote, is from its document)."""
    return _overlaps(hit, gold) or any(_overlaps(copy, gold) for copy in hit.also)


def _overlaps(hit: Hit, gold: Sequence[GoldSpan]) -> bool:
    for span in gold:
        if span.doc_id is None:
            if hit.doc.path == span.path:
                return True
        elif hit.doc.doc_id == span.doc_id and hit.chunk.start < span.end and span.start < hit.chunk.end:
            return True
    return False


def first_relevant(hits: Sequence[Hit], gold: Sequence[GoldSpan]) -> int | None:
    """The 1-based rank of the first relevant hit, or None."""
    return next((rank for rank, hit in enumerate(hits, start=1) if is_relevant(hit, gold)), None)


def highlight_overlaps(excerpt: Excerpt, gold: Sequence[GoldSpan]) -> bool | None:
    """Whether a highlighted sentence of ``excerpt`` overlaps a gold quote of its document; None
    when the excerpt has no highlights (nothing to judge)."""
    if not excerpt.highlights:
        return None
    chunk = excerpt.hit.chunk
    offset = chunk.text.find(excerpt.text)
    base = chunk.start + max(offset, 0)
    for start, end in excerpt.highlights:
        a, b = base + start, base + end
        if any(s.doc_id == chunk.doc_id and a < s.end and s.start < b for s in gold):
            return True
    return False


def load_questions(paths: Iterable[str | Path], split: str | None = None) -> list[dict]:
    """Rows of every file (glob patterns expand), keeping only ``split`` when given.

    Ids must be unique across the files; a clear error names a missing file or an empty selection.
    """
    files: list[Path] = []
    for pattern in paths:
        text = str(pattern)
        matches = sorted(glob.glob(text)) if any(ch in text for ch in "*?[") else [text]
        if not matches:
            raise UserFacingError(f"No question file matches {text}.")
        files += [Path(m) for m in matches]
    rows: list[dict] = []
    seen: set[str] = set()
    for path in files:
        for row in read_jsonl(path, what="a question set (one JSON object per line)"):
            if "id" not in row or "question" not in row:
                raise UserFacingError(f"{path}: every row needs an id and a question.")
            if row["id"] in seen:
                raise UserFacingError(f"{path}: question id {row['id']} appears twice.")
            seen.add(row["id"])
            if split is None or row.get("split") == split:
                rows.append(row)
    if not rows:
        raise UserFacingError(
            f"No questions with split {split!r} in {', '.join(map(str, files))}." if split else "No questions."
        )
    return rows


def evaluate_questions(
    paths: Sequence[str | Path] | str | Path,
    index_dir: Path,
    *,
    modes: Sequence[str] = DEFAULT_MODES,
    split: str | None = None,
    settings: Settings | None = None,
) -> dict:
    """Raw, ranked and shown recall, MRR@10, both "not found" error rates and highlight overlap,
    per mode and per question language (plus "all" when there are several)."""
    from index.service import Library

    if isinstance(paths, (str, Path)):
        paths = [paths]
    questions = load_questions(paths, split)
    library = Library.open(Path(index_dir), settings=settings)
    searcher = library.searcher
    gold = {q["id"]: locate_quotes(searcher, q.get("answers", [])) for q in questions if q.get("answerable", True)}
    unmatched = sum(1 for spans in gold.values() for s in spans if s.doc_id is None)
    report: dict = {
        "questions": len(questions),
        "split": split,
        "unmatched_quotes": unmatched,
        "model": searcher.manifest.model,
        "modes": {},
    }
    details = []
    for mode in modes:
        rows = [_judge(library, question, gold.get(question["id"], []), mode) for question in questions]
        details += rows
        languages = sorted({row["lang"] for row in rows})
        summary = {lang: summarise([r for r in rows if r["lang"] == lang]) for lang in languages}
        if len(languages) > 1:
            summary["all"] = summarise(rows)
        report["modes"][mode] = summary
    report["details"] = details
    library.searcher.close()
    return report


def _judge(library, question: dict, gold: Sequence[GoldSpan], mode: str) -> dict:
    """One question in one mode: the ranks of the first relevant passage at each stage."""
    text = question["question"].strip()
    answerable = bool(question.get("answerable", True))
    row = {
        "id": question["id"],
        "mode": mode,
        "lang": question.get("lang", "en"),
        "split": question.get("split"),
        "answerable": answerable,
    }
    started = time.perf_counter()
    try:
        raw = library.searcher.search(text, k=RAW_DEPTH, mode=mode, diversify=False)
        ranked = library.searcher.search(text, k=ANSWER_K, mode=mode)
        answer = library.answer(text, k=ANSWER_K, mode=mode)
    except EmptyQuery:
        return row | {"answered": False, "raw": None, "ranked": None, "shown": None, "highlight": None, "ms": 0.0}
    row["ms"] = round((time.perf_counter() - started) * 1000, 1)
    row["answered"] = answer.answered
    shown = [excerpt.hit for excerpt in answer.excerpts] if answer.answered else []
    row["shown_count"] = len(shown)
    row["top_dense"] = round(ranked.top_dense, 4)
    row["best_sentence"] = round(_best_sentence(library, text, ranked, mode), 4)
    if answerable:
        row["raw"] = first_relevant(raw.hits, gold)
        row["ranked"] = first_relevant(ranked.hits, gold)
        row["shown"] = first_relevant(shown, gold)
        row["highlight"] = highlight_overlaps(answer.excerpts[row["shown"] - 1], gold) if row["shown"] else None
    # For offline sweeps of the cutoff: each ranked hit's scores and whether it answers.
    row["hits"] = [
        [round(ranked.dense.get(h.chunk.chunk_id, 0.0), 4), round(h.score, 4), is_relevant(h, gold)]
        for h in ranked.hits
    ]
    return row


def _best_sentence(library, text: str, ranked, mode: str) -> float:
    """The similarity the "not found" decision rests on (for calibrating its threshold)."""
    from index.answer import AnswerPolicy, decide, grounding_similarity

    decision = decide(text, ranked, policy=AnswerPolicy.for_model(library.searcher.manifest.model), mode=mode)
    return grounding_similarity(decision.hits, decision.sentences)


def _recall(ranks: list[int | None], k: int) -> float:
    return round(sum(r is not None and r <= k for r in ranks) / max(1, len(ranks)), 3)


def summarise(rows: Sequence[dict]) -> dict:
    """The metrics of one mode over ``rows`` (one per question, from _judge)."""
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    out: dict = {"answerable": len(answerable), "unanswerable": len(unanswerable)}
    for stage, depths in (("raw", DEPTHS), ("ranked", DEPTHS), ("shown", SHOWN_DEPTHS)):
        ranks = [r.get(stage) for r in answerable]
        out[stage] = {f"recall@{k}": _recall(ranks, k) for k in depths}
        out[stage]["mrr@10"] = round(sum(1 / r for r in ranks if r and r <= 10) / max(1, len(ranks)), 3)
    out["answerable_refused"] = round(sum(not r["answered"] for r in answerable) / max(1, len(answerable)), 3)
    out["unanswerable_answered"] = (
        round(sum(r["answered"] for r in unanswerable) / len(unanswerable), 3) if unanswerable else None
    )
    judged = [r["highlight"] for r in answerable if r.get("highlight") is not None]
    out["highlight_overlap"] = round(sum(judged) / len(judged), 3) if judged else None
    out["highlight_judged"] = len(judged)
    return out


def format_questions_report(report: dict) -> str:
    """Markdown tables of a question-set report: searcher recall, then what is shown."""
    split = f", split {report['split']}" if report.get("split") else ""
    lines = [
        f"{report['questions']} questions{split}, model {report['model']}"
        + (
            f", {report['unmatched_quotes']} gold quotes matched by document only" if report["unmatched_quotes"] else ""
        ),
        "",
        "| mode | lang | n | raw R@1 | R@3 | R@5 | R@20 | MRR@10 | ranked R@5 | R@20 |"
        " shown R@1 | R@3 | R@5 | answerable refused | unanswerable answered | highlight |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, langs in report["modes"].items():
        for lang, m in langs.items():
            raw, ranked, shown = m["raw"], m["ranked"], m["shown"]
            wrong = (
                "n/a"
                if m["unanswerable_answered"] is None
                else f"{m['unanswerable_answered']:.0%} of {m['unanswerable']}"
            )
            light = (
                "n/a" if m["highlight_overlap"] is None else f"{m['highlight_overlap']:.2f} of {m['highlight_judged']}"
            )
            lines.append(
                f"| {mode} | {lang} | {m['answerable']} | {raw['recall@1']:.3f} | {raw['recall@3']:.3f} | "
                f"{raw['recall@5']:.3f} | {raw['recall@20']:.3f} | {raw['mrr@10']:.3f} | {ranked['recall@5']:.3f} | "
                f"{ranked['recall@20']:.3f} | {shown['recall@1']:.3f} | {shown['recall@3']:.3f} | {shown['recall@5']:.3f} | "
                f"{m['answerable_refused']:.0%} | {wrong} | {light} |"
            )
    return "\n".join(lines)

"""What users' votes on answers say: the report behind `steppe feedback` and the admins' /feedback,
and the export of rated questions as a question set for `steppe eval --questions`.

The votes themselves live in ``index.store.feedback.FeedbackStore``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from index.config import Settings
from index.errors import UserFacingError
from index.models import Answer
from index.store.feedback import FeedbackStore, Vote


def open_store(settings: Settings) -> FeedbackStore:
    """The votes file of ``settings.state_dir``, or a clear error when feedback is off."""
    if settings.feedback_days <= 0:
        raise UserFacingError("Feedback is turned off (STEPPE_FEEDBACK_DAYS=0): no votes are kept.")
    return FeedbackStore(settings.state_dir, settings.feedback_days)


def shown_passages(answer: Answer) -> list[dict]:
    """What is stored of the passages an answer showed: document, span and chunk id, no text."""
    return [
        {
            "path": e.hit.doc.path,
            "title": e.hit.doc.title,
            "source": e.hit.doc.source,
            "start": e.hit.chunk.start,
            "end": e.hit.chunk.end,
            "chunk_id": e.hit.chunk.chunk_id,
        }
        for e in answer.excerpts
    ]


@dataclass(frozen=True)
class Rated:
    """One question as users rated it."""

    question: str
    up: int
    down: int
    answered: bool
    passages: tuple[dict, ...]  # as shown the last time it was rated


@dataclass(frozen=True)
class FeedbackReport:
    """Answers rated, votes, the share of 👎, and the questions with the most 👎."""

    answers: int
    votes: int
    down: int
    retention_days: int
    worst: tuple[Rated, ...]

    @property
    def down_share(self) -> float:
        """Share of the votes that are 👎."""
        return self.down / self.votes if self.votes else 0.0


def rate(votes: Sequence[Vote]) -> list[Rated]:
    """Votes grouped by question (case and spacing aside), most 👎 first."""
    groups: dict[str, list[Vote]] = {}
    for vote in votes:
        groups.setdefault(" ".join(vote.question.casefold().split()), []).append(vote)
    rated = [
        Rated(
            question=" ".join(group[-1].question.split()),
            up=sum(v.vote > 0 for v in group),
            down=sum(v.vote < 0 for v in group),
            answered=group[-1].answered,
            passages=group[-1].passages,
        )
        for group in groups.values()
    ]
    return sorted(rated, key=lambda r: (-r.down, r.up, r.question))


def report(votes: Sequence[Vote], retention_days: int, top: int = 10) -> FeedbackReport:
    """The summary of ``votes``."""
    worst = tuple(r for r in rate(votes) if r.down > 0)[:top]
    return FeedbackReport(
        answers=len({v.answer_id for v in votes}),
        votes=len(votes),
        down=sum(v.vote < 0 for v in votes),
        retention_days=retention_days,
        worst=worst,
    )


def format_report(summary: FeedbackReport, width: int = 100) -> str:
    """The report as plain text (the CLI prints it; the bot puts it in a <pre> block)."""
    lines = [
        f"{summary.answers} answers rated, {summary.votes} votes, {summary.down} 👎 ({summary.down_share:.0%}).",
        f"Votes are kept {summary.retention_days} days.",
    ]
    if summary.worst:
        lines += ["", "Most 👎:"]
    for n, rated in enumerate(summary.worst, 1):
        lines.append(f"{n}. {rated.question[:width]}  (👎 {rated.down}, 👍 {rated.up})")
        if not rated.answered:
            lines.append('   shown: "not found"')
        for passage in rated.passages[:3]:
            lines.append(
                f"   shown: {str(passage.get('title') or passage.get('path'))[:width]} ({passage.get('path')})"
            )
    return "\n".join(lines)


def export_questions(votes: Sequence[Vote], path: Path) -> int:
    """Write the rated questions as a question set (eval/README.md format), most 👎 first.

    ``answers`` is empty: someone adds the gold passage before ``steppe eval --questions`` can
    score it. A "not found" that users approved is exported as unanswerable. ``shown`` lists
    what the bot showed and ``votes`` the tally; the evaluation ignores both.
    """
    rows = []
    for n, rated in enumerate(rate(votes), 1):
        rows.append(
            {
                "id": f"fb{n:03d}",
                "question": rated.question,
                "answerable": rated.answered or rated.down > rated.up,
                "answers": [],
                "tags": ["feedback", "down" if rated.down else "up"],
                "votes": {"up": rated.up, "down": rated.down},
                "shown": list(rated.passages),
            }
        )
    try:
        Path(path).write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    except OSError as exc:
        raise UserFacingError(f"Cannot write {path}: {exc.strerror}.") from exc
    return len(rows)

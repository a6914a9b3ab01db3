"""The feedback store (index/store/feedback.py), its report and export (index/feedback.py), `steppe feedback`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from index.config import Settings, SettingsError
from index.errors import UserFacingError
from index.feedback import export_questions, format_report, report
from index.store.feedback import DAY, FILE, FeedbackStore

SHOWN = [{"path": "factbook/2025-03-20/ti.json", "title": "Tajikistan", "source": "CIA World Factbook",
          "start": 0, "end": 300, "chunk_id": 7}]  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def store_at(path: Path, clock: Clock, days: int = 180) -> FeedbackStore:
    return FeedbackStore(path, days, clock=clock)


def vote(store: FeedbackStore, answer: str, user: int, value: int, question: str = "Base in Tajikistan?") -> str:
    return store.vote(answer, user, value, question=question, passages=SHOWN, answered=True, lang="en")


def test_a_vote_is_stored_changed_and_kept_once_per_user(tmp_path: Path) -> None:
    store = store_at(tmp_path, Clock())
    assert vote(store, "a1", 1001, 1) == "new"
    assert vote(store, "a1", 1001, 1) == "same"
    assert vote(store, "a1", 1001, -1) == "changed"
    assert vote(store, "a1", 1002, 1) == "new"
    assert sorted(v.vote for v in store.votes()) == [-1, 1]
    assert store.votes()[0].passages == tuple(SHOWN)
    with pytest.raises(ValueError):
        vote(store, "a1", 1001, 0)


def test_user_ids_are_kept_only_as_salted_hashes(tmp_path: Path) -> None:
    clock = Clock()
    store = store_at(tmp_path / "one", clock)
    vote(store, "a1", 123456789, 1)
    stored = store.votes()[0].user_hash
    store.close()
    raw = (tmp_path / "one" / FILE).read_bytes()
    assert b"123456789" not in raw  # the id is in no column, index or page of the file
    assert store_at(tmp_path / "one", clock).user_hash(123456789) == stored  # the salt is kept with the file
    assert store_at(tmp_path / "two", clock).user_hash(123456789) != stored  # another file, another salt
    assert len(stored) == 32


def test_old_votes_are_deleted_after_the_retention_period(tmp_path: Path) -> None:
    clock = Clock()
    store = store_at(tmp_path, clock, days=180)
    vote(store, "old", 1, -1)
    clock.now += 100 * DAY
    vote(store, "newer", 1, 1)
    clock.now += 81 * DAY  # the first vote is now 181 days old
    assert [v.answer_id for v in store.votes()] == ["newer"]
    store.close()
    clock.now += 100 * DAY  # reopening purges too
    reopened = store_at(tmp_path, clock, days=180)
    with sqlite3.connect(tmp_path / FILE) as db:
        assert db.execute("SELECT COUNT(*) FROM votes").fetchone() == (0,)
    assert reopened.votes() == []


def test_report_ranks_the_most_down_voted_questions(tmp_path: Path) -> None:
    store = store_at(tmp_path, Clock())
    vote(store, "a1", 1, -1, "Why is the base there?")
    vote(store, "a2", 2, -1, "why is the base  there?")  # the same question, asked twice
    vote(store, "a3", 3, 1, "Who heads the CSTO?")
    vote(store, "a4", 4, -1, "Who heads the CSTO?")
    summary = report(store.votes(), 180)
    assert (summary.answers, summary.votes, summary.down) == (4, 4, 3)
    assert [(r.down, r.up) for r in summary.worst] == [(2, 0), (1, 1)]
    text = format_report(summary)
    assert "4 answers rated, 4 votes, 3 👎 (75%)" in text and "kept 180 days" in text
    assert text.index("base there") < text.index("CSTO") and "Tajikistan (factbook/2025-03-20/ti.json)" in text


def test_export_is_a_question_set(tmp_path: Path) -> None:
    store = store_at(tmp_path, Clock())
    vote(store, "a1", 1, -1, "Why is the base there?")
    store.vote("a2", 2, 1, question="Shashlik recipe?", passages=[], answered=False, lang="en")
    out = tmp_path / "rated.jsonl"
    assert export_questions(store.votes(), out) == 2
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["fb001", "fb002"]
    assert rows[0]["question"] == "Why is the base there?" and rows[0]["answerable"] is True
    assert rows[0]["answers"] == [] and rows[0]["tags"] == ["feedback", "down"] and rows[0]["shown"] == SHOWN
    assert rows[1]["answerable"] is False  # a "not found" that users approved


def test_cli_feedback_report_and_export(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.setenv("STEPPE_STATE_DIR", str(tmp_path / "state"))
    store = FeedbackStore(tmp_path / "state", 180)
    vote(store, "a1", 1, -1)
    store.close()
    assert main(["feedback"]) == 0
    assert "1 answers rated, 1 votes, 1 👎 (100%)" in capsys.readouterr().out
    assert main(["feedback", "--export", str(tmp_path / "out.jsonl")]) == 0
    assert "wrote 1 rated questions" in capsys.readouterr().out
    assert main(["feedback", "--export", str(tmp_path / "missing" / "out.jsonl")]) == 1
    assert "Cannot write" in capsys.readouterr().err
    monkeypatch.setenv("STEPPE_FEEDBACK_DAYS", "0")
    assert main(["feedback"]) == 1
    assert "Feedback is turned off" in capsys.readouterr().err


def test_settings() -> None:
    assert Settings.from_env({}, env_file=None).feedback_days == 180
    assert Settings.from_env({"STEPPE_FEEDBACK_DAYS": "30"}, env_file=None).feedback_days == 30
    for bad in ("-1", "soon", "99999"):
        with pytest.raises(SettingsError, match="STEPPE_FEEDBACK_DAYS"):
            Settings.from_env({"STEPPE_FEEDBACK_DAYS": bad}, env_file=None)


def test_an_unwritable_state_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UserFacingError, match="Cannot open the feedback store"):
        FeedbackStore(blocker / "state", 180)

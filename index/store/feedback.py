"""Votes on answers (👍/👎) in SQLite, beside the bot's state and apart from the index.

One row per answer and user: the time, the question as it was searched, the passages shown
(their document paths, character spans and chunk ids), whether the bot answered, and the
vote. The user is kept only as a salted scrypt hash of their id: the salt is made at random
when the file is created and never leaves it, and scrypt makes trying every possible id
slow. Votes older than the retention period are deleted whenever the store is opened or written.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from index.errors import UserFacingError

FILE = "feedback.sqlite"
DAY = 86400.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS votes (
    answer_id TEXT NOT NULL,
    user_hash TEXT NOT NULL,
    at REAL NOT NULL,
    question TEXT NOT NULL,
    passages TEXT NOT NULL,
    answered INTEGER NOT NULL,
    lang TEXT NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    PRIMARY KEY (answer_id, user_hash)
);
CREATE INDEX IF NOT EXISTS votes_at ON votes (at);
"""


@dataclass(frozen=True)
class Vote:
    """One stored vote (the user appears only as ``user_hash``)."""

    answer_id: str
    user_hash: str
    at: float  # Unix time
    question: str
    passages: tuple[dict, ...]  # {"path", "title", "source", "start", "end", "chunk_id"} per passage shown
    answered: bool
    lang: str
    vote: int  # +1 or -1


class FeedbackStore:
    """The votes file in ``state_dir``; safe to call from several threads."""

    def __init__(self, state_dir: Path, retention_days: int, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(state_dir) / FILE
        self.retention_days, self.clock = retention_days, clock
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise UserFacingError(f"Cannot open the feedback store {self.path}: {exc}.") from exc
        row = self._db.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()
        if row is None:
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('salt', ?)", (secrets.token_hex(16),))
            row = self._db.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()
        self._salt = bytes.fromhex(row[0])
        self.purge()

    def user_hash(self, user_id: int) -> str:
        """The salted, slow hash kept instead of a Telegram user id."""
        digest = hashlib.scrypt(str(user_id).encode(), salt=self._salt, n=2**14, r=8, p=1, dklen=16)
        return digest.hex()

    def vote(
        self,
        answer_id: str,
        user_id: int,
        vote: int,
        *,
        question: str,
        passages: Sequence[dict],
        answered: bool,
        lang: str,
    ) -> str:
        """Store (or change) ``user_id``'s vote on an answer: "new", "changed" or "same"."""
        if vote not in (-1, 1):
            raise ValueError(f"a vote is +1 or -1, not {vote!r}")
        user = self.user_hash(user_id)
        with self._lock:
            self._purge_locked()
            old = self._db.execute(
                "SELECT vote FROM votes WHERE answer_id = ? AND user_hash = ?", (answer_id, user)
            ).fetchone()
            if old is not None and old[0] == vote:
                return "same"
            self._db.execute(
                "INSERT OR REPLACE INTO votes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (answer_id, user, self.clock(), question, json.dumps(list(passages)), int(answered), lang, vote),
            )
        return "new" if old is None else "changed"

    def votes(self) -> list[Vote]:
        """Every stored vote, oldest first (expired ones deleted first)."""
        with self._lock:
            self._purge_locked()
            rows = self._db.execute(
                "SELECT answer_id, user_hash, at, question, passages, answered, lang, vote FROM votes ORDER BY at"
            ).fetchall()
        return [
            Vote(a, u, at, q, tuple(json.loads(p)), bool(answered), lang, v)
            for a, u, at, q, p, answered, lang, v in rows
        ]

    def purge(self) -> int:
        """Delete votes older than the retention period; returns how many went."""
        with self._lock:
            return self._purge_locked()

    def _purge_locked(self) -> int:
        cutoff = self.clock() - self.retention_days * DAY
        return self._db.execute("DELETE FROM votes WHERE at < ?", (cutoff,)).rowcount

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

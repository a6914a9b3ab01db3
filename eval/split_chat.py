#!/usr/bin/env python3
"""Give every chat-register question its frozen split: dev (tune on it) or test (report it).

The split of a question is decided by a hash of its id (a twin pair by the smaller of its two ids,
so twins share a split) under a fixed salt: adding questions never moves an existing one, and a
row that already has a split is never changed. Run it after adding questions:

    python3 eval/split_chat.py            # every eval/chat_*.jsonl, rewritten in place
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

EVAL_DIR = Path(__file__).resolve().parent
SALT = "steppe-chat-split-2026-12-02"
TEST_SHARE = 0.5


def split_of(group_id: str, salt: str = SALT) -> str:
    """dev or test, by a salted hash of the question's (or twin pair's) id."""
    digest = hashlib.sha256(f"{salt}:{group_id}".encode()).digest()
    return "test" if int.from_bytes(digest[:8], "big") / 2**64 < TEST_SHARE else "dev"


def main() -> int:
    files = sorted(EVAL_DIR.glob("chat_*.jsonl"))
    rows = {
        path: [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for path in files
    }
    twins = {row["id"]: row.get("twin") for lines in rows.values() for row in lines}
    assigned = 0
    for path, lines in rows.items():
        for row in lines:
            if row.get("split") in ("dev", "test"):
                continue
            group = min(row["id"], twins.get(row["id"]) or row["id"])
            row["split"] = split_of(group)
            assigned += 1
        path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in lines), encoding="utf-8")
    counts = {s: sum(row["split"] == s for lines in rows.values() for row in lines) for s in ("dev", "test")}
    print(f"assigned {assigned}; dev {counts['dev']}, test {counts['test']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

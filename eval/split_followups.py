#!/usr/bin/env python3
"""Give every follow-up pair (eval/followups.jsonl) its frozen split: dev (tune on it) or test (report it).

As for the chat sets (eval/split_chat.py): a salted hash of the pair's id, twins (the same pair in
English and Russian) by the smaller of their two ids so they share a split, and a row that has a
split keeps it. Run it after adding pairs:

    python3 eval/split_followups.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from split_chat import split_of

FILE = Path(__file__).resolve().parent / "followups.jsonl"
SALT = "steppe-followup-split-2026-12-03"


def main() -> int:
    rows = [json.loads(line) for line in FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    assigned = 0
    for row in rows:
        if row.get("split") not in ("dev", "test"):
            row["split"] = split_of(min(row["id"], row.get("twin") or row["id"]), SALT)
            assigned += 1
    FILE.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    counts = {s: sum(row["split"] == s for row in rows) for s in ("dev", "test")}
    print(f"assigned {assigned}; dev {counts['dev']}, test {counts['test']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

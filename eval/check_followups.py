#!/usr/bin/env python3
"""Check the follow-up question set (eval/followups.jsonl) against its format and the corpus.

Standalone, standard library only (it reuses check_questions.py beside it). Prints every
problem and exits 1 if there is any, 0 when everything passes, 2 when the corpus is missing.

    python3 eval/check_followups.py                 # corpus at ../shared/corpus
    python3 eval/check_followups.py --schema-only   # format only

A row: {"id": "fe001", "lang": "en", "previous": "...", "message": "...", "kind": "replace",
"expected": "the standalone question the message means", "passage": null, "answers": [...],
"tags": [...], "twin": "fr001", "split": "test"}. Kinds: replace (a new entity replaces one),
ask (a bare question word), more (open passage "passage" of the previous answer), filter (the
previous question with a filter token), none (a standalone message: "expected" is the message).
"answers" are gold quotes for "expected" (none for "more"), in the format of eval/README.md.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

from check_questions import Corpus, check_quote, corpus_of, corpus_options, finish, load_jsonl

FILE = Path(__file__).resolve().parent / "followups.jsonl"
KINDS = ("replace", "ask", "more", "filter", "none")
KEYS = {"id", "lang", "previous", "message", "kind", "expected", "passage", "answers", "tags", "twin", "split", "_line"}
ID = re.compile(r"f[er]\d{3}")
MIN_PAIRS, MIN_PER_LANG = 40, 15
CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def check_row(row: dict, corpus: Corpus | None, problems: list[str]) -> None:
    where = f"followups.jsonl:{row.get('_line')} ({row.get('id')})"
    for key in sorted(set(row) - KEYS):
        problems.append(f"{where}: unknown key {key!r}")
    if not ID.fullmatch(str(row.get("id"))):
        problems.append(f"{where}: id must look like fe001 (English) or fr001 (Russian)")
    lang = row.get("lang")
    if lang not in ("en", "ru") or str(row.get("id"))[1:2] != str(lang)[:1]:
        problems.append(f"{where}: lang must be en or ru and match the id")
    for key in ("previous", "message", "expected"):
        if not isinstance(row.get(key), str) or not row[key].strip():
            problems.append(f"{where}: {key} missing or empty")
    if lang == "ru" and not CYRILLIC.search(str(row.get("message", "")) + str(row.get("previous", ""))):
        problems.append(f"{where}: a Russian pair without Cyrillic")
    kind = row.get("kind")
    if kind not in KINDS:
        problems.append(f"{where}: kind must be one of {', '.join(KINDS)}")
    passage = row.get("passage")
    if kind == "more":
        if not isinstance(passage, int) or passage < 1:
            problems.append(f"{where}: a 'more' pair needs the passage number")
        if row.get("expected") != row.get("previous") or row.get("answers"):
            problems.append(f"{where}: a 'more' pair expects the previous question and has no gold")
    elif passage is not None:
        problems.append(f"{where}: only 'more' pairs have a passage")
    if kind == "none" and row.get("expected") != row.get("message"):
        problems.append(f"{where}: a standalone message is expected unchanged")
    if kind == "filter" and not re.search(r"\b(source|since|until):\S+$", str(row.get("expected"))):
        problems.append(f"{where}: a filter pair expects the previous question with a filter token")
    if row.get("split") not in ("dev", "test"):
        problems.append(f"{where}: split missing (run eval/split_followups.py)")
    answers = row.get("answers")
    if not isinstance(answers, list) or (kind != "more" and not answers):
        problems.append(f"{where}: answers must be a list of gold quotes (empty only for 'more')")
        return
    for n, answer in enumerate(answers, 1):
        at = f"{where} answer {n}"
        if not isinstance(answer, dict) or answer.get("corpus") not in ("shared", "project") or not answer.get("path"):
            problems.append(f"{at}: needs corpus (shared or project), path and quote")
            continue
        if not check_quote(answer.get("quote"), at, problems) or corpus is None:
            continue
        path = corpus.resolve(answer["corpus"], answer["path"])
        if path is None or not path.is_file():
            problems.append(f"{at}: document {answer['path']} not found")
            continue
        found = corpus.count(answer["corpus"], answer["path"], answer["quote"])
        if found != 1:
            problems.append(f"{at}: quote occurs {found} times in {answer['path']} (want exactly once)")


def check_twins(rows: list[dict], problems: list[str]) -> None:
    by_id = {row.get("id"): row for row in rows}
    for row in rows:
        twin = row.get("twin")
        if twin is None:
            continue
        other = by_id.get(twin)
        if other is None or other.get("twin") != row.get("id"):
            problems.append(f"{row.get('id')}: twin {twin} missing or not linked back")
        elif (other.get("kind"), other.get("passage"), other.get("split"), other.get("answers")) != (
            row.get("kind"),
            row.get("passage"),
            row.get("split"),
            row.get("answers"),
        ):
            problems.append(f"{row.get('id')}: twin {twin} differs in kind, passage, split or answers")
        elif other.get("lang") == row.get("lang"):
            problems.append(f"{row.get('id')}: twin {twin} is in the same language")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    corpus_options(parser)
    parser.add_argument("file", nargs="?", type=Path, default=FILE)
    args = parser.parse_args(argv)
    corpus = corpus_of(args)
    problems: list[str] = []
    rows = load_jsonl(args.file, problems)
    for row in rows:
        check_row(row, corpus, problems)
    check_twins(rows, problems)
    ids = Counter(row.get("id") for row in rows)
    problems += [f"id {rid} is used {n} times" for rid, n in ids.items() if n > 1]
    pairs = Counter((row.get("previous"), row.get("message")) for row in rows)
    problems += [f"pair {pair!r} appears {n} times" for pair, n in pairs.items() if n > 1]
    langs = Counter(row.get("lang") for row in rows)
    if len(rows) < MIN_PAIRS or min(langs.get("en", 0), langs.get("ru", 0)) < MIN_PER_LANG:
        problems.append(f"want at least {MIN_PAIRS} pairs and {MIN_PER_LANG} per language (have {dict(langs)})")
    kinds = Counter(row.get("kind") for row in rows)
    splits = Counter(row.get("split") for row in rows)
    print(f"{args.file.name}: {len(rows)} pairs ({dict(langs)}); kinds {dict(kinds)}; splits {dict(splits)}")
    return finish(problems, "OK: every pair and quote checks out" + (" (schema only)" if corpus is None else ""))


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Check the evaluation question sets in eval/ against the corpus.

Standalone, standard library only. Prints every problem found and exits 1 if
there is any (0 when everything passes, 2 when the shared corpus is missing).

    python3 eval/check_questions.py                  # corpus at ../shared/corpus
    python3 eval/check_questions.py --corpus /path/to/shared/corpus
    STEPPE_SHARED_CORPUS=/path python3 eval/check_questions.py

Quote rule (the same one the evaluation harness uses): after collapsing every
run of whitespace to a single space in both the quote and the document, the
quote must be a substring of the document text. For Factbook JSON the document
text is a field's text ("content" in the 2012 edition, every "text" leaf in the
other editions) and the quote must lie inside one piece of it between HTML
tags, so it is unaffected by how tags are stripped. Quotes must be 8-25 words
and contain no markup: no [n] reference markers, no * or _ emphasis, no table
pipes, no HTML tags or entities; each quote must occur exactly once in its
document so that its span is unambiguous.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

EVAL_DIR = Path(__file__).resolve().parent
REPO_ROOT = EVAL_DIR.parent
DEFAULT_SHARED = REPO_ROOT.parent / "shared" / "corpus"
PROJECT_CORPUS = REPO_ROOT / "corpus"

FILES = {
    "questions.jsonl": {"id": r"q\d{3}", "lang": None},
    "questions_en_twins.jsonl": {"id": r"e\d{3}", "lang": "en"},
    "questions_ru.jsonl": {"id": r"r\d{3}", "lang": "ru"},
}
# The chat-register sets (eval/chat_*.jsonl): questions as people type them in a chat. Every row
# carries its frozen "split" (dev or test, see eval/split_chat.py) and its "lang"; a "twin" (a
# question in the other language with the same answers) may live in any chat file. No run of
# three or more words of a question may be copied from its gold passage.
CHAT_GLOB = "chat_*.jsonl"
CHAT_SPEC = {"id": r"c[a-z]\d{3}", "lang": "any", "chat": True}
CHAT_KEYS = {"split", "lang", "twin", "kind"}
SPLITS = ("dev", "test")
COPIED_RUN = 3  # words
MIN_COUNTS = {
    # file: (min answerable, min unanswerable, min total)
    "questions.jsonl": (70, 15, 85),
    "questions_ru.jsonl": (0, 4, 35),
}
SOURCE_TAGS = (
    "seed",
    "factbook",
    "wikipedia-2019",
    "wikipedia-orgs-2025",
    "wikipedia-economy-2025",
    "congressional-record",
)

WS = re.compile(r"\s+")
TAG = re.compile(r"<[^>]*>")
ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);")
MARKUP_CHARS = set("[]*_|<>#`\\{}")
CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def norm(text: str) -> str:
    """Collapse every whitespace run to one space."""
    return WS.sub(" ", text).strip()


def json_leaves(obj):
    """Yield the field texts of a Factbook JSON document (either layout)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in ("text", "content") and isinstance(value, str):
                yield value
            else:
                yield from json_leaves(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from json_leaves(value)


class Corpus:
    """Loads documents lazily and answers 'is this quote in that document'."""

    def __init__(self, shared: Path, project: Path) -> None:
        self.roots = {"shared": shared, "project": project}
        self._cache: dict[tuple[str, str], list[str]] = {}

    def resolve(self, corpus: str, rel: str) -> Path | None:
        root = self.roots.get(corpus)
        if root is None:
            return None
        return root / rel

    def segments(self, corpus: str, rel: str) -> list[str]:
        key = (corpus, rel)
        if key not in self._cache:
            path = self.resolve(corpus, rel)
            raw = path.read_text(encoding="utf-8")
            if path.suffix == ".json":
                segs = []
                for text in json_leaves(json.loads(raw)):
                    segs.extend(norm(piece) for piece in TAG.split(text))
                self._cache[key] = [s for s in segs if s]
            else:
                self._cache[key] = [norm(raw)]
        return self._cache[key]

    def sentence_around(self, corpus: str, rel: str, quote: str) -> str:
        """The quote widened to the sentence(s) holding it: the gold passage a question must not copy."""
        q = norm(quote)
        for seg in self.segments(corpus, rel):
            at = seg.find(q)
            if at >= 0:
                starts = [m.end() for m in re.finditer(r"[.!?]\s", seg[:at])]
                start = starts[-1] if starts else 0
                stop = re.search(r"[.!?](\s|$)", seg[at + len(q) :])
                end = at + len(q) + (stop.end() if stop else len(seg))
                return seg[start:end]
        return q

    def count(self, corpus: str, rel: str, quote: str) -> int:
        """How many times the quote occurs in the document (0 = not found)."""
        q = norm(quote)
        return sum(seg.count(q) for seg in self.segments(corpus, rel))


def load_jsonl(path: Path, problems: list[str]) -> list[dict]:
    rows = []
    if not path.exists():
        problems.append(f"{path.name}: file missing")
        return rows
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            problems.append(f"{path.name}:{n}: blank line")
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path.name}:{n}: invalid JSON ({exc})")
            continue
        if not isinstance(row, dict):
            problems.append(f"{path.name}:{n}: not a JSON object")
            continue
        row["_line"] = n
        rows.append(row)
    return rows


def check_quote(quote: object, where: str, problems: list[str]) -> bool:
    if not isinstance(quote, str) or not quote.strip():
        problems.append(f"{where}: quote missing or empty")
        return False
    ok = True
    words = len(quote.split())
    if not 8 <= words <= 25:
        problems.append(f"{where}: quote has {words} words (want 8-25): {quote!r}")
        ok = False
    if "\n" in quote or "\t" in quote:
        problems.append(f"{where}: quote contains a line break or tab")
        ok = False
    bad = sorted(set(quote) & MARKUP_CHARS)
    if bad:
        problems.append(f"{where}: quote contains markup characters {bad}: {quote!r}")
        ok = False
    if ENTITY.search(quote) or "http" in quote:
        problems.append(f"{where}: quote contains an HTML entity or URL: {quote!r}")
        ok = False
    if quote != quote.strip():
        problems.append(f"{where}: quote has leading/trailing whitespace")
    return ok


def words_of(text: str) -> list[str]:
    """Lower-cased word tokens (letters and digits), for the copied-run rule."""
    return re.findall(r"[^\W_]+", text.lower())


def copied_run(question: str, passage: str, size: int = COPIED_RUN) -> str | None:
    """The first run of ``size`` consecutive words the question shares with the passage, if any."""
    q, p = words_of(question), words_of(passage)
    grams = {tuple(p[i : i + size]) for i in range(len(p) - size + 1)}
    for i in range(len(q) - size + 1):
        if tuple(q[i : i + size]) in grams:
            return " ".join(q[i : i + size])
    return None


def check_file(name: str, rows: list[dict], corpus: Corpus | None, problems: list[str]) -> None:
    spec = FILES.get(name, CHAT_SPEC)
    seen_ids: set[str] = set()
    seen_questions: Counter = Counter()
    for row in rows:
        where = f"{name}:{row['_line']}"
        rid = row.get("id")
        if not isinstance(rid, str) or not re.fullmatch(spec["id"], rid):
            problems.append(f"{where}: bad id {rid!r} (want {spec['id']})")
        elif rid in seen_ids:
            problems.append(f"{where}: duplicate id {rid}")
        else:
            seen_ids.add(rid)
        where = f"{name}:{row['_line']} ({rid})"

        allowed = {"id", "question", "answerable", "answers", "tags", "_line"}
        if spec.get("chat"):
            allowed |= CHAT_KEYS
            if row.get("split") not in SPLITS:
                problems.append(f"{where}: split must be one of {SPLITS} (run eval/split_chat.py)")
            if row.get("lang") not in ("en", "ru"):
                problems.append(f"{where}: lang must be 'en' or 'ru'")
        elif spec["lang"]:
            allowed |= {"lang", "twin"}
        extra = set(row) - allowed
        if extra:
            problems.append(f"{where}: unexpected keys {sorted(extra)}")

        question = row.get("question")
        if not isinstance(question, str) or not question.strip():
            problems.append(f"{where}: question missing or empty")
        else:
            seen_questions[norm(question).lower()] += 1
            lang = row.get("lang") if spec.get("chat") else spec["lang"]
            if lang == "ru" and not CYRILLIC.search(question):
                problems.append(f"{where}: Russian question has no Cyrillic text")
            if lang != "ru" and CYRILLIC.search(question):
                problems.append(f"{where}: English question contains Cyrillic text")

        answerable = row.get("answerable")
        answers = row.get("answers")
        if not isinstance(answerable, bool):
            problems.append(f"{where}: 'answerable' must be true or false")
        if not isinstance(answers, list):
            problems.append(f"{where}: 'answers' must be a list")
            answers = []
        if answerable is True and not answers:
            problems.append(f"{where}: answerable question without answers")
        if answerable is False and answers:
            problems.append(f"{where}: unanswerable question must have answers: []")

        tags = row.get("tags")
        if not isinstance(tags, list) or not tags or not all(isinstance(t, str) and t.strip() for t in tags):
            problems.append(f"{where}: tags must be a non-empty list of strings")

        if spec["lang"] and not spec.get("chat"):
            if row.get("lang") != spec["lang"]:
                problems.append(f"{where}: lang must be {spec['lang']!r}")
            if not isinstance(row.get("twin"), str):
                problems.append(f"{where}: twin id missing")

        seen_docs = set()
        for k, ans in enumerate(answers):
            awhere = f"{where} answer {k}"
            if not isinstance(ans, dict):
                problems.append(f"{awhere}: not an object")
                continue
            extra = set(ans) - {"corpus", "path", "quote"}
            if extra:
                problems.append(f"{awhere}: unexpected keys {sorted(extra)}")
            corp, rel, quote = ans.get("corpus"), ans.get("path"), ans.get("quote")
            if corp not in ("shared", "project"):
                problems.append(f"{awhere}: corpus must be 'shared' or 'project', got {corp!r}")
                continue
            if not isinstance(rel, str) or not rel or rel.startswith("/") or ".." in Path(rel).parts:
                problems.append(f"{awhere}: bad relative path {rel!r}")
                continue
            if (corp, rel) in seen_docs:
                problems.append(f"{awhere}: document listed twice: {rel}")
            seen_docs.add((corp, rel))
            quote_ok = check_quote(quote, awhere, problems)
            if corpus is None:
                continue
            path = corpus.resolve(corp, rel)
            if path is None or not path.is_file():
                problems.append(f"{awhere}: document not found: {corp}:{rel}")
                continue
            if quote_ok:
                hits = corpus.count(corp, rel, quote)
                if hits == 0:
                    problems.append(f"{awhere}: quote not found in {corp}:{rel}: {quote!r}")
                elif hits > 1:
                    problems.append(
                        f"{awhere}: quote occurs {hits} times in {corp}:{rel}, so its span is ambiguous: {quote!r}"
                    )
                elif spec.get("chat") and isinstance(question, str):
                    run = copied_run(question, corpus.sentence_around(corp, rel, quote))
                    if run:
                        problems.append(f"{awhere}: the question copies {run!r} from its gold passage")

    for q, count in seen_questions.items():
        if count > 1:
            problems.append(f"{name}: question appears {count} times: {q!r}")

    if name in MIN_COUNTS:
        min_ans, min_unans, min_total = MIN_COUNTS[name]
        n_ans = sum(1 for r in rows if r.get("answerable") is True)
        n_unans = sum(1 for r in rows if r.get("answerable") is False)
        if n_ans < min_ans:
            problems.append(f"{name}: only {n_ans} answerable questions (want >= {min_ans})")
        if n_unans < min_unans:
            problems.append(f"{name}: only {n_unans} unanswerable questions (want >= {min_unans})")
        if len(rows) < min_total:
            problems.append(f"{name}: only {len(rows)} questions (want >= {min_total})")


def answer_key(row: dict) -> set:
    return {
        (a.get("corpus"), a.get("path"), norm(a.get("quote", "")))
        for a in row.get("answers", [])
        if isinstance(a, dict)
    }


def check_chat_twins(rows: list[dict], problems: list[str]) -> None:
    """A chat question's twin exists in a chat file, is in the other language, points back and shares answers and split."""
    by_id = {r.get("id"): r for r in rows}
    for r in rows:
        if "twin" not in r:
            continue
        twin = by_id.get(r["twin"])
        if twin is None:
            problems.append(f"chat ({r.get('id')}): twin {r['twin']!r} is in no chat file")
            continue
        if twin.get("twin") != r.get("id"):
            problems.append(f"chat ({r.get('id')}): twin {twin.get('id')} points back to {twin.get('twin')!r}")
        if twin.get("lang") == r.get("lang"):
            problems.append(f"chat ({r.get('id')}): twin {twin.get('id')} is in the same language")
        if twin.get("answerable") != r.get("answerable") or answer_key(twin) != answer_key(r):
            problems.append(f"chat ({r.get('id')}): answers differ from twin {twin.get('id')}")
        if twin.get("split") != r.get("split"):
            problems.append(f"chat ({r.get('id')}): twin {twin.get('id')} is in another split")


def check_twins(ru: list[dict], en: list[dict], problems: list[str]) -> None:
    ru_by_id = {r.get("id"): r for r in ru}
    en_by_id = {r.get("id"): r for r in en}
    for r in ru:
        twin = en_by_id.get(r.get("twin"))
        if twin is None:
            problems.append(
                f"questions_ru.jsonl ({r.get('id')}): twin {r.get('twin')!r} not in questions_en_twins.jsonl"
            )
            continue
        if twin.get("twin") != r.get("id"):
            problems.append(
                f"questions_ru.jsonl ({r.get('id')}): twin {twin.get('id')} points back to {twin.get('twin')!r}"
            )
        if twin.get("answerable") != r.get("answerable"):
            problems.append(f"questions_ru.jsonl ({r.get('id')}): answerable differs from twin")
        if answer_key(twin) != answer_key(r):
            problems.append(f"questions_ru.jsonl ({r.get('id')}): answers differ from twin")
    for e in en:
        if e.get("twin") not in ru_by_id:
            problems.append(
                f"questions_en_twins.jsonl ({e.get('id')}): twin {e.get('twin')!r} not in questions_ru.jsonl"
            )


def summary(rows: list[dict]) -> str:
    kinds: Counter = Counter()
    for r in rows:
        if r.get("answerable") is False:
            kinds["unanswerable"] += 1
            continue
        tags = r.get("tags") or []
        for t in SOURCE_TAGS:
            if t in tags:
                kinds[t] += 1
    n_ans = sum(1 for r in rows if r.get("answerable") is True)
    parts = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    return f"{len(rows)} questions ({n_ans} answerable; by source tag: {parts})"


def corpus_options(parser: argparse.ArgumentParser) -> None:
    """--corpus and --schema-only, as every checker here takes them."""
    parser.add_argument(
        "--corpus",
        type=Path,
        default=Path(os.environ.get("STEPPE_SHARED_CORPUS", DEFAULT_SHARED)),
        help="the shared corpus folder (default: ../shared/corpus)",
    )
    parser.add_argument("--schema-only", action="store_true", help="check format only, without reading the corpus")


def corpus_of(args: argparse.Namespace) -> Corpus | None:
    """The corpus to check quotes against (None with --schema-only); exits 2 when it is missing."""
    if args.schema_only:
        return None
    if not args.corpus.is_dir():
        print(f"shared corpus not found at {args.corpus}; pass --corpus or use --schema-only", file=sys.stderr)
        raise SystemExit(2)
    return Corpus(args.corpus, PROJECT_CORPUS)


def finish(problems: list[str], ok: str) -> int:
    """Print the problems and return 1, or print ``ok`` and return 0."""
    if problems:
        print(f"\n{len(problems)} problem(s):")
        for p in problems:
            print(f"  - {p}")
        return 1
    print(ok)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    corpus_options(parser)
    parser.add_argument("files", nargs="*", type=Path, help="chat-register files to check alone (default: every set)")
    args = parser.parse_args(argv)
    corpus = corpus_of(args)

    problems: list[str] = []
    chat_files = args.files or sorted(EVAL_DIR.glob(CHAT_GLOB))
    loaded = {name: load_jsonl(EVAL_DIR / name, problems) for name in ([] if args.files else FILES)}
    loaded |= {Path(path).name: load_jsonl(Path(path), problems) for path in chat_files}
    for name, rows in loaded.items():
        check_file(name, rows, corpus, problems)
    if not args.files:
        check_twins(loaded["questions_ru.jsonl"], loaded["questions_en_twins.jsonl"], problems)
    chat_rows = [row for name, rows in loaded.items() if name not in FILES for row in rows]
    check_chat_twins(chat_rows, problems)
    ids = Counter(row.get("id") for row in chat_rows)
    problems += [f"chat: id {rid} is used {n} times across chat files" for rid, n in ids.items() if n > 1]

    for name, rows in loaded.items():
        print(f"{name}: {summary(rows)}")
    return finish(problems, "OK: all questions and quotes check out" + (" (schema only)" if corpus is None else ""))


if __name__ == "__main__":
    sys.exit(main())

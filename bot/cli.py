"""The `steppe` command line: a thin layer that parses arguments, calls index/ and prints.

Every error a user can cause ends as one clear line on stderr and an exit code
(1 for bad input, 2 for a missing, corrupt or mismatched index or a missing setting),
never a traceback. STEPPE_DEBUG=1 shows tracebacks for unexpected failures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from index.config import Settings, keep_offline, read_environment
from index.errors import UserFacingError


@dataclasses.dataclass(frozen=True)
class Invocation:
    """What every command gets: the environment as read once, and the settings built from it."""

    environ: Mapping[str, str]
    settings: Settings


def _settings(args: argparse.Namespace, context: Invocation) -> Settings:
    """The settings, with ``--index-dir`` (where the command has it) over STEPPE_INDEX_DIR."""
    index_dir = getattr(args, "index_dir", None)
    return dataclasses.replace(context.settings, index_dir=Path(index_dir)) if index_dir else context.settings


def _add_filter_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", action="append", default=[], help="only this source (e.g. factbook)")
    parser.add_argument("--since", help="only documents dated on or after (YYYY[-MM[-DD]])")
    parser.add_argument("--until", help="only documents dated on or before (YYYY[-MM[-DD]])")
    parser.add_argument("--country", action="append", default=[], help="only passages mentioning this country")


def _filters(args: argparse.Namespace):
    from index.filters import make_filters

    return make_filters(args.source, args.since, args.until, args.country)


def cmd_index_build(args: argparse.Namespace, context: Invocation) -> int:
    """Build or update the index."""
    from index.build import build_index

    settings = _settings(args, context)
    summary = build_index(
        settings.index_dir,
        args.corpus or None,
        model=args.model,
        rebuild=args.rebuild,
        batch_size=args.batch_size,
        progress=not args.quiet,
        settings=settings,
        store=args.store,
    )
    print(summary.line())
    return 0


def cmd_index_stats(args: argparse.Namespace, context: Invocation) -> int:
    """Print what the index holds."""
    from bot.render_stats import render_stats_text
    from index.feeds import FeedsFileError, FeedWatcher
    from index.service import Library

    settings = _settings(args, context)
    library = Library.open(settings.index_dir, settings=settings)
    stats = library.stats()
    watcher = FeedWatcher(settings)
    watched = watcher.feeds_file.is_file()
    if args.json:
        from dataclasses import asdict

        report: dict = asdict(stats)
        if watched:
            try:
                report["feeds"] = watcher.status_json()
            except FeedsFileError as exc:
                report["feeds_error"] = str(exc)
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(render_stats_text(stats))
        if watched:
            print(f"\nWatched feeds ({watcher.feeds_file})")
            print("\n".join("  " + line for line in "\n".join(watcher.status()).splitlines()) or "  none")
    return 0


def cmd_ask(args: argparse.Namespace, context: Invocation) -> int:
    """Answer one question, or one per line from stdin with `-`."""
    from bot.render import answer_to_json, render_text
    from index.errors import EmptyQuery
    from index.service import Library

    filters = _filters(args)
    settings = _settings(args, context)
    library = Library.open(settings.index_dir, model=args.model, settings=settings)

    def answer_one(question: str) -> dict | str:
        answer = library.answer(question, k=args.k, mode=args.mode, filters=filters)
        return answer_to_json(answer) if args.json else render_text(answer)

    if args.question == "-":
        for line in sys.stdin:
            question = line.strip()
            if not question:
                continue
            try:
                out = answer_one(question)
            except EmptyQuery as exc:
                out = {"question": question, "answered": False, "results": [], "error": str(exc)}
                out = out if args.json else str(exc)
            print(json.dumps(out, ensure_ascii=False) if args.json else out, flush=True)
        return 0
    out = answer_one(args.question)
    print(json.dumps(out, ensure_ascii=False, indent=None) if args.json else out, flush=True)
    return 0


def cmd_chat(args: argparse.Namespace, context: Invocation) -> int:
    """A terminal chat with the same answers as the bot."""
    from bot.render import render_text
    from index.filters import parse_query
    from index.service import Library

    settings = _settings(args, context)
    library = Library.open(settings.index_dir, settings=settings)
    stats = library.stats()
    print(
        f"steppe: {stats.documents} documents, {stats.chunks} passages about Russia and Central Asia.\n"
        "Ask a question (filters: since:2012 until:2015 country:Tajikistan source:factbook); "
        "an empty line or Ctrl-D quits.\n"
        "Example: Why is Putin visiting Central Asian countries?"
    )
    while True:
        try:
            line = input("\n? ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not line.strip():
            return 0
        try:
            question, filters = parse_query(line)
            print(render_text(library.answer(question, mode=args.mode, filters=filters)))
        except UserFacingError as exc:
            print(str(exc))
        except Exception as exc:  # one bad question never ends the chat
            if settings.debug:
                raise
            print(f"Sorry, something went wrong with that question ({type(exc).__name__}). Please try another.")


def cmd_bot(args: argparse.Namespace, context: Invocation) -> int:
    """Run the Telegram bot (settings from the environment)."""
    from bot.app import main_bot

    return main_bot(context.environ) or 0


def cmd_eval(args: argparse.Namespace, context: Invocation) -> int:
    """Evaluate retrieval on a BEIR folder or on steppe question sets."""
    from index import evaluation, evaluation_sets

    settings = _settings(args, context)
    modes = [args.mode] if args.mode else list(evaluation.DEFAULT_MODES)
    if args.beir:
        report = evaluation.evaluate_beir(
            Path(args.beir),
            modes=modes,
            model=args.model,
            index_dir=Path(args.index_dir) if args.index_dir else None,
            progress=not args.json,
            settings=settings,
            store=args.store,
        )
    elif args.questions:
        report = evaluation_sets.evaluate_questions(
            args.questions,
            settings.index_dir,
            modes=modes,
            split=None if args.split == "all" else args.split,
            settings=settings,
        )
    elif args.followups:
        from index.followup_eval import evaluate_followups, format_followups

        split = args.split or "test"
        splits = ("dev", "test") if split == "all" else (split,)
        report = evaluate_followups(
            Path(args.followups), settings.index_dir, mode=args.mode or "hybrid", splits=splits, settings=settings
        )
        print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else format_followups(report))
        return 0
    else:
        raise UserFacingError("Give --beir DIR, --questions FILE... or --followups FILE.")
    print(json.dumps(report, indent=2, ensure_ascii=False) if args.json else evaluation.format_report(report))
    return 0


def cmd_feedback(args: argparse.Namespace, context: Invocation) -> int:
    """Report how users rated the bot's answers, or export the rated questions."""
    from index import feedback

    store = feedback.open_store(context.settings)
    try:
        votes = store.votes()
    finally:
        store.close()
    if args.export:
        count = feedback.export_questions(votes, Path(args.export))
        print(f"wrote {count} rated questions to {args.export}; add gold passages, then steppe eval --questions")
        return 0
    print(feedback.format_report(feedback.report(votes, context.settings.feedback_days, top=args.top)))
    return 0


def cmd_corpus_add(args: argparse.Namespace, context: Invocation) -> int:
    """Fetch articles from URLs, files or feeds into corpus/ and index them."""
    from index.ingest import add_to_corpus

    settings = _settings(args, context)
    results = add_to_corpus(
        args.items,
        feeds=args.feed,
        corpus_dir=Path(args.corpus_dir) if args.corpus_dir else None,
        index_dir=settings.index_dir,
        force=args.force,
        reindex=not args.no_index,
        settings=settings,
    )
    failures = 0
    for result in results:
        print(result.line())
        failures += not result.ok
    return 1 if failures and failures == len(results) else 0


WATCH_NAP = 60.0  # `corpus watch` looks at the feeds file at least this often (seconds)


def cmd_corpus_watch(args: argparse.Namespace, context: Invocation) -> int:
    """Poll the watched feeds on their schedules (``--once``: one round, then exit)."""
    import time

    from index.feeds import FeedsFileError, FeedWatcher

    settings = _settings(args, context)
    watcher = FeedWatcher(
        settings,
        feeds_file=Path(args.feeds) if args.feeds else None,
        corpus_dir=Path(args.corpus_dir) if args.corpus_dir else None,
    )
    if not watcher.feeds_file.is_file():
        raise FeedsFileError(
            f"No feeds file at {watcher.feeds_file}. Write one with [[feed]] tables (see the README), "
            "or give --feeds FILE."
        )
    while True:
        for line in watcher.poll().lines():
            print(line, flush=True)
        if args.once:
            return 0
        due = watcher.next_due()
        nap = WATCH_NAP if due is None else min(WATCH_NAP, max(1.0, due - time.time()))
        time.sleep(nap)


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    parser = argparse.ArgumentParser(prog="steppe", description="Cited answers about Russia and Central Asia.")
    sub = parser.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="build or inspect the index").add_subparsers(
        dest="index_command", required=True
    )
    build = index.add_parser("build", help="build or update the index incrementally")
    build.add_argument(
        "--corpus", action="append", help="corpus folder (repeatable; builtin:factbook for the Factbook)"
    )
    build.add_argument("--index-dir", help="index folder (default: STEPPE_INDEX_DIR or var/index)")
    build.add_argument("--rebuild", action="store_true", help="start from scratch")
    build.add_argument(
        "--model",
        help="multilingual-e5-small (the default), all-MiniLM-L6-v2, or a sentence-transformers model name or path",
    )
    build.add_argument("--batch-size", type=int, default=16, help="embedding batch size (16 is fastest here)")
    build.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    build.add_argument(
        "--store",
        choices=["local", "qdrant"],
        help="where a new index lives: local files (default) or Qdrant (STEPPE_QDRANT_PATH or STEPPE_QDRANT_URL)",
    )
    build.set_defaults(func=cmd_index_build)
    stats = index.add_parser("stats", help="documents and chunks per source, dates, model, size")
    stats.add_argument("--index-dir")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=cmd_index_stats)

    ask = sub.add_parser("ask", help="answer a question (use - to read one per line from stdin)")
    ask.add_argument("question")
    ask.add_argument("-k", type=int, default=5, help="number of results")
    ask.add_argument("--mode", choices=["dense", "bm25", "hybrid"], default="hybrid")
    ask.add_argument("--json", action="store_true", help="print JSON (one object per line with -)")
    ask.add_argument("--index-dir")
    ask.add_argument("--model", help=argparse.SUPPRESS)
    _add_filter_options(ask)
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", help="ask questions in the terminal")
    chat.add_argument("--index-dir")
    chat.add_argument("--mode", choices=["dense", "bm25", "hybrid"], default="hybrid")
    chat.set_defaults(func=cmd_chat)

    bot = sub.add_parser("bot", help="run the Telegram bot (settings from the environment)")
    bot.set_defaults(func=cmd_bot)

    evaluate = sub.add_parser("eval", help="measure retrieval quality")
    evaluate.add_argument("--beir", help="a BEIR folder: corpus.jsonl, queries.jsonl, qrels/test.tsv")
    evaluate.add_argument(
        "--questions", nargs="+", metavar="FILE", help="steppe question sets (files or globs: 'eval/chat_*.jsonl')"
    )
    evaluate.add_argument("--followups", help="a follow-up question set (eval/followups.jsonl)")
    evaluate.add_argument(
        "--split",
        choices=["dev", "test", "all"],
        help="which frozen split: --questions all by default, --followups test by default",
    )
    evaluate.add_argument("--mode", choices=["dense", "bm25", "hybrid"])
    evaluate.add_argument("--json", action="store_true", help="the report with every question's ranks, as JSON")
    evaluate.add_argument("--index-dir", help="the index to evaluate (with --beir: where to build and reuse it)")
    evaluate.add_argument("--model", help="model for --beir (default: STEPPE_MODEL, else multilingual-e5-small)")
    evaluate.add_argument("--store", choices=["local", "qdrant"], help="where --beir builds its index")
    evaluate.set_defaults(func=cmd_eval)

    rated = sub.add_parser("feedback", help="how users rated answers (👍/👎 under the bot's answers)")
    rated.add_argument("--export", metavar="FILE", help="write the rated questions as a question set")
    rated.add_argument("--top", type=int, default=10, help="how many of the most 👎 questions to show")
    rated.set_defaults(func=cmd_feedback)

    corpus = sub.add_parser("corpus", help="manage corpus/").add_subparsers(dest="corpus_command", required=True)
    add = corpus.add_parser("add", help="add articles from URLs, files or RSS/Atom feeds")
    add.add_argument("items", nargs="*", help="URLs or files")
    add.add_argument("--feed", action="append", default=[], help="an RSS or Atom feed URL (repeatable)")
    add.add_argument("--force", action="store_true", help="add near-duplicates too")
    add.add_argument("--corpus-dir", help="where to save articles (default: the project's corpus/)")
    add.add_argument("--index-dir")
    add.add_argument("--no-index", action="store_true", help="save only, do not update the index")
    add.set_defaults(func=cmd_corpus_add)
    watch = corpus.add_parser("watch", help="poll the watched RSS/Atom feeds and add their new articles")
    watch.add_argument("--feeds", help="the feeds file (default: STEPPE_FEEDS or feeds.toml)")
    watch.add_argument("--once", action="store_true", help="poll the feeds that are due once, then exit")
    watch.add_argument("--corpus-dir", help="where to save articles (default: the project's corpus/)")
    watch.add_argument("--index-dir")
    watch.set_defaults(func=cmd_corpus_watch)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `steppe` console script."""
    args = build_parser().parse_args(argv)
    keep_offline()  # before any command imports a model library: no downloads, no telemetry
    debug = False
    try:
        environ = read_environment()
        context = Invocation(environ, Settings.from_env(environ, env_file=None))
        debug = context.settings.debug
        return int(args.func(args, context) or 0)
    except UserFacingError as exc:
        print(f"steppe: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("steppe: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        from bot.logs import redact  # no secret reaches stderr, not even in a traceback

        if debug:
            import traceback

            print(redact(traceback.format_exc()), file=sys.stderr, end="")
            return 1
        print(
            redact(f"steppe: unexpected error: {type(exc).__name__}: {exc} (set STEPPE_DEBUG=1 for details)"),
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())

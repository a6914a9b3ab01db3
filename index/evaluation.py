"""Retrieval quality: BEIR metrics (nDCG@10, Recall@10/100, MRR@10) and steppe's own question sets.

The metric functions follow trec_eval / pytrec_eval, which BEIR uses: graded gains,
log2(rank + 1) discounts, ideal DCG from the judged relevant documents, and queries
without any relevant document left out of the averages.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from index.config import Settings
from index.errors import UserFacingError
from index.models import Document
from index.store import document_id, open_store

if TYPE_CHECKING:
    from index.models import Hit
    from index.search import Searcher

DEFAULT_MODES = ("dense", "bm25", "hybrid")


# --- metrics -----------------------------------------------------------------------------------


def ndcg_at_k(ranked: Sequence[str], relevance: dict[str, int], k: int = 10) -> float:
    """nDCG@k with graded gains (trec_eval's formula: gain / log2(rank + 1))."""
    dcg = sum(relevance.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:k]))
    ideal = sorted((g for g in relevance.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranked: Sequence[str], relevance: dict[str, int], k: int) -> float:
    """Share of the relevant documents found in the top k."""
    relevant = {doc for doc, g in relevance.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def mrr_at_k(ranked: Sequence[str], relevance: dict[str, int], k: int = 10) -> float:
    """Reciprocal rank of the first relevant document within the top k."""
    for rank, doc in enumerate(ranked[:k], start=1):
        if relevance.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def beir_metrics(run: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """Mean nDCG@10, Recall@10, Recall@100 and MRR@10 over queries with at least one relevant document."""
    judged = [q for q, rel in qrels.items() if any(g > 0 for g in rel.values())]
    if not judged:
        return {"ndcg@10": 0.0, "recall@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0, "queries": 0}
    totals = {"ndcg@10": 0.0, "recall@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    for query in judged:
        ranked, relevance = run.get(query, []), qrels[query]
        totals["ndcg@10"] += ndcg_at_k(ranked, relevance, 10)
        totals["recall@10"] += recall_at_k(ranked, relevance, 10)
        totals["recall@100"] += recall_at_k(ranked, relevance, 100)
        totals["mrr@10"] += mrr_at_k(ranked, relevance, 10)
    return {name: value / len(judged) for name, value in totals.items()} | {"queries": len(judged)}


# --- BEIR ------------------------------------------------------------------------------------------


def _read_jsonl(path: Path) -> Iterable[dict]:
    if not path.is_file():
        raise UserFacingError(f"{path} is missing: a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/test.tsv.")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UserFacingError(f"{path}, line {number}: not valid JSON ({exc.msg}).") from exc


def load_beir(folder: Path, split: str = "test") -> tuple[list[Document], dict[str, str], dict[str, dict[str, int]]]:
    """Documents, queries and qrels of a BEIR-format folder."""
    documents = [
        Document(
            doc_id=document_id("beir", str(record["_id"])),
            title=str(record.get("title") or ""),
            text=str(record.get("text") or ""),
            source="BEIR",
            path=str(record["_id"]),
        )
        for record in _read_jsonl(folder / "corpus.jsonl")
        if str(record.get("text") or record.get("title") or "").strip()
    ]
    queries = {str(r["_id"]): str(r["text"]) for r in _read_jsonl(folder / "queries.jsonl")}
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        raise UserFacingError(f"{qrels_path} is missing.")
    qrels: dict[str, dict[str, int]] = {}
    for line in qrels_path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or not parts[2].strip().lstrip("-").isdigit():
            continue  # header or malformed line
        qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return documents, queries, {q: rel for q, rel in qrels.items() if q in queries}


def rank_documents(searcher: Searcher, query: str, mode: str, depth: int = 100) -> list[str]:
    """Document ids ranked by their best chunk (BEIR scores documents, we retrieve chunks)."""
    from index.errors import EmptyQuery

    try:
        result = searcher.search(query, k=depth * 3, mode=mode, diversify=False)
    except EmptyQuery:
        return []
    ranked: dict[str, None] = {}
    for hit in result.hits:
        ranked.setdefault(hit.doc.path, None)
        if len(ranked) >= depth:
            break
    return list(ranked)


def evaluate_beir(
    folder: Path,
    *,
    modes: Sequence[str] = DEFAULT_MODES,
    model: str | None = None,
    index_dir: Path | None = None,
    progress: bool = True,
    settings: Settings | None = None,
    store: str | None = None,
) -> dict:
    """Index a BEIR folder into a temporary index (in ``store``, local by default) and report the
    metrics for each mode."""
    from index.build import build_index
    from index.search import Searcher

    documents, queries, qrels = load_beir(Path(folder))
    if not documents or not qrels:
        raise UserFacingError(f"{folder} has no documents or no judged queries.")
    with tempfile.TemporaryDirectory(prefix="steppe-beir-") as tmp:
        target = Path(index_dir) if index_dir else Path(tmp) / "index"
        started = time.perf_counter()
        summary = build_index(
            target, [], model=model, documents=documents, progress=progress, settings=settings, store=store
        )
        build_seconds = time.perf_counter() - started
        searcher = Searcher.open(target, model=model, settings=settings)
        report: dict = {
            "dataset": Path(folder).name,
            "documents": len(documents),
            "chunks": summary.chunks,
            "queries": len(qrels),
            "model": searcher.manifest.model,
            "build_seconds": round(build_seconds, 1),
            "modes": {},
        }
        for mode in modes:
            started = time.perf_counter()
            run = {q: rank_documents(searcher, queries[q], mode) for q in qrels}
            metrics = beir_metrics(run, qrels)
            metrics["seconds"] = round(time.perf_counter() - started, 2)
            report["modes"][mode] = metrics
        searcher.close()
        if index_dir is None:
            open_store(target).discard()
    return report


# --- steppe question sets ---------------------------------------------------------------------------


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


def _relevant(hit: Hit, gold: Sequence[GoldSpan]) -> bool:
    for span in gold:
        if span.doc_id is None:
            if hit.doc.path == span.path:
                return True
        elif hit.doc.doc_id == span.doc_id and hit.chunk.start < span.end and span.start < hit.chunk.end:
            return True
    return False


def evaluate_questions(
    path: Path,
    index_dir: Path,
    *,
    modes: Sequence[str] = DEFAULT_MODES,
    k: int = 10,
    settings: Settings | None = None,
) -> dict:
    """Recall@1/@5, MRR@10 and both "not found" error rates for a question set, per mode and language."""
    from index.answer import AnswerPolicy, decide
    from index.search import Searcher

    questions = list(_read_jsonl(Path(path)))
    searcher = Searcher.open(Path(index_dir), settings=settings)
    policy = AnswerPolicy.for_model(searcher.manifest.model)
    gold = {q["id"]: locate_quotes(searcher, q.get("answers", [])) for q in questions if q.get("answerable", True)}
    unmatched = sum(1 for spans in gold.values() for s in spans if s.doc_id is None)
    report: dict = {"questions": len(questions), "unmatched_quotes": unmatched, "model": searcher.manifest.model}
    report["modes"] = {}
    details = []
    for mode in modes:
        by_lang: dict[str, dict[str, float]] = {}
        for question in questions:
            lang = question.get("lang", "en")
            stats = by_lang.setdefault(
                lang, {"answerable": 0, "unanswerable": 0, "r1": 0, "r5": 0, "mrr": 0, "refused": 0, "answered": 0}
            )
            started = time.perf_counter()
            text = question["question"].strip()
            result = searcher.search(text, k=k, mode=mode)
            decision = decide(text, result, policy=policy, mode=mode)
            answered = decision.answered
            elapsed = time.perf_counter() - started
            if question.get("answerable", True):
                stats["answerable"] += 1
                ranks = [i for i, hit in enumerate(result.hits, start=1) if _relevant(hit, gold[question["id"]])]
                first = ranks[0] if ranks else None
                stats["r1"] += first == 1
                stats["r5"] += first is not None and first <= 5
                stats["mrr"] += 1 / first if first else 0
                stats["refused"] += not answered
            else:
                stats["unanswerable"] += 1
                stats["answered"] += answered
            details.append(
                {
                    "id": question["id"],
                    "mode": mode,
                    "lang": lang,
                    "answerable": question.get("answerable", True),
                    "top_dense": round(result.top_dense, 4),
                    "top_bm25": round(result.top_bm25, 3),
                    "best_sentence": round(decision.sentences.best(), 4),
                    "answered": answered,
                    "first_relevant": first if question.get("answerable", True) else None,
                    "ms": round(elapsed * 1000, 1),
                }
            )
        report["modes"][mode] = {lang: _summarise(s) for lang, s in by_lang.items()}
    report["details"] = details
    searcher.close()
    return report


def _summarise(stats: dict[str, float]) -> dict[str, float]:
    n, u = max(1, stats["answerable"]), max(1, stats["unanswerable"])
    return {
        "answerable": int(stats["answerable"]),
        "unanswerable": int(stats["unanswerable"]),
        "recall@1": round(stats["r1"] / n, 3),
        "recall@5": round(stats["r5"] / n, 3),
        "mrr@10": round(stats["mrr"] / n, 3),
        "wrongly_refused": round(stats["refused"] / n, 3),
        "wrongly_answered": round(stats["answered"] / u, 3) if stats["unanswerable"] else None,
    }


def format_report(report: dict) -> str:
    """A Markdown table of a BEIR or question-set report."""
    lines = []
    if "dataset" in report:
        lines.append(
            f"BEIR {report['dataset']}: {report['documents']} documents, {report['chunks']} chunks, "
            f"{report['queries']} queries, model {report['model']}"
        )
        lines += ["", "| mode | nDCG@10 | Recall@10 | Recall@100 | MRR@10 |", "|---|---|---|---|---|"]
        for mode, m in report["modes"].items():
            lines.append(
                f"| {mode} | {m['ndcg@10']:.3f} | {m['recall@10']:.3f} | {m['recall@100']:.3f} | {m['mrr@10']:.3f} |"
            )
        return "\n".join(lines)
    lines.append(
        f"{report['questions']} questions, model {report['model']}"
        + (f", {report['unmatched_quotes']} gold quotes matched by document only" if report["unmatched_quotes"] else "")
    )
    lines += [
        "",
        "| mode | lang | Recall@1 | Recall@5 | MRR@10 | answerable refused | unanswerable answered |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode, langs in report["modes"].items():
        for lang, m in langs.items():
            wrong = "n/a" if m["wrongly_answered"] is None else f"{m['wrongly_answered']:.0%} of {m['unanswerable']}"
            lines.append(
                f"| {mode} | {lang} | {m['recall@1']:.3f} | {m['recall@5']:.3f} | {m['mrr@10']:.3f} | "
                f"{m['wrongly_refused']:.0%} of {m['answerable']} | {wrong} |"
            )
    return "\n".join(lines)

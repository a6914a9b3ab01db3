"""Retrieval quality: BEIR metrics (nDCG@10, Recall@10/100, MRR@10); steppe's own question sets are
in index/evaluation_sets.py.

The metric functions follow trec_eval / pytrec_eval, which BEIR uses: graded gains,
log2(rank + 1) discounts, ideal DCG from the judged relevant documents, and queries
without any relevant document left out of the averages.
"""

from __future__ import annotations

import gzip
import json
import math
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from index.config import Settings
from index.errors import UserFacingError
from index.models import Document
from index.store import document_id, open_store

if TYPE_CHECKING:
    from index.search import Searcher

DEFAULT_MODES = ("dense", "bm25", "hybrid")
BEIR_LAYOUT = "a BEIR folder holds corpus.jsonl (or corpus.jsonl.gz), queries.jsonl and qrels/test.tsv"


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


def read_jsonl(path: Path, what: str = BEIR_LAYOUT) -> Iterable[dict]:
    """The JSON objects of a .jsonl (or .jsonl.gz) file, one per non-empty line."""
    path = Path(path)
    if not path.is_file():
        raise UserFacingError(f"{path} is missing: {what}.")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UserFacingError(f"{path}, line {number}: not valid JSON ({exc.msg}).") from exc


def _corpus_file(folder: Path) -> Path:
    """corpus.jsonl, or its gzipped form when only that exists."""
    plain = folder / "corpus.jsonl"
    packed = folder / "corpus.jsonl.gz"
    return packed if packed.is_file() and not plain.is_file() else plain


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
        for record in read_jsonl(_corpus_file(folder))
        if str(record.get("text") or record.get("title") or "").strip()
    ]
    queries = {str(r["_id"]): str(r["text"]) for r in read_jsonl(folder / "queries.jsonl")}
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
    from index.evaluation_sets import format_questions_report

    return format_questions_report(report)

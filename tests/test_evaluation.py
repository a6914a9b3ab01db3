"""Evaluation metrics against hand-computed values, and the BEIR harness end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bot.cli import main
from index.evaluation import beir_metrics, evaluate_beir, load_beir, mrr_at_k, ndcg_at_k, recall_at_k


def test_ndcg_by_hand() -> None:
    relevance = {"a": 2, "b": 1, "c": 0}
    ranked = ["c", "a", "x", "b"]
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at_k(ranked, relevance, 10) == pytest.approx(dcg / idcg)
    assert ndcg_at_k(["a", "b"], relevance, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["x"], relevance, 10) == 0.0
    assert ndcg_at_k(ranked, relevance, 1) == 0.0


def test_recall_and_mrr_by_hand() -> None:
    relevance = {"a": 1, "b": 1, "c": 1, "d": 0}
    ranked = ["x", "b", "d", "a"]
    assert recall_at_k(ranked, relevance, 2) == pytest.approx(1 / 3)
    assert recall_at_k(ranked, relevance, 10) == pytest.approx(2 / 3)
    assert mrr_at_k(ranked, relevance, 10) == pytest.approx(0.5)
    assert mrr_at_k(ranked, relevance, 1) == 0.0


def test_beir_metrics_skip_queries_without_relevant_documents() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 0}, "q3": {"c": 1}}
    run = {"q1": ["a"], "q3": ["x", "c"]}
    metrics = beir_metrics(run, qrels)
    assert metrics["queries"] == 2
    assert metrics["mrr@10"] == pytest.approx((1 + 0.5) / 2)
    assert metrics["recall@10"] == pytest.approx(1.0)


def write_beir(folder: Path) -> Path:
    docs = {
        "d1": ("Baikonur", "Kazakhstan leases the Baikonur cosmodrome to Russia for space launches."),
        "d2": ("Cotton", "Uzbekistan grows cotton in the irrigated Fergana valley."),
        "d3": ("Border", "Russian border guards left the Tajik border with Afghanistan in 2005."),
        "d4": ("Gas", "Turkmenistan sells natural gas to China through a long pipeline."),
    }
    queries = {"q1": "Who uses the Baikonur cosmodrome?", "q2": "cotton Fergana", "q3": "Tajik Afghan border guards"}
    qrels = [("q1", "d1", 1), ("q2", "d2", 1), ("q3", "d3", 2)]
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        "\n".join(json.dumps({"_id": k, "title": t, "text": x}) for k, (t, x) in docs.items())
    )
    (folder / "queries.jsonl").write_text("\n".join(json.dumps({"_id": k, "text": v}) for k, v in queries.items()))
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "\n".join(f"{q}\t{d}\t{s}" for q, d, s in qrels)
    )
    return folder


def test_evaluate_beir_end_to_end(tmp_path: Path) -> None:
    folder = write_beir(tmp_path / "tiny-beir")
    documents, queries, qrels = load_beir(folder)
    assert len(documents) == 4 and len(queries) == 3 and qrels["q3"] == {"d3": 2}
    report = evaluate_beir(folder, model="hash-64", progress=False)
    assert report["documents"] == 4 and report["queries"] == 3
    for mode in ("dense", "bm25", "hybrid"):
        assert report["modes"][mode]["ndcg@10"] == pytest.approx(1.0), mode
        assert report["modes"][mode]["recall@100"] == pytest.approx(1.0)


def test_eval_cli_reports_json_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_beir(tmp_path / "b")
    assert main(["eval", "--beir", str(folder), "--mode", "bm25", "--json", "--model", "hash-64"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["modes"]["bm25"]) >= {"ndcg@10", "recall@10", "recall@100", "mrr@10"}
    assert main(["eval", "--beir", str(tmp_path / "missing")]) == 1
    assert "corpus.jsonl" in capsys.readouterr().err

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


# --- steppe question sets ----------------------------------------------------------------------------


def write_questions(folder: Path) -> Path:
    rows = [
        {
            "id": "ca001",
            "split": "dev",
            "lang": "en",
            "question": "Does Russia keep soldiers near Dushanbe?",
            "answerable": True,
            "answers": [
                {
                    "corpus": "project",
                    "path": "dushanbe-base.md",
                    "quote": "Russia keeps its 201st military base in Tajikistan",
                }
            ],
        },
        {
            "id": "ca002",
            "split": "dev",
            "lang": "en",
            "question": "How does Kazakhstan export crude oil?",
            "answerable": True,
            "answers": [
                {"corpus": "project", "path": "kazakh-oil.md", "quote": "through the Caspian Pipeline Consortium"}
            ],
        },
        {
            "id": "ca003",
            "split": "dev",
            "lang": "en",
            "question": "Best shashlik recipe?",
            "answerable": False,
            "answers": [],
        },
        {
            "id": "ca004",
            "split": "test",
            "lang": "en",
            "question": "Uzbek cotton harvest",
            "answerable": True,
            "answers": [
                {"corpus": "project", "path": "uzbek-cotton.md", "quote": "one of the largest cotton exporters"}
            ],
        },
    ]
    path = folder / "chat_tiny.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return path


def test_question_sets_report_raw_ranked_and_shown_recall_per_split(tiny_corpus: Path, tmp_path: Path) -> None:
    from index.build import build_index
    from index.evaluation_sets import evaluate_questions, load_questions

    index_dir = tmp_path / "index"
    build_index(index_dir, [str(tiny_corpus)], model="hash-64", progress=False)
    path = write_questions(tmp_path)
    assert [q["id"] for q in load_questions([str(tmp_path / "chat_*.jsonl")], "test")] == ["ca004"]
    report = evaluate_questions([path], index_dir, modes=["bm25"], split="dev")
    assert report["questions"] == 3 and report["split"] == "dev" and report["unmatched_quotes"] == 0
    summary = report["modes"]["bm25"]["en"]
    assert summary["answerable"] == 2 and summary["unanswerable"] == 1
    assert summary["raw"]["recall@1"] == 1.0 and summary["ranked"]["recall@1"] == 1.0
    # What is shown never beats what was ranked, and a refused answerable question is a miss.
    rows = {r["id"]: r for r in report["details"]}
    for row in (rows["ca001"], rows["ca002"]):
        assert row["raw"] == 1 and (row["shown"] == 1) == row["answered"]
    assert summary["shown"]["recall@5"] == 1.0 - summary["answerable_refused"]
    assert summary["unanswerable_answered"] == float(rows["ca003"]["answered"])


def test_eval_cli_takes_several_question_files_and_a_split(
    tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from index.build import build_index

    index_dir = tmp_path / "index"
    build_index(index_dir, [str(tiny_corpus)], model="hash-64", progress=False)
    write_questions(tmp_path)
    other = tmp_path / "chat_more.jsonl"
    other.write_text(
        json.dumps(
            {"id": "cb001", "split": "dev", "lang": "ru", "question": "Где хлопок?", "answerable": False, "answers": []}
        ),
        encoding="utf-8",
    )
    pattern = str(tmp_path / "chat_*.jsonl")
    assert (
        main(["eval", "--questions", pattern, "--split", "dev", "--index-dir", str(index_dir), "--mode", "dense"]) == 0
    )
    table = capsys.readouterr().out
    assert "4 questions, split dev" in table and "| dense | ru |" in table and "| dense | all |" in table
    assert main(["eval", "--questions", str(tmp_path / "nothing_*.jsonl"), "--index-dir", str(index_dir)]) == 1
    assert "No question file matches" in capsys.readouterr().err
    dup = tmp_path / "dup.jsonl"
    dup.write_text(other.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["eval", "--questions", str(other), str(dup), "--index-dir", str(index_dir)]) == 1
    assert "appears twice" in capsys.readouterr().err


def test_beir_corpus_may_be_gzipped(tmp_path: Path) -> None:
    import gzip

    folder = write_beir(tmp_path / "gz")
    plain = folder / "corpus.jsonl"
    with gzip.open(folder / "corpus.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write(plain.read_text())
    plain.unlink()
    documents, _, _ = load_beir(folder)
    assert len(documents) == 4

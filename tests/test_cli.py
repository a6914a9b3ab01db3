"""The `steppe` command line end to end, with the real bundled model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, SEED

from bot.cli import main

SEED_QUESTION = "Why is Putin visiting Central Asian countries?"
SUBSET = ["wikipedia-orgs-2025/collective_security_treaty_organization.md", "wikipedia-2019/Central_Asia.md"]


@pytest.fixture(scope="module")
def real_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """corpus/ plus a subset of ../shared/corpus, indexed with the real default model (multilingual-e5-small)."""
    shared = ROOT.parent / "shared" / "corpus"
    if not shared.is_dir():
        pytest.skip("../shared/corpus is not present")
    base = tmp_path_factory.mktemp("cli")
    subset = base / "subset"
    for relative in SUBSET:
        target = subset / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(shared / relative, target)
        provenance = shared / relative.split("/")[0] / "PROVENANCE.md"
        shutil.copy(provenance, target.parent / "PROVENANCE.md")
    index_dir = base / "index"
    code = main(
        ["index", "build", "--corpus", str(SEED.parent), "--corpus", str(subset), "--index-dir", str(index_dir), "-q"]
    )
    assert code == 0
    return index_dir


def test_ask_json_ranks_the_seed_first(real_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--json", SEED_QUESTION, "--index-dir", str(real_index)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["question"] == SEED_QUESTION and out["answered"] is True
    first = out["results"][0]
    assert set(first) == {
        *("rank", "score", "doc_id", "title", "source", "date", "url", "path", "text", "start", "end"),
        *("excerpt", "highlights", "shown", "also"),
    }
    assert first["rank"] == 1 and first["path"] == SEED.name and first["shown"] is True
    assert first["title"] == "Russia “cements” relations with Central Asian states"
    assert (first["source"], first["date"]) == ("Trend", "2012-10-10")
    seed_body = SEED.read_text(encoding="utf-8")
    assert first["text"] in seed_body
    # The excerpt is what the bot shows; highlights are document offsets, like start and end.
    assert first["excerpt"] in first["text"] and first["highlights"]
    marked = []
    for start, end in first["highlights"]:
        assert first["start"] <= start < end <= first["end"]
        marked.append(first["text"][start - first["start"] : end - first["start"]])  # text is document[start:end]
        assert marked[-1] in first["excerpt"] and marked[-1] == marked[-1].strip()


def test_ask_json_ranks_results_of_a_refusal_too(real_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Clients judge retrieval and refusal apart: k ranked results even when the answer is "not found"."""
    question = "What is a good recipe for Neapolitan pizza dough?"
    assert main(["ask", "--json", question, "-k", "4", "--index-dir", str(real_index)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["answered"] is False
    assert [r["rank"] for r in out["results"]] == [1, 2, 3, 4]
    assert not any(r["shown"] for r in out["results"]) and all(r["excerpt"] for r in out["results"])


def test_ask_text_and_modes(real_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for mode in ("dense", "bm25", "hybrid"):
        assert main(["ask", "CSTO military alliance members", "--mode", mode, "--index-dir", str(real_index)]) == 0
        out = capsys.readouterr().out
        assert "Collective Security Treaty Organization" in out and "[1]" in out


def test_ask_refuses_unrelated_question(real_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--json", "How do I bake sourdough bread at home?", "--index-dir", str(real_index)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["answered"] is False and not any(r["shown"] for r in out["results"])  # ranked, none shown


def test_stats(real_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", "stats", "--index-dir", str(real_index)]) == 0
    out = capsys.readouterr().out
    assert "Trend" in out and "Wikipedia" in out and "multilingual-e5-small" in out


def test_ask_stdin_answers_each_line_as_it_arrives(real_index: Path) -> None:
    env = dict(os.environ, STEPPE_INDEX_DIR=str(real_index))
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "ask", "--json", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert process.stdin and process.stdout
        process.stdin.write(SEED_QUESTION + "\n")
        process.stdin.flush()
        first = json.loads(process.stdout.readline())  # answered before stdin is closed
        assert first["results"][0]["path"] == SEED.name
        process.stdin.write("\n!!!\nWho are the members of the CSTO?\n")
        process.stdin.close()
        rest = [json.loads(line) for line in process.stdout]
        assert [r["question"] for r in rest] == ["!!!", "Who are the members of the CSTO?"]
        assert rest[0]["answered"] is False
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()


def test_errors_are_clear_with_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "anything", "--index-dir", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "No index found" in err and "steppe index build" in err and "Traceback" not in err


def test_corrupt_index_through_cli(real_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(real_index, broken)
    generation = broken / (broken / "CURRENT").read_text().strip()
    (generation / "index.faiss").write_bytes(b"\0" * 100)
    assert main(["ask", "CSTO", "--index-dir", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "index.faiss" in err and "--rebuild" in err and "Traceback" not in err


def test_bad_filter_is_a_clear_error(real_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "CSTO", "--since", "last year", "--index-dir", str(real_index)]) == 1
    assert "since takes a year" in capsys.readouterr().err


def test_eval_followups(real_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csto = "wikipedia-orgs-2025/collective_security_treaty_organization.md"
    quote = "In January 2022, the CSTO deployed 2,000 of its peacekeepers to Kazakhstan to quell the local unrest"
    bases = {"corpus": "shared", "path": "wikipedia-2019/Central_Asia.md",
             "quote": "Russia still maintains military bases in Kyrgyzstan and Tajikistan"}  # fmt: skip
    pairs = [
        {"id": "fe001", "lang": "en", "previous": "Did the CSTO send troops into Kazakhstan in January 2022?",
         "message": "how many?", "kind": "ask", "expected": "How many troops did the CSTO send into Kazakhstan in January 2022?",
         "passage": None, "answers": [{"corpus": "shared", "path": csto, "quote": quote}], "split": "test"},
        {"id": "fe002", "lang": "en", "previous": "Who heads the CSTO?",
         "message": "In which Central Asian countries does Russia keep military bases?", "kind": "none",
         "expected": "In which Central Asian countries does Russia keep military bases?", "passage": None,
         "answers": [bases], "split": "test"},
        {"id": "fe003", "lang": "en", "previous": "Who heads the CSTO?", "message": "more about 3", "kind": "more",
         "expected": "Who heads the CSTO?", "passage": 2, "answers": [], "split": "test"},
        {"id": "fe004", "lang": "en", "previous": "Who heads the CSTO?", "message": "and the CIS?", "kind": "replace",
         "expected": "Who heads the CIS?", "passage": None, "answers": [bases], "split": "dev"},
    ]  # fmt: skip
    path = tmp_path / "followups.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in pairs), encoding="utf-8")
    assert main(["eval", "--followups", str(path), "--index-dir", str(real_index), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["splits"] == ["test"] and [d["id"] for d in report["details"]] == ["fe001", "fe002", "fe003"]
    details = {d["id"]: d for d in report["details"]}
    assert details["fe001"]["read_correctly"] and details["fe001"]["reading"].endswith("in January 2022?")
    assert details["fe002"]["read_correctly"] and details["fe002"]["reading"] is None and details["fe002"]["as_read"]
    assert not details["fe003"]["read_correctly"]  # passage 3 was asked for, 2 expected
    summary = report["summary"]["all"]
    assert summary["pairs"] == 3 and summary["read_correctly"] == round(2 / 3, 3) and summary["with_gold"] == 2
    assert main(["eval", "--followups", str(path), "--split", "all", "--index-dir", str(real_index)]) == 0
    table = capsys.readouterr().out
    assert "| all | 4 |" in table and "Read wrongly: fe003" in table
    path.write_text('{"id": "x", "split": "test"}\n', encoding="utf-8")
    assert main(["eval", "--followups", str(path), "--index-dir", str(real_index)]) == 1
    assert "needs previous, message, kind and expected" in capsys.readouterr().err

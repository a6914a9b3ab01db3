"""The Qdrant store on the real engines: the embedded one (qdrant-edge-py) and qdrant-client's local
mode standing in for a server. Build, incremental update, filters, the three search modes, the
alias switch, a killed build, a missing or damaged store, and the bot answering from it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("qdrant_edge")
pytest.importorskip("qdrant_client")

from botkit import ALICE, TOKEN, BotRunner, ask, reply_to, settings_for, visible
from fakebotapi import FakeBotAPI

from index.build import build_index
from index.errors import IndexCorrupt, IndexNotFound, UserFacingError
from index.models import Filters
from index.search import Searcher
from index.service import Library
from index.store import open_store
from index.store import qdrant as qdrant_store
from index.store.qdrant import MANIFEST_ID, STORE_FILE, QdrantStore, point_id
from index.store.qdrant_engines import ClientEngine

QUESTION = "Why does Russia keep a military base near Dushanbe?"


class SharedClient(ClientEngine):
    """qdrant-client's local mode allows one client per folder: every store of a test shares it."""

    def close(self) -> None:
        """Kept open for the other users in the test; closed by the fixture."""


@pytest.fixture(params=["edge", "client"])
def engine_kind(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each test runs on the embedded engine and on qdrant-client (local mode for a server)."""
    if request.param == "edge":
        monkeypatch.setenv("STEPPE_QDRANT_PATH", str(tmp_path / "qdrant"))
        yield "edge"
        return
    clients: dict[str, SharedClient] = {}

    def connect(collection: str, settings: Any) -> SharedClient:
        if collection not in clients:
            clients[collection] = SharedClient(collection, path=tmp_path / "qdrant-server")
        return clients[collection]

    monkeypatch.setenv("STEPPE_QDRANT_URL", "http://127.0.0.1:1")  # never reached: connect is replaced
    monkeypatch.setattr(qdrant_store, "connect_engine", connect)
    yield "client"
    for client in clients.values():
        ClientEngine.close(client)


def build(index_dir: Path, corpus: Path, **kw: Any):
    return build_index(
        index_dir, [str(corpus)], model="hash-64", progress=False, log=lambda m: None, store="qdrant", **kw
    )


def top_doc(searcher: Searcher, question: str, mode: str = "hybrid", filters: Filters | None = None) -> str:
    return searcher.search(question, k=3, mode=mode, filters=filters).hits[0].doc.doc_id


def test_build_writes_the_store_record_and_every_mode_finds_the_passage(
    engine_kind: str, tmp_path: Path, tiny_corpus: Path
) -> None:
    index_dir = tmp_path / "idx"
    summary = build(index_dir, tiny_corpus)
    assert (summary.documents, summary.added) == (3, 3) and summary.chunks >= 3
    record = json.loads((index_dir / STORE_FILE).read_text())
    assert record["store"] == "qdrant" and record["collection"].startswith("steppe-idx-")
    assert isinstance(open_store(index_dir), QdrantStore)  # later commands follow the record unasked

    searcher = Searcher.open(index_dir)
    try:
        assert searcher.manifest.documents == 3 and searcher.manifest.model == "hash-64"
        for mode in ("dense", "bm25", "hybrid"):
            assert top_doc(searcher, QUESTION, mode).endswith("dushanbe-base.md"), mode
        assert top_doc(searcher, "Caspian pipeline crude oil").endswith("kazakh-oil.md")
        assert top_doc(searcher, "хлопок cotton harvest", "bm25").endswith("uzbek-cotton.md")
        hit = searcher.search(QUESTION, k=1).hits[0]
        text = searcher.store.document_text(hit.doc.doc_id)
        assert text[hit.chunk.start : hit.chunk.end] == hit.chunk.text
        assert [c.chunk_id for c in searcher.store.neighbours(hit.chunk.chunk_id)] == [hit.chunk.chunk_id]
        stats = searcher.store.stats()
        assert (stats.documents, {s.source for s in stats.sources}) == (3, {"Example News", "Other Wire"})
    finally:
        searcher.close()


def test_dense_ranking_matches_the_local_store(engine_kind: str, tmp_path: Path, tiny_corpus: Path) -> None:
    build(tmp_path / "q", tiny_corpus)
    build_index(tmp_path / "l", [str(tiny_corpus)], model="hash-64", progress=False, log=lambda m: None)
    remote, local = Searcher.open(tmp_path / "q"), Searcher.open(tmp_path / "l")
    try:
        for question in (QUESTION, "oil revenue budget", "seasonal labour in Uzbekistan"):
            ours = remote.search(question, k=5, mode="dense").hits
            theirs = local.search(question, k=5, mode="dense").hits
            assert [(h.doc.doc_id, h.chunk.seq) for h in ours] == [(h.doc.doc_id, h.chunk.seq) for h in theirs]
            # float16 sentence vectors round a little differently in each store
            assert [h.score for h in ours] == pytest.approx([h.score for h in theirs], abs=1e-3)
    finally:
        remote.close(), local.close()


def test_filters_are_payload_conditions(engine_kind: str, tmp_path: Path, tiny_corpus: Path) -> None:
    build(tmp_path / "idx", tiny_corpus)
    searcher = Searcher.open(tmp_path / "idx")
    try:
        assert top_doc(searcher, QUESTION, filters=Filters(sources=("other",))).endswith("uzbek-cotton.md")
        assert top_doc(searcher, QUESTION, filters=Filters(since="2014")).endswith("uzbek-cotton.md")
        assert top_doc(searcher, QUESTION, filters=Filters(until="2012")).endswith("kazakh-oil.md")
        hits = searcher.search(QUESTION, k=5, filters=Filters(countries=("Kazakhstan",))).hits
        assert {h.doc.doc_id.rsplit("/", 1)[-1] for h in hits} == {"kazakh-oil.md"}
        assert searcher.search(QUESTION, k=5, filters=Filters(sources=("nobody",))).hits == []
        # A source named in the question: its passages join the candidates through the same filter.
        named = searcher.search("What did Other Wire write about the base near Dushanbe?", k=3)
        assert named.named_sources == {"Other Wire"} and named.hits[0].doc.doc_id.endswith("uzbek-cotton.md")
    finally:
        searcher.close()


def test_incremental_build_embeds_only_changes_and_switches_the_alias(
    engine_kind: str, tmp_path: Path, tiny_corpus: Path
) -> None:
    index_dir = tmp_path / "idx"
    build(index_dir, tiny_corpus)
    store = open_store(index_dir)
    first = store.published()
    kept = {f.id for f in store.engine.scroll(first, {"kind": "chunk"}, payload=False)}
    assert build(index_dir, tiny_corpus).up_to_date

    (tiny_corpus / "uzbek-cotton.md").unlink()
    text = (tiny_corpus / "kazakh-oil.md").read_text().replace("Black Sea", "Black Sea port of Novorossiysk")
    (tiny_corpus / "kazakh-oil.md").write_text(text)
    summary = build(index_dir, tiny_corpus)
    assert (summary.added, summary.changed, summary.removed, summary.documents) == (0, 1, 1, 2)
    assert summary.embedded == 1  # the changed article's one passage; the Dushanbe one was copied, not embedded
    second = store.published()
    assert second != first
    now = {f.id for f in store.engine.scroll(second, {"kind": "chunk"}, payload=False)}
    assert len(kept & now) == 1  # ids come from content: the untouched Dushanbe passage kept its id
    searcher = Searcher.open(index_dir)
    try:
        assert searcher.store.name == second
        assert top_doc(searcher, "Novorossiysk", "bm25").endswith("kazakh-oil.md")
        assert all(not d.endswith("uzbek-cotton.md") for d in searcher.store.documents)
    finally:
        searcher.close()
    build(index_dir, tiny_corpus, rebuild=True)
    assert not store.engine.exists(first)  # only the live and the previous generation are kept


def test_a_killed_build_leaves_the_alias_on_the_old_collection(
    engine_kind: str, tmp_path: Path, tiny_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_dir = tmp_path / "idx"
    build(index_dir, tiny_corpus)
    store = open_store(index_dir)
    live = store.published()
    (tiny_corpus / "new.md").write_text("---\ntitle: New\nsource: Example News\n---\n\nA new article about Bishkek.\n")

    def killed(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(qdrant_store.QdrantWriter, "publish", killed)
        build(index_dir, tiny_corpus)
    assert store.published() == live
    searcher = Searcher.open(index_dir)
    try:
        assert searcher.manifest.documents == 3 and top_doc(searcher, QUESTION).endswith("dushanbe-base.md")
    finally:
        searcher.close()


def test_missing_or_damaged_stores_are_explained(
    engine_kind: str, tmp_path: Path, tiny_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_dir = tmp_path / "idx"
    with pytest.raises(IndexNotFound, match="steppe index build --store qdrant"):
        QdrantStore(index_dir).open()
    build(index_dir, tiny_corpus)
    store = open_store(index_dir)
    live = store.published()
    # a document point lost: the reader sees the count disagree with the manifest
    doc_point = point_id(f"doc:{next(iter(store.stored_hashes()))}")
    store.engine.delete(live, [doc_point])
    store.engine.flush(live)
    with pytest.raises(IndexCorrupt, match="incomplete"):
        Searcher.open(index_dir)
    store.engine.delete(live, [MANIFEST_ID])
    with pytest.raises(IndexCorrupt, match="manifest"):
        Searcher.open(index_dir)
    (index_dir / STORE_FILE).write_text("{not json")
    with pytest.raises(IndexCorrupt, match=r"store\.json"):
        open_store(index_dir)
    (index_dir / STORE_FILE).write_text(json.dumps({"store": "qdrant", "collection": "steppe-idx"}))
    with pytest.raises(UserFacingError, match="lives in Qdrant"):
        open_store(index_dir, "local")


def test_without_a_qdrant_location_the_message_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_dir = tmp_path / "idx"
    index_dir.mkdir()
    (index_dir / STORE_FILE).write_text(json.dumps({"store": "qdrant", "collection": "steppe-idx"}))
    monkeypatch.delenv("STEPPE_QDRANT_PATH", raising=False)
    monkeypatch.delenv("STEPPE_QDRANT_URL", raising=False)
    with pytest.raises(UserFacingError, match="STEPPE_QDRANT_PATH"):
        Searcher.open(index_dir)


def test_the_bot_answers_from_a_qdrant_index(
    tmp_path: Path, tiny_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEPPE_QDRANT_PATH", str(tmp_path / "qdrant"))
    index_dir = tmp_path / "idx"
    build(index_dir, tiny_corpus)
    library = Library.open(index_dir)
    with FakeBotAPI(TOKEN) as api:
        runner = BotRunner(settings_for(api), library).start()
        try:
            text = visible(reply_to(api, ask(api, QUESTION, ALICE)))
        finally:
            runner.stop()
    assert "201st military base" in text and "Russia's military base in Tajikistan" in text


def test_a_throwaway_beir_index_leaves_nothing_behind(engine_kind: str, tmp_path: Path) -> None:
    from index.evaluation import evaluate_beir

    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    docs = {
        "d1": "The 201st base is in Tajikistan.",
        "d2": "Cotton is harvested in Uzbekistan.",
        "d3": "Oil flows west.",
    }
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": k, "title": "", "text": v}) + "\n" for k, v in docs.items())
    )
    (folder / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "base in Tajikistan"}) + "\n")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    report = evaluate_beir(folder, model="hash-64", progress=False, store="qdrant")
    assert report["modes"]["hybrid"]["ndcg@10"] == 1.0
    if engine_kind == "edge":
        assert not any((tmp_path / "qdrant").iterdir())


def test_the_stores_benchmark_writes_both_stores_through_the_store_interface(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bench.stores as stores

    monkeypatch.setattr(stores, "QUICK_SIZES", (300,))
    monkeypatch.setattr(stores, "QUERIES", 20)
    result = stores.run(quick=True)
    assert [(r["store"], r["chunks"]) for r in result["rows"]] == [("local", 300), ("qdrant", 300)]
    assert all(r["peak_rss"] > 0 and r["dense"]["n"] == 15 for r in result["rows"])
    assert "| qdrant | 300 |" in stores.table(result)

"""The pure pieces of search, each on its own: fusion, the year rule, diversification; and the
interfaces a second store or a stand-in library must honour."""

from __future__ import annotations

import inspect

import pytest
from fakelib import FakeLibrary, Recorder

from index.models import Chunk, DocInfo
from index.search.diversify import diversify
from index.search.fusion import DENSE_WEIGHT, fuse, fusion_weight
from index.search.rules import YEAR_BOOST, prefer_years, years_in
from index.service import AnswerService, Library
from index.store import Store, StoreReader, StoreWriter
from index.store.local import LocalReader, LocalStore, LocalWriter
from index.store.qdrant import QdrantReader, QdrantStore, QdrantWriter

# --- fusion ----------------------------------------------------------------------------------------


def test_fuse_normalises_each_signal_and_weighs_them() -> None:
    dense = {1: 0.9, 2: 0.5, 3: 0.7}
    bm25 = {2: 10.0, 4: 5.0}
    fused = fuse(dense, bm25, alpha=0.6)
    # dense min-max over the union (4 counts as 0), BM25 divided by its best
    assert fused[1] == pytest.approx(0.6 * 1.0 + 0.4 * 0.0)
    assert fused[2] == pytest.approx(0.6 * (0.5 / 0.9) + 0.4 * 1.0)
    assert fused[3] == pytest.approx(0.6 * (0.7 / 0.9))
    assert fused[4] == pytest.approx(0.4 * 0.5)
    assert fuse({}, {}, 0.5) == {}
    assert fuse({1: 0.3, 2: 0.3}, {}, 0.5) == {1: 0.0, 2: 0.0}  # no spread, no BM25: nothing to prefer
    assert fuse(dense, bm25, alpha=1.0)[1] == pytest.approx(1.0) and fuse(dense, bm25, alpha=0.0)[2] == 1.0


def test_fusion_weights_by_model_and_language() -> None:
    assert fusion_weight("all-MiniLM-L6-v2", "en", False) == DENSE_WEIGHT == 0.6
    assert fusion_weight("all-MiniLM-L6-v2", "ru", False) == 0.5
    assert fusion_weight("multilingual", "en") == 0.7 and fusion_weight("multilingual", "kk") == 0.8
    assert fusion_weight("some/other-model", "ru", True) == 0.8
    assert fusion_weight("some/other-model", "ru", False) == 0.5


# --- the year rule ---------------------------------------------------------------------------------


def doc(doc_id: str, date: str | None = None, edition: str | None = None) -> DocInfo:
    return DocInfo(doc_id=doc_id, title=doc_id, source="Src", path=f"{doc_id}.md", date=date, edition=edition)


def test_years_named_in_a_question() -> None:
    assert years_in("What did the 2015 Factbook say, and what happened in 1991 or 2049?") == {"2015", "1991", "2049"}
    assert years_in("Population 12345 in 1949 and 2050") == set()


def test_a_named_year_lifts_documents_of_that_year_or_edition() -> None:
    scored = {1: 0.8, 2: 0.6, 3: 0.5, 4: 0.4}
    docs = {1: doc("a", date="2010-05-01"), 2: doc("b", date="2012-10-10"), 3: doc("fb", edition="2012"), 4: None}
    lifted = prefer_years(scored, "What happened in 2012?", docs)
    assert lifted == {1: 0.8, 2: 0.6 + YEAR_BOOST * 0.8, 3: 0.5 + YEAR_BOOST * 0.8, 4: 0.4}
    factbook = prefer_years(scored, "What does the 2012 Factbook say?", docs)
    assert factbook == {1: 0.8, 2: 0.6, 3: 0.5 + YEAR_BOOST * 0.8, 4: 0.4}  # only the edition
    assert prefer_years(scored, "What happened?", docs) is scored
    assert prefer_years({}, "in 2012", docs) == {}


# --- diversification -------------------------------------------------------------------------------


def chunk(chunk_id: int, doc_id: str, start: int, end: int) -> Chunk:
    return Chunk(chunk_id=chunk_id, doc_id=doc_id, seq=chunk_id, start=start, end=end, text="x" * (end - start))


def test_diversify_drops_overlaps_and_caps_one_document_in_the_top_five() -> None:
    chunks = {
        1: chunk(1, "long", 0, 100),
        2: chunk(2, "long", 90, 200),  # overlaps 1
        3: chunk(3, "long", 200, 300),
        4: chunk(4, "long", 300, 400),  # a third of "long": held back while the top five fills
        5: chunk(5, "short", 0, 50),
        6: chunk(6, "other", 0, 50),
    }
    ranked = [(1, 0.9), (2, 0.8), (3, 0.7), (4, 0.6), (5, 0.5), (6, 0.4), (7, 0.3)]  # 7 is not stored
    assert [c.chunk_id for c, _ in diversify(ranked, chunks, k=3)] == [1, 3, 5]
    assert [c.chunk_id for c, _ in diversify(ranked, chunks, k=5)] == [
        1,
        3,
        5,
        6,
        4,
    ]  # filled when nothing else is left
    assert [score for _, score in diversify(ranked, chunks, k=2)] == [0.9, 0.7]
    assert diversify([], {}, k=5) == []


# --- interfaces ------------------------------------------------------------------------------------


def members(protocol: type) -> dict[str, inspect.Signature | None]:
    """Public methods (with signatures) and properties a protocol asks for."""
    found: dict[str, inspect.Signature | None] = {}
    for name, value in vars(protocol).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            found[name] = None
        elif callable(value):
            found[name] = inspect.signature(value)
    return found


@pytest.mark.parametrize(
    ("implementation", "protocol"),
    [
        (LocalStore, Store),
        (LocalReader, StoreReader),
        (LocalWriter, StoreWriter),
        (QdrantStore, Store),
        (QdrantReader, StoreReader),
        (QdrantWriter, StoreWriter),
        (Library, AnswerService),
        (FakeLibrary, AnswerService),
        (Recorder, AnswerService),
    ],
)
def test_implementations_offer_what_their_interface_promises(implementation: type, protocol: type) -> None:
    for name, signature in members(protocol).items():
        assert hasattr(implementation, name) or name in getattr(implementation, "__dataclass_fields__", {}), name
        if signature is None:
            continue
        offered = inspect.signature(getattr(implementation, name))
        assert list(offered.parameters)[: len(signature.parameters)] == list(signature.parameters), name

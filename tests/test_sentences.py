"""Sentence vectors stored at build time: what the store keeps, the best-sentence signal in search,
answers that run the model on nothing but the question, and highlights that fit the question."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from index.answer import AnswerPolicy, make_excerpts, score_sentences
from index.build import build_index
from index.chunking import sentence_spans
from index.embedding import DEFAULT_BATCH_SIZE, HashEmbedder
from index.models import Chunk, DocInfo, Hit, ScoredSentences
from index.question_kinds import DATE, NAME, NUMBER, PLACE, REASON, gives, question_kind
from index.search import Searcher, SearchResult, with_best_sentence
from index.service import Library


class CountingEmbedder(HashEmbedder):
    """The test model, counting what it is asked to encode."""

    def __init__(self) -> None:
        super().__init__(dim=64, max_tokens=128)
        self.documents: list[str] = []
        self.queries: list[str] = []

    def encode_documents(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        self.documents.extend(texts)
        return super().encode_documents(texts, batch_size)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.queries.extend(texts)
        return super().encode_queries(texts)


def build(index_dir: Path, corpus: Path, embedder: HashEmbedder):
    return build_index(index_dir, [str(corpus)], embedder=embedder, progress=False, log=lambda m: None)


def test_store_keeps_every_chunks_sentences_as_the_splitter_cuts_them(
    tmp_path: Path, tiny_corpus: Path, hash_embedder: HashEmbedder
) -> None:
    summary = build(tmp_path / "index", tiny_corpus, hash_embedder)
    searcher = Searcher.open(tmp_path / "index", embedder=hash_embedder)
    store = searcher.store
    question = searcher.encode_query("Russian troops at the base near Dushanbe")
    ids = list(range(1, summary.chunks + 1))
    chunks = store.chunks(ids)
    scored = store.sentence_scores(question, ids)
    assert set(scored) == set(chunks) and len(chunks) == summary.chunks
    total = 0
    for chunk_id, chunk in chunks.items():
        spans = sentence_spans(chunk.text) or [(0, len(chunk.text))]
        assert scored[chunk_id].spans.tolist() == [list(span) for span in spans]
        expected = hash_embedder.encode_documents([chunk.text[a:b] for a, b in spans]) @ question
        np.testing.assert_allclose(scored[chunk_id].scores, expected, atol=2e-3)  # float16 storage
        total += len(spans)
    # Overlapping chunks share a sentence, which is embedded once.
    assert summary.sentences_embedded == len({chunks[i].text[a:b] for i in chunks for a, b in scored[i].spans})
    assert summary.sentences_embedded <= total
    assert store.sentence_scores(question, [10_000]) == {}


def test_a_changed_document_embeds_only_its_new_sentences(tmp_path: Path, tiny_corpus: Path) -> None:
    embedder = CountingEmbedder()
    build(tmp_path / "index", tiny_corpus, embedder)
    cotton = tiny_corpus / "uzbek-cotton.md"
    cotton.write_text(cotton.read_text().replace("seasonal labour", "machines bought from Russia"))
    embedder.documents.clear()
    changed = build(tmp_path / "index", tiny_corpus, embedder)
    assert changed.embedded == 1
    new = [text for text in embedder.documents if "machines bought from Russia" in text]
    assert len(new) == 2  # the chunk (with its title) and the one rewritten sentence
    assert len(embedder.documents) == 1 + changed.sentences_embedded
    searcher = Searcher.open(tmp_path / "index", embedder=embedder)
    hit = searcher.search("machines bought from Russia", k=1).hits[0]
    sentences = searcher.store.sentence_scores(searcher.encode_query("machines"), [hit.chunk.chunk_id])
    assert any("machines" in hit.chunk.text[a:b] for a, b in sentences[hit.chunk.chunk_id].spans)


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_an_answer_runs_the_model_on_the_question_only(tmp_path: Path, tiny_corpus: Path, mode: str) -> None:
    embedder = CountingEmbedder()
    build(tmp_path / "index", tiny_corpus, embedder)
    library = Library.open(tmp_path / "index", embedder=embedder)
    embedder.documents.clear()
    answer = library.answer("How many Russian troops are at the base near Dushanbe?", k=3, mode=mode)
    assert embedder.documents == []  # no sentence is encoded at question time
    assert embedder.queries == ["How many Russian troops are at the base near Dushanbe?"]
    assert answer.answered and answer.ranked and all(e.highlights for e in answer.ranked)
    for excerpt in answer.ranked:  # document offsets, the frame of Chunk.start/end
        text = library.searcher.store.document_text(excerpt.hit.doc.doc_id)
        assert text[excerpt.start : excerpt.start + len(excerpt.text)] == excerpt.text
        for start, end in excerpt.document_highlights():
            assert excerpt.hit.chunk.start <= start < end <= excerpt.hit.chunk.end
            assert text[start:end].strip() == text[start:end] and text[start:end] in excerpt.text


def test_best_sentence_blends_into_the_dense_score() -> None:
    sentences = {1: scored([(0, 5), (6, 9)], [0.2, 0.9]), 2: scored([(0, 4)], [0.1])}
    blended = with_best_sentence({1: 0.5, 2: 0.6, 3: 0.4}, sentences, weight=0.3)
    assert blended == pytest.approx({1: 0.7 * 0.5 + 0.3 * 0.9, 2: 0.7 * 0.6 + 0.3 * 0.1, 3: 0.4})
    assert with_best_sentence({1: 0.5}, sentences, weight=0.0) == {1: 0.5}


def test_one_answering_sentence_lifts_its_passage(tmp_path: Path) -> None:
    """A passage about other things holding the one sentence that answers beats a passage that
    shares the question's words only thinly spread, once the best sentence counts."""
    embedder = HashEmbedder(dim=1024)  # wide: no word shares a bucket with another here
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "long.md").write_text(
        "---\ntitle: Relations\n---\n\n"
        "Pipelines carry gas north. Rail freight grew in spring. Cotton harvests fell. "
        "Students travel for university. Banks opened branches. Wheat prices rose sharply. "
        "The Baikonur cosmodrome lease treaty runs until 2050.\n"
    )
    (corpus / "spread.md").write_text(
        "---\ntitle: Overview\n---\n\n"
        "Treaty talks dragged. Lease terms vary. Baikonur is famous. Cosmodrome visits resumed. "
        "Nobody knows when. Trains run daily. The end.\n"
    )
    build(tmp_path / "index", corpus, embedder)
    searcher = Searcher.open(tmp_path / "index", embedder=embedder)
    question = "Until when does the Baikonur cosmodrome lease treaty run?"
    chunk_only = searcher.search(question, k=2, mode="dense", sentence_weight=0.0).hits
    with_sentences = searcher.search(question, k=2, mode="dense").hits
    assert [h.doc.title for h in chunk_only] == ["Overview", "Relations"]
    assert [h.doc.title for h in with_sentences] == ["Relations", "Overview"]


# --- the kind of answer a question asks for --------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Why did Putin visit Kyrgyzstan, Tajikistan and Kazakhstan?", REASON),
        ("what was the reason for the Kremlin's push into central asia", REASON),
        ("Почему Россия держит базу в Таджикистане?", REASON),
        ("Зачем Путин ездил в Душанбе?", REASON),
        ("When was Uzbekistan suspended from the CSTO?", DATE),
        ("in what year did kazakhstan join the eurasian union", DATE),
        ("Когда Узбекистан вышел из ОДКБ?", DATE),
        ("В каком году открылся Байконур?", DATE),
        ("How many Russian troops are in Tajikistan?", NUMBER),
        ("how much gas does Turkmenistan sell to china", NUMBER),
        ("Сколько российских военных в Таджикистане?", NUMBER),
        ("Who leads Kyrgyzstan?", NAME),
        ("Кто возглавляет Киргизию?", NAME),
        ("where did the turkic council hold its 1st summit", PLACE),
        ("Где проходил первый саммит?", PLACE),
        ("geok tepe 1881 death toll", NUMBER),
        ("What does Kazakhstan export to China?", None),
        ("Что экспортирует Казахстан?", None),
    ],
)
def test_question_kinds_in_english_and_russian(question: str, kind: str | None) -> None:
    assert question_kind(question) == kind


def test_sentences_that_give_each_kind_of_answer() -> None:
    assert gives(REASON, "He went because Moscow wants a Eurasian Union.")
    assert gives(REASON, "Россия держит базу, чтобы защищать границу.")
    assert not gives(REASON, "Putin made a number of visits to the region.")
    assert gives(DATE, "In December 2012, the council suspended Uzbekistan.")
    assert gives(DATE, "Это произошло в декабре.")
    assert not gives(DATE, "The council suspended Uzbekistan.")
    assert gives(NUMBER, "About 7,000 Russian troops are based there.")
    assert gives(NUMBER, "Several thousand soldiers serve there.")
    assert not gives(NUMBER, "Russian troops are based there.")
    assert gives(NAME, "The country is led by Sadyr Japarov.", "Who leads Kyrgyzstan?")
    assert gives(NAME, "Страну возглавляет Садыр Жапаров.", "Кто возглавляет Киргизию?")
    assert not gives(NAME, "the country is led by a president elected in a landslide.")
    assert not gives(NAME, "Trade with Central Asia grew.", "Who trades with Central Asia?")
    assert gives(PLACE, "The first summit took place in Almaty.", "Where was the first summit?")
    assert gives(PLACE, "Саммит прошёл в Алматы.", "Где прошёл саммит?")
    assert not gives(PLACE, "The summit in Almaty was short.", "Where in Almaty was the summit?")
    assert not gives(None, "Anything at all, because of 2012 and 7,000 people.")


def scored(spans: Sequence[tuple[int, int]], scores: Sequence[float]) -> ScoredSentences:
    return ScoredSentences(np.array(spans, dtype=np.int64).reshape(-1, 2), np.array(scores, dtype=np.float32))


def hit_of(text: str) -> Hit:
    chunk = Chunk(chunk_id=1, doc_id="d", seq=0, start=100, end=100 + len(text), text=text)
    return Hit(chunk=chunk, doc=DocInfo("d", "T", "S", "p.md"), score=1.0, rank=1)


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Why did Putin visit Central Asia?", "Putin went to Central Asia because he wants a customs union."),
        ("When did Putin visit Central Asia?", "Putin went to Central Asia in October 2012, on a tour."),
        ("How many visits did Putin make to Central Asia?", "Putin went to Central Asia on 3 separate visits."),
        ("Who went with Putin to Central Asia?", "Putin went to Central Asia with Sergei Lavrov, on a tour."),
        ("Where did Putin stop in Central Asia?", "Putin went to Central Asia, stopping in Dushanbe."),
    ],
)
def test_the_highlight_gives_the_kind_of_answer_asked_for(question: str, answer: str) -> None:
    """Two sentences equally close to the question: the one answering its kind is highlighted."""
    filler = "Unrelated words fill this sentence. " * 3
    plain = "Putin made a tour of Central Asia, on the road."
    text = f"{filler}{plain} {filler}{answer} {filler}".strip()
    spans = sentence_spans(text)
    marked = [i for i, (a, b) in enumerate(spans) if text[a:b] in (plain, answer)]
    semantic = [0.6 if i in marked else 0.1 for i in range(len(spans))]
    hit = hit_of(text)
    result = SearchResult([hit], 0.6, 0.0, 3, {1: 0.6}, sentences={1: scored(spans, semantic)})
    policy = AnswerPolicy(threshold=0.5, max_excerpt_chars=120)
    (excerpt,) = make_excerpts(question, [hit], score_sentences([hit], result), {"d": 1000}, policy)
    highlighted = [excerpt.text[a:b] for a, b in excerpt.highlights]
    assert highlighted == [answer]
    neutral = "What about Putin and Central Asia?"
    (excerpt,) = make_excerpts(neutral, [hit], score_sentences([hit], result), {"d": 1000}, policy)
    assert next(excerpt.text[a:b] for a, b in excerpt.highlights) == plain  # no kind: the first of equals


def test_a_why_question_also_highlights_the_reason_when_the_closest_sentence_gives_none() -> None:
    """The issue's example: the closest sentence says Putin visited, a later one says why."""
    text = (
        "Putin made a number of visits to Kyrgyzstan, Tajikistan and Kazakhstan this year. "
        "The sides signed agreements. "
        "The first reason of the visits is that he wants a Eurasian Union."
    )
    spans = sentence_spans(text)
    hit = hit_of(text)
    result = SearchResult([hit], 0.8, 0.0, 4, {1: 0.8}, sentences={1: scored(spans, [0.8, 0.3, 0.6])})
    policy = AnswerPolicy(threshold=0.5)
    question = "Why did Putin visit Kyrgyzstan, Tajikistan and Kazakhstan?"
    (excerpt,) = make_excerpts(question, [hit], score_sentences([hit], result), {"d": 1000}, policy)
    assert [excerpt.text[a:b] for a, b in excerpt.highlights] == [text[a:b] for a, b in (spans[0], spans[2])]
    # Not for a question that asks for no particular kind of answer, nor for a far weaker reason.
    (excerpt,) = make_excerpts("Did Putin visit Kazakhstan?", [hit], score_sentences([hit], result), {}, policy)
    assert [excerpt.text[a:b] for a, b in excerpt.highlights] == [text[a:b] for a, b in spans[:1]]
    weak = SearchResult([hit], 0.8, 0.0, 4, {1: 0.8}, sentences={1: scored(spans, [0.9, 0.3, 0.2])})
    (excerpt,) = make_excerpts(question, [hit], score_sentences([hit], weak), {}, policy)
    assert [excerpt.text[a:b] for a, b in excerpt.highlights] == [text[a:b] for a, b in spans[:1]]


def test_e5_highlights_weigh_similarity_over_the_kind_of_answer() -> None:
    """multilingual-e5-small's similarities crowd near 0.85, so MiniLM's bonuses would let a far
    less similar sentence that merely sounds like a reason take the highlight."""
    closest = "The new deal makes it worthwhile for Russia to upgrade the four army camps it occupies."
    reason_cue = "Russia seeks to secure gas export deals from Turkmenistan."
    filler = "Unrelated words fill this sentence. " * 2
    text = f"{closest} {filler}{filler}{filler}{reason_cue}".strip()
    spans = sentence_spans(text)
    semantic = [0.88 if text[a:b] == closest else 0.80 if text[a:b] == reason_cue else 0.7 for a, b in spans]
    hit = hit_of(text)
    result = SearchResult([hit], 0.88, 0.0, 4, {1: 0.88}, sentences={1: scored(spans, semantic)})
    question = "Why does Russia keep a base in Tajikistan?"
    e5 = replace(AnswerPolicy.for_model("multilingual-e5-small"), max_excerpt_chars=150)
    (excerpt,) = make_excerpts(question, [hit], score_sentences([hit], result), {"d": 1000}, e5)
    assert [excerpt.text[a:b] for a, b in excerpt.highlights] == [closest]
    minilm = replace(AnswerPolicy.for_model("all-MiniLM-L6-v2"), max_excerpt_chars=150)
    (excerpt,) = make_excerpts(question, [hit], score_sentences([hit], result), {"d": 1000}, minilm)
    assert [excerpt.text[a:b] for a, b in excerpt.highlights] == [reason_cue]  # MiniLM's scale: the bonus wins

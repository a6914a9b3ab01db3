"""The index: chunking, building, incremental updates, search and broken-index errors."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.build import build_index
from index.chunking import ChunkSettings, chunk_text, sentence_spans
from index.embedding import HashEmbedder, SentenceTransformerEmbedder
from index.errors import EmptyQuery, IndexCorrupt, IndexNotFound, ModelMismatch
from index.models import Filters
from index.search import Searcher, query_terms
from index.store import current_generation
from index.store.local import fts_query


@pytest.fixture(scope="module")
def minilm_tokenizer() -> SentenceTransformerEmbedder:
    """The bundled model's tokenizer only (the model itself loads lazily and is not needed here)."""
    return SentenceTransformerEmbedder()


def build(index_dir: Path, corpus: Path, embedder: HashEmbedder, **kw):
    kw.setdefault("log", lambda m: None)
    return build_index(index_dir, [str(corpus)], embedder=embedder, progress=False, **kw)


# --- chunking ------------------------------------------------------------------------------


def test_sentence_spans_handle_abbreviations_and_numbers() -> None:
    text = "Putin arrived on Oct. 10 in the U.S. capital. Growth was 9.6% in 2007. Mr. Pannier agreed."
    sentences = [text[a:b] for a, b in sentence_spans(text)]
    assert sentences == [
        "Putin arrived on Oct. 10 in the U.S. capital.",
        "Growth was 9.6% in 2007.",
        "Mr. Pannier agreed.",
    ]


sentence = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=300).map(
    lambda s: s.replace("\x00", "")
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.one_of(sentence, st.just("Oct. 10 the U.S. said."), st.just("\n\n")), max_size=30))
def test_chunks_fit_the_model_limit_and_cover_every_sentence(
    minilm_tokenizer: SentenceTransformerEmbedder, parts: list[str]
) -> None:
    text = " ".join(parts)
    title = "Russia “cements” relations with Central Asian states"
    spans = chunk_text(text, minilm_tokenizer, ChunkSettings(target_tokens=120), title=title)
    prefix = f"{title}\n"
    for span in spans:
        chunk = text[span.start : span.end]
        assert chunk == text[span.start : span.end] and chunk.strip() == chunk
        full = minilm_tokenizer.count_tokens([prefix + chunk])[0] + minilm_tokenizer.overhead_tokens()
        assert full <= minilm_tokenizer.max_tokens
    for a, b in sentence_spans(text):  # every sentence (or every piece of an over-long one) is in a chunk
        assert any(s.start <= a < s.end or a <= s.start < b for s in spans)


def test_seed_chunks_respect_limit_with_overlap(minilm_tokenizer: SentenceTransformerEmbedder) -> None:
    text = Path(__file__).resolve().parents[1].joinpath("corpus/000_6deba38a01d7e54b.txt").read_text()
    spans = chunk_text(text, minilm_tokenizer, ChunkSettings(target_tokens=100, overlap_sentences=1))
    assert len(spans) >= 3
    pairs = list(itertools.pairwise(spans))
    assert any(b.start < a.end for a, b in pairs), "consecutive chunks share one sentence"
    assert all(a.start < b.start and a.end < b.end for a, b in pairs), "chunks move forward"


# --- building and searching ----------------------------------------------------------------


def test_build_search_and_no_change_rebuild(tmp_path: Path, tiny_corpus: Path, hash_embedder: HashEmbedder) -> None:
    index_dir = tmp_path / "index"
    first = build(index_dir, tiny_corpus, hash_embedder)
    assert (first.documents, first.embedded) == (3, first.chunks)
    again = build(index_dir, tiny_corpus, hash_embedder)
    assert again.up_to_date and again.embedded == 0 and again.chunks == first.chunks

    searcher = Searcher.open(index_dir, embedder=hash_embedder)
    for mode in ("dense", "bm25", "hybrid"):
        hits = searcher.search("military base near Dushanbe", k=3, mode=mode).hits
        assert hits[0].doc.title == "Russia's military base in Tajikistan", mode
        assert hits[0].chunk.text in searcher.store.document_text(hits[0].doc.doc_id)
        assert hits[0].doc.path == "dushanbe-base.md" and hits[0].doc.date == "2013-05-02"


def test_incremental_add_modify_delete(tmp_path: Path, tiny_corpus: Path, hash_embedder: HashEmbedder) -> None:
    index_dir = tmp_path / "index"
    base = build(index_dir, tiny_corpus, hash_embedder)

    (tiny_corpus / "kyrgyz-remittances.md").write_text(
        "---\ntitle: Remittances to Kyrgyzstan\nsource: Example News\n---\n\n"
        "Migrant workers in Russia send remittances home to Kyrgyzstan.\n"
    )
    added = build(index_dir, tiny_corpus, hash_embedder)
    assert (added.added, added.changed, added.removed) == (1, 0, 0)
    assert added.embedded == added.chunks - base.chunks

    cotton = tiny_corpus / "uzbek-cotton.md"
    cotton.write_text(cotton.read_text().replace("seasonal labour", "machines bought from Russia"))
    changed = build(index_dir, tiny_corpus, hash_embedder)
    assert (changed.added, changed.changed, changed.removed) == (0, 1, 0)
    assert changed.embedded == 1  # only the one rewritten chunk

    (tiny_corpus / "kazakh-oil.md").unlink()
    removed = build(index_dir, tiny_corpus, hash_embedder)
    assert removed.removed == 1 and removed.embedded == 0

    searcher = Searcher.open(index_dir, embedder=hash_embedder)
    titles = {h.doc.title for h in searcher.search("oil pipeline remittances machines", k=10).hits}
    assert "Kazakhstan's oil exports" not in titles
    assert {"Remittances to Kyrgyzstan", "Cotton in Uzbekistan"} <= titles
    top = searcher.search("machines bought from Russia", k=1, mode="bm25").hits[0]
    assert "machines bought from Russia" in top.chunk.text


def test_faiss_matches_brute_force(tmp_path: Path, tiny_corpus: Path, hash_embedder: HashEmbedder) -> None:
    build(tiny_corpus.parent / "idx", tiny_corpus, hash_embedder)
    searcher = Searcher.open(tiny_corpus.parent / "idx", embedder=hash_embedder)
    q = searcher.encode_query("oil exports Russia border")
    ranked = searcher.store.dense(q, 10)
    ids = np.array(sorted(i for i, _ in ranked))
    brute = {int(i): float(s) for i, s in zip(ids, searcher.store.dense_scores(q, ids), strict=True)}
    for chunk_id, score in ranked:
        assert score == pytest.approx(brute[chunk_id], abs=1e-5)


def test_filters_and_fts_metacharacters(tmp_path: Path, tiny_corpus: Path, hash_embedder: HashEmbedder) -> None:
    build(tmp_path / "index", tiny_corpus, hash_embedder)
    searcher = Searcher.open(tmp_path / "index", embedder=hash_embedder)
    only_other = searcher.search("exports", k=5, filters=Filters(sources=("other",))).hits
    assert {h.doc.source for h in only_other} == {"Other Wire"}
    recent = searcher.search("exports", k=5, filters=Filters(since="2014")).hits
    assert all(h.doc.date >= "2014" for h in recent) and recent
    early = searcher.search("exports", k=5, filters=Filters(until="2012")).hits
    assert {h.doc.title for h in early} == {"Kazakhstan's oil exports"}
    tajik = searcher.search("border", k=5, filters=Filters(countries=("Tajikistan",))).hits
    assert tajik and all("Tajikistan" in h.doc.title or "Dushanbe" in h.chunk.text for h in tajik)
    for hostile in ['"unbalanced', "oil*", "-border", "title:oil", "(a OR b", "NEAR(oil base)", "AND OR NOT", "^x"]:
        for mode in ("bm25", "hybrid"):
            searcher.search(hostile + " oil", k=3, mode=mode)  # never raises
    with pytest.raises(EmptyQuery):
        searcher.search("?? !!", mode="bm25")
    assert fts_query(['a"b']) == '"a""b"'
    assert query_terms("What is the capital of Tajikistan?") == ["capital", "tajikistan"]


def test_diversity_no_overlap_and_two_per_document(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    long = " ".join(f"Sentence {i} about the Tajik border and Russian guards." for i in range(60))
    (corpus / "long.md").write_text(f"---\ntitle: Long\n---\n\n{long}\n")
    (corpus / "short.md").write_text("---\ntitle: Short\n---\n\nThe Tajik border has Russian guards.\n")
    build(tmp_path / "index", corpus, hash_embedder)
    hits = Searcher.open(tmp_path / "index", embedder=hash_embedder).search("Tajik border Russian guards", k=5).hits
    top5_docs = [h.doc.title for h in hits[:5]]
    assert "Short" in top5_docs
    by_doc = {}
    for h in hits:
        for other in by_doc.get(h.doc.doc_id, []):
            assert h.chunk.end <= other.start or other.end <= h.chunk.start, "passages overlap"
        by_doc.setdefault(h.doc.doc_id, []).append(h.chunk)
    assert top5_docs[:3].count("Long") <= 2


# --- broken indexes --------------------------------------------------------------------------


def test_missing_index(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    with pytest.raises(IndexNotFound, match="steppe index build"):
        Searcher.open(tmp_path / "nothing", embedder=hash_embedder)


@pytest.mark.parametrize(
    "damage", ["truncate-faiss", "garbage-sqlite", "delete-faiss", "bad-manifest", "delete-sentences", "bad-sentences"]
)
def test_corrupt_index_names_the_file(
    tmp_path: Path, tiny_corpus: Path, hash_embedder: HashEmbedder, damage: str
) -> None:
    build(tmp_path / "index", tiny_corpus, hash_embedder)
    generation = current_generation(tmp_path / "index")
    target = {
        "truncate-faiss": "index.faiss",
        "garbage-sqlite": "store.sqlite",
        "delete-faiss": "index.faiss",
        "delete-sentences": "sentences.npy",
        "bad-sentences": "sentence_spans.npy",
    }
    if damage == "truncate-faiss":
        data = (generation / "index.faiss").read_bytes()
        (generation / "index.faiss").write_bytes(data[: len(data) // 2])
    elif damage == "garbage-sqlite":
        size = (generation / "store.sqlite").stat().st_size
        (generation / "store.sqlite").write_bytes(b"not a database" * (size // 14) + b"x" * (size % 14))
    elif damage == "delete-faiss":
        (generation / "index.faiss").unlink()
    elif damage == "delete-sentences":
        (generation / "sentences.npy").unlink()
    elif damage == "bad-sentences":  # the same size, but not a NumPy file any more
        path = generation / "sentence_spans.npy"
        path.write_bytes(b"x" * path.stat().st_size)
    else:
        (generation / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorrupt) as info:
        Searcher.open(tmp_path / "index", embedder=hash_embedder)
    assert target.get(damage, "manifest.json") in str(info.value)
    assert "steppe index build --rebuild" in str(info.value)


def test_model_mismatch(tmp_path: Path, tiny_corpus: Path, hash_embedder: HashEmbedder) -> None:
    build(tmp_path / "index", tiny_corpus, hash_embedder)
    with pytest.raises(ModelMismatch, match="hash-64"):
        Searcher.open(tmp_path / "index", embedder=HashEmbedder(dim=32))
    manifest = current_generation(tmp_path / "index") / "manifest.json"
    data = json.loads(manifest.read_text())
    data["schema_version"] = 999
    manifest.write_text(json.dumps(data))
    with pytest.raises(ModelMismatch, match=r"format version 999.*steppe index build --rebuild"):
        Searcher.open(tmp_path / "index", embedder=hash_embedder)


def test_old_format_index_is_rebuilt_from_scratch(
    tmp_path: Path, tiny_corpus: Path, hash_embedder: HashEmbedder
) -> None:
    """An index from before sentence vectors (format 1) is rebuilt whole by a plain build, and says so."""
    first = build(tmp_path / "index", tiny_corpus, hash_embedder)
    manifest = current_generation(tmp_path / "index") / "manifest.json"
    manifest.write_text(json.dumps(json.loads(manifest.read_text()) | {"schema_version": 1}))
    messages: list[str] = []
    again = build(tmp_path / "index", tiny_corpus, hash_embedder, log=messages.append)
    assert any("format version 1" in m and "rebuilding from scratch" in m for m in messages)
    assert not again.up_to_date and again.embedded == first.embedded and again.reused == 0
    Searcher.open(tmp_path / "index", embedder=hash_embedder).search("oil exports")


def test_failed_build_keeps_previous_index(
    tmp_path: Path, tiny_corpus: Path, hash_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import index.store.local as local_store

    index_dir = tmp_path / "index"
    build(index_dir, tiny_corpus, hash_embedder)
    before = current_generation(index_dir)
    (tiny_corpus / "new.md").write_text("---\ntitle: New\n---\n\nA new article about Turkmen gas.\n")

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(local_store, "write_generation_files", disk_full)
    from index.errors import UserFacingError

    with pytest.raises(UserFacingError, match="disk is full"):
        build(index_dir, tiny_corpus, hash_embedder)
    assert current_generation(index_dir) == before
    assert not list(index_dir.glob(".tmp-gen-*"))
    assert Searcher.open(index_dir, embedder=hash_embedder).search("oil", k=1).hits
    monkeypatch.undo()
    recovered = build(index_dir, tiny_corpus, hash_embedder)
    assert recovered.added == 1


def test_steppe_model_switches_an_existing_index(
    tmp_path: Path, tiny_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """STEPPE_MODEL set means that model: `make run` with it must not keep the old one."""
    from index.build import build_index
    from index.service import Library

    index_dir = tmp_path / "index"
    build_index(index_dir, [str(tiny_corpus)], model="hash-64", progress=False, log=lambda message: None)
    monkeypatch.setenv("STEPPE_MODEL", "hash-32")
    messages: list[str] = []
    summary = build_index(index_dir, None, progress=False, log=messages.append)
    assert any("model changed from hash-64 to hash-32" in message for message in messages)
    assert summary.embedded > 0
    assert Library.open(index_dir, model="hash-32").searcher.manifest.model == "hash-32"
    monkeypatch.delenv("STEPPE_MODEL")
    again = build_index(index_dir, None, progress=False, log=messages.append)  # unset: the index's own model
    assert again.embedded == 0
    assert Library.open(index_dir).searcher.manifest.model == "hash-32"


def test_hybrid_scores_do_not_depend_on_the_bm25_pool_depth(
    tmp_path: Path, tiny_corpus: Path, hash_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One deep BM25 query (the default) ranks exactly like a shallow one plus a second query."""
    import index.search.searcher

    build(tmp_path / "index", tiny_corpus, hash_embedder)
    searcher = Searcher.open(tmp_path / "index", embedder=hash_embedder)
    questions = ["Russian base near Dushanbe", "oil pipeline Black Sea", "cotton exporters harvest labour", "border"]
    deep = {q: [(h.chunk.chunk_id, round(h.score, 9)) for h in searcher.search(q, k=3).hits] for q in questions}
    monkeypatch.setattr(index.search.searcher, "BM25_POOL", 1)
    shallow = {q: [(h.chunk.chunk_id, round(h.score, 9)) for h in searcher.search(q, k=3).hits] for q in questions}
    assert deep == shallow and all(deep.values())


def test_a_year_no_top_passage_mentions_means_not_found() -> None:
    """Near-domain questions about events after the corpus are refused, whatever their similarity."""
    from index.answer import years_covered
    from index.models import Chunk, DocInfo, Hit

    def hit(text: str, date: str | None = None, edition: str | None = None, title: str = "Article") -> Hit:
        chunk = Chunk(chunk_id=1, doc_id="d", seq=0, start=0, end=len(text), text=text)
        return Hit(chunk=chunk, doc=DocInfo("d", title, "Src", "a.md", date=date, edition=edition), score=1.0)

    base = hit("Putin signed agreements with Tokayev in Astana.")
    assert years_covered("What did Putin and Tokayev sign?", [base])  # no year named: not this rule's call
    assert not years_covered("What did Putin and Tokayev sign in November 2024?", [base])
    assert years_covered("What did Putin sign in 2024?", [base, hit("In 2024 the two presidents met.")])
    assert years_covered("Why did Putin visit in 2012?", [hit("Putin visited.", date="2012-10-10")])
    assert years_covered("What does the 2015 Factbook say?", [hit("Kazakh oil.", edition="2015")])
    assert years_covered("Events of 2013 or 2014?", [hit("In 2014 it joined.")])  # any named year will do


def test_a_figure_of_a_named_year_must_be_stated_for_that_year() -> None:
    """ "Kumtor gold output in 2024" answered with an article's figures of other years is not found."""
    from index.answer import SentenceScores, figure_of_the_year
    from index.models import Chunk, DocInfo, Hit

    def resting_on(text: str, date: str | None = None, edition: str | None = None) -> tuple[list[Hit], SentenceScores]:
        chunk = Chunk(chunk_id=1, doc_id="d", seq=0, start=0, end=len(text), text=text)
        hit = Hit(chunk=chunk, doc=DocInfo("d", "Economy", "Src", "a.md", date=date, edition=edition), score=1.0)
        return [hit], SentenceScores(spans=[[(0, len(text))]], semantic=[[0.9]])

    question = "kumtor gold output in 2024 in tonnes"
    assert not figure_of_the_year(question, *resting_on("Kumtor produced 18 tonnes of gold in 2019.", "2025-08"))
    assert figure_of_the_year(question, *resting_on("In 2024 Kumtor produced 18 tonnes of gold."))
    assert figure_of_the_year(question, *resting_on("Kumtor produced 18 tonnes of gold.", date="2024-05-01"))
    assert figure_of_the_year("сколько золота дал кумтор в 2024", *resting_on("Gold: 18 t.", edition="2024"))
    election, scores = resting_on("Berdimuhamedow won 97.69% of the vote.")
    election[0] = replace(election[0], doc=replace(election[0].doc, title="2017 Turkmen presidential election"))
    assert figure_of_the_year("turkmenistan 2017 election result percent", election, scores)
    other = resting_on("Kumtor was nationalised.", "2025-08")
    assert figure_of_the_year("what happened at kumtor in 2024", *other)  # no figure asked: years_covered's call
    assert figure_of_the_year("kumtor gold output in tonnes", *other)  # no year named


def test_a_recent_event_must_be_stated_by_the_best_sentence() -> None:
    """A question dating its event in a recent year needs the sentence it rests on most to be of
    that year; older years, spans and Factbook editions are left to the other rules."""
    from index.answer import AnswerPolicy, SentenceScores, is_answerable, recent_event_stated
    from index.models import Chunk, DocInfo, Hit
    from index.search import SearchResult

    def resting_on(
        *sentences: tuple[str, float, str | None], source: str = "Trend", edition: str | None = None, title: str = "KZ"
    ):
        hits = []
        for n, (text, _, date) in enumerate(sentences):
            chunk = Chunk(chunk_id=n, doc_id=f"d{n}", seq=0, start=0, end=len(text), text=text)
            doc = DocInfo(f"d{n}", title, source, "a.md", date=date, edition=edition)
            hits.append(Hit(chunk=chunk, doc=doc, score=1.0))
        spans = [[(0, len(text))] for text, _, _ in sentences]
        return hits, SentenceScores(spans=spans, semantic=[[score] for _, score, _ in sentences])

    question = "What did Putin and Tokayev sign during Putin's visit to Astana in November 2024?"
    passing = resting_on(
        ("Putin and Tokayev signed a treaty in Astana.", 0.88, None), ("GDP 2024: $260 bn.", 0.8, None)
    )
    assert not recent_event_stated(question, *passing)  # the year only in a lesser sentence
    assert recent_event_stated(question, *resting_on(("In November 2024 they signed a treaty.", 0.88, None)))
    assert recent_event_stated(question, *resting_on(("They signed a treaty.", 0.88, "2024-11-28")))  # a dated report
    snapshot = resting_on(("They signed a treaty.", 0.88, "2024-11-28"), source="Wikipedia")
    assert not recent_event_stated(question, *snapshot)  # when the page was taken, not when it happened
    edition = resting_on(
        ("They signed a treaty.", 0.88, None),
        source="CIA World Factbook",
        edition="2024",
        title="CIA World Factbook (2024 edition) — Kazakhstan",
    )
    assert not recent_event_stated(question, *edition)  # neither the edition nor the title naming it
    assert recent_event_stated(question, *resting_on(("They signed a treaty.", 0.88, None), title="Astana, 2024"))
    assert not recent_event_stated("сколько русских уехало из казахстана в 2023 году", *passing)
    older = resting_on(("The referendum changed the constitution.", 0.9, None))
    assert not recent_event_stated("what did the 2020 referendum change", *older)  # 2020 is recent
    assert recent_event_stated("what did the 2019 referendum change", *older)  # 2019 is not
    assert recent_event_stated("how did sanctions after 2022 hit kyrgyz trade", *older)  # a span
    assert recent_event_stated("what does the 2025 factbook say about it", *older)  # an edition
    # and it decides: the closest sentence is not of 2024, though a passage below mentions the year
    hits, scores = passing
    result = SearchResult(hits=hits, top_dense=0.9, top_bm25=1.0, query_terms=5, dense={})
    assert not is_answerable(question, result, hits, AnswerPolicy(threshold=0.5), scores)
    assert is_answerable(
        "What did Putin and Tokayev sign in Astana?", result, hits, AnswerPolicy(threshold=0.5), scores
    )


def test_a_table_row_does_not_ground_an_answer() -> None:
    """A table row, a list of figures or a bare year is close to any question naming what it
    lists: only a prose sentence close enough to the question answers it."""
    from index.answer import AnswerPolicy, SentenceScores, grounding_similarity, is_answerable, is_prose
    from index.models import Chunk, DocInfo, Hit
    from index.search import SearchResult

    assert is_prose("Russia established an air base of its own near Kant in 2003.")
    assert is_prose("Major urban areas - population: 1.987 million Almaty, 1.291 million Astana (2023)")
    assert not is_prose("Date | Country | Location 14–15 June 2001 | China | Shanghai")
    assert not is_prose("1 | Moscow | Russia | 13,149,803 | 11 | Kazan | Russia | 1,318,604")
    assert not is_prose("2024")
    assert is_prose("Population: 20,260,006 (2024 est.)")  # a labelled figure states it
    assert is_prose("GDP - real growth rate: 8.1% (2014 est.); 7.4% (2013 est.)")
    assert not is_prose("Kazakhstan (2013) 247 51 73 Kyrgyzstan (2012) 499 63 91")  # figures, few letters
    assert not is_prose("KIRGHIZIA (Kirghiz: Кыргызстан) (Russian: Киргизия) Kirghiz Soviet Socialist Republic")
    assert is_prose("The Collective Security Treaty Organization (Russian: ОДКБ) was founded in 2002.")  # one name

    table = "Summit | Date | City\nSCO | 14 June 2001 | Shanghai\nSCO | 7 June 2002 | Saint Petersburg"
    prose = "The summit in Shanghai founded the organisation."
    text = f"{table} {prose}"
    chunk = Chunk(chunk_id=1, doc_id="d", seq=0, start=0, end=len(text), text=text)
    hits = [Hit(chunk=chunk, doc=DocInfo("d", "SCO", "Wikipedia", "a.md"), score=1.0)]
    spans = [[(0, len(table)), (len(table) + 1, len(text))]]
    result = SearchResult(hits=hits, top_dense=0.9, top_bm25=1.0, query_terms=3, dense={})
    policy = AnswerPolicy(threshold=0.85)
    question = "who came out ahead in the border treaty"
    magnet = SentenceScores(spans=spans, semantic=[[0.9, 0.8]])  # the table row is closest
    assert grounding_similarity(hits, magnet) == 0.8
    assert not is_answerable(question, result, hits, policy, magnet)
    answering = SentenceScores(spans=spans, semantic=[[0.9, 0.86]])  # the prose sentence is close enough
    assert is_answerable(question, result, hits, policy, answering)


def test_the_years_a_question_dates_its_event_by() -> None:
    """Spans, decades and Factbook editions do not date an event; the other years of the question do."""
    from index.search.rules import event_years

    assert event_years("what did putin sign in astana in november 2024, two years after the 2022 unrest") == {"2024"}
    assert event_years("в сентябре 2022 года") == {"2022"}
    assert event_years("in 2023 and 2024") == {"2023", "2024"}
    for span in (
        "с 2020",
        "со 2022 года",
        "к 2030 году",
        "в 2020-х",
        "the 2020s",
        "post-2022 sanctions",
        "2022–23 trade",
        "2019-2022",
        "between 2020 and 2022",
        "since 2021",
        "the 2025 factbook",
    ):
        assert event_years(span) == set(), span
    assert event_years("с 2020 по 2022 рос экспорт, а в 2023") == {"2023"}


def test_a_source_and_a_year_named_need_that_sources_passages_of_that_year() -> None:
    """ "What did Congress say about the January 2022 unrest?": the Congressional Record leads, and
    its speeches are of other years; a Wikipedia passage on 2022 below it does not make it answered."""
    from index.answer import AnswerPolicy, SentenceScores, is_answerable
    from index.models import Chunk, DocInfo, Hit
    from index.search import SearchResult

    def hit(chunk_id: int, text: str, source: str, date: str) -> Hit:
        chunk = Chunk(chunk_id=chunk_id, doc_id=source, seq=0, start=0, end=len(text), text=text)
        return Hit(chunk=chunk, doc=DocInfo(source, source, source, f"{chunk_id}.md", date=date), score=1.0)

    speech = hit(
        1, "Kazakhstan's stability matters to the United States, the senator said.", "Congressional Record", "2007"
    )
    wiki = hit(2, "In January 2022 CSTO peacekeepers were sent to Kazakhstan during the unrest.", "Wikipedia", "2025")
    hits = [speech, wiki]
    # the Wikipedia sentence is the closest: the answer rests on it (recent_event_stated)
    sentences = SentenceScores(spans=[[(0, len(h.chunk.text))] for h in hits], semantic=[[0.9], [0.91]])
    question = "what did the us congress say about the january 2022 unrest in kazakhstan"

    def answered(named: set[str]) -> bool:
        result = SearchResult(
            hits=hits, top_dense=0.9, top_bm25=1.0, query_terms=5, dense={}, named_sources=frozenset(named)
        )
        return is_answerable(question, result, hits, AnswerPolicy(threshold=0.5), sentences)

    assert not answered({"Congressional Record"})
    assert answered(set())  # no source named: a top passage of 2022 will do


def test_one_document_id_rule_for_loading_building_and_adding(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    """The ids the builder stores are the ids file_document_id (what `corpus add` uses) predicts,
    for the project's own folder ("project/…"), a plain folder, and two folders sharing a name."""
    from index.config import Settings
    from index.store import BUILTIN_FACTBOOK, corpus_label, file_document_id

    project = tmp_path / "corpus"
    folders = [project, tmp_path / "a" / "news", tmp_path / "b" / "news", tmp_path / "wire"]
    for number, folder in enumerate(folders):
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / f"story{number}.md").write_text(f"# Story {number}\n\nRussia and Kazakhstan {number}.\n")
    settings = Settings(project_corpus=project)
    summary = build_index(
        tmp_path / "index", [str(f) for f in folders], embedder=hash_embedder, progress=False, settings=settings
    )
    stored = set(Searcher.open(tmp_path / "index", embedder=hash_embedder).store.documents)
    predicted = {
        file_document_id(folder / "sub" / f"story{number}.md", summary.corpora, project)
        for number, folder in enumerate(folders)
    }
    assert (
        stored
        == predicted
        == {"project/sub/story0.md", "a-news/sub/story1.md", "b-news/sub/story2.md", "wire/sub/story3.md"}
    )
    assert corpus_label(project, [str(project), BUILTIN_FACTBOOK], project) == "project"
    assert file_document_id(tmp_path / "elsewhere.md", summary.corpora, project) is None


def test_a_default_build_reads_the_project_corpus_the_shared_one_beside_it_and_the_factbook(tmp_path: Path) -> None:
    """`make run` builds without --corpus: ../shared/corpus joins the project's corpus when it is there."""
    from index.build import default_corpora
    from index.config import PROJECT_ROOT, Settings
    from index.store import BUILTIN_FACTBOOK

    project, shared = str(PROJECT_ROOT / "corpus"), tmp_path / "shared-corpus"
    given = Settings.from_env({"STEPPE_SHARED_CORPUS": str(shared)}, env_file=None)
    assert default_corpora(given) == [project, str(shared), BUILTIN_FACTBOOK]
    assert default_corpora(Settings.from_env({"STEPPE_SHARED_CORPUS": "off"}, env_file=None)) == [
        project,
        BUILTIN_FACTBOOK,
    ]
    beside = PROJECT_ROOT.parent / "shared" / "corpus"
    unset = default_corpora(Settings.from_env({}, env_file=None))
    assert unset == ([project, str(beside), BUILTIN_FACTBOOK] if beside.is_dir() else [project, BUILTIN_FACTBOOK])
    assert Settings().shared_corpus is None  # settings made in code name their corpora themselves


def test_a_named_source_far_down_the_ranking_comes_first_and_answers(
    tmp_path: Path, hash_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "What did Steppe Wire write about the Afghan border?": its one passage, which mentions the
    border in passing, ranks below a dozen border reports, beyond the candidates a question reads;
    named, it joins them, comes first and answers (rules.prefer_named, answer.named_source_answers)."""
    import index.search.searcher
    from index.service import Library

    monkeypatch.setattr(index.search.searcher, "CANDIDATES", 2)  # each signal reads 4 (4 * k) candidates
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(12):
        (corpus / f"report-{n}.md").write_text(
            f"---\ntitle: Border report {n}\nsource: Example News\ndate: 2013-05-0{n % 9 + 1}\n---\n\n"
            f"The Afghan border is long. Guards watch the Afghan border day {n}. The border stays closed.\n",
            encoding="utf-8",
        )
    (corpus / "wire.md").write_text(
        "---\ntitle: Moscow and its neighbours\nsource: Steppe Wire\ndate: 2012-10-10\n---\n\n"
        "Putin toured Kyrgyzstan and Tajikistan to sign loans, arms deals and gas contracts. Astana is further "
        "removed from the Afghan border, an expert said, and needs no money.\n",
        encoding="utf-8",
    )
    build(tmp_path / "index", corpus, hash_embedder)
    library = Library.open(tmp_path / "index", embedder=hash_embedder)
    question = "What did Steppe Wire write about the Afghan border?"
    ranked = library.searcher.search("What was written about the Afghan border?", k=1, mode="hybrid")
    assert ranked.hits[0].doc.source == "Example News"
    for mode in ("dense", "bm25", "hybrid"):
        result = library.searcher.search(question, k=1, mode=mode)
        assert result.named_sources == {"Steppe Wire"}
        assert [h.doc.source for h in result.hits] == ["Steppe Wire"], mode
    answer = library.answer(question, k=3)
    assert answer.answered and answer.excerpts[0].hit.doc.source == "Steppe Wire"
    assert [e.hit.doc.source for e in answer.excerpts[1:]] == ["Example News"] * (len(answer.excerpts) - 1)

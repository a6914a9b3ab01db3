"""Hybrid fusion: a convex combination of normalised dense and BM25 scores (Bruch et al., 2023,
found this beats reciprocal rank fusion), with the dense weight chosen per model and language."""

from __future__ import annotations

import numpy as np

from index.language import NON_ENGLISH

# Weight of the dense signal for English questions; tuned on eval/questions.jsonl (README,
# "Quality": 0.3-0.7 tried, Recall@5 0.844-0.902).
DENSE_WEIGHT = 0.6
# Questions not in English: BM25 can only match the English names, numbers and Latin words
# cross_lingual_query gives it, so a multilingual model leans on its dense side; an English-only
# model's dense side is noise for them (Recall@5 0.00 on eval/questions_ru.jsonl), so it does not.
CROSS_LINGUAL_DENSE_WEIGHT = 0.8
ENGLISH_ONLY_CROSS_LINGUAL_WEIGHT = 0.5
# Per model, measured on eval/ (README, "Choosing a model"): "en" for English questions, "xx"
# for questions in any other language. Models not listed use the defaults above.
DENSE_WEIGHTS: dict[str, dict[str, float]] = {
    "multilingual": {"en": 0.7, "xx": 0.8},
    "all-MiniLM-L6-v2": {"xx": ENGLISH_ONLY_CROSS_LINGUAL_WEIGHT},
}


def fusion_weight(model: str, language: str, multilingual: bool = True) -> float:
    """The dense weight of hybrid fusion for a model and a question language (detect_language)."""
    table = DENSE_WEIGHTS.get(model, {})
    if language not in NON_ENGLISH:
        return table.get("en", DENSE_WEIGHT)
    return table.get("xx", CROSS_LINGUAL_DENSE_WEIGHT if multilingual else ENGLISH_ONLY_CROSS_LINGUAL_WEIGHT)


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

"""Diversification: results never overlap, and one document fills at most two of the top five."""

from __future__ import annotations

from collections.abc import Mapping

from index.models import Chunk

MAX_PER_DOC_IN_TOP = 2
TOP_FOR_DIVERSITY = 5


def pool_size(k: int) -> int:
    """How many ranked candidates diversification looks at to choose ``k``."""
    return max(4 * k, 40)


def diversify(ranked: list[tuple[int, float]], chunks: Mapping[int, Chunk], k: int) -> list[tuple[Chunk, float]]:
    """Up to ``k`` of the ``ranked`` (chunk id, score) pairs, in order, such that no two chunks of
    a document overlap and at most MAX_PER_DOC_IN_TOP of the first TOP_FOR_DIVERSITY come from one
    document; the ones held back fill the list when nothing else is left. Ids missing from
    ``chunks`` are skipped."""
    chosen: list[tuple[Chunk, float]] = []
    deferred: list[tuple[Chunk, float]] = []

    def overlaps(chunk: Chunk) -> bool:
        return any(c.doc_id == chunk.doc_id and c.start < chunk.end and chunk.start < c.end for c, _ in chosen)

    for chunk_id, score in ranked[: pool_size(k)]:
        chunk = chunks.get(chunk_id)
        if chunk is None or overlaps(chunk):
            continue
        same_doc = sum(c.doc_id == chunk.doc_id for c, _ in chosen)
        if len(chosen) < TOP_FOR_DIVERSITY and same_doc >= MAX_PER_DOC_IN_TOP:
            deferred.append((chunk, score))
            continue
        chosen.append((chunk, score))
        if len(chosen) >= k:
            break
    for chunk, score in deferred:  # nothing else relevant: fill with what was held back
        if len(chosen) >= k:
            break
        if not overlaps(chunk):
            chosen.append((chunk, score))
    return chosen

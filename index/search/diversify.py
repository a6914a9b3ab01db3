"""Diversification: which ranked passages take the places, and in what shape.

Three rules, in this order, over the best ``pool_size(k)`` candidates:

1. **One result per repeated passage.** Near-identical passages of different documents (the
   Factbook editions, the same text indexed from two folders) collapse into one result that
   cites every copy (``Hit.also``); so do two editions of one document whose sentences answering
   the question are near-identical. The newest edition leads, unless the question names the year
   of another.
2. **Neighbours merge.** A passage that overlaps or adjoins one already chosen from the same
   document is merged into it (one longer result, at most MAX_MERGED_CHARS), instead of being
   dropped or taking a second place.
3. **Room for other documents.** One document fills at most MAX_PER_DOC_IN_TOP of the first
   TOP_FOR_DIVERSITY places, unless its next passage is clearly the best left (its score at
   least CLEAR_LEAD times the best other document's); the ones held back fill the list when
   nothing else is left.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from index.models import Chunk, DocInfo

MAX_PER_DOC_IN_TOP = 2
TOP_FOR_DIVERSITY = 5
CLEAR_LEAD = 1.15  # a third passage of one document in the top five must beat the rest by this factor
MAX_MERGED_CHARS = 2400  # a merged result stays well inside one Telegram message (4096)
ADJACENT_GAP = 2  # characters (a paragraph break) between two passages that still count as adjoining
DUPLICATE_OVERLAP = 0.8  # share of the shorter passage's word triples found in the other one
_WORD = re.compile(r"\w+")


def pool_size(k: int) -> int:
    """How many ranked candidates diversification looks at to choose ``k``."""
    return max(4 * k, 40)


@dataclass
class Placed:
    """One result: its chunk (merged from ``parts``, the passages it is made of, its leader first),
    its score, and the near-identical passages of other documents it stands for (``also``)."""

    chunk: Chunk
    score: float
    parts: list[Chunk]
    also: list[Chunk] = field(default_factory=list)


@dataclass(frozen=True)
class Triples:
    """A passage's word triples, each as its hash (intersections of ints are several times faster
    than of tuples of strings; two different triples sharing a 64-bit hash is negligible), and the
    few of them (``probe``) one of which any near-identical passage must hold."""

    hashes: frozenset[int]
    probe: frozenset[int]


def triples(text: str) -> Triples:
    """The word triples of ``text`` (the words themselves if there are fewer than three).

    The probe is exact, not a sketch: a passage sharing at least DUPLICATE_OVERLAP of these n
    triples lacks at most n - ceil(DUPLICATE_OVERLAP * n) of them, so it holds one of any
    n - ceil(DUPLICATE_OVERLAP * n) + 1 of them (here the smallest hashes).
    """
    words = _WORD.findall(text.lower())
    hashes = frozenset(
        map(hash, zip(words, words[1:], words[2:], strict=False)) if len(words) >= 3 else [hash(tuple(words))]
    )
    size = len(hashes) - math.ceil(DUPLICATE_OVERLAP * len(hashes)) + 1
    return Triples(hashes, frozenset(sorted(hashes)[:size]))


def near_identical(a: Triples, b: Triples) -> bool:
    """True when at least DUPLICATE_OVERLAP of the shorter passage's word triples are in the other one."""
    shorter, other = (a, b) if len(a.hashes) <= len(b.hashes) else (b, a)
    if shorter.probe.isdisjoint(other.hashes):
        return False  # cheap and exact (Triples): most pairs of passages end here
    return len(shorter.hashes & other.hashes) >= DUPLICATE_OVERLAP * len(shorter.hashes)


def _recency(doc: DocInfo | None) -> str:
    return (doc.edition or doc.date or "") if doc else ""


def _lead(group: list[tuple[Chunk, float]], docs: Mapping[str, DocInfo], years: Collection[str]) -> int:
    """Index of the copy that leads a group: one from a year the question names, else the newest."""
    named = [i for i, (c, _) in enumerate(group) if _recency(docs.get(c.doc_id))[:4] in years]
    if named:
        return named[0]
    return max(range(len(group)), key=lambda i: (_recency(docs.get(group[i][0].doc_id)), group[i][1]))


def _series(doc: DocInfo | None) -> tuple[str, str | None, str] | None:
    """What the editions of one document share (its source, section and file name: the 2025 and
    2026 Factbook pages on Tajikistan's military), or None for a document without editions."""
    if doc is None or not doc.edition:
        return None
    return doc.source, doc.section, PurePosixPath(doc.path).name


def collapse(
    ranked: list[tuple[Chunk, float]],
    docs: Mapping[str, DocInfo],
    years: Collection[str] = (),
    answers: Mapping[int, str] | None = None,
) -> list[tuple[Chunk, float, list[Chunk]]]:
    """Near-identical passages of different documents as one entry each, at the best copy's place
    and score: (leading chunk, score, the other copies).

    Two editions of one document are copies too when the sentences that would answer the
    question (``answers``: chunk id to its sentence most similar to the question) are
    near-identical, however much the rest of the passages was edited or cut differently.
    """
    answers = answers or {}
    shingles = [triples(c.text) for c, _ in ranked]
    series = [_series(docs.get(c.doc_id)) for c, _ in ranked]
    answering: dict[int, Triples | None] = {}  # computed only when two editions of one document meet

    def answer_triples(i: int) -> Triples | None:
        if i not in answering:
            text = answers.get(ranked[i][0].chunk_id)
            answering[i] = triples(text) if text else None
        return answering[i]

    def copies(leader: int, other: int) -> bool:
        if near_identical(shingles[leader], shingles[other]):
            return True
        if series[leader] is None or series[leader] != series[other]:
            return False
        a, b = answer_triples(leader), answer_triples(other)
        return a is not None and b is not None and near_identical(a, b)

    groups: list[list[int]] = []
    group_docs: list[set[str]] = []  # the documents each group already has a copy from
    for i, (chunk, _) in enumerate(ranked):
        home = next((n for n, g in enumerate(groups) if chunk.doc_id not in group_docs[n] and copies(g[0], i)), None)
        if home is None:
            groups.append([i])
            group_docs.append({chunk.doc_id})
        else:
            groups[home].append(i)
            group_docs[home].add(chunk.doc_id)
    out = []
    for g in groups:
        members = [ranked[j] for j in g]
        lead = _lead(members, docs, years)
        out.append((members[lead][0], members[0][1], [c for n, (c, _) in enumerate(members) if n != lead]))
    return out


def _joinable(a: Chunk, b: Chunk) -> bool:
    return a.doc_id == b.doc_id and a.start <= b.end + ADJACENT_GAP and b.start <= a.end + ADJACENT_GAP


def merge_chunks(parts: list[Chunk], document_text: Callable[[str], str] | None = None) -> Chunk:
    """One chunk covering overlapping or adjoining ``parts`` of a document (the first part's id).

    The text is read from the document when parts leave a gap between them; otherwise it is
    stitched from the parts themselves.
    """
    ordered = sorted(parts, key=lambda c: c.start)
    start, end = ordered[0].start, max(c.end for c in ordered)
    text, reach = ordered[0].text, ordered[0].end
    for part in ordered[1:]:
        if part.start > reach:  # a gap: only the document has those characters
            if document_text is None:
                raise ValueError("merging passages with a gap needs the document text")
            text = document_text(part.doc_id)[start:end]
            break
        if part.end > reach:
            text += part.text[reach - part.start :]
            reach = part.end
    return Chunk(
        chunk_id=parts[0].chunk_id, doc_id=ordered[0].doc_id, seq=ordered[0].seq, start=start, end=end, text=text
    )


def diversify(
    ranked: list[tuple[int, float]],
    chunks: Mapping[int, Chunk],
    k: int,
    *,
    docs: Mapping[str, DocInfo] | None = None,
    years: Collection[str] = (),
    document_text: Callable[[str], str] | None = None,
    answers: Mapping[int, str] | None = None,
) -> list[Placed]:
    """Up to ``k`` results from the ``ranked`` (chunk id, score) pairs, by the three rules above.

    ``docs`` gives each document's edition and date (for which copy of a repeated passage leads);
    ``years`` are the years the question names; ``answers`` each chunk's sentence most similar
    to the question (collapse). Ids missing from ``chunks`` are skipped.
    """
    candidates = [(chunks[i], s) for i, s in ranked[: pool_size(k)] if i in chunks]
    entries = collapse(candidates, docs or {}, years, answers)
    chosen: list[Placed] = []
    deferred: list[Placed] = []

    def absorb(entry: Placed) -> bool:
        """Merge ``entry`` into a chosen result of its document it overlaps or adjoins (taking in any
        other result the merge would then reach); False if it touches none, or only adjoins them
        and every merge would be too long (it then takes a place of its own)."""
        touching = [p for p in chosen if _joinable(p.chunk, entry.chunk)]
        for lead in touching:
            if lead.chunk.start <= entry.chunk.start and entry.chunk.end <= lead.chunk.end:
                return True  # already inside it
            parts = lead.parts + entry.parts
            merged = merge_chunks(parts, document_text)
            reached = [p for p in chosen if p is not lead and _joinable(p.chunk, merged)]
            if reached:
                parts += [c for p in reached for c in p.parts]
                merged = merge_chunks(parts, document_text)
            if merged.end - merged.start <= MAX_MERGED_CHARS:
                lead.chunk, lead.parts = merged, parts
                lead.also += [c for p in reached for c in p.also] + entry.also
                for other in reached:
                    chosen.remove(other)
                return True
        # Too long to merge: an overlapping passage is not shown twice; an adjoining one may be.
        return any(p.chunk.start < entry.chunk.end and entry.chunk.start < p.chunk.end for p in touching)

    for index, (chunk, score, also) in enumerate(entries):
        entry = Placed(chunk, score, [chunk], list(also))
        if absorb(entry):
            continue
        if len(chosen) >= k:
            break
        if any(d.chunk.doc_id == chunk.doc_id for d in deferred):
            deferred.append(entry)  # its document's better passage waits too: keep their order
            continue
        same_doc = sum(p.chunk.doc_id == chunk.doc_id for p in chosen)
        if len(chosen) < TOP_FOR_DIVERSITY and same_doc >= MAX_PER_DOC_IN_TOP:
            rival = next((s for c, s, _ in entries[index + 1 :] if c.doc_id != chunk.doc_id), 0.0)
            if score < CLEAR_LEAD * rival:
                deferred.append(entry)
                continue
        chosen.append(entry)
    for entry in deferred:  # nothing else relevant: fill with what was held back
        if len(chosen) >= k:
            break
        if not absorb(entry):
            chosen.append(entry)
    return chosen[:k]

"""Sentence-aware chunking that always fits the model's token limit.

Sentences come from sentencex (rule-based, no download); token counts come from the
embedding model's own tokenizer, so the encoder never truncates a chunk silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sentencex import segment

from index.embedding import Embedder

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_WORD = re.compile(r"\S+")
# Long titles are cut to this many tokens before they are prepended to a chunk.
TITLE_TOKEN_CAP = 32


@dataclass(frozen=True)
class ChunkSettings:
    """Chunking settings, recorded in the index manifest."""

    target_tokens: int = 200
    overlap_sentences: int = 1
    safety_margin: int = 4  # tokens kept free below the hard limit

    def as_dict(self) -> dict[str, int]:
        """The settings as plain JSON-ready values."""
        return {
            "target_tokens": self.target_tokens,
            "overlap_sentences": self.overlap_sentences,
            "safety_margin": self.safety_margin,
        }


@dataclass(frozen=True)
class Span:
    """A chunk's character range in the document text."""

    start: int
    end: int


def sentence_spans(text: str, language: str = "en") -> list[tuple[int, int]]:
    """(start, end) offsets of every sentence, whitespace trimmed, paragraphs never crossed."""
    spans: list[tuple[int, int]] = []
    paragraph_start = 0
    for match in [*_PARAGRAPH_BREAK.finditer(text), None]:
        paragraph_end = match.start() if match else len(text)
        paragraph = text[paragraph_start:paragraph_end]
        offset = paragraph_start
        for sentence in segment(language, paragraph):
            stripped = sentence.strip()
            if stripped:
                start = paragraph.find(stripped, offset - paragraph_start) + paragraph_start
                spans.append((start, start + len(stripped)))
                offset = start + len(stripped)
            else:
                offset += len(sentence)
        paragraph_start = match.end() if match else len(text)
    return spans


def embedding_text(title: str, chunk_text: str) -> str:
    """What the model sees for a chunk: the (capped) title, then the passage."""
    return f"{title}\n{chunk_text}" if title else chunk_text


def capped_title(title: str, embedder: Embedder) -> str:
    """The title shortened to TITLE_TOKEN_CAP tokens, at a word boundary."""
    words = title.split()
    while words and embedder.count_tokens([" ".join(words)])[0] > TITLE_TOKEN_CAP:
        words.pop()
    return " ".join(words)


def _split_long(text: str, start: int, end: int, budget: int, embedder: Embedder) -> list[tuple[int, int]]:
    """Cut one over-long sentence into word-aligned pieces that each fit the budget."""
    pieces: list[tuple[int, int]] = []
    piece: tuple[int, int] | None = None
    for match in _WORD.finditer(text, start, end):
        word = (match.start(), match.end())
        if embedder.count_tokens([text[word[0] : word[1]]])[0] > budget:  # one monstrous "word"
            if piece:
                pieces.append(piece)
                piece = None
            pieces.extend(_halve(text, word[0], word[1], budget, embedder))
            continue
        candidate = (piece[0], word[1]) if piece else word
        if piece and embedder.count_tokens([text[candidate[0] : candidate[1]]])[0] > budget:
            pieces.append(piece)
            candidate = word
        piece = candidate
    if piece:
        pieces.append(piece)
    return pieces


def _halve(text: str, start: int, end: int, budget: int, embedder: Embedder) -> list[tuple[int, int]]:
    """Cut a span without spaces in halves until every half fits."""
    if end - start <= 1 or embedder.count_tokens([text[start:end]])[0] <= budget:
        return [(start, end)]
    middle = start + (end - start) // 2
    return _halve(text, start, middle, budget, embedder) + _halve(text, middle, end, budget, embedder)


def chunk_text(
    text: str,
    embedder: Embedder,
    settings: ChunkSettings = ChunkSettings(),
    title: str = "",
    language: str = "en",
) -> list[Span]:
    """Split a document into sentence-aligned spans that fit the model with the title prepended."""
    prefix = embedding_text(title, "") if title else ""
    prefix_tokens = embedder.count_tokens([prefix])[0] if prefix else 0
    hard_budget = embedder.max_tokens - embedder.overhead_tokens() - prefix_tokens - settings.safety_margin
    hard_budget = max(hard_budget, 16)
    target = min(settings.target_tokens, hard_budget)

    units: list[tuple[int, int]] = []
    spans = sentence_spans(text, language)
    counts = embedder.count_tokens([text[a:b] for a, b in spans]) if spans else []
    for (a, b), count in zip(spans, counts, strict=True):
        units.extend(_split_long(text, a, b, hard_budget, embedder) if count > hard_budget else [(a, b)])
    if not units:
        return []
    unit_tokens = embedder.count_tokens([text[a:b] for a, b in units])

    chunks: list[Span] = []
    i, fresh = 0, 0  # units before ``fresh`` are already in a chunk (overlap)
    while fresh < len(units):
        j, used = i, 0
        # Always take at least one unit no chunk holds yet, then fill up to the target.
        while j < len(units) and (j <= fresh or used + unit_tokens[j] <= target):
            used += unit_tokens[j]
            j += 1
        # Parts' counts add up to the whole's for WordPiece; verify exactly anyway.
        while j - i > 1 and embedder.count_tokens([text[units[i][0] : units[j - 1][1]]])[0] > hard_budget:
            if i < fresh:
                i += 1  # drop overlap before dropping new text
            else:
                j -= 1
        chunks.append(Span(units[i][0], units[j - 1][1]))
        fresh = j
        i = max(j - settings.overlap_sentences, i + 1) if j - i > 1 else j
    return chunks


def chunk_lengths(texts: Sequence[str], embedder: Embedder) -> list[int]:
    """Full token counts, special tokens included, as the encoder will see the texts."""
    return [n + embedder.overhead_tokens() for n in embedder.count_tokens(list(texts))]

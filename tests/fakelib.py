"""Test stand-ins for ``index.service.Library``.

``FakeLibrary`` implements ``index.service.AnswerService``, what the bot calls, with canned
passages about Russia and Central Asia, built from the real dataclasses; its one generation
never changes. ``Recorder`` wraps any library (fake or real) and records what the bot
asked for and from which thread, and can hold back or break chosen questions.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.errors import EmptyQuery
from index.models import (
    Answer,
    Chunk,
    DocInfo,
    Excerpt,
    Filters,
    Hit,
    IndexStats,
    Passage,
    SourceStats,
)

WIKI = DocInfo(
    doc_id="wikipedia-2019/Russia–Tajikistan_relations.md",
    title="Russia–Tajikistan relations",
    source="Wikipedia",
    path="wikipedia-2019/Russia–Tajikistan_relations.md",
    date="2019-07-01",
    url="https://en.wikipedia.org/wiki/Russia%E2%80%93Tajikistan_relations",
    license="CC BY-SA 3.0",
    corpus="wikipedia-2019",
)
TREND = DocInfo(
    doc_id="seed/000_6deba38a01d7e54b.txt",
    title="Russia “cements” relations with Central Asian states",
    source="Trend",
    path="000_6deba38a01d7e54b.txt",
    date="2012-10-10",
    url=None,
    corpus="seed",
)
FACTBOOK = DocInfo(
    doc_id="factbook/2012-edition/kz.json#Transnational Issues",
    title="Kazakhstan — Transnational Issues",
    source="CIA World Factbook",
    path="factbook/2012-edition/kz.json",
    date="2012",
    url='https://www.cia.gov/the-world-factbook/countries/kazakhstan/?a=1&b="2"',
    license="public domain",
    section="Transnational Issues",
    edition="2012",
    corpus="factbook",
)
RECORD = DocInfo(
    doc_id="congressional-record/2009-kyrgyzstan.txt",
    title="Kyrgyzstan & the Manas <Transit> Center",
    source="Congressional Record",
    path="congressional-record/2009-kyrgyzstan.txt",
    date="2009-02-05",
    url="javascript:alert(1)",
    license="public domain",
    corpus="congressional-record",
)

# (doc, text before, the answering sentence, text after): the sentence is the highlight.
PASSAGES: list[tuple[DocInfo, str, str, str]] = [
    (
        WIKI,
        "Tajikistan hosts the largest Russian military presence abroad. ",
        "The 201st Military Base in Dushanbe and Bokhtar houses about 7,000 Russian troops.",
        " In 2012 the lease was extended until 2042.",
    ),
    (
        TREND,
        "Putin made a number of visits to the Central Asian region. ",
        "In Tajikistan the sides agreed to extend the Russian military base lease by 30 years.",
        " Kyrgyzstan, in turn, hosts the Kant air base.",
    ),
    (
        FACTBOOK,
        "Kazakhstan borders Russia along one of the world's longest land frontiers. ",
        "Russia leases the Baikonur Cosmodrome & the surrounding town <until 2050>.",
        " The lease costs about $115 million a year.",
    ),
    (
        RECORD,
        "Mr. President, I rise to speak about Kyrgyzstan. ",
        "Russia offered Kyrgyzstan $2 billion in aid, and days later Bishkek moved to close Manas.",
        " *Emphasis* and [brackets] are the Senator's own (sic).",
    ),
    (
        WIKI,
        "Labour migration ties the two economies together. ",
        "Remittances from Tajik migrants in Russia equal almost half of Tajikistan's GDP.",
        " Most migrants work in Moscow.",
    ),
    (
        TREND,
        "Pannier believes the first reason of Putin's visits is the Eurasian Union. ",
        "The core of that union seems to be the CIS Customs Union.",
        " Kazakhstan is a member.",
    ),
    (
        FACTBOOK,
        "Drug trafficking from Afghanistan crosses Central Asia. ",
        "Russia and Kazakhstan cooperate on border security along the trafficking routes.",
        "",
    ),
]

NOT_FOUND_WORDS = ("cake", "football", "recipe", "weather")
SUGGESTIONS = (
    "Russia's military bases in Tajikistan and Kyrgyzstan",
    "the Eurasian Economic Union and the CIS Customs Union",
    "labour migration from Central Asia to Russia",
    "the Baikonur Cosmodrome lease",
)


@dataclass
class Call:
    """One ``answer`` call as the bot made it."""

    question: str
    k: int
    mode: str
    filters: Filters | None
    thread: int


@dataclass
class FakeLibrary:
    """Canned answers: seven ranked excerpts for most questions, a refusal for off-topic ones."""

    multilingual: bool = False
    index_dir: Path = Path("fake-index")
    embedder: None = None  # no model: whoever indexes loads the index's own

    @classmethod
    def open(cls, index_dir: Path, model: str | None = None) -> FakeLibrary:
        """Match ``Library.open``; the directory is not read."""
        return cls()

    def _chunk(self, i: int) -> tuple[Chunk, DocInfo]:
        doc, before, sentence, after = PASSAGES[i]
        text = before + sentence + after
        return Chunk(chunk_id=100 + i, doc_id=doc.doc_id, seq=i, start=40 * i, end=40 * i + len(text), text=text), doc

    def answer(self, question: str, *, k: int = 10, mode: str = "hybrid", filters: Filters | None = None) -> Answer:
        """Seven excerpts (or ``k``), or a refusal with suggestions for off-topic words."""
        if not any(ch.isalnum() for ch in question):
            raise EmptyQuery("The question has no words to search for.")
        # Like index.answer: a Russian question to an English-only model gets a notice code.
        notice = "english_only" if not self.multilingual and re.search("[а-яё]", question.lower()) else None
        if any(word in question.lower() for word in NOT_FOUND_WORDS):
            return Answer(question, answered=False, excerpts=(), suggestions=SUGGESTIONS, notice=notice)
        excerpts = []
        for i in range(min(k, len(PASSAGES))):
            chunk, doc = self._chunk(i)
            _, before, sentence, _ = PASSAGES[i]
            hit = Hit(chunk=chunk, doc=doc, score=1.0 - i / 10, rank=i + 1)
            highlight = ((len(before), len(before) + len(sentence)),)
            excerpts.append(Excerpt(hit, chunk.text, highlight, cut_before=i % 2 == 1, cut_after=i % 3 == 0))
        return Answer(question=question, answered=True, excerpts=tuple(excerpts), notice=notice)

    def passage(self, chunk_id: int, neighbours: int = 1) -> Passage:
        """The chunk with made-up neighbouring sentences; KeyError for unknown ids."""
        i = chunk_id - 100
        if not 0 <= i < len(PASSAGES):
            raise KeyError(chunk_id)
        chunk, doc = self._chunk(i)
        before, after = "Earlier text of the article. " * neighbours, " Later text of the article." * neighbours
        text = before + chunk.text + after
        return Passage(doc, text, len(before), len(before) + len(chunk.text), cut_before=True, cut_after=False)

    def stats(self) -> IndexStats:
        """A small, plausible index summary."""
        return IndexStats(
            documents=101,
            chunks=2345,
            model="sentence-transformers/all-MiniLM-L6-v2",
            backend="faiss",
            dim=384,
            built_at="2025-11-27T21:00:00+00:00",
            size_bytes=12_345_678,
            sources=(
                SourceStats(
                    "Wikipedia", "CC BY-SA 3.0", 60, 1700, "2019-07-01", "2024-02-01", "Wikipedia contributors"
                ),
                SourceStats("CIA World Factbook", "public domain", 28, 400, "2012", "2026-01-22"),
                # the index counts a source once per licence: /start and /about show it once
                SourceStats("Wikipedia", "CC BY-SA 4.0", 10, 200, "2023-01-01", "2025-08-01", "Wikipedia contributors"),
                SourceStats("Congressional Record", "public domain", 12, 40, "2007", "2010"),
                SourceStats("Trend", None, 1, 5, "2012-10-10", "2012-10-10"),
            ),
            countries=(("Kazakhstan", 60), ("Tajikistan", 48), ("Kyrgyzstan", 45), ("Russia", 90)),
            first_date="2007",
            last_date="2026-01-22",
        )

    def generation(self) -> str:
        """The one generation there is."""
        return "gen-fake"

    def published_generation(self) -> str | None:
        """Always the one in use."""
        return self.generation()

    def reload(self) -> bool:
        """The fake index never changes on disk."""
        return False


@dataclass
class Recorder:
    """Wraps a library: records ``answer`` calls and reloads; can delay or break questions.

    Questions containing ``hold_word`` wait for ``gate``; those containing ``fail_word`` raise.
    """

    library: Any
    calls: list[Call] = field(default_factory=list)
    reloads: int = 0
    gate: threading.Event = field(default_factory=threading.Event)
    hold_word: str | None = None
    fail_word: str | None = None

    @property
    def multilingual(self) -> bool:
        """The wrapped library's."""
        return self.library.multilingual

    @property
    def index_dir(self) -> Path:
        """The wrapped library's."""
        return self.library.index_dir

    @property
    def embedder(self) -> Any:
        """The wrapped library's."""
        return self.library.embedder

    def generation(self) -> str:
        """Delegate."""
        return self.library.generation()

    def published_generation(self) -> str | None:
        """Delegate."""
        return self.library.published_generation()

    def answer(self, question: str, *, k: int = 10, mode: str = "hybrid", filters: Filters | None = None) -> Answer:
        """Record, then delegate (or wait, or fail)."""
        self.calls.append(Call(question, k, mode, filters, threading.get_ident()))
        if self.hold_word and self.hold_word in question:
            self.gate.wait(timeout=10)
        if self.fail_word and self.fail_word in question:
            raise RuntimeError("boom")
        return self.library.answer(question, k=k, mode=mode, filters=filters)

    def passage(self, chunk_id: int, neighbours: int = 1) -> Passage:
        """Delegate."""
        return self.library.passage(chunk_id, neighbours)

    def stats(self) -> IndexStats:
        """Delegate."""
        return self.library.stats()

    def reload(self) -> bool:
        """Count, then delegate."""
        self.reloads += 1
        return self.library.reload()

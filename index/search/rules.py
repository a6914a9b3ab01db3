"""Years and sources named in a question lift the passages that match them, without excluding the rest.

* A year lifts a Factbook edition of that year only when the question speaks of the Factbook
  ("the 2015 Factbook", "CIA factbook 2012").
* Otherwise a year dates an article or an event: documents dated in that year are lifted by
  YEAR_BOOST. Passages that merely mention the year get nothing more: BM25 already matches the
  year as a word, and a further lift measured worse (NQ-UTD, whose questions name 2023 and 2024:
  hybrid nDCG@10 0.844 -> 0.835 at a tenth of the spread).
* A source named in the question ("Trend", "Wikipedia", "the Congressional Record", "the
  Factbook", or any publication added with `corpus add`) lifts that source's documents by
  SOURCE_BOOST, and further if need be, so that its best passage comes first, the way an inline
  ``source:`` filter would select them; the other sources' passages keep their places below.

Boosts are shares of the spread of the scores (the best minus the SPREAD_DEPTH-th), so they
mean the same for every mode and model: cosine similarities of one question's candidates lie
within a few hundredths of each other, fused scores across most of [0, 1].
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from index.models import DocInfo

# Tuned on the chat-register dev split and NQ-UTD (README, "Quality").
YEAR_BOOST = 0.5
SOURCE_BOOST = 0.4
SPREAD_DEPTH = 20

_Y = r"(?:19[5-9]\d|20[0-4]\d)"  # a year, 1950-2049
_YEAR = re.compile(rf"\b({_Y})\b")
_FACTBOOK = re.compile(r"\b(factbook|fact book|cia)\b", re.IGNORECASE)
# Ways of naming the corpus's standard sources, by a word in the source's stored name.
SOURCE_ALIASES: dict[str, re.Pattern[str]] = {
    "factbook": _FACTBOOK,
    "wikipedia": re.compile(r"\b(wikipedia|wiki)\b", re.IGNORECASE),
    "congressional": re.compile(
        r"\b(congressional record|congress|senate|senators?|congress(wo)?m[ae]n|representatives?|"
        r"house floor|lawmakers?|u\.?s\.? legislators?)\b",
        re.IGNORECASE,
    ),
}


# Words that ask what a source wrote rather than name what about ("What did Trend write about …").
_ASKING = re.compile(
    r"\b(?:writ(?:e|es|ing|ten)|wrote|say|says|saying|said|report(?:s|ed|ing)?|tell|tells|told|think|thinks|thought|"
    r"mention(?:s|ed)?|claim(?:s|ed)?|describe[sd]?|cover(?:s|ed)?|publish(?:es|ed)?|articles?|pieces?|stories|story|"
    r"speech(?:es)?|statements?|according|anything|something)\b",
    re.IGNORECASE,
)


def topic_of(query: str, sources: Collection[str]) -> str:
    """What a question naming a source asks about: without the sources' names and aliases, its
    years, and the words asking what they wrote.

    Example:
        >>> topic_of("What did Trend write in 2012 about the Afghan border?", {"Trend"})
        'What did in about the Afghan border?'
    """
    for source in sources:
        query = re.sub(rf"(?<!\w){re.escape(source.strip())}(?!\w)", " ", query, flags=re.IGNORECASE)
        for word, pattern in SOURCE_ALIASES.items():
            if word in source.lower():
                query = pattern.sub(" ", query)
    return " ".join(_ASKING.sub(" ", _YEAR.sub(" ", query)).split())


def years_in(text: str) -> set[str]:
    """Years (1950–2049) a question names, e.g. "in 2012" or "the 2015 Factbook"."""
    return set(_YEAR.findall(text))


# A year that bounds a span rather than dates an event: "after 2022", "since 2020", "с 2020", "к 2030",
# "post-2022", "the 2020s", "в 2020-х", "2019-2022", "2022–23", "between 2020 and 2022".
_SPAN = re.compile(
    rf"\b(?:between|между)\s+{_Y}\s*(?:and|и|-|–)\s*{_Y}\b"
    rf"|\b(?:after|since|before|until|till|by|from|to|through|post-|pre-|после|с|со|до|по|к)\s*(?:the\s+)?{_Y}\b"
    rf"|\b{_Y}(?:s|-х|-е)(?!\w)|\b{_Y}\s*(?:-|–|to)\s*(?:{_Y}|\d\d)\b",
    re.IGNORECASE,
)


def event_years(text: str) -> set[str]:
    """Years a question names as the date of what it asks about: none when it speaks of the
    Factbook (its years are editions), and not those bounding a span ("after 2022", "the 2020s")."""
    if names_factbook(text):
        return set()
    return years_in(_SPAN.sub(" ", text))


# Sources whose documents are dated when the text was taken (a snapshot, an edition), not when what
# they tell happened: their date does not date an event.
REFERENCE_WORKS = ("factbook", "wikipedia")


def dates_events(source: str) -> bool:
    """True when a source's document dates are the dates of what it reports (news, speeches)."""
    return not any(word in source.lower() for word in REFERENCE_WORKS)


def names_factbook(text: str) -> bool:
    """True when a question speaks of the Factbook."""
    return bool(_FACTBOOK.search(text))


def named_sources(query: str, sources: Collection[str]) -> set[str]:
    """The index's sources a question names: by an alias (SOURCE_ALIASES) or by the source's own
    name as a whole phrase. A one-word name that is also an everyday word ("Trend") must be
    written as the source writes it, capital letter included."""
    found = set()
    for source in sources:
        if not source or source == "unknown":
            continue
        lowered = source.lower()
        if any(word in lowered and pattern.search(query) for word, pattern in SOURCE_ALIASES.items()):
            found.add(source)
            continue
        flags = re.IGNORECASE if (" " in source.strip() or not source.isalpha()) else 0
        if re.search(rf"(?<!\w){re.escape(source.strip())}(?!\w)", query, flags):
            found.add(source)
    return found


def prefer_named(
    scored: dict[int, float],
    query: str,
    docs: Mapping[int, DocInfo | None],
    sources: Collection[str] = (),
) -> dict[int, float]:
    """``scored`` with the passages matching the years and sources ``query`` names lifted.

    ``docs`` gives each chunk's document, ``sources`` every source in the index.
    """
    years = years_in(query)
    wanted = named_sources(query, sources)
    if not scored or not (years or wanted):
        return scored
    factbook = names_factbook(query)
    ranked = sorted(scored.values(), reverse=True)
    unit = ranked[0] - ranked[min(SPREAD_DEPTH, len(ranked)) - 1]
    unit = unit if unit > 0 else abs(ranked[0]) or 1.0
    lifted = {}
    for chunk_id, score in scored.items():
        doc = docs.get(chunk_id)
        boost = 0.0
        if doc is not None and years:
            if doc.edition:  # a Factbook edition: its year counts when the question names the Factbook
                boost += YEAR_BOOST if factbook and doc.edition[:4] in years else 0.0
            elif not factbook and (doc.date or "")[:4] in years:
                boost += YEAR_BOOST
        if doc is not None and doc.source in wanted:
            boost += SOURCE_BOOST
        lifted[chunk_id] = score + boost * unit
    named = [i for i in lifted if (doc := docs.get(i)) is not None and doc.source in wanted]
    if named:  # like a filter, the named source's best passage comes first; the rest keep their order
        gap = max(lifted.values()) - max(lifted[i] for i in named)
        if gap > 0:
            for chunk_id in named:
                lifted[chunk_id] += gap + 1e-9 * unit
    return lifted


def prefer_years(scored: dict[int, float], query: str, docs: Mapping[int, DocInfo | None]) -> dict[int, float]:
    """prefer_named for years alone (no sources)."""
    return prefer_named(scored, query, docs)

"""What a question becomes before retrieval: its content words, and for a question not in English,
the English names BM25 and the dense model can use.

Russian words are reduced to the forms the full-text index stores (index/text.py), and Russian
function words are dropped like English ones."""

from __future__ import annotations

import re

from index.glossary import english_names
from index.text import RU_STOPWORDS, normalise_word

MAX_QUERY_CHARS = 2000

_WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most my
    myself no nor not now of off on once only or other our ours ourselves out over own same she should so
    some such than that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves tell know please according say said does did whats s t""".split()
)


def query_terms(text: str) -> list[str]:
    """Lower-cased content words of a question (Russian ones normalised), in order, without duplicates."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        term = normalise_word(word)
        if term not in STOPWORDS and term not in RU_STOPWORDS and (len(term) > 1 or term.isdigit()):
            seen.setdefault(term, None)
    return list(seen)


def cross_lingual_query(query: str, terms: list[str]) -> tuple[list[str], str]:
    """BM25 terms and the dense model's text for a question that is not in English.

    The English names of index/glossary.py are added to BM25's terms and appended to the text
    the dense model encodes. Measured on eval/questions_ru.jsonl (README, "Choosing a model"):
    Recall@5 0.68 -> 0.80. The question's own words stay, to match articles in its language.
    """
    names = english_names(query)
    kept = list(terms)
    terms = kept + [t for t in query_terms(" ".join(names)) if t not in kept]
    return terms, f"{query} ({', '.join(names)})" if names else query

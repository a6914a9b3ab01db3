"""What a question becomes before retrieval: its content words, the corpus's words for the
region's names and informal words (the thesaurus, index/glossary.py), and for a question not in
English, the English names BM25 and the dense model can use.

Russian words are reduced to the forms the full-text index stores (index/text.py), and Russian
function words are dropped like English ones."""

from __future__ import annotations

import re

from index.glossary import english_names, expansions, spelled_names
from index.language import NON_ENGLISH, detect_language
from index.text import RU_STOPWORDS, normalise_word

MAX_QUERY_CHARS = 2000
# Whether the thesaurus's words are added to the BM25 query and to the text the dense model encodes
# (measured on the chat-register dev split, README "Quality").
THESAURUS_BM25 = True
THESAURUS_DENSE = False
# For a question not in English the thesaurus's words are translations ("газопровод" -> pipeline,
# natural gas), which the dense model matches across languages better than the question's own
# words: chat-register dev split, Russian hybrid Recall@1 0.630 -> 0.644, Recall@3 0.781 -> 0.808
# (dense 0.479 -> 0.521, 0.685 -> 0.712); eval/questions_ru.jsonl hybrid Recall@3 0.780 -> 0.805,
# dense Recall@5 0.780 -> 0.878.
THESAURUS_DENSE_CROSS_LINGUAL = True

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


def _new_terms(terms: list[str], extra: list[str]) -> list[str]:
    """``extra`` terms whose words are not all among ``terms`` already."""
    have = set(terms)
    return [t.lower() for t in extra if not set(query_terms(t)) <= have]


def search_query(query: str, *, thesaurus_bm25: bool = THESAURUS_BM25) -> tuple[list[str], str]:
    """The BM25 terms of a question and the language it is written in.

    Not in English: its English names (cross_lingual_query); in Russian, also the Latin spellings
    of the names the glossary lacks (glossary.spelled_names: BM25 only, the dense model gained
    nothing from them on the dev split). Then the thesaurus's corpus words; a multi-word term is
    matched as a phrase.
    """
    terms = query_terms(query)
    language = detect_language(query)
    if language in NON_ENGLISH:
        terms, _ = cross_lingual_query(query, terms)
    if language == "ru":
        terms += [term for term in spelled_names(query) if term not in terms]
    if thesaurus_bm25 and terms:  # the English names count too: "Душанбе" gives Dushanbe, then Tajikistan
        terms = terms + _new_terms(terms, expansions(f"{query} {' '.join(terms)}"))
    return terms, language


def dense_query(query: str, *, thesaurus_dense: bool = THESAURUS_DENSE) -> str:
    """The text the dense model encodes for a question: with the English names of a question not in
    English, and (when ``thesaurus_dense``, or THESAURUS_DENSE_CROSS_LINGUAL for a question not in
    English) the thesaurus's words the question lacks, in brackets."""
    text = query
    cross_lingual = detect_language(query) in NON_ENGLISH
    if cross_lingual:
        _, text = cross_lingual_query(query, query_terms(query))
    if thesaurus_dense or (cross_lingual and THESAURUS_DENSE_CROSS_LINGUAL):
        extra = _new_terms(query_terms(text), expansions(text))
        text = f"{text} ({', '.join(extra)})" if extra else text
    return text

"""Search: from a question to ranked, diversified passages of one index generation.

* query.py: the question's content words; English names for questions in other languages.
* fusion.py: hybrid fusion of dense and BM25 scores, and its weights per model and language.
* sentences.py: the best-sentence signal (each chunk's closest sentence, from stored vectors).
* rules.py: the year rule (a year or edition named in the question lifts its documents).
* diversify.py: no overlapping passages, at most two per document in the top five.
* searcher.py: the Searcher, which composes them over a store (index/store).
"""

from index.search.fusion import DENSE_WEIGHT, fuse, fusion_weight
from index.search.query import MAX_QUERY_CHARS, cross_lingual_query, query_terms
from index.search.rules import prefer_years, years_in
from index.search.searcher import MODES, Searcher, SearchResult
from index.search.sentences import SENTENCE_WEIGHT, with_best_sentence

__all__ = [
    "DENSE_WEIGHT",
    "MAX_QUERY_CHARS",
    "MODES",
    "SENTENCE_WEIGHT",
    "SearchResult",
    "Searcher",
    "cross_lingual_query",
    "fuse",
    "fusion_weight",
    "prefer_years",
    "query_terms",
    "with_best_sentence",
    "years_in",
]

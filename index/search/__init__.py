"""Search: from a question to ranked, diversified passages of one index generation.

* query.py: the question's content words; English names for questions in other languages.
* fusion.py: hybrid fusion of dense and BM25 scores, weighted by how much they agree.
* sentences.py: the best-sentence signal (each chunk's closest sentence, from stored vectors).
* rules.py: the year and source rules (a year or source named in the question lifts its passages).
* diversify.py: repeated passages collapse, neighbours merge, one document rarely fills the top five.
* searcher.py: the Searcher, which composes them over a store (index/store).
"""

from index.search.fusion import DEFAULT_WEIGHTS, FusionWeights, adaptive_fuse, agreement, fuse, fusion_weights
from index.search.query import MAX_QUERY_CHARS, cross_lingual_query, query_terms
from index.search.rules import named_sources, prefer_named, prefer_years, years_in
from index.search.searcher import MODES, Searcher, SearchResult
from index.search.sentences import SENTENCE_WEIGHT, with_best_sentence

__all__ = [
    "DEFAULT_WEIGHTS",
    "MAX_QUERY_CHARS",
    "MODES",
    "SENTENCE_WEIGHT",
    "FusionWeights",
    "SearchResult",
    "Searcher",
    "adaptive_fuse",
    "agreement",
    "cross_lingual_query",
    "fuse",
    "fusion_weights",
    "named_sources",
    "prefer_named",
    "prefer_years",
    "query_terms",
    "with_best_sentence",
    "years_in",
]

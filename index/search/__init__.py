"""Search: from a question to ranked, diversified passages of one index generation.

* query.py: the question's content words; English names for questions in other languages.
* fusion.py: hybrid fusion of dense and BM25 scores, and its weights per model and language.
* rules.py: the year and source rules (a year or source named in the question lifts its passages).
* diversify.py: repeated passages collapse, neighbours merge, one document rarely fills the top five.
* searcher.py: the Searcher, which composes them over a store (index/store).
"""

from index.search.fusion import DENSE_WEIGHT, fuse, fusion_weight
from index.search.query import MAX_QUERY_CHARS, cross_lingual_query, query_terms
from index.search.rules import named_sources, prefer_named, prefer_years, years_in
from index.search.searcher import MODES, Searcher, SearchResult

__all__ = [
    "DENSE_WEIGHT",
    "MAX_QUERY_CHARS",
    "MODES",
    "SearchResult",
    "Searcher",
    "cross_lingual_query",
    "fuse",
    "fusion_weight",
    "named_sources",
    "prefer_named",
    "prefer_years",
    "query_terms",
    "years_in",
]

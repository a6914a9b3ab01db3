"""Sources: every input format steppe reads, turned into cleaned :class:`~index.models.Document` objects.

=====================  ==================================================================
module                 reads
=====================  ==================================================================
files.py               corpus folders: which files are articles; dispatch by file type
news.py                plain-text news (``.txt``), the seed's wire format included
markdown.py            Markdown with YAML front matter (and writes the articles ``corpus add`` saves)
wikipedia.py           Wikipedia exports (Markdown from pandoc): titles, URLs, wiki debris
congressional.py       Congressional Record floor statements (Markdown)
records.py             JSON and JSON Lines records, BEIR corpora
html.py                HTML pages: the one trafilatura extraction, for files and fetched pages
factbook.py            CIA World Factbook country files, and the edition built into steppe
web.py                 fetching pages and RSS/Atom feeds over HTTP, carefully
=====================  ==================================================================

Shared by them: common.py (decoding, document ids, slugs, titles, dates), markup.py (Markdown
and wiki text to paragraphs), provenance.py (PROVENANCE.md defaults), urls.py (web addresses).
"""

from index.sources.common import LoadFailure
from index.sources.files import SUPPORTED_SUFFIXES, iter_corpus_files, load_corpus, load_file

__all__ = ["SUPPORTED_SUFFIXES", "LoadFailure", "iter_corpus_files", "load_corpus", "load_file"]

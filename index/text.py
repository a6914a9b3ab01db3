"""Words as the full-text index sees them: Russian words reduced to one form, everything else as written.

FTS5's tokenizer (``porter unicode61``) stems English but not Russian, so "Россия", "России" and
"Россией" would be three unrelated words to BM25. Both sides of the full-text index go through
:func:`normalise_text` / :func:`normalise_word` here: the store writes chunk titles and texts
normalised (index/store/local.py) and the query builder normalises a question's terms
(index/search/query.py), so an inflected Russian question meets the forms of a Russian article.

What changes, token by token (a token is a run of letters and digits, as FTS5 splits them):

* A token made only of Russian letters (а–я, ё) becomes its dictionary form from pymorphy3's
  OpenCorpora dictionary (Казахстаном → казахстан, базой → база, российской → российский), in
  lower case with ё written е; between equally likely readings, a place name's. A word the dictionary does not know (many surnames and local place
  names) is stemmed with the Snowball Russian stemmer instead (Гиссара → гиссар), because
  pymorphy3's guesses for unknown words differ from form to form and Snowball's mostly do not.
* Every other token is left exactly as written: English (FTS5 stems it itself), numbers, and
  Cyrillic words with letters Russian lacks (Kazakh қ ә ғ ң ө ұ ү һ і, Kyrgyz, Ukrainian …):
  there is no maintained Kazakh stemmer on PyPI, so Kazakh words are matched as written.

One token always stays one token, so English passages keep their lengths and BM25 scores exactly.
The dictionary (about 25 MB) loads on the first Russian word, never for English-only text.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

RUSSIAN_WORD = re.compile(r"[а-яё]+")
# A whole token of Russian letters: not glued to other letters or digits (FTS5 would keep them together).
# The letter class comes first, so the scan over English text is a plain character-class search.
_RUSSIAN_TOKEN = re.compile(r"[А-Яа-яЁё](?<![^\W_][А-Яа-яЁё])[А-Яа-яЁё]*(?![^\W_])")
WORD_CACHE = 100_000  # normalised words kept (a word costs one dictionary lookup, ~30 µs, the first time)

# Russian function and question words, as dictionary forms (normalise_word's output), so every
# inflected form is covered: "какой" stands for какая, какие, каким … Neither pymorphy3 nor
# snowballstemmer ships a stopword list; this one mirrors the English list in index/search/query.py.
RU_STOPWORDS = frozenset(
    """и в не ни на что с как по это к из у за от о для же ли бы ну а но или либо да нет
    какой каковой который такой этот тот где куда откуда когда почему зачем сколько кто чей
    быть есть весь свой сам самый он она оно они мы вы я ты себя между после при через до под над
    перед без также тоже только уже еще вот там тут здесь так то если чтобы можно разве сказать
    рассказать знать говорить пожалуйста""".split()
)

_lock = threading.Lock()
_tools: tuple[Any, Any] | None = None


def _analysers() -> tuple[Any, Any]:
    """pymorphy3's analyser and the Snowball Russian stemmer, loaded once on first use."""
    global _tools
    with _lock:
        if _tools is None:
            import pymorphy3
            import snowballstemmer

            _tools = (pymorphy3.MorphAnalyzer(lang="ru"), snowballstemmer.stemmer("russian"))
        return _tools


@lru_cache(maxsize=WORD_CACHE)
def _russian_normal_form(word: str) -> str:
    """The dictionary form of a lower-case Russian word (ё as е), or its Snowball stem if unknown."""
    morph, stemmer = _analysers()
    if morph.word_is_known(word):
        parses = morph.parse(word)
        # Equally likely readings: the place wins (Астану is Astana's, not a man's name Астан's).
        tied = [p for p in parses if p.score == parses[0].score]
        best = next((p for p in tied if "Geox" in p.tag), parses[0])
        lemma = best.normal_form.replace("ё", "е")
        if RUSSIAN_WORD.fullmatch(lemma):  # one token in, one token out
            return lemma
    return stemmer.stemWord(word)


def normalise_word(word: str) -> str:
    """One token as the full-text index stores it: a Russian word's normal form, anything else unchanged.

    Examples:
        >>> normalise_word("Казахстаном")
        'казахстан'
        >>> normalise_word("Ёлки")
        'елка'
        >>> normalise_word("Kazakhstan")
        'Kazakhstan'
    """
    lower = word.lower()
    if not RUSSIAN_WORD.fullmatch(lower):
        return word
    return _russian_normal_form(lower.replace("ё", "е"))


def normalise_text(text: str) -> str:
    """Text for the full-text index: each Russian word replaced by its normal form, the rest untouched."""
    return _RUSSIAN_TOKEN.sub(lambda match: normalise_word(match.group()), text)


__all__ = ["RU_STOPWORDS", "normalise_text", "normalise_word"]

"""Words as the full-text index sees them: Russian words reduced to one form, English as written.

FTS5's tokenizer (``porter unicode61``) stems English but not Russian, so "Россия", "России" and
"Россией" would be three unrelated words to BM25. Both sides go through :func:`normalise_word`:
the store gives every chunk a third full-text column, ``native``, holding its Cyrillic words
normalised (:func:`native_words`, index/store/local.py), and the query builder normalises a
question's terms (index/search/query.py), whose Cyrillic terms are searched in that column only.
The title and text columns keep the words as written, so English search is exactly as before.

How a word is normalised:

* A word made only of Russian letters (а–я, ё) becomes its dictionary form from pymorphy3's
  OpenCorpora dictionary (Казахстаном → казахстан, базой → база, российской → российский), in
  lower case with ё written е; between equally likely readings, a place name's. A word the
  dictionary does not know (many surnames and local place names) is stemmed with the Snowball
  Russian stemmer instead (Гиссара → гиссар), because pymorphy3's guesses for unknown words
  differ from form to form and Snowball's mostly do not.
* Every other word is left as written: English, numbers, and Cyrillic words with letters Russian
  lacks (Kazakh қ ә ғ ң ө ұ ү һ і, Kyrgyz, Ukrainian …): there is no maintained Kazakh stemmer on
  PyPI, so Kazakh words are matched as written.

Only chunks written in Russian, Kazakh or Kyrgyz fill the ``native`` column: Russian names quoted
in English articles must not pull Russian questions to them (searching every chunk's Cyrillic
words cost eval/questions_ru.jsonl over the English corpus BM25 Recall@1 0.20 -> 0.05 and hybrid
Recall@5 0.37 -> 0.27; every chunk at least a quarter Cyrillic, still 0.20 -> 0.15 and 0.37 -> 0.32).
The dictionary (about 25 MB) loads on the first Russian word, never for English-only text.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

from index.language import detect_language

RUSSIAN_WORD = re.compile(r"[а-яё]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_TOKEN = re.compile(r"[^\W_]+")  # a token as FTS5's unicode61 tokenizer cuts it: letters and digits
NATIVE_LANGUAGES = frozenset({"ru", "kk", "ky"})  # chunks in these languages get their Cyrillic words searched
WORD_CACHE = 100_000  # normalised words kept: a new word costs a dictionary lookup, a known one a cache hit

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


_stem_lock = threading.Lock()


def _stem(word: str) -> str:
    """The Snowball Russian stem. snowballstemmer's stemmers keep their state on the instance, so
    two threads stemming at once corrupt each other's words: one at a time."""
    _, stemmer = _analysers()
    with _stem_lock:
        return stemmer.stemWord(word)


def _best_parse(word: str) -> Any | None:
    """pymorphy3's likeliest reading of a lower-case Russian word the dictionary knows, else None;
    between equally likely readings, the place (Астану is Astana's, not a man's name Астан's)."""
    morph, _ = _analysers()
    if not morph.word_is_known(word):
        return None
    parses = morph.parse(word)
    tied = [p for p in parses if p.score == parses[0].score]
    return next((p for p in tied if "Geox" in p.tag), parses[0])


@lru_cache(maxsize=WORD_CACHE)
def _russian_normal_form(word: str) -> str:
    """The dictionary form of a lower-case Russian word (ё as е), or its Snowball stem if unknown."""
    parse = _best_parse(word)
    if parse is not None:
        lemma = parse.normal_form.replace("ё", "е")
        if RUSSIAN_WORD.fullmatch(lemma):  # one token in, one token out
            return lemma
    return _stem(word)


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


# pymorphy3's tags for a proper name: a place, a surname, an organisation.
NAME_TAGS = frozenset({"Geox", "Surn", "Orgn"})
# A place's adjective ("рогунскую ГЭС", "ферганской долины"): its stem is the place's name.
_PLACE_ADJECTIVE = re.compile(r"ск(?:ий|ая|ое|ую|ой|ого|ом|их|ие|ому|ими|ым)$")
# Cyrillic letters (Russian and Kazakh) as English texts write them (Skobelev, Chelyabinsk, Shymkent).
LATIN_LETTERS = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі",
        [
            *"a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch".split(),
            *("", "y", "", "e", "yu", "ya"),
            *"a g q n o u u h i".split(),
        ],
        strict=True,
    )
)


def latin(text: str) -> str:
    """Lower-case Cyrillic text in Latin letters: "скобелев" -> "skobelev"; other characters stay."""
    return "".join(LATIN_LETTERS.get(char, char) for char in text)


@lru_cache(maxsize=WORD_CACHE)
def name_forms(word: str) -> tuple[str, ...]:
    """The forms a lower-case Russian word may name something by, if it may be a proper name:
    tagged a place, surname or organisation in the dictionary, or unknown to it (most local names
    are). The word itself, its dictionary form or Snowball stem, and for a place's adjective the
    place's stem ("рогунскую" -> "рогун"). A common word gives ().

    Example:
        >>> name_forms("скобелеве")
        ('скобелев', 'скобелеве')
    """
    parse = _best_parse(word)
    if parse is None:
        forms = {word, _stem(word)}
    elif any(tag in parse.tag for tag in NAME_TAGS):
        forms = {word, parse.normal_form.replace("ё", "е")}
    else:
        return ()
    if _PLACE_ADJECTIVE.search(word):
        forms.add(_PLACE_ADJECTIVE.sub("", word))
    return tuple(sorted(form for form in forms if RUSSIAN_WORD.fullmatch(form)))


def native_words(title: str, text: str) -> str:
    """A chunk's words in Cyrillic (Russian ones normalised), for the full-text table's own column.

    Only for a chunk written in Russian, Kazakh or Kyrgyz (index/language.py), else "": those
    articles are searched in their own words, while the native names an English article quotes
    ("Russian: Содружество Независимых Государств") or a list of names in many languages do not
    draw Russian questions to it.
    """
    if not _CYRILLIC.search(text) or detect_language(text) not in NATIVE_LANGUAGES:
        return ""
    return " ".join(normalise_word(token) for token in _TOKEN.findall(f"{title}\n{text}") if _CYRILLIC.search(token))


def is_native(term: str) -> bool:
    """True for a term with Cyrillic letters: it is searched in the chunks' Cyrillic words only."""
    return _CYRILLIC.search(term) is not None


__all__ = [
    "LATIN_LETTERS",
    "NAME_TAGS",
    "NATIVE_LANGUAGES",
    "RU_STOPWORDS",
    "is_native",
    "latin",
    "name_forms",
    "native_words",
    "normalise_word",
]

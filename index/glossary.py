"""English names for the Russian names a question about Russia and Central Asia is likely to use.

BM25 runs over an English corpus, so a Russian question matches nothing there except
numbers and Latin words. The named entities of the domain — countries, capitals and cities,
regional organisations and their Russian acronyms, heads of state — have one fixed English
form each, so they can be looked up instead of translated: "Кто сейчас генсек ОДКБ?" gains
the BM25 term "CSTO". Names only: no general vocabulary, no machine translation.

Russian nouns inflect ("Бишкек", "Бишкеку", "Бишкеке"), so most entries are word stems matched
at the start of a word; short or ambiguous names and all acronyms match whole words only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# (stem, English). The stem matches the start of a lower-cased word.
_PLACES: tuple[tuple[str, str], ...] = (
    # countries and their adjectives
    ("росси", "Russia"),
    ("русск", "Russian"),
    ("казахстан", "Kazakhstan"),
    ("казах", "Kazakh"),
    ("кыргызстан", "Kyrgyzstan"),
    ("киргизи", "Kyrgyzstan"),
    ("кыргыз", "Kyrgyz"),
    ("киргиз", "Kyrgyz"),
    ("таджикистан", "Tajikistan"),
    ("таджик", "Tajik"),
    ("туркменистан", "Turkmenistan"),
    ("туркмени", "Turkmenistan"),
    ("туркмен", "Turkmen"),
    ("узбекистан", "Uzbekistan"),
    ("узбек", "Uzbek"),
    ("афганистан", "Afghanistan"),
    ("афган", "Afghan"),
    ("монгол", "Mongolia"),
    ("китай", "China"),
    ("китаю", "China"),
    ("китае", "China"),
    ("китая", "China"),
    ("китайск", "Chinese"),
    ("иран", "Iran"),
    ("пакистан", "Pakistan"),
    ("индии", "India"),
    ("индия", "India"),
    ("турци", "Turkey"),
    ("турецк", "Turkish"),
    ("украин", "Ukraine"),
    ("белорус", "Belarus"),
    ("беларус", "Belarus"),
    ("армени", "Armenia"),
    ("армянск", "Armenian"),
    ("азербайджан", "Azerbaijan"),
    ("советск", "Soviet"),
    ("евразийск", "Eurasian"),
    # capitals, cities, regions
    ("москв", "Moscow"),
    ("кремл", "Kremlin"),
    ("астан", "Astana"),
    ("нур-султан", "Nur-Sultan"),
    ("алмат", "Almaty"),
    ("алма-ат", "Almaty"),
    ("бишкек", "Bishkek"),
    ("душанбе", "Dushanbe"),
    ("ташкент", "Tashkent"),
    ("ашхабад", "Ashgabat"),
    ("самарканд", "Samarkand"),
    ("бухар", "Bukhara"),
    ("фергана", "Fergana"),
    ("ферганск", "Fergana"),
    ("худжанд", "Khujand"),
    ("уральск", "Uralsk Oral"),
    ("актобе", "Aktobe"),
    ("актюбинск", "Aktobe"),
    ("караганд", "Karaganda"),
    ("шымкент", "Shymkent"),
    ("семипалатинск", "Semipalatinsk"),
    ("атырау", "Atyrau"),
    ("актау", "Aktau"),
    ("кабул", "Kabul"),
    ("пекин", "Beijing"),
    ("шанха", "Shanghai"),
    ("байконур", "Baikonur"),
    ("каспи", "Caspian"),
    ("арал", "Aral"),
    ("памир", "Pamir"),
    ("сибир", "Siberia"),
)

# People: (stem, English surname). Kept apart so follow-up questions can swap one for another.
PEOPLE: tuple[tuple[str, str], ...] = (
    ("путин", "Putin"),
    ("медведев", "Medvedev"),
    ("ельцин", "Yeltsin"),
    ("горбач", "Gorbachev"),
    ("назарбаев", "Nazarbayev"),
    ("токаев", "Tokayev"),
    ("мирзиёев", "Mirziyoyev"),
    ("мирзиеев", "Mirziyoyev"),
    ("каримов", "Karimov"),
    ("рахмон", "Rahmon"),
    ("бердымухамедов", "Berdimuhamedow"),
    ("ниязов", "Niyazov"),
    ("атамбаев", "Atambayev"),
    ("жээнбеков", "Jeenbekov"),
    ("жапаров", "Japarov"),
    ("бакиев", "Bakiyev"),
    ("акаев", "Akayev"),
    ("лукашенко", "Lukashenko"),
)
_STEMS = _PLACES + PEOPLE

# Whole words only (matched lower-cased): acronyms and names too short to be stems.
_WORDS: dict[str, str] = {
    "рф": "Russia",
    "грузия": "Georgia",
    "грузии": "Georgia",
    "грузию": "Georgia",
    "ссср": "Soviet Union USSR",
    "снг": "CIS Commonwealth of Independent States",
    "одкб": "CSTO Collective Security Treaty Organization",
    "еаэс": "EAEU Eurasian Economic Union",
    "еаес": "EAEU Eurasian Economic Union",
    "евразэс": "EurAsEC Eurasian Economic Community",
    "шос": "SCO Shanghai Cooperation Organisation",
    "свмда": "CICA",
    "отг": "Organization of Turkic States",
    "оэс": "ECO Economic Cooperation Organization",
    "еабр": "EDB Eurasian Development Bank",
    "обсе": "OSCE",
    "оон": "UN United Nations",
    "нато": "NATO",
    "вто": "WTO World Trade Organization",
    "ес": "EU European Union",
    "сша": "United States",
    "кнр": "China",
    "ктк": "CPC Caspian Pipeline Consortium",
    "ош": "Osh",
    "оше": "Osh",
    "оша": "Osh",
    "кант": "Kant",
    "канте": "Kant",
    "канта": "Kant",
}

# Two-word names.
_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"центральн\w* ази", re.IGNORECASE), "Central Asia"),
    (re.compile(r"средн\w* ази", re.IGNORECASE), "Central Asia"),
    (re.compile(r"таможенн\w* союз", re.IGNORECASE), "Customs Union"),
    (re.compile(r"евразийск\w* союз", re.IGNORECASE), "Eurasian Union"),
    (re.compile(r"российск\w* импери", re.IGNORECASE), "Russian Empire"),
    (re.compile(r"советск\w* союз", re.IGNORECASE), "Soviet Union"),
)

_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*", re.UNICODE)
_ACRONYM = re.compile(r"[A-Z][A-Za-z]*[A-Z]")
_UNIONS = ("Customs Union", "Eurasian Union")  # organisations named by a phrase, not an acronym


@dataclass(frozen=True)
class Organisation:
    """A regional organisation: its English acronym (if any), English name and Russian forms."""

    acronym: str | None
    name: str | None
    russian: tuple[str, ...]  # whole lower-case words
    russian_phrase: re.Pattern[str] | None = None

    @property
    def key(self) -> str:
        """The short name it is known by."""
        return self.acronym or self.name or ""


def _organisations() -> tuple[Organisation, ...]:
    """The organisations among the glossary's names: Russian acronyms whose English form starts
    with an acronym ("ОДКБ" -> "CSTO Collective Security Treaty Organization"), one more named in
    full ("Organization of Turkic States"), and the unions named by a phrase."""
    forms: dict[str, list[str]] = {}
    for word, english in _WORDS.items():
        if _ACRONYM.fullmatch(english.split()[0]) or english.startswith("Organization"):
            forms.setdefault(english, []).append(word)
    found = []
    for english, words in forms.items():
        first, _, rest = english.partition(" ")
        if _ACRONYM.fullmatch(first):
            found.append(Organisation(first, rest or None, tuple(words)))
        elif english.startswith("Organization"):
            found.append(Organisation(None, english, tuple(words)))
    for pattern, english in _PHRASES:
        if english in _UNIONS:
            found.append(Organisation(None, english, (), pattern))
    return tuple(found)


def english_names(text: str) -> list[str]:
    """English forms of the region's names in a (Russian) question, in order, without repeats.

    Example:
        >>> english_names("Почему Таджикистан до сих пор не в ЕАЭС?")
        ['Tajikistan', 'EAEU Eurasian Economic Union']
    """
    found: dict[str, None] = {}
    for pattern, english in _PHRASES:
        if pattern.search(text):
            found.setdefault(english, None)
    for word in _WORD.findall(text.lower()):
        if word in _WORDS:
            found.setdefault(_WORDS[word], None)
            continue
        for stem, english in _STEMS:
            if word.startswith(stem):
                found.setdefault(english, None)
                break
    return list(found)


ORGANISATIONS = _organisations()

__all__ = ["ORGANISATIONS", "PEOPLE", "Organisation", "english_names"]

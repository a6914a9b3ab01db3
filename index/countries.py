"""Country tagging: which of the countries steppe cares about a text mentions.

``tag_countries`` finds names, common spellings, demonyms, capitals used as metonyms
("Moscow", "Astana") and Russian-language forms, with word-boundary regexes compiled once.
``normalize_country`` maps user input ("tajik", "kg", "таджикистан") to the canonical name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Country:
    """A country steppe tags and filters by."""

    name: str  # the canonical English name
    factbook: str  # the CIA World Factbook's own (GEC) code
    codes: tuple[str, ...]  # what else users type: ISO 3166 alpha-2/alpha-3, common abbreviations
    core: bool = False  # Russia, Central Asia and its neighbours: the built-in Factbook loads these


# The one list of the region's countries, in the order steppe reports them.
REGION = (
    Country("Russia", "rs", ("ru", "rus"), core=True),
    Country("Kazakhstan", "kz", ("kz", "kaz"), core=True),
    Country("Kyrgyzstan", "kg", ("kg", "kgz"), core=True),
    Country("Tajikistan", "ti", ("tj", "tjk"), core=True),
    Country("Turkmenistan", "tx", ("tm", "tkm"), core=True),
    Country("Uzbekistan", "uz", ("uz", "uzb"), core=True),
    Country("Afghanistan", "af", ("af", "afg"), core=True),
    Country("China", "ch", ("cn", "chn"), core=True),
    Country("Mongolia", "mg", ("mn", "mng"), core=True),
    Country("Iran", "ir", ("ir", "irn")),
    Country("Pakistan", "pk", ("pk", "pak")),
    Country("India", "in", ("in", "ind")),
    Country("Turkey", "tu", ("tr", "tur")),
    Country("United States", "us", ("us", "usa", "u.s.", "u.s.a.", "america")),
    Country("Ukraine", "up", ("ua", "ukr")),
    Country("Belarus", "bo", ("by", "blr")),
    Country("Armenia", "am", ("am", "arm")),
    Country("Azerbaijan", "aj", ("az", "aze")),
    Country("Georgia", "gg", ("ge", "geo")),
)
COUNTRIES = tuple(country.name for country in REGION)
CORE_COUNTRIES = tuple(country.name for country in REGION if country.core)
BY_FACTBOOK_CODE = {country.factbook: country.name for country in REGION}

# Per country: case-insensitive English patterns, case-sensitive patterns (for words that are
# ambiguous in lower case: "china", "turkey", "us"), and Russian stems (case-insensitive).
# Each pattern is wrapped in word boundaries.
_PATTERNS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "Russia": (
        (r"russia", r"russians?", r"russian\s+federation", r"rossiya", r"moscow", r"kremlin"),
        (r"РФ",),
        (r"росси\w*", r"русск\w*", r"москв\w*", r"московск\w*", r"кремл\w*"),
    ),
    "Kazakhstan": (
        (r"kazakh(?:stan(?:is?)?|s)?", r"kazakstan", r"qazaqstan", r"astana", r"nur-sultan", r"almaty"),
        (),
        (r"казах\w*", r"астан\w*", r"алмат\w*"),
    ),
    "Kyrgyzstan": (
        (
            r"kyrgyz(?:stan(?:is?)?|s)?",
            r"kirghiz(?:ia|stan|s)?",
            r"kirgiz(?:ia|stan|s)?",
            r"kyrgyz\s+republic",
            r"bishkek",
        ),
        (),
        (r"кыргыз\w*", r"киргиз\w*", r"бишкек\w*"),
    ),
    "Tajikistan": (
        (
            r"tajik(?:istan(?:is?)?|s)?",
            r"tadjik(?:istan|s)?",
            r"tadzhik(?:istan|s)?",
            r"dushanbe",
        ),
        (),
        (r"таджик\w*", r"душанбе"),
    ),
    "Turkmenistan": (
        (r"turkmen(?:istan(?:is?)?|s|ia|ian)?", r"ashgabat", r"ashkhabad"),
        (),
        (r"туркмен\w*", r"ашхабад\w*"),
    ),
    "Uzbekistan": (
        (r"uzbek(?:istan(?:is?)?|s)?", r"o['ʻ’]?zbekiston", r"tashkent"),
        (),
        (r"узбек\w*", r"ташкент\w*"),
    ),
    "Afghanistan": (
        (r"afghan(?:istan|s|is?)?", r"kabul"),
        (),
        (r"афган\w*", r"кабул\w*"),
    ),
    "China": (
        (r"chinese", r"people['’]s\s+republic\s+of\s+china", r"beijing", r"peking"),
        (r"China", r"CHINA", r"PRC"),
        (r"кита(?:й|я|ю|е|ем)", r"китайск\w*", r"кнр", r"пекин\w*"),
    ),
    "Mongolia": (
        (r"mongolia", r"mongolians?", r"ulaanbaatar", r"ulan\s+bator"),
        (),
        (r"монголи\w*", r"монгольск\w*", r"улан-батор\w*"),
    ),
    "Iran": (
        (r"iran", r"iranians?", r"tehran", r"islamic\s+republic\s+of\s+iran"),
        (),
        (r"иран\w*", r"тегеран\w*"),
    ),
    "Pakistan": (
        (r"pakistan", r"pakistanis?", r"islamabad"),
        (),
        (r"пакистан\w*", r"исламабад\w*"),
    ),
    "India": (
        (r"indians?(?!\s+ocean)", r"new\s+delhi"),
        (r"India", r"INDIA"),
        (r"инди(?:я|и|ю|ей)", r"индийск\w*", r"нью-дели"),
    ),
    "Turkey": (
        (r"turkish", r"t[üu]rkiye", r"ankara"),
        (r"Turkey", r"TURKEY"),
        (r"турци\w*", r"турецк\w*", r"анкар\w*"),
    ),
    "United States": (
        (r"united\s+states(?:\s+of\s+america)?", r"americans?"),
        (r"US", r"USA(?!\s+Today)", r"U\.\s?S\.(?:\s?A\.)?"),
        (r"сша", r"соедин[её]нн\w*\s+штат\w*", r"америк\w*", r"вашингтон\w*"),
    ),
    "Ukraine": (
        (r"ukraine", r"ukrainians?", r"kyiv", r"kiev"),
        (),
        (r"украин\w*", r"киев\w*"),
    ),
    "Belarus": (
        (r"belarus", r"belarusians?", r"belarussians?", r"byelorussian?", r"belorussian?", r"minsk"),
        (),
        (r"беларус\w*", r"белорус\w*", r"минск\w*"),
    ),
    "Armenia": (
        (r"armenia", r"armenians?", r"yerevan"),
        (),
        (r"армени\w*", r"армян\w*", r"ереван\w*"),
    ),
    "Azerbaijan": (
        (r"azerbaijan", r"azerbaijanis?", r"azeris?", r"baku"),
        (),
        (r"азербайджан\w*", r"баку"),
    ),
    "Georgia": (
        (r"georgians?", r"tbilisi"),
        (r"Georgia", r"GEORGIA"),
        (r"грузи(?:я|и|ю|ей|н\w*)", r"тбилиси"),
    ),
}

# "American" is not the US in these contexts.
_NOT_US = re.compile(r"(?:latin|central|south|north|native|inter|pan|meso|afro|african)[\s-]+$", re.I)

_B = r"(?<![\w])"  # a word boundary that also works before "U.S."
_E = r"(?![\w])"


def _compile() -> re.Pattern[str]:
    parts = []
    for i, country in enumerate(COUNTRIES):
        insensitive, sensitive, russian = _PATTERNS[country]
        alts = [f"(?i:{p})" for p in (*insensitive, *russian)] + list(sensitive)
        parts.append(f"(?P<c{i}>{'|'.join(alts)})")
    # One boundary check per position, and a cheap first-letter test, keep this fast.
    return re.compile(rf"{_B}(?=[^\W\d_])(?:{'|'.join(parts)}){_E}")


_COUNTRY_RE = _compile()


@dataclass(frozen=True)
class Mention:
    """One mention of a country in a text: where it is, and which country it names."""

    start: int
    end: int
    country: str


def find_countries(text: str) -> list[Mention]:
    """Every mention of a country in ``text``, in order (names, demonyms, capitals, Russian forms)."""
    mentions = []
    for m in _COUNTRY_RE.finditer(text):
        country = COUNTRIES[int(m.lastgroup[1:])] if m.lastgroup else None
        if country is None or (country == "United States" and not _is_us_mention(text, m)):
            continue
        mentions.append(Mention(m.start(), m.end(), country))
    return mentions


def tag_countries(text: str) -> tuple[str, ...]:
    """Canonical names of the countries ``text`` mentions, sorted alphabetically."""
    return tuple(sorted({mention.country for mention in find_countries(text)}))


def _is_us_mention(text: str, m: re.Match[str]) -> bool:
    word = m.group(0)
    if word.lower().startswith("american"):
        return not _NOT_US.search(text[max(0, m.start() - 20) : m.start()])
    if word == "US":  # "HELP US" in an all-caps heading is a pronoun
        window = text[max(0, m.start() - 30) : m.end() + 30]
        letters = [c for c in window if c.isalpha()]
        return sum(c.islower() for c in letters) >= 0.3 * len(letters)
    return True


_ALIASES = {alias: c.name for c in REGION for alias in (*c.codes, c.factbook)} | {c.casefold(): c for c in COUNTRIES}


def normalize_country(name: str) -> str | None:
    """Map user input ('tajik', 'Tajikistan', 'таджикистан', 'kg') to a canonical name, or None."""
    key = " ".join(name.split()).casefold()
    if not key:
        return None
    if key in _ALIASES:
        return _ALIASES[key]
    tags = tag_countries(name) or tag_countries(name.title())
    return tags[0] if len(tags) == 1 else None

"""Follow-up questions read against the question before them: rules, no language model.

``read_followup(previous, message)`` returns how a short, elliptical message continues the
previous question, or None when the message stands on its own:

- a new country, organisation, person or year replaces the matching one ("and in Kyrgyzstan?",
  "а в Киргизии?", "and in 2015?"); with nothing to replace it is added ("… in 2015");
- a bare question word asks about the same subject ("since when?", "почему?");
- "more about 2" / "подробнее о втором" opens a passage of the previous answer;
- "only the Factbook" / "только с 2015 года" repeats the question with a filter.

A message with any word the rules do not account for (a full question, a new topic) is never
rewritten. Entities come from ``index.countries`` and ``index.glossary``; filters are written
the way ``index.filters`` reads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.countries import find_countries
from index.filters import split_filter_tokens
from index.glossary import ORGANISATIONS, PEOPLE

KINDS = ("replace", "ask", "more", "filter")
MAX_WORDS = 9  # longer messages are questions of their own
HOME = "Russia"  # the constant side of "Russia and X": replaced last


@dataclass(frozen=True)
class Reading:
    """How a follow-up was read: the standalone question to search, and what kind of follow-up."""

    question: str  # the rewritten question (filter tokens included); for "more", the previous one
    kind: str  # one of KINDS
    passage: int | None = None  # "more": which passage of the previous answer (1-based)


@dataclass(frozen=True)
class _Entity:
    start: int
    end: int
    kind: str  # country, organisation, person, year
    key: str  # canonical: country name, organisation acronym, surname, the year

    def text(self, source: str) -> str:
        return source[self.start : self.end]


# --- entities -------------------------------------------------------------------------------------


def _organisation_pattern() -> re.Pattern[str]:
    parts = []
    for i, org in enumerate(ORGANISATIONS):
        alts = []
        if org.acronym:
            alts.append(re.escape(org.acronym))
        if org.name:
            alts.append("(?i:" + re.sub("i[sz]ation", "i[sz]ation", re.escape(org.name)) + ")")
        alts += [f"(?i:{re.escape(word)})" for word in org.russian]
        if org.russian_phrase is not None:
            alts.append(f"(?i:{org.russian_phrase.pattern}\\w*)")
        parts.append(f"(?P<o{i}>{'|'.join(alts)})")
    return re.compile(rf"(?<!\w)(?:{'|'.join(parts)})(?!\w)")


_ORG = _organisation_pattern()
_PERSON_EN = re.compile(r"(?i)(?<!\w)(" + "|".join(re.escape(english) for _, english in PEOPLE) + r")(?!\w)")
_PERSON_RU = re.compile(r"(?i)(?<!\w)(" + "|".join(re.escape(stem) for stem, _ in PEOPLE) + r")\w*")
_YEAR = re.compile(r"(?<![\w:])(1[6-9]\d\d|20\d\d)(?!\w)")


def _entities(text: str) -> list[_Entity]:
    """Countries, organisations, people and years in ``text``, in order, never overlapping."""
    found = [_Entity(m.start, m.end, "country", m.country) for m in find_countries(text)]
    for m in _ORG.finditer(text):
        group = m.lastgroup or "o0"  # every alternative is a named group o<i>
        found.append(_Entity(m.start(), m.end(), "organisation", ORGANISATIONS[int(group[1:])].key))
    for m in _PERSON_EN.finditer(text):
        english = next(e for _, e in PEOPLE if e.lower() == m.group(1).lower())
        found.append(_Entity(m.start(), m.end(), "person", english))
    for m in _PERSON_RU.finditer(text):
        english = next(e for s, e in PEOPLE if m.group(1).lower() == s)
        found.append(_Entity(m.start(), m.end(), "person", english))
    found += [_Entity(m.start(), m.end(), "year", m.group(1)) for m in _YEAR.finditer(text)]
    found.sort(key=lambda e: (e.start, -(e.end - e.start)))
    kept: list[_Entity] = []
    for entity in found:
        if not kept or entity.start >= kept[-1].end:
            kept.append(entity)
    return kept


# --- the words a follow-up may have besides entities ------------------------------------------------

_CONNECTOR = re.compile(
    r"^(?:and what about|and how about|what about|how about|what of|and for|same for|same question for|"
    r"and also|and|but|so|ok(?:ay)?|also|now|"
    r"а что насч[её]т|а как насч[её]т|а что с|а как с|а что про|а как же|а если|то же самое для|тот же вопрос для|"
    r"то же для|а|и|ну|но|теперь|также)(?=\W|$)\s*",
    re.IGNORECASE,
)
# Question words and phrases, longest first; group "wh" is what the rewrite puts in front.
_WH = re.compile(
    r"(?<!\w)(?P<wh>since when|until when|till when|for how long|how long|how much|how many|"
    r"in what year|in which year|since what year|what year|which year|why|when|where|who|how|"
    r"с каких пор|с какого года|до какого года|в каком году|в какие годы|на сколько лет|на какой срок|"
    r"как долго|сколько|почему|зачем|когда|где|кто|как|откуда|для чего|каким образом)(?!\w)",
    re.IGNORECASE,
)
_FILLER = frozenset(
    "in at on of for with from to by the a an there then too about regarding re please it its this that case one ones "
    "did was were is happen happened "
    "в во на с со у о об про для к ко по из от за при же ли тогда там это насчёт насчет тоже году года "
    "было был была были произошло случилось".split()
)
_PREPOSITIONS = frozenset(
    "in at on of for with from to by into в во на с со у о об про для к ко по из от за при".split()
)
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_AUX = re.compile(
    r"^(?:does|do|did|is|are|was|were|has|have|had|can|could|will|would|should|may|might)\b", re.IGNORECASE
)
_LEADING_WH = re.compile(
    r"^(?:(?:since|until|till|for|in)\s+)?(?:what|which|why|when|where|who|whom|whose|how)(?:\s+(?:much|many|long|far))?"
    r"(?:\s+(?:year|years|country|countries))?\b\s*"
    r"|^(?:с каких пор|с какого года|до какого года|в каком году|в какие годы|на сколько лет|на какой срок|"
    r"как долго|сколько|почему|зачем|когда|где|кто|что|как|откуда|для чего|каким образом|как(?:ой|ая|ое|ие|ого|ую|им|их))"
    r"(?!\w)\s*",
    re.IGNORECASE,
)
_LI = re.compile(r"^(\S+)\s+ли\s+", re.IGNORECASE)  # "Есть ли у России …": a Russian yes/no question

# --- "more about 2" and "only the Factbook" ---------------------------------------------------------

_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5,
    "перв": 1, "втор": 2, "трет": 3, "четв": 4, "пят": 5,
}  # fmt: skip
_MORE = re.compile(
    r"^(?:(?:please |can you |could you )?(?:tell|show|give) me |расскажи(?:те)? |покажи(?:те)? )?"
    r"(?P<verb>more|details|the full text|full text|open|подробнее|подробней|поподробнее|больше|ещё|еще|открой(?:те)?)"
    r"(?: (?:about|on|of|from|for|о|об|про|по|из|у))?"
    r"(?: (?:the |passage |result |number |no\.? |номер |пункт\w* |отрывк\w* |источник\w* )?"
    r"(?P<ref>that|this|it|that one|this one|этом|том|нём|нем|этого|него|#?\[?\d{1,2}\]?|"
    r"first|second|third|fourth|fifth|1st|2nd|3rd|4th|5th|перв\w*|втор\w*|трет\w*|четв[её]рт\w*|пят\w*)"
    r"(?: (?:one|passage|result|source|quote))?)?(?: please| пожалуйста)?$",
    re.IGNORECASE,
)
_SOURCES = (
    (re.compile(r"(?i)\b(?:cia|world factbook|factbook)\b|справочник\w*|фактбук\w*|цру"), "factbook"),
    (re.compile(r"(?i)\bwiki(?:pedia)?\b|википеди\w*|вики"), "wikipedia"),
    (re.compile(r"(?i)\bcongress(?:ional)?(?: record)?\b|конгресс\w*"), "congressional"),
    (re.compile(r"(?i)\btrend\b|тренд\w*"), "trend"),
)
_ONLY = re.compile(r"^(?:only|just|только|лишь)\b|\b(?:only|только)$", re.IGNORECASE)
_SINCE = re.compile(r"(?i)(?:since|after|from|с|после|начиная с)\s+(\d{4})")
_UNTIL = re.compile(r"(?i)(?:until|before|till|up to|до|по)\s+(\d{4})")
_FILTER_WORDS = frozenset(
    "only just the from in of according to sources source cia world factbook wikipedia wiki congressional congress "
    "record trend since after before until till up year years edition articles article "
    "только лишь из в по справочник справочника справочнику справочнике цру фактбук фактбука википедия википедии "
    "вики конгресс конгресса с после до года году год начиная статьи статей источники источника".split()
)


def _clean(text: str) -> str:
    return " ".join(text.split()).strip()


def _more(message: str) -> int | None:
    """The passage number asked for by "more about 2" and its kind, else None."""
    m = _MORE.match(message.strip(" ?!.…").lower())
    if not m:
        return None
    ref = m["ref"]
    if ref is None or not any(ch.isalnum() for ch in ref) or ref in ("that", "this", "it", "that one", "this one"):
        return 1
    digits = re.sub(r"\D", "", ref)
    if digits:
        return int(digits) if 1 <= int(digits) <= 50 else None
    for stem, number in _ORDINALS.items():
        if ref.startswith(stem):
            return number
    return 1  # "этом", "нём": the passage just shown


def _filter(previous: str, message: str) -> str | None:
    """``previous`` with the filter "only the Factbook" or "only since 2015" asks for, else None."""
    text = message.strip(" ?!.…")
    if not _ONLY.search(text):
        return None
    tokens: list[str] = []
    for pattern, source in _SOURCES:
        if pattern.search(text):
            tokens.append(f"source:{source}")
    if m := _SINCE.search(text):
        tokens.append(f"since:{m[1]}")
    if m := _UNTIL.search(text):
        tokens.append(f"until:{m[1]}")
    words = [w.lower() for w in _WORD.findall(text) if not w.isdigit()]
    if not tokens or any(w not in _FILTER_WORDS for w in words):
        return None
    keys = {token.split(":")[0] for token in tokens}
    kept = [word for word in previous.split() if ":" not in word or word.split(":")[0].lower() not in keys]
    return _clean(" ".join(kept + tokens))


# --- rewriting --------------------------------------------------------------------------------------


def _word_before(text: str, start: int) -> str:
    words = _WORD.findall(text[:start])
    return words[-1].lower() if words else ""


def _target(previous: str, old: list[_Entity], new: _Entity, message: str) -> str:
    """Which entity of ``previous`` the message's ``new`` one replaces (its key)."""
    preposition = _word_before(message, new.start)
    if preposition in _PREPOSITIONS:
        same = [e for e in old if _word_before(previous, e.start) == preposition]
        if same:
            return same[-1].key
    if new.kind == "country":
        away = [e for e in old if e.key != HOME]
        if away:
            return away[-1].key
    return old[-1].key


def _cased(surface: str, like: str) -> str:
    """``surface`` with the case of the first letter of the word it replaces."""
    if not surface or not like or surface[:1].isupper() == like[:1].isupper():
        return surface
    if surface.isupper() or (len(surface) > 1 and surface[1:2].isupper()):  # an acronym keeps its case
        return surface
    return (surface[0].upper() if like[0].isupper() else surface[0].lower()) + surface[1:]


def _with_wh(question: str, wh: str) -> str:
    """``question`` asked with the question word ``wh`` instead of its own (or in front of it)."""
    core = question.rstrip(" ?!.")
    rest = _LEADING_WH.sub("", core, count=1) if _LEADING_WH.match(core) else core
    if rest == core and not _AUX.match(core):
        li = _LI.match(core)
        if li:
            rest = li[1] + " " + core[li.end() :]
    if rest and not _is_name(rest.split()[0]):
        rest = rest[0].lower() + rest[1:]
    return f"{wh[0].upper()}{wh[1:]} {rest}?".replace("  ", " ")


def _is_name(word: str) -> bool:
    """True for words that keep their capital inside a sentence (names, acronyms)."""
    return (len(word) > 1 and word.isupper()) or bool(_entities(word))


def _rewrite(previous: str, message: str, entities: list[_Entity], wh: str | None) -> tuple[str, bool] | None:
    """``previous`` with ``message``'s entities put in and its question word applied; (text, replaced)."""
    old = _entities(previous)
    question = previous
    replaced = False
    by_kind: dict[str, list[_Entity]] = {}
    for entity in entities:
        by_kind.setdefault(entity.kind, []).append(entity)
    appended: list[str] = []
    for kind, new in by_kind.items():
        keys = {e.key for e in new}
        if keys <= {o.key for o in old}:
            continue  # already in the question: nothing new
        candidates = [e for e in old if e.kind == kind and e.key not in keys]
        if not candidates:
            appended.append(_fragment(message, new, wh))
            continue
        target = _target(previous, candidates, new[0], message)
        joiner = " и " if re.search("[а-яё]", message.lower()) else " and "
        surface = joiner.join(dict.fromkeys(e.text(message) for e in new))
        for e in sorted((e for e in old if e.key == target), key=lambda e: -e.start):
            question = question[: e.start] + _cased(surface, e.text(previous)) + question[e.end :]
        old = _entities(question)
        replaced = True
    if appended:
        question = question.rstrip(" ?!.") + " " + " ".join(appended) + "?"
        replaced = True
    if not replaced and wh is None:
        return None
    if wh is not None:
        question = _with_wh(question, wh)
    return _clean(question), replaced


def _fragment(message: str, entities: list[_Entity], wh: str | None) -> str:
    """The part of the message that names ``entities``, with a preposition before it ("in 2015")."""
    start, end = min(e.start for e in entities), max(e.end for e in entities)
    before = _word_before(message, start)
    if before in _PREPOSITIONS:
        start = message.lower().rfind(before, 0, start)
    return message[start:end]


def read_followup(previous: str, message: str) -> Reading | None:
    """How ``message`` continues ``previous`` (the last question, as it was read), or None if it
    stands on its own."""
    previous, message = _clean(previous), _clean(message)
    if not previous or not message:
        return None
    passage = _more(message)
    if passage is not None:
        return Reading(previous, "more", passage)
    filtered = _filter(previous, message)
    if filtered is not None:
        return Reading(filtered, "filter")
    text, tokens = split_filter_tokens(message)
    text = _CONNECTOR.sub("", text.strip(" ?!.…"), count=1).strip(" ,?!.…")
    if not text or len(_WORD.findall(text)) > MAX_WORDS:
        return None
    entities = _entities(text)
    wh_match = _WH.search(text)
    wh = wh_match["wh"] if wh_match else None
    leftover = text
    for span in sorted([(e.start, e.end) for e in entities] + ([wh_match.span()] if wh_match else []), reverse=True):
        leftover = leftover[: span[0]] + " " + leftover[span[1] :]
    if any(word.lower() not in _FILLER and not re.fullmatch(r"'s|s", word) for word in _WORD.findall(leftover)):
        return None
    if wh_match and _WH.search(text, wh_match.end()):
        return None  # two question words: a question of its own
    rewritten = _rewrite(previous, text, entities, wh)
    if rewritten is None:
        return None
    question, replaced = rewritten
    if tokens:
        question = _clean(question + " " + " ".join(tokens))
    return Reading(question, "replace" if replaced else "ask")


__all__ = ["KINDS", "Reading", "read_followup"]

"""What kind of answer a question asks for, and whether a sentence gives that kind of answer.

A why-question wants a reason, a when-question a date, a how-many-question a number, a
who-question a name, a where-question a place. Answers use it to pick the sentence to highlight: of two sentences
equally close to "Why did Putin visit Dushanbe?", the one saying "because", "in order to" or
"aimed at" answers it; the one saying "Putin made a number of visits" does not.

Both the question words and the cues are English and Russian (the bot's two languages); the
cues are plain regular expressions over the sentence, no model.
"""

from __future__ import annotations

import re

REASON, DATE, NUMBER, NAME, PLACE = "reason", "date", "number", "name", "place"

_FLAGS = re.IGNORECASE | re.UNICODE
# Question words, tried in this order: "how many" before "how", "what year" before "what".
_QUESTION_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        NUMBER,
        re.compile(
            r"\bhow (many|much|big|large|long|far|old)\b|\bwhat (share|percentage|proportion|number|amount)\b"
            r"|\b(death toll|number of|population of)\b|\bсколько\b"
            r"|\bкаков[аоы]? (доля|число|количество|объ[её]м)\b|\bкакая доля\b",
            _FLAGS,
        ),
    ),
    (
        DATE,
        re.compile(
            r"\bwhen\b|\b(what|which) (year|month|date|decade|century)\b|\bsince when\b|\bhow long ago\b"
            r"|\bкогда\b|\bв как(ом|ие|ой) (году|годах|месяце|веке)\b|\bс каких пор\b",
            _FLAGS,
        ),
    ),
    (
        REASON,
        re.compile(
            r"\bwhy\b|\bhow come\b|\bwhat for\b|\bfor what reason\b|\bwhat (is|was|were|are) the (reason|motive|purpose)"
            r"|\bwhat (drove|drives|made|makes|caused|causes|led to)\b"
            r"|\bпочему\b|\bзачем\b|\bотчего\b|\bпо как(ой|им) причин|\bс какой целью\b|\bради чего\b",
            _FLAGS,
        ),
    ),
    (
        NAME,
        re.compile(r"\bwho\b|\bwhom\b|\bwhose\b|\bкто\b|\bкого\b|\bкому\b|\bкем\b|\bчей\b|\bчья\b", _FLAGS),
    ),
    (
        PLACE,
        re.compile(
            r"\bwhere\b|\b(which|what) (city|cities|town|country|region)\b|\bгде\b|\bкуда\b|\bв как(ом|ой) город",
            _FLAGS,
        ),
    ),
)

_MONTHS = (
    r"january|february|march|april|may|june|july|august|september|october|november|december"
    r"|январ[ьяе]|феврал[ьяе]|март[а]?|апрел[ьяе]|ма[йяе]|июн[ьяе]|июл[ьяе]|август[а]?|сентябр[ьяе]"
    r"|октябр[ьяе]|ноябр[ьяе]|декабр[ьяе]"
)
_SENTENCE_CUES: dict[str, re.Pattern[str]] = {
    REASON: re.compile(
        r"\b(because|due to|owing to|thanks to|in order to|so as to|so that|as a result|reasons?|aim(s|ed)? (at|to)"
        r"|with the aim|seek(s|ing)? to|sought to|intend(s|ed)? to|purpose|goal|motiv\w+|driven by|in response to"
        r"|to (secure|ensure|counter|strengthen|expand|boost|promote|protect|prevent|gain|follow up|maintain|keep))\b"
        r"|\b(потому что|так как|из-за|чтобы|в связи с|поскольку|причин\w*|ради|с целью|в ответ на|благодаря)\b",
        _FLAGS,
    ),
    DATE: re.compile(
        rf"\b(1[0-9]{{3}}|20[0-9]{{2}})(s|-е)?\b|\b({_MONTHS})\b|\bcentur(y|ies)\b|\bdecades?\b|\bвек[аеу]?\b",
        _FLAGS,
    ),
    NUMBER: re.compile(
        r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundreds?"
        r"|thousands?|millions?|billions?|trillions?|dozens?|half|third|quarter|percent)\b"
        r"|\b(тысяч\w*|миллион\w*|миллиард\w*|процент\w*|половин\w*|треть|четверть)\b",
        _FLAGS,
    ),
    # Two capitalised words in a row: a person's or a body's name (see ``gives``).
    NAME: re.compile(r"\b[A-ZА-ЯЁ][a-zа-яё]+(?:-[A-ZА-ЯЁ][a-zа-яё]+)? [A-ZА-ЯЁ][a-zа-яё]+\b"),
    # A capitalised word after "in", "at", "near"...: a place (see ``gives``).
    PLACE: re.compile(r"\b(?:in|at|near|to|from|held in|based in|в|во|на|под|около) ([A-ZА-ЯЁ][\w-]+)"),
}
_WORD = re.compile(r"\w+", re.UNICODE)


def question_kind(question: str) -> str | None:
    """REASON, DATE, NUMBER, NAME or PLACE for a question asking for one, else None (what/how/which...)."""
    for kind, pattern in _QUESTION_KINDS:
        if pattern.search(question):
            return kind
    return None


def gives(kind: str | None, sentence: str, question: str = "") -> bool:
    """True when ``sentence`` holds the kind of answer ``kind`` asks for (False for no kind).

    A name (or place) answers a who- (or where-) question only if the question does not name it
    already: in "Who leads Kyrgyzstan?", "Sadyr Japarov" is an answer, "Central Asia" is not.
    """
    if kind is None:
        return False
    if kind not in (NAME, PLACE):
        return _SENTENCE_CUES[kind].search(sentence) is not None
    asked = {word.lower() for word in _WORD.findall(question)}
    return any(
        any(word.lower() not in asked for word in _WORD.findall(match.group(match.lastindex or 0)))
        for match in _SENTENCE_CUES[kind].finditer(sentence)
    )

"""Which language a question is in: Russian, Kazakh, Kyrgyz, English, something else, or no words at all.

No model and no dependency: the script of the letters decides first (the majority script wins
in mixed text), then, within Cyrillic, the letters only some alphabets have, then a few
function words. It is meant for short questions to a bot about Central Asia, where the
answer changes two things: how much hybrid search may lean on BM25 over the English corpus,
and which language the bot replies in.

The Cyrillic alphabets told apart (letters beyond the Russian 33):

* Kazakh: ә ғ қ ң ө ұ ү һ і. Six of them (ә ғ қ ұ һ і) are in no Kyrgyz word.
* Kyrgyz: ң ө ү only, all three shared with Kazakh.
* Russian: none. A Russian question that names one Kazakh place ("Что такое Қазақстан?")
  stays Russian because its Russian function words outweigh one Kazakh word.

Letters of other Cyrillic alphabets (Ukrainian ї є ґ, Belarusian and Uzbek ў, Tajik ҳ ҷ ӣ ӯ,
Serbian and Macedonian ђ ј љ њ ћ џ ѓ ќ ѕ, Tatar җ, Bashkir ҡ ҙ ҫ) and Mongolian function words
give "other". Bulgarian has no letter of its own and reads as Russian; Kazakh and Uzbek in
Latin script read as "other" only when their function words show.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

LANGUAGES = ("ru", "kk", "ky", "en", "other", "unknown")
# Languages whose questions cannot match the English corpus word for word.
NON_ENGLISH = frozenset({"ru", "kk", "ky", "other"})

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)  # runs of letters (apostrophes and digits split words)

KAZAKH_ONLY = frozenset("әғқұһі")  # Kazakh letters no Kyrgyz word has
KAZAKH_KYRGYZ = frozenset("ңөү")  # letters both have and Russian lacks
OTHER_CYRILLIC = frozenset("їєґўђјљњћџѓќѕҳҷӣӯҗҡҙҫӑӗӳӹ")

RU_WORDS = frozenset(
    """и в во не на что с со как по это к ко из у за от о об для же ли бы ну а но или да нет
    какой какая какое какие каков такой такое такая такие где когда почему зачем сколько кто чем чём
    чего кому был была было были есть будет его её ее их она они он мы вы я мне между после при
    через до под над также тоже только уже ещё еще всё все весь этот эта эти того этого году года""".split()
)
KK_WORDS = frozenset(
    """және мен бұл үшін деп жоқ қандай қай неше қашан туралы болды екі бір ол осы сол
    ме ма ба бе па пе қалай кім неге керек немесе бойынша арасында жылы""".split()
)
KY_WORDS = frozenset(
    """жана менен бул үчүн жок кандай кайсы канча качан эмне жөнүндө болгон эки бир ал ушул
    би бу бү бо бө кантип ким эмнеге керек боюнча арасында жылы""".split()
)
UK_WORDS = frozenset("що чому як це від та або також який яка які де коли хто їх був була".split())
MN_WORDS = frozenset("юм байна болон энэ нь гэж бөгөөд хүртэл байдаг байсан улс".split())
EN_WORDS = frozenset(
    """the a an of in on to and or is are was were be been what which who whom whose why how when where
    does do did has have had with from by for about as at that this these those it its there their
    can could would should will not no than then into between after before during""".split()
)
# Frequent function words of Latin-script languages a user might write in instead of English.
OTHER_LATIN_WORDS = frozenset(
    """der die das und ist nicht mit von den ein eine zu auf für dem des sich wie warum wann wo
    le la les et est une des du pour dans pas qui que quoi pourquoi comment où avec sur
    el los las y es en por con para qué cómo dónde cuándo porque una del al lo
    il che di è non per sono gli perché dove quando
    o os as não um uma com para por que onde quando porquê
    ve bir bu ile için ne neden nasıl nerede hangi mi mı mu mü da de
    va bu uchun qanday qayerda qachon nima nega bilan emas
    jäne men bul üşin qalai qai qaşan kim nege""".split()
)


def _script(char: str) -> str | None:
    """The script of one letter ("cyrillic", "latin", "arabic", "cjk", …), None for a non-letter."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    if not name:
        return "other"
    first = name.split(" ", 1)[0].lower()
    if first in {"cjk", "hiragana", "katakana", "hangul", "bopomofo"}:
        return "cjk"
    return first


def script_counts(text: str) -> Counter[str]:
    """How many letters of each script the text has."""
    counts: Counter[str] = Counter()
    for char in text:
        script = _script(char)
        if script:
            counts[script] += 1
    return counts


def script_of(text: str) -> str:
    """The script most letters are in ("cyrillic", "latin", "greek", "arabic", "cjk", …), or "none"."""
    counts = script_counts(text)
    if not counts:
        return "none"
    # Ties go to the script that comes first in the text.
    order = {script: i for i, script in enumerate(dict.fromkeys(filter(None, map(_script, text))))}
    return max(counts, key=lambda s: (counts[s], -order[s]))


def _cyrillic_language(words: list[str]) -> str:
    kazakh = sum(1 for w in words if KAZAKH_ONLY & set(w))
    shared = sum(1 for w in words if not KAZAKH_ONLY & set(w) and KAZAKH_KYRGYZ & set(w))
    other = sum(1 for w in words if OTHER_CYRILLIC & set(w))
    ru = sum(w in RU_WORDS for w in words)
    kk = sum(w in KK_WORDS for w in words)
    ky = sum(w in KY_WORDS for w in words)
    mn = sum(w in MN_WORDS for w in words)
    uk = sum(w in UK_WORDS for w in words) + sum(1 for w in words if "і" in w)

    if other and other >= kazakh + shared:
        return "other"
    letters = set("".join(words))
    if kazakh and not (letters & (KAZAKH_ONLY - {"і"} | KAZAKH_KYRGYZ)) and not kk:
        # і with no other Kazakh letter and no Kazakh word: Ukrainian or Belarusian.
        return "other" if uk >= ru else "ru"
    turkic = kazakh + shared + kk + ky + mn
    if turkic == 0 or ru >= turkic:
        return "ru"
    if mn > ky + kk and kazakh == 0:
        return "other"  # Mongolian shares ө and ү with Kyrgyz
    kazakh_score = 3 * kazakh + shared + 2 * kk
    kyrgyz_score = 2 * shared + 2 * ky
    return "kk" if kazakh_score >= kyrgyz_score else "ky"


def _latin_language(words: list[str]) -> str:
    english = sum(w in EN_WORDS for w in words)
    other = sum(w in OTHER_LATIN_WORDS and w not in EN_WORDS for w in words)
    return "other" if other > english and other >= 2 else "en"


def detect_language(text: str) -> str:
    """The language of a question: "ru", "kk", "ky", "en", "other", or "unknown" when it has no letters.

    Examples:
        >>> detect_language("Зачем Путин ездит по странам Центральной Азии?")
        'ru'
        >>> detect_language("Қазақстанның астанасы қай қала?")
        'kk'
        >>> detect_language("Кыргызстандын борбору кайсы шаар?")
        'ky'
        >>> detect_language("Why is Putin visiting Central Asia?")
        'en'
        >>> detect_language("👍🙂")
        'unknown'
    """
    script = script_of(text)
    if script == "none":
        return "unknown"
    words = [w.lower() for w in _WORD.findall(text) if _script(w[0]) == script]
    if script == "cyrillic":
        return _cyrillic_language(words)
    if script == "latin":
        return _latin_language(words)
    return "other"


def is_cyrillic(text: str) -> bool:
    """True when most letters of the text are Cyrillic."""
    return script_of(text) == "cyrillic"


__all__ = ["LANGUAGES", "NON_ENGLISH", "detect_language", "is_cyrillic", "script_counts", "script_of"]

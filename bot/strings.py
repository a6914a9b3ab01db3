"""The bot's own words, one dict per language.

Templates are Telegram HTML. ``t`` escapes every keyword value, so callers pass plain text;
``t_text`` gives the same sentence as plain text for the terminal and for alerts.
"""

from __future__ import annotations

import html
import re
from typing import Any

DEFAULT_LANG = "en"
EXAMPLE_QUESTION = "Why does Russia keep a military base in Tajikistan?"
EXAMPLES = {"en": EXAMPLE_QUESTION, "ru": "Зачем России военная база в Таджикистане?"}
# Telegram interface languages served in Russian: Russian is an official language in Belarus,
# Kazakhstan and Kyrgyzstan and the common second language in Tajikistan and Uzbekistan, so
# those users read it more easily than English. Ukrainian users get English: we don't presume.
RUSSIAN_READERS = frozenset({"ru", "be", "kk", "ky", "tg", "uz"})

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        # /start, /help and the command menu
        "start": (
            "Hello! I answer questions about Russia's ties with Central Asia (Kazakhstan, Kyrgyzstan, "
            "Tajikistan, Turkmenistan, Uzbekistan) by quoting passages from {documents} "
            "({sources}), always with citations. I don't make answers up: if nothing in the corpus "
            "answers you, I say so.\n\n"
            "Try: <i>{example}</i>\n\n"
            "In a private chat just send your question; in a group use /ask, mention me or reply to me. "
            "/help explains filters."
        ),
        "help": (
            "<b>How to ask</b>\n"
            "Private chat: send any question as text. Groups: <code>/ask your question</code>, "
            "mention me, or reply to one of my messages.\n\n"
            "<b>Filters</b> (put them anywhere in the question)\n"
            "<code>since:2012</code>, <code>until:2015-06</code> (dates: YYYY, YYYY-MM or YYYY-MM-DD)\n"
            "<code>country:Tajikistan</code> (repeat for more than one country)\n"
            "<code>source:factbook</code> (a source name or the start of one)\n"
            "Example: <code>/ask since:2012 country:Tajikistan military base</code>\n\n"
            "<b>Answers</b>\n"
            "I quote the passages that answer best, the answering sentences in bold, each with a "
            "numbered citation. <b>More</b> shows the next results; the numbered buttons show a "
            "passage in full with its neighbouring text. Results expire after a while or when I "
            "restart; then just ask again. Edited messages are not re-answered: send a new one.\n\n"
            "<b>Follow-ups</b>\n"
            "After a question, a short message continues it: <i>and Kyrgyzstan?</i>, <i>since when?</i>, "
            "<i>more about 2</i>, <i>only the Factbook</i>. I say how I read it; /start forgets it. "
            "In groups, reply to my answer to continue.\n\n"
            "<b>Feedback</b>\n"
            "👍 and 👎 under an answer tell us whether it helped (your id is stored only as a salted hash).\n\n"
            "<b>Commands</b>\n{commands}"
        ),
        "cmd_start": "What I know, with an example question",
        "cmd_help": "How to ask, and filters",
        "cmd_ask": "Ask a question: /ask since:2012 military base",
        "cmd_sources": "What the corpus holds",
        "cmd_about": "Model, index size and licences",
        "cmd_reload": "Admins: reload the index from disk",
        "cmd_stats": "Admins: index and bot statistics",
        "cmd_add": "Admins: add an article by URL",
        "cmd_feeds": "Admins: the watched news feeds",
        # Questions and their problems
        "ask_usage": (
            "Please put your question after the command, e.g.\n<code>/ask {example}</code>\n"
            "Filters work too: <code>/ask since:2012 country:Tajikistan military base</code>"
        ),
        "empty_question": "Please send your question as text, e.g. <i>{example}</i>",
        "too_long": (
            "That message is {length} characters long; please ask in at most {limit} characters. "
            "A short question with the key words works best."
        ),
        "no_words": ("I can only search for words, and I found none in that message. Try e.g. <i>{example}</i>"),
        "filters_only": (
            "I see filters but no question. Add some words after them, e.g. "
            "<code>/ask since:2012 country:Tajikistan military base</code>"
        ),
        "not_text": (
            "I answer text questions only; stickers, photos, voice messages, files and locations "
            "I cannot read. Please type your question, e.g. <i>{example}</i>"
        ),
        "unknown_command": "I don't know that command. /help lists what I can do.",
        # Answer.notice codes from the answer layer, worded here (unknown codes are shown as given)
        "notice_english_only": (
            "The corpus is in English and this index's model reads English only, so I search questions in "
            "other languages less well; I searched anyway. Admins can switch to the multilingual default: "
            "steppe index build --model multilingual-e5-small --rebuild."
        ),
        "notice_out_of_scope": (
            "I quote an archive of articles on Russia and Central Asia: it holds no live prices, rates or "
            "weather, no travel or everyday advice and no guesses about the future, and I don't write or "
            "translate texts."
        ),
        "slow_down": (
            "You're asking faster than I can keep up with. Please slow down and try again in {seconds} seconds."
        ),
        "search_timeout": "That search took too long. Please try again, perhaps with fewer words.",
        "message": "{message}",  # a UserFacingError's own words
        "start_english_only": "The corpus is in English and the model reads English only: ask in English.",
        # Results
        "not_found": "I found nothing in the corpus that answers this.",
        "suggest": "The corpus does cover, for example:",
        "not_found_hint": "Try other words, fewer filters, or see /sources.",
        "page_footer": "Results {first}–{last} of {total}",
        "page_footer_one": "Result {first} of {total}",
        "also_edition": "also in the {years} edition",
        "also_editions": "also in the {years} editions",
        "also_in": "also in {titles}",
        "and": "and",
        "btn_more": "More ›",
        "btn_full": "[{n}] full text",
        "no_more": "That was the last page of results.",
        "expired": "This result has expired, please ask again.",
        "passage_gone": "This passage is no longer in the index, please ask again.",
        # Corpus and index descriptions
        "sources_title": "What the corpus holds",
        "sources_summary": "{documents}, {chunks} passages, dated {dates}.",
        "documents": "{n} documents",
        "documents_one": "{n} document",
        "size_units": "bytes KB MB GB",
        "uptime": "{hours}h {minutes}m",
        "sources_heading": "Sources",
        "source_line": "{source}: {documents}, {dates}",
        "countries_heading": "Countries mentioned (documents)",
        "about_title": "About this bot",
        "index_heading": "Index",
        "about_intro": (
            "I answer questions about Russia and Central Asia by quoting cited passages from an "
            "article corpus. I never write answers myself: every sentence I show comes from a source."
        ),
        "about_index": (
            "Embedding model: {model} ({dim} dimensions, {backend} index). "
            "Index: {documents}, {chunks} passages, {size}, built {built}."
        ),
        "licences_heading": "Sources and licences",
        "licence_line": "{source} ({documents}): {licence}",
        "credit": "credit: {attribution}",
        "no_licence": "licence not recorded",
        "dates_unknown": "dates unknown",
        # Access and administration
        "private_bot": "Sorry, this is a private bot and does not serve this chat.",
        "admin_only": "Sorry, that command is only for the bot's admins.",
        "reload_done": "Reloaded: the index on disk had changed.",
        "reload_same": "The index on disk has not changed; nothing to reload.",
        "reload_failed": "Could not switch to the new index, so I keep serving the previous one. {message}",
        "add_usage": "Usage: <code>/add https://example.com/article</code>",
        "feeds_usage": (
            "Usage: <code>/feeds</code> lists the watched feeds; <code>/feeds add URL [name]</code>, "
            "<code>/feeds remove N</code>, <code>/feeds pause N</code>, <code>/feeds resume N</code>, "
            "<code>/feeds check [N]</code> (N: the number in the list, or the feed's address)."
        ),
        "feeds_none": "No feeds are watched. Add one with <code>/feeds add https://example.com/rss</code>.",
        "runtime": (
            "Up {uptime}. {questions} questions answered, {errors} errors, {results} results kept for buttons."
        ),
        "error": "Sorry, something went wrong. Please try again.",
    },
    "ru": {
        # /start, /help и меню команд
        "start": (
            "Здравствуйте! Я отвечаю на вопросы о связях России со странами Центральной Азии (Казахстан, "
            "Кыргызстан, Таджикистан, Туркменистан, Узбекистан). В моём корпусе {documents} ({sources}); "
            "я отвечаю цитатами из него и всегда указываю источник. Я ничего не придумываю: если в корпусе "
            "нет ответа, я так и скажу.\n\n"
            "Попробуйте: <i>{example}</i>\n\n"
            "В личном чате просто напишите вопрос; в группе используйте /ask, упомяните меня или ответьте "
            "на моё сообщение. О фильтрах — в /help."
        ),
        "start_english_only": (
            "Корпус на английском, и сейчас работает модель, которая понимает только английский: вопросы "
            "на английском найдут больше. Вопросы на русском я тоже ищу, но хуже."
        ),
        "help": (
            "<b>Как спросить</b>\n"
            "В личном чате просто отправьте вопрос текстом. В группе: <code>/ask ваш вопрос</code>, "
            "упоминание меня или ответ на моё сообщение.\n\n"
            "<b>Фильтры</b> (в любом месте вопроса)\n"
            "<code>since:2012</code>, <code>until:2015-06</code> (даты: ГГГГ, ГГГГ-ММ или ГГГГ-ММ-ДД)\n"
            "<code>country:Таджикистан</code> (по-русски или по-английски; повторите, чтобы указать несколько стран)\n"
            "<code>source:factbook</code> (название источника или его начало)\n"
            "Пример: <code>/ask since:2012 country:Tajikistan military base</code>\n\n"
            "<b>Ответы</b>\n"
            "Я цитирую фрагменты, которые отвечают лучше всего: отвечающие предложения выделены жирным, "
            "у каждого фрагмента есть номер и ссылка на источник. Цитаты приводятся на языке источника. "
            "Кнопка <b>Ещё</b> показывает следующие результаты, кнопки с номерами — фрагмент целиком "
            "вместе с соседним текстом. Через некоторое время или после моего перезапуска результаты "
            "устаревают — тогда просто спросите снова. На отредактированные сообщения я не отвечаю "
            "повторно: отправьте новое.\n\n"
            "<b>Уточнения</b>\n"
            "После вопроса короткое сообщение продолжает его: <i>а в Киргизии?</i>, <i>с какого года?</i>, "
            "<i>подробнее о втором</i>, <i>только справочник ЦРУ</i>. Я пишу, как понял вопрос; /start "
            "сбрасывает контекст. В группе ответьте на моё сообщение, чтобы продолжить.\n\n"
            "<b>Оценки</b>\n"
            "👍 и 👎 под ответом говорят, помог ли он (ваш id хранится только как хеш с солью).\n\n"
            "<b>Команды</b>\n{commands}"
        ),
        "cmd_start": "Что я знаю, и пример вопроса",
        "cmd_help": "Как спрашивать и как работают фильтры",
        "cmd_ask": "Задать вопрос: /ask since:2012 military base",
        "cmd_sources": "Что есть в корпусе",
        "cmd_about": "Модель, размер индекса и лицензии",
        "cmd_reload": "Для админов: перечитать индекс с диска",
        "cmd_stats": "Для админов: статистика индекса и бота",
        "cmd_add": "Для админов: добавить статью по ссылке",
        "cmd_feeds": "Для админов: отслеживаемые ленты новостей",
        # Вопросы и что с ними бывает не так
        "ask_usage": (
            "Напишите вопрос после команды, например:\n<code>/ask {example}</code>\n"
            "Фильтры тоже работают: <code>/ask since:2012 country:Tajikistan military base</code>"
        ),
        "empty_question": "Пожалуйста, отправьте вопрос текстом, например: <i>{example}</i>",
        "too_long": (
            "Сообщение слишком длинное (символов: {length}, а можно не больше {limit}). "
            "Лучше всего работает короткий вопрос с ключевыми словами."
        ),
        "no_words": "Я ищу по словам, а в этом сообщении их нет. Попробуйте, например: <i>{example}</i>",
        "filters_only": (
            "Вижу фильтры, но не вижу вопроса. Добавьте после них слова, например: "
            "<code>/ask since:2012 country:Tajikistan military base</code>"
        ),
        "not_text": (
            "Я отвечаю только на текстовые вопросы: стикеры, фото, голосовые сообщения, файлы и геопозиции "
            "я прочитать не могу. Напишите вопрос, например: <i>{example}</i>"
        ),
        "unknown_command": "Такой команды я не знаю. Что я умею — в /help.",
        "message": "{message}",  # текст UserFacingError как есть (из index/, по-английски)
        "notice_english_only": (
            "Корпус на английском, а модель этого индекса понимает только английский, поэтому вопросы "
            "на русском я ищу хуже, но всё равно поискал. Администратор может вернуть многоязычную модель "
            "по умолчанию: steppe index build --model multilingual-e5-small --rebuild."
        ),
        "notice_out_of_scope": (
            "Я цитирую архив статей о России и Центральной Азии: в нём нет текущих цен, курсов и погоды, "
            "нет советов для поездок и быта и нет прогнозов, а тексты я не пишу и не перевожу."
        ),
        "slow_down": "Вы спрашиваете быстрее, чем я успеваю отвечать. Пожалуйста, спросите снова через {seconds} с.",
        "search_timeout": "Поиск занял слишком много времени. Попробуйте ещё раз — возможно, с меньшим числом слов.",
        # Результаты
        "not_found": "В корпусе не нашлось ничего, что отвечало бы на этот вопрос.",
        "suggest": "Зато в корпусе есть, например:",
        "not_found_hint": "Попробуйте другие слова, поменьше фильтров или загляните в /sources.",
        "page_footer": "Результаты {first}–{last} из {total}",
        "page_footer_one": "Результат {first} из {total}",
        "also_edition": "то же в издании {years} г.",
        "also_editions": "то же в изданиях {years} г.",
        "also_in": "то же в: {titles}",
        "and": "и",
        "btn_more": "Ещё ›",
        "btn_full": "[{n}] целиком",
        "no_more": "Это была последняя страница результатов.",
        "expired": "Этот результат устарел, спросите, пожалуйста, ещё раз.",
        "passage_gone": "Этого фрагмента больше нет в индексе, спросите, пожалуйста, ещё раз.",
        # Корпус и индекс
        "sources_title": "Что есть в корпусе",
        "sources_summary": "{documents}, фрагментов: {chunks}, даты: {dates}.",
        "documents": "{n} документов",
        "documents_one": "{n} документ",
        "documents_few": "{n} документа",
        "size_units": "байт КБ МБ ГБ",
        "uptime": "{hours} ч {minutes} мин",
        "sources_heading": "Источники",
        "source_line": "{source}: {documents}, {dates}",
        "countries_heading": "Страны в корпусе (число документов)",
        "about_title": "Об этом боте",
        "index_heading": "Индекс",
        "about_intro": (
            "Я отвечаю на вопросы о России и Центральной Азии, цитируя фрагменты статей корпуса со ссылками "
            "на источники. Сам я ответов не пишу: каждое предложение, которое я показываю, взято из источника."
        ),
        "about_index": (
            "Модель эмбеддингов: {model} (размерность {dim}, индекс {backend}). "
            "Индекс: {documents}, фрагментов: {chunks}, {size}, собран {built}."
        ),
        "licences_heading": "Источники и лицензии",
        "licence_line": "{source} ({documents}): {licence}",
        "credit": "авторство: {attribution}",
        "no_licence": "лицензия не указана",
        "dates_unknown": "даты неизвестны",
        # Доступ и администрирование
        "private_bot": "Извините, это закрытый бот, и в этом чате он не работает.",
        "admin_only": "Извините, эта команда доступна только администраторам бота.",
        "reload_done": "Готово: индекс на диске изменился, и я переключился на новый.",
        "reload_same": "Индекс на диске не менялся, перечитывать нечего.",
        "reload_failed": "Переключиться на новый индекс не удалось, продолжаю работать со старым. {message}",
        "add_usage": "Использование: <code>/add https://example.com/article</code>",
        "feeds_usage": (
            "Использование: <code>/feeds</code> — список лент; <code>/feeds add URL [название]</code>, "
            "<code>/feeds remove N</code>, <code>/feeds pause N</code>, <code>/feeds resume N</code>, "
            "<code>/feeds check [N]</code> (N — номер в списке или адрес ленты)."
        ),
        "feeds_none": "Ленты не отслеживаются. Добавьте ленту: <code>/feeds add https://example.com/rss</code>.",
        "runtime": (
            "Работаю уже {uptime}. Отвечено вопросов: {questions}, ошибок: {errors}, "
            "результатов в памяти для кнопок: {results}."
        ),
        "error": "Извините, что-то пошло не так. Попробуйте ещё раз.",
    },
}

_TAG = re.compile(r"<[^>]+>")


def t(key: str, lang: str = DEFAULT_LANG, **kw: Any) -> str:
    """The HTML string ``key`` in ``lang`` (falling back to English), values HTML-escaped."""
    table = STRINGS.get(lang, STRINGS[DEFAULT_LANG])
    template = table.get(key) or STRINGS[DEFAULT_LANG][key]
    return template.format(**{name: html.escape(str(value), quote=False) for name, value in kw.items()})


def t_text(key: str, lang: str = DEFAULT_LANG, **kw: Any) -> str:
    """The plain-text form of ``t(key)``: tags dropped, entities decoded, values as given."""
    table = STRINGS.get(lang, STRINGS[DEFAULT_LANG])
    template = table.get(key) or STRINGS[DEFAULT_LANG][key]
    return html.unescape(_TAG.sub("", template)).format(**kw)


def has(key: str, lang: str = DEFAULT_LANG) -> bool:
    """True if ``key`` is in the catalogue (in ``lang`` or in English)."""
    return key in STRINGS.get(lang, {}) or key in STRINGS[DEFAULT_LANG]


def supported(lang: str | None) -> str:
    """The catalogue language for a Telegram ``language_code``: Russian for RUSSIAN_READERS, else English."""
    code = (lang or "").replace("_", "-").split("-")[0].lower()
    if code in RUSSIAN_READERS:
        return "ru"
    return code if code in STRINGS else DEFAULT_LANG


def example(lang: str, multilingual: bool = True) -> str:
    """The example question to show in ``lang``: English while the model reads English only."""
    return EXAMPLES.get(lang, EXAMPLE_QUESTION) if multilingual else EXAMPLE_QUESTION


def plural(key: str, n: int, lang: str = DEFAULT_LANG) -> str:
    """``key`` with the plural suffix ``n`` needs in ``lang``: "_one", "_few" (Russian 2–4) or none."""
    if lang == "ru":
        if n % 10 == 1 and n % 100 != 11:
            suffix = "_one"
        elif 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            suffix = "_few"
        else:
            suffix = ""
    else:
        suffix = "_one" if n == 1 else ""
    return key + suffix if has(key + suffix, lang) else key


def number(n: int | float, lang: str = DEFAULT_LANG, decimals: int = 0) -> str:
    """``n`` with digit grouping: "2,345.6" in English, "2 345,6" (no-break spaces) in Russian."""
    text = f"{n:,.{decimals}f}"
    if lang == "ru":
        text = text.replace(",", "\u00a0").replace(".", ",")
    return text


def _merge_chat_strings() -> None:
    """Add the conversation, inline and feedback strings (bot/strings_chat.py) to the catalogue."""
    from bot.strings_chat import CHAT_STRINGS

    for lang, table in CHAT_STRINGS.items():
        STRINGS[lang].update(table)


_merge_chat_strings()

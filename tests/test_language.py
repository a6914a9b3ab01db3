"""The bot speaks the user's language (issue 8): Russian for Russian-reading Telegram users and
for questions in Russian, Kazakh or Kyrgyz; English otherwise. Excerpts stay as written.

End to end through the fake Bot API server, with the canned FakeLibrary.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botkit import ADMIN, ALICE, BORIS, BotRunner, ask, button_labels, buttons, reply_to, settings_for, visible
from fakebotapi import FakeBotAPI, parse_telegram_html
from fakelib import PASSAGES, FakeLibrary, Recorder

from bot.render import count_documents, format_date
from bot.strings import STRINGS, plural, supported, t, t_text

TOKEN = "123456789:AAHfakeTOKENforTests_abcdefghijklmn"
RUSSIAN_QUESTION = "Почему у России военная база в Таджикистане?"


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    with FakeBotAPI(TOKEN) as server:
        yield server


@pytest.fixture
def start_bot(api: FakeBotAPI) -> Iterator[Callable[..., BotRunner]]:
    runners: list[BotRunner] = []

    def start(library: Any = None, **env: str) -> BotRunner:
        runner = BotRunner(settings_for(api, **env), Recorder(library or FakeLibrary())).start()
        runners.append(runner)
        return runner

    yield start
    for runner in runners:
        runner.stop()


def person(n: int, language_code: str | None) -> dict[str, Any]:
    user = {"id": 7000 + n, "is_bot": False, "first_name": f"User{n}"}
    return {**user, "language_code": language_code} if language_code else user


# --- the catalogue ----------------------------------------------------------------------------


def test_every_string_has_a_russian_version_with_the_same_fields_and_tags() -> None:
    english, russian = STRINGS["en"], STRINGS["ru"]
    assert set(english) <= set(russian)
    for key, template in english.items():
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        assert fields == {name for _, name, _, _ in string.Formatter().parse(russian[key]) if name}, key
        values = dict.fromkeys(fields, "x")
        _, en_tags = parse_telegram_html(t(key, "en", **values))
        text, ru_tags = parse_telegram_html(t(key, "ru", **values))  # valid Telegram HTML
        assert set(ru_tags) == set(en_tags), key
        assert key in ("message", "licence_line", "source_line") or re.search("[а-яё]", text.lower()), key


@pytest.mark.parametrize(
    ("code", "lang"),
    [("ru", "ru"), ("ru-RU", "ru"), ("kk", "ru"), ("ky", "ru"), ("uz", "ru"), ("tg", "ru"), ("be", "ru"),
     ("uk", "en"), ("en", "en"), ("de", "en"), (None, "en"), ("", "en")],
)  # fmt: skip
def test_interface_language(code: str | None, lang: str) -> None:
    assert supported(code) == lang


def test_russian_plurals_numbers_and_dates() -> None:
    forms = {n: count_documents(n, "ru") for n in (1, 2, 5, 11, 21, 22, 101, 111, 2345)}
    assert forms == {
        1: "1 документ", 2: "2 документа", 5: "5 документов", 11: "11 документов", 21: "21 документ",
        22: "22 документа", 101: "101 документ", 111: "111 документов", 2345: "2\u00a0345 документов",
    }  # fmt: skip
    assert count_documents(2345) == "2,345 documents" and plural("documents", 1) == "documents_one"
    assert format_date("2012-10-10", "ru") == "10 окт. 2012" and format_date("2012-05", "ru") == "май 2012"
    assert format_date("2012-10-10") == "10 Oct 2012"


# --- through the bot --------------------------------------------------------------------------


def test_russian_users_get_russian_start_help_and_menu(api: FakeBotAPI, start_bot: Callable[..., BotRunner]) -> None:
    start_bot()
    menus = {(c.params.get("language_code"), bool(c.params.get("scope"))): c for c in api.calls("setMyCommands")}
    ru_menu = {cmd["command"]: cmd["description"] for cmd in menus[("ru", False)].params["commands"]}
    assert ru_menu["sources"] == "Что есть в корпусе"
    assert "reload" in {cmd["command"] for cmd in menus[("ru", True)].params["commands"]}  # admins' menu too

    welcome = visible(reply_to(api, ask(api, "/start", BORIS)))
    assert welcome.startswith("Здравствуйте!") and "В моём корпусе 101 документ" in welcome
    # The English-only model: an English example, and a word on asking in English.
    assert "Попробуйте: Why does Russia keep a military base in Tajikistan?" in welcome
    assert t_text("start_english_only", "ru") in welcome

    help_text = visible(reply_to(api, ask(api, "/help", BORIS)))
    assert help_text.startswith("Как спросить") and "Цитаты приводятся на языке источника" in help_text
    assert "/sources — Что есть в корпусе" in help_text and "/reload" not in help_text

    for code in ("kk", "ky"):  # Kazakh and Kyrgyz app users read Russian more easily than English
        assert visible(reply_to(api, ask(api, "/start", person(1 if code == "kk" else 2, code)))).startswith(
            "Здравствуйте"
        )
    assert visible(reply_to(api, ask(api, "/start", person(3, "uk")))).startswith("Hello!")


def test_a_multilingual_index_offers_a_russian_example(api: FakeBotAPI, start_bot: Callable[..., BotRunner]) -> None:
    start_bot(FakeLibrary(multilingual=True))
    welcome = visible(reply_to(api, ask(api, "/start", BORIS)))
    assert "Попробуйте: Зачем России военная база в Таджикистане?" in welcome
    assert t_text("start_english_only", "ru") not in welcome


def test_a_question_in_russian_gets_russian_words_whatever_the_app_language(
    api: FakeBotAPI, start_bot: Callable[..., BotRunner]
) -> None:
    start_bot()
    message = ask(api, RUSSIAN_QUESTION, ALICE)  # Alice's Telegram is in English
    params = reply_to(api, message)
    text = visible(params)
    assert text.startswith(RUSSIAN_QUESTION) and text.endswith("Результаты 1–3 из 7")
    notice = t_text("notice_english_only", "ru")  # the English-only model says so, in Russian, and still tries
    assert notice in text and "steppe index build --model multilingual-e5-small --rebuild" in notice
    assert PASSAGES[0][2] in text  # excerpts stay in the source's language
    assert "1 июля 2019" in text  # the citation's date, in Russian
    assert button_labels(params) == ["[1] целиком", "[2] целиком", "[3] целиком", "Ещё ›", "👍", "👎"]

    rid = buttons(params)[-1].split(":")[1]
    results = api.bot_replies(message)[0]
    api.press(results, ALICE, f"more:{rid}")
    edit = api.wait_for(lambda: api.calls("editMessageText"))[0].params
    assert visible(edit).endswith("Результаты 4–6 из 7") and button_labels(edit)[-3] == "Ещё ›"
    query = api.press(results, ALICE, f"full:{rid}:99")
    alert = api.wait_for(lambda: api.calls("answerCallbackQuery", callback_query_id=query))[0].params
    assert alert["text"] == t_text("expired", "ru")

    kazakh = visible(reply_to(api, ask(api, "Ресей мен Қазақстан арасындағы мұнай келісімі қандай?", ALICE)))
    assert "Результаты 1–3 из 7" in kazakh
    english = visible(reply_to(api, ask(api, "Why is there a Russian base in Tajikistan?", ALICE)))
    assert "Results 1–3 of 7" in english


def test_russian_not_found_and_problems(api: FakeBotAPI, start_bot: Callable[..., BotRunner]) -> None:
    start_bot(STEPPE_RATE_LIMIT="2")
    not_found = visible(reply_to(api, ask(api, "Какой рецепт у торта cake?", ALICE)))
    assert "В корпусе не нашлось ничего, что отвечало бы на этот вопрос." in not_found
    assert "Зато в корпусе есть, например:" in not_found and "загляните в /sources" in not_found
    assert "Сообщение слишком длинное (символов: 1\u00a0199, а можно не больше 1\u00a0000)" in visible(
        reply_to(api, ask(api, "я " * 600, BORIS))
    )
    assert visible(reply_to(api, ask(api, "!!!", BORIS))).startswith("Я ищу по словам")
    sticker = {"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 512, "height": 512,
               "is_animated": False, "is_video": False}  # fmt: skip
    shown = visible(reply_to(api, api.send(api.private_chat(BORIS), BORIS, sticker=sticker)))
    assert shown.startswith("Я отвечаю только на текстовые вопросы")
    assert visible(reply_to(api, ask(api, "/frobnicate", BORIS))).startswith("Такой команды я не знаю")
    assert visible(reply_to(api, ask(api, "/reload", BORIS))) == t_text("admin_only", "ru")
    assert "/ask Зачем" not in visible(reply_to(api, ask(api, "/ask", BORIS)))  # English example: English model
    hasty = person(5, "ru")
    reply_to(api, ask(api, RUSSIAN_QUESTION, hasty))
    reply_to(api, ask(api, RUSSIAN_QUESTION, hasty))
    assert "Пожалуйста, спросите снова через" in visible(reply_to(api, ask(api, RUSSIAN_QUESTION, hasty)))


def test_russian_sources_about_and_stats(api: FakeBotAPI, start_bot: Callable[..., BotRunner]) -> None:
    start_bot()
    sources = visible(reply_to(api, ask(api, "/sources", BORIS))).replace("\u00a0", " ")
    assert sources.startswith("Что есть в корпусе\n101 документ, фрагментов: 2 345, даты: 2007 – 22 янв. 2026.")
    assert "Wikipedia: 70 документов, 1 июля 2019 – 1 авг. 2025" in sources and "Trend: 1 документ" in sources
    about = visible(reply_to(api, ask(api, "/about", BORIS))).replace("\u00a0", " ")
    assert about.startswith("Об этом боте") and "Источники и лицензии" in about and "11,8 МБ" in about
    admin = {**ADMIN, "language_code": "ru"}
    stats = visible(reply_to(api, ask(api, "/stats", admin)))
    assert stats.startswith("Работаю уже 0 ч 0 мин.") and "Отвечено вопросов: 0" in stats

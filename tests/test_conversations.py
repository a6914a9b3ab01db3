"""End to end through the fake Bot API: follow-up questions, inline mode, and 👍/👎 feedback.

The library ranks the fake passages by the countries a question names (besides Russia), so a
follow-up that was read right visibly finds another passage.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import pytest
from botkit import ADMIN, ALICE, BORIS, CAROL, QUESTION, BotRunner, ask, buttons, reply_to, visible
from fakebotapi import FakeBotAPI, parse_telegram_html
from fakelib import FakeLibrary, Recorder

from bot import inline as inline_mode
from bot.render import TELEGRAM_LIMIT, render_excerpt_html, render_passage_html, utf16_len
from bot.strings import t_text
from index.countries import tag_countries
from index.filters import Filters
from index.models import Answer

BASE = "Does Russia have a military base in Tajikistan?"
KYRGYZ = "Does Russia have a military base in Kyrgyzstan?"


class TopicLibrary(FakeLibrary):
    """The fake passages, those naming the question's countries (Russia aside) first."""

    def answer(self, question: str, *, k: int = 10, mode: str = "hybrid", filters: Filters | None = None) -> Answer:
        answer = super().answer(question, k=k, mode=mode, filters=filters)
        wanted = set(tag_countries(question)) - {"Russia"}
        ranked = sorted(answer.excerpts, key=lambda e: -len(wanted & set(tag_countries(e.text))))
        return dataclasses.replace(answer, excerpts=tuple(ranked))


@pytest.fixture
def library() -> TopicLibrary:
    return TopicLibrary()


def reading_line(params: dict[str, Any]) -> str | None:
    first = visible(params).split("\n")[0]
    for lang in ("en", "ru"):
        prefix = t_text("reading_as", lang, question="")
        if first.startswith(prefix):
            return first[len(prefix) :]
    return None


# follow-ups


def test_a_follow_up_is_read_against_the_previous_question(api: FakeBotAPI, bot: BotRunner, recorder: Recorder) -> None:
    first = reply_to(api, ask(api, BASE))
    assert reading_line(first) is None
    second = reply_to(api, ask(api, "and in Kyrgyzstan?"))
    assert reading_line(second) == KYRGYZ
    assert recorder.calls[-1].question == KYRGYZ
    quoted = visible(second).split("\n\n")[2]  # the reading line, the question, then the first excerpt
    assert "Kyrgyzstan" in quoted and "Kyrgyzstan" not in visible(first).split("\n\n")[1]
    third = reply_to(api, ask(api, "since when?"))
    assert reading_line(third) == "Since when does Russia have a military base in Kyrgyzstan?"


def test_a_standalone_question_is_not_rewritten(api: FakeBotAPI, bot: BotRunner, recorder: Recorder) -> None:
    reply_to(api, ask(api, BASE))
    params = reply_to(api, ask(api, "What is the capital of Kazakhstan?"))
    assert reading_line(params) is None
    assert recorder.calls[-1].question == "What is the capital of Kazakhstan?"


def test_context_expires_after_the_time_limit(
    api: FakeBotAPI, start_bot: Callable[..., BotRunner], recorder: Recorder
) -> None:
    runner = start_bot(STEPPE_FOLLOWUP_SECONDS="60")
    now = [1000.0]
    runner.app.bot_data.conversations.clock = lambda: now[0]
    reply_to(api, ask(api, BASE))
    now[0] += 59
    assert reading_line(reply_to(api, ask(api, "and in Kyrgyzstan?"))) == KYRGYZ
    now[0] += 61
    assert reading_line(reply_to(api, ask(api, "and in Uzbekistan?"))) is None
    assert recorder.calls[-1].question == "and in Uzbekistan?"


def test_follow_ups_can_be_turned_off(api: FakeBotAPI, start_bot: Callable[..., BotRunner], recorder: Recorder) -> None:
    start_bot(STEPPE_FOLLOWUP_SECONDS="0")
    reply_to(api, ask(api, BASE))
    assert reading_line(reply_to(api, ask(api, "and in Kyrgyzstan?"))) is None


def test_start_forgets_the_context(api: FakeBotAPI, bot: BotRunner, recorder: Recorder) -> None:
    reply_to(api, ask(api, BASE))
    reply_to(api, ask(api, "/start"))
    assert reading_line(reply_to(api, ask(api, "and in Kyrgyzstan?"))) is None
    assert recorder.calls[-1].question == "and in Kyrgyzstan?"


def test_russian_follow_up_in_russian(api: FakeBotAPI, bot: BotRunner, recorder: Recorder) -> None:
    reply_to(api, ask(api, "Есть ли у России военная база в Таджикистане?", BORIS))
    params = reply_to(api, ask(api, "а в Киргизии?", BORIS))
    assert visible(params).startswith("Понимаю вопрос так: Есть ли у России военная база в Киргизии?")
    assert recorder.calls[-1].question == "Есть ли у России военная база в Киргизии?"


def test_two_users_in_a_group_keep_their_own_context(api: FakeBotAPI, bot: BotRunner, recorder: Recorder) -> None:
    group = api.group_chat(-100555)
    alice_q = api.send(group, ALICE, f"/ask {BASE}")
    reply_to(api, alice_q)
    boris_q = api.send(group, BORIS, "/ask What influenced Kyrgyzstan's legal system?")
    reply_to(api, boris_q)
    alice_answer, boris_answer = api.bot_replies(alice_q)[0], api.bot_replies(boris_q)[0]

    alice = reply_to(api, api.send(group, ALICE, "and in Kazakhstan?", reply_to_message=alice_answer))
    assert reading_line(alice) == "Does Russia have a military base in Kazakhstan?"
    boris = reply_to(api, api.send(group, BORIS, "and Kazakhstan?", reply_to_message=boris_answer))
    assert reading_line(boris) == "What influenced Kazakhstan's legal system?"
    # not a reply to the bot: a question of its own, never read as a follow-up
    plain = reply_to(api, api.send(group, ALICE, "/ask and in Uzbekistan?"))
    assert reading_line(plain) is None and recorder.calls[-1].question == "and in Uzbekistan?"


def test_more_about_a_passage_opens_it(api: FakeBotAPI, bot: BotRunner, library: TopicLibrary) -> None:
    reply_to(api, ask(api, BASE))
    params = reply_to(api, ask(api, "more about 2"))
    second = library.answer(BASE).excerpts[1].hit.chunk.chunk_id
    body = render_passage_html(library.passage(second), limit=TELEGRAM_LIMIT - 200)
    assert params["text"].startswith("<i>Reading this as:</i> more about passage [2]")
    assert params["text"].endswith(body)
    missing = visible(reply_to(api, ask(api, "more about 9")))
    assert "no passage [9]" in missing and "it had 7" in missing


# inline mode


def inline_answer(api: FakeBotAPI, user: dict[str, Any], query: str, timeout: float = 5.0) -> dict[str, Any]:
    query_id = api.inline(user, query)
    calls = api.wait_for(lambda: api.calls("answerInlineQuery", inline_query_id=query_id), timeout)
    return calls[0].params


def test_inline_results_are_cited_quotes_in_valid_html(api: FakeBotAPI, bot: BotRunner, library: TopicLibrary) -> None:
    params = inline_answer(api, ALICE, QUESTION)
    results = params["results"]
    expected = library.answer(QUESTION).excerpts[:5]
    assert [r["title"] for r in results] == [e.hit.doc.title for e in expected]
    assert results[0]["description"].startswith("Wikipedia")
    for result, excerpt in zip(results, expected, strict=True):
        content = result["input_message_content"]
        assert content["parse_mode"] == "HTML"
        text, tags = parse_telegram_html(content["message_text"])  # raises on invalid Telegram HTML
        assert utf16_len(text) <= TELEGRAM_LIMIT and "blockquote" in tags and "b" in tags
        sentence = " ".join(excerpt.text[a:b] for a, b in excerpt.highlights)
        assert (
            f"<b>{sentence.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}</b>"
            in content["message_text"]
        )
    assert '<a href="https://en.wikipedia.org/' in results[0]["input_message_content"]["message_text"]
    assert params["cache_time"] == 300


def test_inline_empty_query_gives_a_hint_and_not_found_says_so(api: FakeBotAPI, bot: BotRunner) -> None:
    empty = inline_answer(api, ALICE, "   ")
    assert empty["results"] == [] and empty["button"]["text"] == t_text("inline_hint", "en")
    missing = inline_answer(api, ALICE, "chocolate cake recipe")
    assert len(missing["results"]) == 1 and missing["results"][0]["title"] == "Nothing found in the corpus"


def test_inline_results_are_cached_and_only_the_last_keystroke_is_searched(
    api: FakeBotAPI, bot: BotRunner, recorder: Recorder
) -> None:
    inline_answer(api, ALICE, QUESTION)
    inline_answer(api, CAROL, QUESTION)  # another user, the same words and language: Telegram's cache missed
    assert [c.question for c in recorder.calls] == [QUESTION]
    typed = api.inline(ADMIN, "russian base in")
    final = inline_answer(api, ADMIN, "russian base in Tajikistan")
    assert final["results"]
    time.sleep(0.5)
    assert api.calls("answerInlineQuery", inline_query_id=typed) == []
    assert recorder.calls[-1].question == "russian base in Tajikistan"


def test_inline_queries_obey_the_flood_limit(api: FakeBotAPI, start_bot: Callable[..., BotRunner]) -> None:
    start_bot(STEPPE_RATE_LIMIT="1")
    assert inline_answer(api, ALICE, QUESTION)["results"]
    slow = inline_answer(api, ALICE, "Why does Kazakhstan lease Baikonur?")
    assert slow["results"] == [] and slow["button"]["text"].startswith("Too many questions")


def test_inline_text_stays_within_the_limit_for_a_huge_excerpt(library: TopicLibrary) -> None:
    excerpt = library.answer(QUESTION).excerpts[0]
    huge = dataclasses.replace(excerpt, text=excerpt.text + " <&> filler" * 2000)
    html_text = render_excerpt_html("Q & A <x>", huge)
    text, _ = parse_telegram_html(html_text)
    assert utf16_len(html_text) <= TELEGRAM_LIMIT and text.endswith("…" + text.split("…")[-1])


# feedback


def votes_of(runner: BotRunner) -> list[Any]:
    return runner.app.bot_data.feedback.votes()


def test_votes_are_stored_changed_and_reported(api: FakeBotAPI, bot: BotRunner) -> None:
    question = ask(api, BASE)
    params = reply_to(api, question)
    answer_message = api.bot_replies(question)[0]
    up, down = [b for b in buttons(params) if b.startswith("vote:")]
    query = api.press(answer_message, ALICE, up)
    reply = api.wait_for(lambda: api.calls("answerCallbackQuery", callback_query_id=query))[0].params
    assert reply["text"] == "Thanks! Glad it helped."
    stored = votes_of(bot)
    assert [(v.vote, v.question, v.answered) for v in stored] == [(1, BASE, True)]
    assert stored[0].user_hash != str(ALICE["id"]) and len(stored[0].passages) == 7
    assert {"path", "start", "end", "chunk_id"} <= set(stored[0].passages[0])

    query = api.press(answer_message, ALICE, down)
    reply = api.wait_for(lambda: api.calls("answerCallbackQuery", callback_query_id=query))[0].params
    assert reply["text"] == "Vote changed. Thanks!"
    query = api.press(answer_message, BORIS, down)
    api.wait_for(lambda: api.calls("answerCallbackQuery", callback_query_id=query))
    assert sorted(v.vote for v in votes_of(bot)) == [-1, -1]

    report = visible(reply_to(api, ask(api, "/feedback", ADMIN)))
    assert "1 answers rated, 2 votes, 2 👎 (100%)" in report and BASE in report and "👎 2" in report
    assert "only for the bot's admins" in visible(reply_to(api, ask(api, "/feedback", CAROL)))


def test_a_forged_or_foreign_vote_is_refused(api: FakeBotAPI, bot: BotRunner) -> None:
    question = ask(api, BASE)
    params = reply_to(api, question)
    answer_message = api.bot_replies(question)[0]
    rid = buttons(params)[0].split(":")[1]
    forged = api.press(answer_message, ALICE, "vote:AAAAAAAAAAAAAAAA:up")
    other = ask(api, BASE, BORIS)  # the right id, pressed under another chat's message
    reply_to(api, other)
    foreign = api.press(api.bot_replies(other)[0], BORIS, f"vote:{rid}:down")
    bad_value = api.press(answer_message, ALICE, f"vote:{rid}:maybe")
    for query in (forged, foreign, bad_value):
        reply = api.wait_for(lambda q=query: api.calls("answerCallbackQuery", callback_query_id=q))[0].params
        assert reply["text"] in (t_text("expired", "en"), t_text("expired", "ru")) and reply["show_alert"] is True
    assert votes_of(bot) == []


def test_feedback_can_be_turned_off(api: FakeBotAPI, start_bot: Callable[..., BotRunner]) -> None:
    runner = start_bot(STEPPE_FEEDBACK_DAYS="0")
    params = reply_to(api, ask(api, BASE))
    assert not any(b.startswith("vote:") for b in buttons(params))
    assert runner.app.bot_data.feedback is None
    assert "Feedback is turned off" in visible(reply_to(api, ask(api, "/feedback", ADMIN)))


def test_an_unwritable_state_folder_leaves_the_bot_answering(
    api: FakeBotAPI, start_bot: Callable[..., BotRunner], tmp_path: Any
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    runner = start_bot(STEPPE_STATE_DIR=str(blocker / "state"))
    params = reply_to(api, ask(api, BASE))
    assert runner.app.bot_data.feedback is None and not any(b.startswith("vote:") for b in buttons(params))


def test_a_private_bot_answers_inline_queries_only_from_its_users(
    api: FakeBotAPI, start_bot: Callable[..., BotRunner], recorder: Recorder
) -> None:
    start_bot(STEPPE_ALLOWED_CHATS="-100123")
    stranger = inline_answer(api, ALICE, QUESTION)
    assert stranger["results"] == [] and stranger["button"]["text"] == "This is a private bot"
    assert recorder.calls == []
    assert inline_answer(api, ADMIN, QUESTION)["results"]


def test_a_slow_inline_search_is_answered_before_telegrams_deadline(
    api: FakeBotAPI, bot: BotRunner, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inline_mode, "DEADLINE", 0.5)
    recorder.hold_word = "Baikonur"
    started = time.monotonic()
    busy = inline_answer(api, ALICE, "Baikonur lease")
    assert time.monotonic() - started < 3 and busy["results"] == [] and busy["cache_time"] == 0
    assert busy["button"]["text"] == t_text("inline_busy", "en")
    recorder.gate.set()

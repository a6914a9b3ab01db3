"""The work behind the question and button handlers: check, search off the loop, reply, page."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import (
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatAction, ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot import conversation, feedback
from bot.questions import has_words, normalise
from bot.render import TELEGRAM_LIMIT, HtmlPage, paginate_html, render_passage_html, utf16_len
from bot.state import BotContext, Result
from bot.strings import example, number, supported, t, t_text
from index.errors import UserFacingError
from index.filters import parse_query
from index.followup import Reading
from index.language import detect_language
from index.models import Answer

logger = logging.getLogger(__name__)

SEARCH_TIMEOUT = 60.0  # seconds before a search is given up (the thread finishes on its own)
TYPING_EVERY = 4.5  # Telegram shows "typing…" for about 5 seconds per chat action
CALLBACK = re.compile(
    r"more:(?P<more>[A-Za-z0-9_-]{16})|full:(?P<full>[A-Za-z0-9_-]{16}):(?P<n>[1-9][0-9]?)"
    r"|vote:(?P<vote>[A-Za-z0-9_-]{16}):(?P<value>up|down)"
)


RUSSIAN_QUESTIONS = frozenset({"ru", "kk", "ky"})  # questions answered in Russian whatever the app's language


def lang_of(update: Update, text: str | None = None) -> str:
    """The language of the bot's words: Russian for a question in Russian, Kazakh or Kyrgyz, else
    the user's Telegram language (``strings.supported``). Excerpts stay in their source's language."""
    if text and detect_language(text) in RUSSIAN_QUESTIONS:
        return "ru"
    user = update.effective_user
    return supported(user.language_code if user else None)


def example_for(context: BotContext, lang: str) -> str:
    """The example question for ``lang``, in English while the index's model reads English only."""
    library = context.bot_data.library
    return example(lang, library is not None and library.multilingual)


async def follow_index(context: BotContext) -> None:
    """Switch to a newer index generation if one was published; a cheap look, at most every few seconds.

    The look (one small file) and the reload run in a worker thread, so the event loop never
    waits on the disk; questions in flight finish on the old generation. A generation that
    fails to open is logged once and skipped, and the old one keeps serving.
    """
    state, interval = context.state, context.settings.reload_interval
    now = time.monotonic()
    if interval <= 0 or now < state.next_index_check or state.switching:
        return
    state.next_index_check = now + interval
    library = context.library
    state.switching = True
    try:
        published = await asyncio.to_thread(library.published_generation)
        if published is None or published in (library.generation(), state.failed_generation):
            return
        logger.info("index generation %s was published; switching to it", published)
        try:
            await asyncio.to_thread(library.reload)
            state.stats = await asyncio.to_thread(library.stats)
        except Exception as exc:  # any failure must leave the old index serving
            state.failed_generation = published
            logger.error(
                "could not open the new index generation %s, still serving %s: %s",
                published,
                library.generation(),
                exc,
            )
            return
        state.failed_generation = None
        logger.info("now serving index generation %s", library.generation())
    finally:
        state.switching = False


@asynccontextmanager
async def typing(message: Message) -> AsyncIterator[None]:
    """Show "typing…" in the chat now, and again every few seconds until the block ends."""

    async def action() -> None:
        try:
            await message.get_bot().send_chat_action(message.chat_id, ChatAction.TYPING)
        except TelegramError as exc:  # cosmetic: never fail a question over it
            logger.debug("chat action failed: %s", exc)

    async def refresh() -> None:
        while True:
            await asyncio.sleep(TYPING_EVERY)
            await action()

    await action()
    task = asyncio.create_task(refresh())
    try:
        yield
    finally:
        task.cancel()


def _problem(text: str, max_chars: int, lang: str, sample: str) -> str | None:
    """A polite reply if ``text`` cannot be a question, else None."""
    if not text:
        return t("empty_question", lang, example=sample)
    if len(text) > max_chars:
        return t("too_long", lang, length=number(len(text), lang), limit=number(max_chars, lang))
    if not has_words(text):
        return t("no_words", lang, example=sample)
    return None


async def answer_question(update: Update, context: BotContext, raw: str) -> None:
    """Answer ``raw`` (the question text of the update's message) with cited excerpts."""
    message = update.effective_message
    assert message is not None
    user_id = update.effective_user.id if update.effective_user else message.chat_id
    text = normalise(raw)
    lang = lang_of(update, text[: context.settings.max_question_chars])
    sample = example_for(context, lang)
    logger.info("question from user %s in chat %s (%d chars)", user_id, message.chat_id, len(text))
    logger.debug("question text: %r", text)

    verdict = context.state.flood.check(user_id)
    if not verdict.allowed:
        logger.info("user %s is over the question limit; %ss to wait", user_id, verdict.wait)
        if verdict.notify:
            await message.reply_text(t("slow_down", lang, seconds=verdict.wait))
        return
    problem = _problem(text, context.settings.max_question_chars, lang, sample)
    if problem:
        await message.reply_text(problem)
        return
    followup = conversation.read(context.state.conversations, update, message, text)
    reading = followup[0] if followup else None
    if followup is not None and followup[0].kind == "more":
        await open_passage(message, context, followup[1].result_id, followup[0].passage or 1, lang)
        return
    if reading is not None:
        logger.info("read a follow-up from user %s as a %s", user_id, reading.kind)
        text = reading.question
    try:
        question, filters = parse_query(text)
    except UserFacingError as exc:
        await message.reply_text(t("message", lang, message=exc))
        return
    question = question.strip()
    if not question or not has_words(question):
        key = "no_words" if question else ("empty_question" if filters.is_empty() else "filters_only")
        await message.reply_text(t(key, lang, example=sample))
        return

    await follow_index(context)
    search = asyncio.ensure_future(
        asyncio.to_thread(context.library.answer, question, filters=None if filters.is_empty() else filters)
    )
    try:
        async with typing(message):
            answer = await asyncio.wait_for(search, SEARCH_TIMEOUT)
    except TimeoutError:
        logger.warning("search for user %s timed out after %ss", user_id, SEARCH_TIMEOUT)
        await message.reply_text(t("search_timeout", lang))
        return
    except UserFacingError as exc:  # e.g. EmptyQuery: the message is written for users
        await message.reply_text(t("message", lang, message=exc))
        return
    context.state.questions += 1
    rid = await send_answer(message, context, answer, user_id, lang, reading)
    context.state.conversations.remember(message.chat_id, user_id, text, rid)


async def send_answer(
    message: Message, context: BotContext, answer: Answer, user_id: int, lang: str, reading: Reading | None = None
) -> str | None:
    """Reply with the first page of ``answer`` (after how a follow-up was read, if it was one);
    keep it for the buttons (pages, passages, votes) and return its id."""
    prefix = t("reading_as", lang, question=reading.question) if reading is not None else ""
    pages = tuple(paginate_html(answer, lang=lang, limit=TELEGRAM_LIMIT - (utf16_len(prefix) + 2 if prefix else 0)))
    if prefix:
        pages = (HtmlPage(prefix + "\n\n" + pages[0].text, pages[0].first, pages[0].stop), *pages[1:])
    votes = context.state.feedback is not None
    if not votes and (not answer.answered or not answer.excerpts):
        await message.reply_text(pages[0].text)
        return None
    result = Result(chat_id=message.chat_id, user_id=user_id, answer=answer, pages=pages, lang=lang)
    rid = context.state.results.put(result)
    sent = await message.reply_text(pages[0].text, reply_markup=keyboard(rid, result, lang, votes))
    result.message_id = sent.message_id
    return rid


def keyboard(rid: str, result: Result, lang: str, votes: bool = False) -> InlineKeyboardMarkup:
    """One "full text" button per excerpt on the current page, "More" if pages remain, and 👍/👎."""
    page = result.pages[result.page]
    rows = [
        [
            InlineKeyboardButton(t_text("btn_full", lang, n=n + 1), callback_data=f"full:{rid}:{n + 1}")
            for n in range(page.first, page.stop)
        ]
    ]
    if result.page + 1 < len(result.pages):
        rows.append([InlineKeyboardButton(t_text("btn_more", lang), callback_data=f"more:{rid}")])
    if votes:
        rows.append(feedback.buttons(rid))
    return InlineKeyboardMarkup([row for row in rows if row])


async def press(update: Update, context: BotContext) -> None:
    """Handle "More" and "full text" buttons; anything unknown, stale or foreign has expired."""
    query, lang = update.callback_query, lang_of(update)
    assert query is not None
    match = CALLBACK.fullmatch(query.data or "")
    message = query.message if isinstance(query.message, Message) else None  # not InaccessibleMessage
    result, rid = None, None
    if match and message:
        rid = match["more"] or match["full"] or match["vote"]
        result = context.state.results.get(rid, message.chat_id, message.message_id)
    if result is None or rid is None or match is None or message is None:
        logger.info("expired or unknown button from user %s", query.from_user.id)
        await query.answer(t_text("expired", lang), show_alert=True)
        return
    lang = result.lang  # the buttons speak the language of the answer they belong to
    if match["vote"]:
        await feedback.record(query, context, rid, result, match["value"])
        return
    if match["more"]:
        if result.page + 1 >= len(result.pages):
            await query.answer(t_text("no_more", lang))
            return
        result.page += 1
        await query.edit_message_text(
            result.pages[result.page].text,
            reply_markup=keyboard(rid, result, lang, context.state.feedback is not None),
        )
        await query.answer()
        return
    number = int(match["n"])
    if not 1 <= number <= len(result.answer.excerpts):
        await query.answer(t_text("expired", lang), show_alert=True)
        return
    if await show_passage(message, context, result, number):
        await query.answer()
    else:  # the index was reloaded without this chunk
        await query.answer(t_text("passage_gone", lang), show_alert=True)


async def show_passage(message: Message, context: BotContext, result: Result, number: int, prefix: str = "") -> bool:
    """Reply with passage ``number`` of ``result`` in full (after ``prefix``); False if it is gone."""
    chunk_id = result.answer.excerpts[number - 1].hit.chunk.chunk_id
    try:
        passage = await asyncio.to_thread(context.library.passage, chunk_id)
    except KeyError:
        return False
    limit = TELEGRAM_LIMIT - (utf16_len(prefix) + 2 if prefix else 0)
    body = render_passage_html(passage, lang=result.lang, limit=limit)
    await message.reply_text(prefix + "\n\n" + body if prefix else body)
    return True


async def open_passage(message: Message, context: BotContext, rid: str | None, number: int, lang: str) -> None:
    """A follow-up "more about [n]": passage ``number`` of the user's last answer in this chat."""
    result = context.state.results.get(rid, message.chat_id) if rid else None
    if result is None:
        await message.reply_text(t("no_previous_answer", lang))
        return
    total = len(result.answer.excerpts)
    if number > total:  # a "not found" has no passages at all
        await message.reply_text(t("no_passage", lang, n=number, total=total))
        return
    if not await show_passage(message, context, result, number, t("reading_more", lang, n=number)):
        await message.reply_text(t("passage_gone", lang))


async def refuse_chat(update: Update, context: BotContext) -> None:
    """Tell a chat outside STEPPE_ALLOWED_CHATS that the bot is private, and leave groups."""
    lang, chat = lang_of(update), update.effective_chat
    logger.info("refused chat %s (not on the allow-list)", chat.id if chat else None)
    if update.callback_query is not None:
        await update.callback_query.answer(t_text("private_bot", lang), show_alert=True)
        return
    if chat is None:
        return
    joined = update.my_chat_member
    if joined is not None and not _is_member(joined):
        return  # we were removed: nothing to say, nowhere to say it
    if joined is None and update.effective_message is not None:
        await update.effective_message.reply_text(t("private_bot", lang))
    else:
        await context.bot.send_message(chat.id, t("private_bot", lang))
    if chat.type != ChatType.PRIVATE:
        await chat.leave()


def _is_member(change: ChatMemberUpdated) -> bool:
    return change.new_chat_member.status in (
        ChatMemberStatus.MEMBER,
        ChatMemberStatus.ADMINISTRATOR,
        ChatMemberStatus.RESTRICTED,
    )


async def apologise(update: object) -> None:
    """Tell the user, once, that something went wrong (the error handler's reply)."""
    if not isinstance(update, Update):
        return
    message = update.effective_message
    lang = lang_of(update, message.text[:1000] if message is not None and message.text else None)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(t_text("error", lang), show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(t("error", lang))
    except TelegramError as exc:
        logger.warning("could not apologise for update %s: %s", update.update_id, exc)

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
        "notice_english_only": "Answers work best in English; I searched anyway.",
        "slow_down": (
            "You're asking faster than I can keep up with. Please slow down and try again in {seconds} seconds."
        ),
        "search_timeout": "That search took too long. Please try again, perhaps with fewer words.",
        "message": "{message}",  # a UserFacingError's own words
        # Results
        "not_found": "I found nothing in the corpus that answers this.",
        "suggest": "The corpus does cover, for example:",
        "not_found_hint": "Try other words, fewer filters, or see /sources.",
        "page_footer": "Results {first}–{last} of {total}",
        "page_footer_one": "Result {first} of {total}",
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
        "licence_line": "{source}: {licence}",
        "credit": "credit: {attribution}",
        "no_licence": "licence not recorded",
        "dates_unknown": "dates unknown",
        # Access and administration
        "private_bot": "Sorry, this is a private bot and does not serve this chat.",
        "admin_only": "Sorry, that command is only for the bot's admins.",
        "reload_done": "Reloaded: the index on disk had changed.",
        "reload_same": "The index on disk has not changed; nothing to reload.",
        "add_usage": "Usage: <code>/add https://example.com/article</code>",
        "add_unavailable": "Adding articles by URL is not available yet.",
        "runtime": (
            "Up {uptime}. {questions} questions answered, {errors} errors, {results} results kept for buttons."
        ),
        "error": "Sorry, something went wrong. Please try again.",
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
    """The catalogue language to use for a Telegram ``language_code`` (English by default)."""
    code = (lang or "").split("-")[0].lower()
    return code if code in STRINGS else DEFAULT_LANG

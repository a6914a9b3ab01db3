"""The one renderer: answers, passages and index stats for the terminal, JSON and Telegram.

Telegram output is HTML built only from escaped text and the tags b, i, a, code and
blockquote, so nothing from a question or a document can become markup. Every message fits
``TELEGRAM_LIMIT`` counted on the raw HTML in UTF-16 code units, which bounds the length
Telegram measures after parsing entities. Long texts are trimmed at a sentence or word end.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.strings import DEFAULT_LANG, has, t, t_text
from index.models import Answer, DocInfo, Excerpt, Hit, Passage

TELEGRAM_LIMIT = 4096
PER_PAGE = 3
QUESTION_PREVIEW = 200  # characters of the question quoted on top of every page
NOTICE_PREVIEW = 200
TITLE_PREVIEW = 150
SOURCE_PREVIEW = 80
SUGGESTION_PREVIEW = 120
MAX_SUGGESTIONS = 8
MAX_HREF = 600  # longer (escaped) URLs are shown without a link

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"[.!?…][\"'»”’)\]]*$")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Russian months: alone with a year ("окт. 2012") and after a day, in the genitive ("10 окт. 2012").
_MONTHS_RU = ("янв.", "февр.", "март", "апр.", "май", "июнь", "июль", "авг.", "сент.", "окт.", "нояб.", "дек.")
_MONTHS_RU_OF = ("янв.", "февр.", "марта", "апр.", "мая", "июня", "июля", "авг.", "сент.", "окт.", "нояб.", "дек.")
_ANSI_BOLD, _ANSI_RESET = "\x1b[1m", "\x1b[0m"


@dataclass(frozen=True)
class HtmlPage:
    """One Telegram message of results: excerpts ``first`` up to (not including) ``stop``."""

    text: str
    first: int
    stop: int


# Small text helpers


def clean(text: str) -> str:
    """Drop control characters and lone surrogates, keeping newlines and tabs."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def esc(text: str) -> str:
    """Cleaned text, escaped for Telegram HTML."""
    return html.escape(clean(text), quote=False)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the way Telegram counts."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def fits(text: str, limit: int = TELEGRAM_LIMIT) -> bool:
    """True if ``text`` is within Telegram's message limit."""
    return utf16_len(text) <= limit


def preview(text: str | None, limit: int) -> str:
    """One line of cleaned text, at most ``limit`` characters, cut at a word with "…"."""
    flat = _SPACE.sub(" ", clean(text or "")).strip()
    if len(flat) <= limit:
        return flat
    cut = flat.rfind(" ", 0, limit)
    return flat[: cut if cut > limit // 2 else limit - 1].rstrip() + "…"


def format_date(date: str | None, lang: str = DEFAULT_LANG) -> str:
    """ISO ``YYYY[-MM[-DD]]`` as "2012", "Oct 2012" or "10 Oct 2012" (in ``lang``); anything else as given."""
    if not date:
        return ""
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(?:[T ].*)?", date.strip())
    if not match or not 1 <= int(match[2] or 1) <= 12:
        return preview(date, 40)
    year, month, day = match.groups()
    if month is None:
        return year
    if lang == "ru":
        names = _MONTHS_RU_OF if day else _MONTHS_RU
        words = f"{names[int(month) - 1]} {year}"
    else:
        words = f"{_MONTHS[int(month) - 1]} {year}"
    return f"{int(day)} {words}" if day else words


def safe_href(url: str | None) -> str | None:
    """The URL escaped for an href attribute, or None unless it is a plain http(s) URL."""
    if not url or _CONTROL.search(url) or any(ch.isspace() for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    href = html.escape(url, quote=True)
    return href if len(href) <= MAX_HREF else None


def _last_fitting(candidates: Sequence[int], ok: Callable[[int], bool]) -> int | None:
    """The last candidate for which ``ok`` holds, given ``ok`` is true then false along them."""
    lo, hi, best = 0, len(candidates) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if ok(candidates[mid]):
            best, lo = candidates[mid], mid + 1
        else:
            hi = mid - 1
    return best


def longest_prefix(text: str, ok: Callable[[int], bool]) -> int:
    """The longest prefix length of ``text`` that is ``ok``, ending at a sentence or a word.

    ``ok(n)`` must be monotone (true for short prefixes, false past some length).
    """
    if ok(len(text)):
        return len(text)
    words = [m.start() for m in _SPACE.finditer(text) if m.start() > 0]
    best = _last_fitting(words, ok)
    if best is None:  # no word end fits: cut inside the first word
        return _last_fitting(range(1, len(text)), ok) or 0
    sentences = [i for i in words if i <= best and _SENTENCE_END.search(text[max(0, i - 4) : i])]
    if sentences and sentences[-1] >= best * 0.6:
        return sentences[-1]
    return best


def longest_suffix(text: str, ok: Callable[[int], bool]) -> int:
    """The smallest start index whose suffix of ``text`` is ``ok``, starting at a word."""
    if ok(0):
        return 0
    starts = [m.end() for m in _SPACE.finditer(text) if m.end() < len(text)]
    # ok(start) is false for small starts and true for large ones: search the reversed list.
    found = _last_fitting(starts[::-1], ok)
    if found is None:
        found = _last_fitting(range(len(text) - 1, 0, -1), ok)
    return len(text) if found is None else found


# Citations and excerpts


def _citation_parts(doc: DocInfo, lang: str = DEFAULT_LANG) -> tuple[str, str]:
    """(title, "Source, date") for a citation, both plain text."""
    title = preview(doc.title or doc.path or doc.doc_id, TITLE_PREVIEW)
    rest = ", ".join(part for part in (preview(doc.source, SOURCE_PREVIEW), format_date(doc.date, lang)) if part)
    return title, rest


def citation_html(doc: DocInfo, number: int | None = None, lang: str = DEFAULT_LANG) -> str:
    """A citation line: "[1] <a href=...>Title</a> — Source, date" (a link only for http/https)."""
    title, rest = _citation_parts(doc, lang)
    href = safe_href(doc.url)
    label = f'<a href="{href}">{esc(title)}</a>' if href and title else esc(title)
    line = f"{label} — {esc(rest)}" if rest else label
    return f"[{number}] {line}" if number is not None else line


def citation_text(doc: DocInfo, number: int | None = None) -> str:
    """A plain citation: "[1] Title — Source, date. URL-or-path"."""
    title, rest = _citation_parts(doc)
    line = f"{title} — {rest}" if rest else title
    where = clean(doc.url or doc.path or "").strip()
    if where:
        line = f"{line}. {where}"
    return f"[{number}] {line}" if number is not None else line


def also_line(hit: Hit, lang: str = DEFAULT_LANG) -> str:
    """Where else a collapsed passage appears: " (also in the 2025 and 2015 editions)", else titles.
    Copies of the leading edition itself (the same edition indexed from two folders) go unsaid."""
    editions = [h.doc.edition or "" for h in hit.also]
    if editions and all(editions):
        years = list(dict.fromkeys(year for year in editions if year != hit.doc.edition))
        if not years:
            return ""
        last = f" {t_text('and', lang)} {years[-1]}" if len(years) > 1 else years[-1]
        key = "also_editions" if len(years) > 1 else "also_edition"
        return f" ({t_text(key, lang, years=', '.join(years[:-1]) + last)})"
    titles = dict.fromkeys(preview(h.doc.title or h.doc.path, TITLE_PREVIEW) for h in hit.also)
    return f" ({t_text('also_in', lang, titles='; '.join(titles))})" if titles else ""


def _spans(text: str, highlights: Sequence[tuple[int, int]], end: int) -> list[tuple[str, bool]]:
    """Split ``text[:end]`` into (segment, highlighted) pieces; bad spans are clamped or dropped."""
    merged: list[list[int]] = []
    for start, stop in sorted((max(0, int(a)), min(end, int(b))) for a, b in highlights):
        if start >= stop:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    pieces, pos = [], 0
    for start, stop in merged:
        pieces += [(text[pos:start], False), (text[start:stop], True)]
        pos = stop
    pieces.append((text[pos:end], False))
    return [(seg, hl) for seg, hl in pieces if seg]


def _excerpt_markup(excerpt: Excerpt, end: int, mark: Callable[[str, bool], str]) -> str:
    """The excerpt's first ``end`` characters with ellipses, each piece formatted by ``mark``."""
    body = "".join(mark(seg, hl) for seg, hl in _spans(excerpt.text, excerpt.highlights, end))
    trimmed = end < len(excerpt.text)
    return ("…" if excerpt.cut_before else "") + body.strip() + ("…" if excerpt.cut_after or trimmed else "")


def _html_piece(segment: str, highlighted: bool) -> str:
    escaped = esc(segment)
    return f"<b>{escaped}</b>" if highlighted and escaped.strip() else escaped


def _excerpt_block(excerpt: Excerpt, number: int, end: int | None = None, lang: str = DEFAULT_LANG) -> str:
    end = len(excerpt.text) if end is None else end
    body = _excerpt_markup(excerpt, end, _html_piece)
    return f"{body}\n{citation_html(excerpt.hit.doc, number, lang)}{esc(also_line(excerpt.hit, lang))}"


def _fitted_block(excerpt: Excerpt, number: int, budget: int, lang: str = DEFAULT_LANG) -> str:
    """The excerpt block trimmed at a sentence or word end so it takes at most ``budget`` units."""
    end = longest_prefix(excerpt.text, lambda n: utf16_len(_excerpt_block(excerpt, number, n, lang)) <= budget)
    return _excerpt_block(excerpt, number, end, lang)


def render_excerpt_html(
    question: str, excerpt: Excerpt, *, lang: str = DEFAULT_LANG, limit: int = TELEGRAM_LIMIT
) -> str:
    """One cited excerpt under the question it answers (an inline result): the question in italics,
    the excerpt quoted with its answering sentences in bold, then the citation with its link."""
    head = f"<i>{esc(preview(question, QUESTION_PREVIEW))}</i>"
    citation = citation_html(excerpt.hit.doc, lang=lang)

    def build(end: int) -> str:
        return _join(head, f"<blockquote>{_excerpt_markup(excerpt, end, _html_piece)}</blockquote>", citation)

    if fits(build(len(excerpt.text)), limit):
        return build(len(excerpt.text))
    return build(longest_prefix(excerpt.text, lambda n: fits(build(n), limit)))


# Telegram HTML: answers


def notice_text(notice: str | None, lang: str = DEFAULT_LANG) -> str:
    """The words for ``Answer.notice``: a known code (e.g. "english_only") from strings, else as given."""
    if notice and has(f"notice_{notice}", lang):
        return t_text(f"notice_{notice}", lang)
    return preview(notice, NOTICE_PREVIEW)


def _header_html(answer: Answer, lang: str) -> str:
    parts = []
    question = preview(answer.question, QUESTION_PREVIEW)
    if question:
        parts.append(f"<blockquote>{html.escape(question, quote=False)}</blockquote>")
    notice = notice_text(answer.notice, lang)
    if notice:
        parts.append(f"<i>{html.escape(notice, quote=False)}</i>")
    return "\n".join(parts)


def _join(*parts: str) -> str:
    return "\n\n".join(part for part in parts if part)


def paginate_html(
    answer: Answer, *, per_page: int = PER_PAGE, limit: int = TELEGRAM_LIMIT, lang: str = DEFAULT_LANG
) -> list[HtmlPage]:
    """Telegram messages for ``answer``: up to ``per_page`` excerpts each, every one within ``limit``.

    A page holds fewer excerpts when more would not fit; an excerpt too long on its own is
    trimmed. A refusal is a single page from ``render_not_found_html``.
    """
    excerpts = answer.excerpts
    if not answer.answered or not excerpts:
        return [HtmlPage(render_not_found_html(answer, lang=lang, limit=limit), 0, 0)]
    header, total = _header_html(answer, lang), len(excerpts)

    def footer(first: int, stop: int) -> str:
        key = "page_footer_one" if stop == first + 1 else "page_footer"
        return t(key, lang, first=first + 1, last=stop, total=total)

    pages, first = [], 0
    while first < total:
        blocks: list[str] = []
        stop = first
        while stop < total and stop - first < max(1, per_page):
            block = _excerpt_block(excerpts[stop], stop + 1, lang=lang)
            if not fits(_join(header, *blocks, block, footer(first, stop + 1)), limit):
                if blocks:
                    break
                budget = limit - utf16_len(_join(header, "x", footer(first, stop + 1))) + 1
                block = _fitted_block(excerpts[stop], stop + 1, budget, lang)
            blocks.append(block)
            stop += 1
        pages.append(HtmlPage(_join(header, *blocks, footer(first, stop)), first, stop))
        first = stop
    return pages


def render_html_pages(
    answer: Answer, *, start: int = 0, per_page: int = PER_PAGE, lang: str = DEFAULT_LANG
) -> list[str]:
    """The texts of ``paginate_html`` from page ``start`` on."""
    return [page.text for page in paginate_html(answer, per_page=per_page, lang=lang)[start:]]


def render_not_found_html(answer: Answer, *, lang: str = DEFAULT_LANG, limit: int = TELEGRAM_LIMIT) -> str:
    """A plain "not found" with what the corpus does cover (``Answer.suggestions``)."""
    header, hint = _header_html(answer, lang), t("not_found_hint", lang)
    suggestions: list[str] = []
    for raw in answer.suggestions[:MAX_SUGGESTIONS]:
        item = preview(raw, SUGGESTION_PREVIEW)
        if not item:
            continue
        trial = [*suggestions, f"• {html.escape(item, quote=False)}"]
        if not fits(_join(header, t("not_found", lang), _suggest_html(trial, lang), hint), limit):
            break
        suggestions = trial
    return _join(header, t("not_found", lang), _suggest_html(suggestions, lang), hint)


def _suggest_html(lines: list[str], lang: str) -> str:
    return t("suggest", lang) + "\n" + "\n".join(lines) if lines else ""


def render_passage_html(passage: Passage, *, lang: str = DEFAULT_LANG, limit: int = TELEGRAM_LIMIT) -> str:
    """A passage in full: its neighbours around the chunk itself (in a blockquote), then the citation.

    Too long for one message, the neighbours are shortened first (evenly, at word ends),
    then the chunk.
    """
    text = passage.text
    start = max(0, min(passage.focus_start, len(text)))
    stop = max(start, min(passage.focus_end, len(text)))
    before, focus, after = text[:start], text[start:stop], text[stop:]
    citation = citation_html(passage.doc, lang=lang)

    def build(b_start: int, f_end: int, a_end: int) -> str:
        head = ("…" if passage.cut_before or b_start > 0 else "") + esc(before[b_start:]).strip()
        quoted = esc(focus[:f_end]).strip() + ("…" if f_end < len(focus) else "")
        tail = esc(after[:a_end]).strip() + ("…" if passage.cut_after or a_end < len(after) else "")
        middle = f"<blockquote>{quoted}</blockquote>" if quoted else ""
        body = "\n".join(part for part in (head, middle, tail) if part.strip("…"))
        return _join(body, citation)

    if fits(build(0, len(focus), len(after)), limit):
        return build(0, len(focus), len(after))
    bare = build(len(before), len(focus), 0)
    if not fits(bare, limit):
        end = longest_prefix(focus, lambda n: fits(build(len(before), n, 0), limit))
        return build(len(before), end, 0)
    room = limit - utf16_len(bare)
    b_start = longest_suffix(before, lambda k: utf16_len(esc(before[k:])) + 2 <= room // 2)
    used = utf16_len(esc(before[b_start:])) + 2 if b_start < len(before) else 0
    a_end = longest_prefix(after, lambda n: utf16_len(esc(after[:n])) + 2 <= room - used)
    left = room - used - (utf16_len(esc(after[:a_end])) + 2 if a_end else 0)
    b_start = longest_suffix(before, lambda k: utf16_len(esc(before[k:])) + 2 <= left + used)
    return build(b_start, len(focus), a_end)


# Terminal text and JSON


def render_text(answer: Answer, *, color: bool = False, lang: str = DEFAULT_LANG) -> str:
    """An answer for the terminal: the question, numbered excerpts, then numbered citations.

    Answering sentences are wrapped in «» (or shown in ANSI bold with ``color``); "…" marks
    cut text. Control characters are removed, so documents cannot send escape codes.
    """
    lines = [f"Q: {preview(answer.question, 10 * QUESTION_PREVIEW)}"]
    if answer.notice:
        lines.append(notice_text(answer.notice, lang))
    if not answer.answered or not answer.excerpts:
        lines += ["", t_text("not_found", lang)]
        suggestions = [preview(s, SUGGESTION_PREVIEW) for s in answer.suggestions]
        if any(suggestions):
            lines.append(t_text("suggest", lang))
            lines += [f"  - {s}" for s in suggestions if s]
        lines.append(t_text("not_found_hint", lang))
        return "\n".join(lines)

    def mark(segment: str, highlighted: bool) -> str:
        segment = clean(segment)
        if not highlighted or not segment.strip():
            return segment
        return f"{_ANSI_BOLD}{segment}{_ANSI_RESET}" if color else f"«{segment}»"

    for number, excerpt in enumerate(answer.excerpts, 1):
        lines += ["", f"[{number}] {_excerpt_markup(excerpt, len(excerpt.text), mark)}"]
    lines += ["", "Sources:"]
    lines += [citation_text(e.hit.doc, n) + also_line(e.hit, lang) for n, e in enumerate(answer.excerpts, 1)]
    return "\n".join(lines)


def answer_to_json(answer: Answer) -> dict[str, Any]:
    """The JSON contract: question, answered, and the ranked results (also when refused).

    Each result has the stored chunk (``text``, ``start``/``end`` in the cleaned document), the
    ``excerpt`` the bot shows for it, its ``highlights`` as [start, end] offsets in the cleaned
    document (the frame of ``start``/``end``), ``shown``: whether the bot shows it (never
    when ``answered`` is false), and ``also``: the copies of the passage in other documents it
    stands for and cites (other Factbook editions), each with its own document and offsets.
    """
    shown = {excerpt.hit.chunk.chunk_id: excerpt for excerpt in answer.excerpts}
    ranked = [shown.get(excerpt.hit.chunk.chunk_id, excerpt) for excerpt in answer.ranked or answer.excerpts]
    return {
        "question": answer.question,
        "answered": answer.answered,
        "results": [
            {
                "rank": rank,
                "score": float(excerpt.hit.score),
                "doc_id": excerpt.hit.doc.doc_id,
                "title": excerpt.hit.doc.title,
                "source": excerpt.hit.doc.source,
                "date": excerpt.hit.doc.date,
                "url": excerpt.hit.doc.url,
                "path": excerpt.hit.doc.path,
                "text": excerpt.hit.chunk.text,
                "start": excerpt.hit.chunk.start,
                "end": excerpt.hit.chunk.end,
                "excerpt": excerpt.text,
                "highlights": [list(span) for span in excerpt.document_highlights()],
                "shown": excerpt.hit.chunk.chunk_id in shown,
                "also": [
                    {
                        "doc_id": copy.doc.doc_id,
                        "title": copy.doc.title,
                        "date": copy.doc.date,
                        "path": copy.doc.path,
                        "start": copy.chunk.start,
                        "end": copy.chunk.end,
                    }
                    for copy in excerpt.hit.also
                ],
            }
            for rank, excerpt in enumerate(ranked, 1)
        ],
    }

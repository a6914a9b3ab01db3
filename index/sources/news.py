"""Plain-text news articles (``.txt``): the seed's wire format, or simply a title line and a body.

The seed format: the title, a "Politics Materials 10 October 2012 17:47 (UTC +04:00)" line,
a dateline "Azerbaijan, Baku, Oct. 10 / Trend V. Zhavoronkova/", then the paragraphs.
"""

from __future__ import annotations

import re
from typing import Any

from index.models import Document
from index.sources.common import (
    MONTH_NAME,
    Context,
    humanise_stem,
    iso_date,
    join_paragraphs,
    make_document,
    normalise_line,
)
from index.sources.markup import render_block, split_blocks

_META_LINE = re.compile(
    rf"^(?P<category>[^\d/]{{2,60}}?)\s+(?P<date>\d{{1,2}}\s+{MONTH_NAME}\s+\d{{4}})"
    r"(?:\s+(?P<time>\d{1,2}:\d{2}))?(?:\s*\(\s*UTC\s*(?P<tz>[+\-−]\s*\d{1,2}:?\d{2})\s*\))?\s*$"
)
_DATELINE = re.compile(
    rf"^(?P<place>[^/]{{2,80}}?),\s*(?P<when>{MONTH_NAME}\s*\d{{1,2}}(?:,\s*\d{{4}})?)\s*/\s*"
    r"(?P<credit>[^/]+?)\s*/\s*$"
)
_CREDIT = re.compile(
    r"^(?P<source>.+?)(?:[,\s]+(?P<author>(?:[A-ZА-ЯЁ]\.\s?){1,3}\s?[A-ZА-ЯЁ][\w'’\-]+"
    r"(?:[ \-][A-ZА-ЯЁ][\w'’\-]+)?))?$"
)


def load_news_text(text: str, ctx: Context) -> list[Document]:
    """Plain text: the seed news header (title / category+date / dateline) or title + body."""
    blocks = split_blocks(text)
    if not blocks:
        return []
    first_lines = [normalise_line(ln) for ln in blocks[0]]
    extra: dict[str, Any] = {}
    source = author = date = None
    wrapped = len(first_lines) > 1 and len(first_lines[0]) > 60 and first_lines[1][:1].islower()
    if len(first_lines[0]) <= 200 and not wrapped:  # the first line is the title
        title = first_lines[0]
        rest = ([blocks[0][1:]] if len(blocks[0]) > 1 else []) + blocks[1:]
    else:
        title, rest = humanise_stem(ctx.path.stem), blocks
    # The seed's header: "Politics Materials 10 October 2012 17:47 (UTC +04:00)", then a
    # dateline "Azerbaijan, Baku, Oct. 10 / Trend V. Zhavoronkova/".
    if rest and len(rest[0]) == 1 and (m := _META_LINE.match(normalise_line(rest[0][0]))):
        category = re.sub(r"\s+Materials$", "", m.group("category").strip())
        extra["category"] = category
        date = iso_date(m.group("date"))
        if m.group("time"):
            extra["time"] = m.group("time") + (f" UTC{m.group('tz').replace(' ', '')}" if m.group("tz") else "")
        rest = rest[1:]
    if rest and len(rest[0]) == 1 and (m := _DATELINE.match(normalise_line(rest[0][0]))):
        extra["place"] = m.group("place").strip()
        credit = _CREDIT.match(m.group("credit").strip())
        if credit:
            source = credit.group("source").strip(" ,")
            author = credit.group("author")
        rest = rest[1:]
    paragraphs = [p for block in rest for p in render_block(block, flavour="text")]
    return [
        make_document(
            ctx,
            title=title,
            text=join_paragraphs(paragraphs),
            source=source,
            author=author,
            date=date,
            extra=extra,
        )
    ]

"""Congressional Record floor statements, exported as Markdown.

A statement starts with a header (``# TITLE``, ``## `record id` ``, `` `Mr. SPEAKER of State — date` ``)
and its text is hard-wrapped like the printed Record; here the header becomes the title,
author and date, and the wrapped lines are joined again. index/sources/markdown.py reads the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from index.sources.common import iso_date, normalise_line, smart_title
from index.sources.markup import join_wrapped

CR_HEADER = re.compile(
    r"\A\s*#\s+(?P<title>[^\n]*)\n+##\s+`(?P<id>[0-9a-fA-F]{8,})`\s*\n+`(?P<speaker>[^`\n]+?)\s+[—–-]+\s+"
    r"(?P<date>[^`\n]+)`[ \t]*\n(?:\s*(?:---|\*\*\*)[ \t]*\n)?"
)


@dataclass(frozen=True)
class Statement:
    """A statement's header, read, and its body with the hard wraps joined."""

    title: str
    author: str
    date: str | None
    body: str
    extra: dict[str, Any] = field(default_factory=dict)


def read_statement(body: str) -> Statement | None:
    """The statement in a Markdown body that starts with the Record's header, else None."""
    cr = CR_HEADER.match(body)
    if not cr:
        return None
    speaker = normalise_line(cr.group("speaker"))
    heading = normalise_line(cr.group("title"))
    if heading and heading.lower() not in ("none", "null", "untitled"):
        title = smart_title(heading, keep_upper=True) if heading.isupper() else heading
    else:
        title = f"Floor statement by {tidy_speaker(speaker)}, {normalise_line(cr.group('date'))}"
    return Statement(
        title=title,
        author=tidy_speaker(speaker),
        date=iso_date(normalise_line(cr.group("date"))),
        body=unwrap_congressional_record(body[cr.end() :]),
        extra={"speaker": speaker, "record_id": cr.group("id")},
    )


def tidy_speaker(speaker: str) -> str:
    """'Mr. BURTON of Indiana' -> 'Mr. Burton of Indiana'."""
    return " ".join(w.capitalize() if w.isupper() and len(w) > 1 and w.isalpha() else w for w in speaker.split())


def unwrap_congressional_record(body: str) -> str:
    """Re-join the Record's hard-wrapped lines (trailing space = continued; '-' = split word)."""
    lines = body.split("\n")
    paragraphs: list[str] = []
    current: str | None = None
    last_raw = ""
    gap = 0
    for raw in lines:
        if not raw.strip():
            gap += 1
            continue
        stripped = raw.strip()
        if current is not None:
            prev = last_raw.rstrip()
            continues = (
                (last_raw != last_raw.rstrip() and gap <= 2)
                or (prev.endswith("-") and not prev.endswith(" -") and gap <= 2)
                or (stripped[:1].islower() and gap <= 4 and not prev.endswith((".", "!", "?", ":")))
            )
            if continues:
                current = join_wrapped(current, stripped)
            else:
                paragraphs.append(current)
                current = stripped
        else:
            current = stripped
        last_raw = raw
        gap = 0
    if current is not None:
        paragraphs.append(current)
    return "\n\n".join(paragraphs)

"""Markdown and wiki text to clean paragraphs: blocks, lists, tables, headings, inline markup.

Shared by the plain-text, Markdown, Congressional Record, JSON and Factbook readers. ``flavour``
says what to expect: "text" (plain text: no markup is interpreted), "markdown", or "cr" (the
Congressional Record's hard-wrapped statements, already unwrapped).
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Iterable

from index.sources.common import normalise_line
from index.sources.wikipedia import REF_MARK, is_infobox_line, is_maintenance_box, strip_wiki_markup

# Block structure -------------------------------------------------------------


def split_blocks(text: str) -> list[list[str]]:
    """Split text into blocks of consecutive non-blank lines (raw lines, tabs expanded)."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.expandtabs(4).split("\n"):
        if line.strip():
            current.append(line.rstrip("\n"))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


_GRID_BORDER = re.compile(r"^\s*\+[-=:+]{3,}\+?\s*$")
_PIPE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{2,}:?\s*)+\|?\s*$")
_RULE_LINE = re.compile(r"^\s*-{3,}(?:\s+-{3,})*\s*$")
_HR_LINE = re.compile(r"^\s*(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,}|(?:=\s*){3,})$")
BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
UNORDERED = re.compile(r"^\s*[-*+•]\s+")
H1 = re.compile(r"^\s{0,3}#(?!#)\s+(.+?)\s*#*\s*$")
_HEADING = re.compile(r"^\s*#{1,6}\s+(.*?)\s*#*\s*$")
_REFERENCE_ENTRY = re.compile(r"^\s*\[\d{1,4}\]")
_FENCE = re.compile(r"^\s*(```|~~~)")
_TABLE_GAP = re.compile(r"(?<=\S) {3,}(?=\S)")


def render_blocks(blocks: list[list[str]], *, flavour: str) -> list[str]:
    """The cleaned paragraphs of all blocks."""
    out: list[str] = []
    for block in blocks:
        out.extend(render_block(block, flavour=flavour))
    return out


def render_block(block: list[str], *, flavour: str) -> list[str]:
    """Turn one block of raw lines into zero or more cleaned paragraphs."""
    lines = [ln for ln in block if not _FENCE.match(ln)]
    if not lines:
        return []
    if flavour != "text" and _REFERENCE_ENTRY.match(lines[0]):
        return []  # a reference-list entry ("[12] Smith, J. ...")
    if flavour != "text" and is_maintenance_box(" ".join(ln.strip() for ln in lines)):
        return []  # a Wikipedia maintenance box ("This article needs additional citations ...")
    if flavour != "text" and any(_GRID_BORDER.match(ln) for ln in lines):
        return _render_grid_table(lines)
    if flavour != "text" and any(_PIPE_SEPARATOR.match(ln) for ln in lines):
        rows = [_cells_row(ln.split("|")) for ln in lines if not _PIPE_SEPARATOR.match(ln)]
        return _paragraph_of_lines(rows)
    if flavour != "text" and any(_RULE_LINE.match(ln) for ln in lines) and len(lines) > 1:
        return _render_simple_table(lines)
    logical = _logical_lines(lines, flavour=flavour)
    paragraphs: list[str] = []
    group: list[str] = []
    for kind, line in logical:
        if kind == "heading":  # a heading is a paragraph of its own
            paragraphs.extend(_paragraph_of_lines(group))
            paragraphs.extend(_paragraph_of_lines([line]))
            group = []
        else:
            group.append(line)
    paragraphs.extend(_paragraph_of_lines(group))
    return paragraphs


def _logical_lines(lines: list[str], *, flavour: str) -> list[tuple[str, str]]:
    """Re-join hard-wrapped lines; headings, list items, table-like rows and hard breaks stay apart."""
    out: list[list[str]] = []  # [kind, text, can_continue]
    for raw in lines:
        if flavour != "text" and _HR_LINE.match(raw):
            continue
        line = raw.strip()
        if flavour != "text":
            if is_infobox_line(line):
                continue  # wiki infobox parameters ("| image_caption = ... | pushpin_map = ...")
            line = re.sub(r"^(?:>\s?)+", "", line)  # block quotes
            line = re.sub(r"^[:;]+\*?\s*", "", line)  # wiki indentation / definition markers
        hard_break = raw.endswith("  ") and flavour == "markdown"
        kind = "text"
        heading = _HEADING.match(line) if flavour != "text" else None
        if heading:
            out.append(["heading", heading.group(1), False])
            continue
        if BULLET.match(line):
            kind = "item"
            line = UNORDERED.sub("", line) if UNORDERED.match(line) else line.strip()
        elif flavour != "text" and (
            line.count("|") >= 2
            or len(_TABLE_GAP.findall(line)) >= 2
            or (raw.startswith("  ") and _TABLE_GAP.search(line))
        ):
            out.append(["row", _cells_row(re.split(r" {3,}|\|", line)), False])
            continue
        if out and out[-1][2] and kind == "text" and out[-1][0] in ("text", "item"):
            out[-1][1] = join_wrapped(out[-1][1], line)
            out[-1][2] = not hard_break
        else:
            out.append([kind, line, not hard_break])
    return [(kind, text) for kind, text, _ in out]


def _cells_row(cells: Iterable[str]) -> str:
    return " | ".join(c for c in (c.strip() for c in cells) if c)


def _paragraph_of_lines(lines: list[str]) -> list[str]:
    cleaned = clean_lines(lines)
    return ["\n".join(cleaned)] if cleaned else []


def _render_grid_table(lines: list[str]) -> list[str]:
    """A pandoc grid table: one ' | '-separated line per row, multi-line cells re-joined."""
    border = next(ln for ln in lines if _GRID_BORDER.match(ln))
    cols = [i for i, ch in enumerate(border) if ch == "+"]
    rows: list[str] = []
    cells: list[list[str]] | None = None
    before: list[str] = []

    def flush() -> None:
        nonlocal cells
        if cells is not None:
            row = _cells_row(_join_cell(parts) for parts in cells)
            if row:
                rows.append(row)
        cells = None

    for line in lines:
        if _GRID_BORDER.match(line):
            flush()
            continue
        if not line.lstrip().startswith("|"):
            flush()
            before.append(line)
            continue
        parts = _slice_grid_row(line, cols)
        if cells is None or len(cells) != len(parts):
            flush()
            cells = [[] for _ in parts]
        for bucket, part in zip(cells, parts, strict=True):
            bucket.append(part)
    flush()
    out = _paragraph_of_lines(before) if before else []
    return out + _paragraph_of_lines(rows)


def _slice_grid_row(line: str, cols: list[int]) -> list[str]:
    aligned = len(cols) > 1 and all(i < len(line) and line[i] == "|" for i in cols[:-1])
    if aligned:
        return [line[a + 1 : b] for a, b in itertools.pairwise(cols)]
    return line.strip().strip("|").split("|")


def _join_cell(parts: list[str]) -> str:
    """Re-join the lines of one grid-table cell; list items and paragraphs become sentences."""
    pieces: list[str] = []
    joinable = False
    for part in parts:
        text = part.strip()
        if not text:
            joinable = False
            continue
        if BULLET.match(text):
            pieces.append(UNORDERED.sub("", text))
            joinable = True
        elif joinable and pieces:
            pieces[-1] = join_wrapped(pieces[-1], text)
        else:
            pieces.append(text)
            joinable = True
    return " ".join(pieces)


def _render_simple_table(lines: list[str]) -> list[str]:
    """A pandoc simple/multiline table: dashed rules dropped, columns ' | '-separated."""
    rules = [ln for ln in lines if _RULE_LINE.match(ln)]
    spans = [m.span() for m in re.finditer(r"-{3,}", max(rules, key=lambda r: len(r.split())))]
    rows = []
    for line in lines:
        if _RULE_LINE.match(line):
            continue
        if len(spans) > 1:
            starts = [s for s, _ in spans] + [max(len(line), spans[-1][1])]
            cells = [line[a:b] for a, b in itertools.pairwise(starts)]
            # a cell spilling past its column start ("word|s") means the slicing is wrong
            if any(
                a > 0 and a < len(line) and line[a - 1 : a + 1].strip() and line[a - 1] != " " for a in starts[1:-1]
            ):
                cells = re.split(r" {2,}", line.strip())
        else:
            cells = re.split(r" {2,}", line.strip())
        rows.append(_cells_row(cells))
    return _paragraph_of_lines([r for r in rows if r])


# Inline cleanup -----------------------------------------------------------------

_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]\n]+)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\)")
_REF_LINK = re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^>\s]+)>")
_EMPTY_PARENS = re.compile(r"\s*\([\s,;:]*\)")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<\"'$])")
_TIGHT_CLOSE = re.compile(r"(?<=\S)(\*\*|__|\*|_) +(?=[,.;:!?)])")
# Emphasis spans are bounded so that a stray marker cannot make cleaning quadratic.
_BOLD = re.compile(r"\*\*(?=\S)([^*]{1,1000}?)(?<=\S)\*\*|__(?=\S)([^_]{1,1000}?)(?<=\S)__")
_ITALIC_STAR = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*]{1,400}?)(?<=[^\s*])\*(?![\w*])")
_ITALIC_UNDERSCORE = re.compile(r"(?<![\w_])_(?=[^\s_])([^_]{1,400}?)(?<=[^\s_])_(?![\w_])")
_CODE = re.compile(r"`([^`\n]+)`")
HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)


def clean_inline(text: str) -> str:
    """Strip Markdown/wiki markup from one line, keeping the words as they are."""
    return _finish_line(_strip_emphasis(_clean_markup(text)))


def clean_lines(lines: Iterable[str]) -> list[str]:
    """Clean the lines of one paragraph; emphasis may span lines (table cells, wrapped text)."""
    joined = _strip_emphasis("\n".join(_clean_markup(ln) for ln in lines))
    return [c for c in (_finish_line(ln) for ln in joined.split("\n")) if c]


def _clean_markup(text: str) -> str:
    """Remove wiki markup, reference marks, links, images and code marks from one line."""
    s = strip_wiki_markup(_HTML_COMMENT.sub("", text))
    s = _IMAGE.sub("", s)
    s = _LINK.sub(r"\1", s)
    s = _REF_LINK.sub(r"\1", s)
    s = _AUTOLINK.sub(r"\1", s)
    return _CODE.sub(r"\1", s)


def _strip_emphasis(s: str) -> str:
    """Drop ``**bold**``, ``__bold__``, ``*italic*`` and ``_italic_`` markers (escaped ones stay)."""
    if "*" not in s and "_" not in s:
        return s
    s = s.replace("\\*", "\x00").replace("\\_", "\x01")
    s = _TIGHT_CLOSE.sub(r"\1", s)
    s = _BOLD.sub(lambda m: m.group(1) or m.group(2), s)
    s = _ITALIC_STAR.sub(r"\1", s)
    s = _ITALIC_UNDERSCORE.sub(r"\1", s)
    return s.replace("\x00", "*").replace("\x01", "_")


def _finish_line(s: str) -> str:
    if "Category:" in s and re.search(r"(?:^|\s)Category:\S", s):
        return ""  # wiki category links left at the end of a page
    s = REF_MARK.sub("", _MD_ESCAPE.sub(r"\1", s))  # again: "[_citation needed_]"
    s = _EMPTY_PARENS.sub("", s)
    s = normalise_line(s)
    return "" if re.fullmatch(r"[\W_]*", s) else s


def join_wrapped(left: str, right: str) -> str:
    """Join two hard-wrapped pieces; a word split after a hyphen is re-joined without a space."""
    left = left.rstrip()
    if left.endswith("-") and right[:1].isalnum():
        stem = left[:-2] if left.endswith("--") else left[:-1]
        if stem and not stem[-1].isspace() and stem[-1] != "-":
            return left + right
    return f"{left} {right}"


# Block structure -------------------------------------------------------------


_BLOCK_TAGS = re.compile(r"<\s*(?:br|/p|p|/div|div|/li|li|/tr|tr|/h\d|h\d)\b[^>]*>", re.I)


def html_to_text(fragment: str) -> str:
    """Strip HTML from a text fragment: block tags become line breaks, entities are decoded."""
    s = _BLOCK_TAGS.sub("\n", fragment)
    s = HTML_TAG.sub("", s)
    s = html.unescape(s)
    lines = (normalise_line(ln) for ln in s.split("\n"))
    return "\n".join(ln for ln in lines if ln)

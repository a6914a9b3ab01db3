"""JSON and JSON Lines records, BEIR's corpus.jsonl among them: one document per record with text.

A record's text is its ``text``, ``body``, ``content``, ``article`` or ``full_text`` field (a
string or a list of paragraphs); ``title``, ``source``, ``url``, ``date``, ``author`` and
``license`` are read, anything else kept as extra metadata. A JSON file may also be a CIA World
Factbook country file (index/sources/factbook.py).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from index.models import Document
from index.sources.common import (
    Context,
    LoadFailure,
    iso_date,
    join_paragraphs,
    jsonable,
    make_document,
    meta_str,
    normalise_line,
    normalise_newlines,
    slugify,
    title_from_text,
    unique_fragments,
)
from index.sources.factbook import factbook_from_file, is_factbook
from index.sources.markup import HTML_TAG, html_to_text, split_blocks

logger = logging.getLogger(__name__)


_TEXT_KEYS = ("text", "body", "content", "article", "full_text")
_RECORD_LIST_KEYS = ("records", "documents", "docs", "articles", "items", "data")


def load_json(text: str, ctx: Context) -> list[Document]:
    """JSON: a Factbook country file (either shape), one record, or a list of records."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadFailure(f"invalid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise LoadFailure("invalid JSON (nested too deeply)") from None
    if is_factbook(data):
        return factbook_from_file(data, ctx)
    records = _records_of(data)
    if records is None:
        raise LoadFailure("JSON holds no records with a text, body or content field")
    return _records_to_documents(records, ctx)


def load_jsonl(text: str, ctx: Context) -> list[Document]:
    """JSON Lines: one record per line; any invalid line fails the file with its line number."""
    records: list[tuple[str | None, dict[str, Any]]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LoadFailure(f"invalid JSON on line {number} ({exc.msg})") from None
        if not isinstance(record, dict):
            raise LoadFailure(f"line {number} is not a JSON object")
        records.append((str(number), record))
    if not records:
        raise LoadFailure("no records found")
    return _records_to_documents(records, ctx)


def _records_of(data: Any) -> list[tuple[str | None, dict[str, Any]]] | None:
    if isinstance(data, dict):
        if any(_record_body(data.get(k)) for k in _TEXT_KEYS):
            return [(None, data)]
        for key in _RECORD_LIST_KEYS:
            if isinstance(data.get(key), list):
                data = data[key]
                break
        else:
            return None
    if isinstance(data, list):
        records = [(str(i), r) for i, r in enumerate(data) if isinstance(r, dict)]
        return records or None
    return None


def _records_to_documents(records: list[tuple[str | None, dict[str, Any]]], ctx: Context) -> list[Document]:
    usable = []
    for index, record in records:
        body = next((t for t in (_record_body(record.get(k)) for k in _TEXT_KEYS) if t), None)
        if body is None:
            logger.warning("%s: record %s has no text; skipped", ctx.rel, index)
            continue
        usable.append((index, record, body))
    if not usable:
        raise LoadFailure("no record has a non-empty text, body or content field")
    fragments: list[str | None]
    if len(usable) == 1:
        fragments = [None]
    else:
        raw = [
            slugify(str(r.get("_id") or r.get("id") or idx or i)) or "section" for i, (idx, r, _) in enumerate(usable)
        ]
        fragments = list(unique_fragments(raw))
    docs = []
    for (_, record, body), fragment in zip(usable, fragments, strict=True):
        text = _record_text(body)
        title = meta_str(record, "title") or meta_str(record, "headline") or title_from_text(text)
        known = {"title", "headline", "source", "url", "date", "author", "license", "licence", *_TEXT_KEYS}
        date_value = record.get("date") or record.get("published")
        docs.append(
            make_document(
                ctx,
                title=title,  # make_document falls back to the file name
                text=text,
                fragment=fragment,
                source=meta_str(record, "source"),
                date=iso_date(date_value) if date_value is not None else None,
                url=meta_str(record, "url"),
                author=meta_str(record, "author"),
                license=meta_str(record, "license") or meta_str(record, "licence"),
                extra={k: jsonable(v) for k, v in record.items() if k not in known},
            )
        )
    return docs


def _record_body(value: Any) -> str | None:
    """A record's text: a string, or a list of paragraph strings."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = "\n\n".join(value)
    return value if isinstance(value, str) and value.strip() else None


def _record_text(body: str) -> str:
    """A record body as clean paragraphs (HTML in it stripped)."""
    if HTML_TAG.search(body):
        body = html_to_text(body)
    paragraphs = []
    for block in split_blocks(normalise_newlines(body)):
        lines = [normalise_line(ln) for ln in block]
        paragraphs.append("\n".join(ln for ln in lines if ln))
    return join_paragraphs(paragraphs)

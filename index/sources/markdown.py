"""Markdown files with optional YAML front matter: read for the index, and written by ``corpus add``.

Front matter (``title``, ``source``, ``url``, ``date``, ``author``, ``license``; anything else is
kept as extra metadata) wins over what the text says. Pandoc and html2text flavours are read
alike (index/sources/markup.py); Congressional Record statements and Wikipedia exports have
their own rules (congressional.py, wikipedia.py). Articles fetched from the web are saved by
:func:`save_article` in exactly the form :func:`load_markdown` reads.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from index.models import Article, Document
from index.sources.common import (
    Context,
    LoadFailure,
    humanise_stem,
    iso_date,
    join_paragraphs,
    jsonable,
    make_document,
    meta_str,
    normalise_line,
    slugify,
)
from index.sources.congressional import read_statement
from index.sources.markup import H1, clean_inline, render_blocks, split_blocks
from index.sources.wikipedia import article_url, drop_back_matter, title_from_stem


def load_markdown(text: str, ctx: Context) -> list[Document]:
    """Markdown with optional YAML front matter; pandoc, html2text and Congressional Record flavours."""
    meta, body = split_front_matter(text)
    prov = ctx.provenance
    extra: dict[str, Any] = {}
    title = meta_str(meta, "title")
    author = meta_str(meta, "author")
    date = iso_date(meta.get("date")) if meta.get("date") is not None else None
    flavour = "markdown"
    if statement := read_statement(body):
        body, flavour = statement.body, "cr"
        title, author, date = title or statement.title, author or statement.author, date or statement.date
        extra.update(statement.extra)
    if not title and prov.titles_from_filename:
        title = title_from_stem(ctx.path.stem, body)
    blocks = split_blocks(body)
    heading, blocks = _take_h1(blocks, title)
    if not title:
        title = heading
    if not title and blocks and len(blocks) > 1 and len(blocks[0]) == 1:
        first = normalise_line(blocks[0][0])
        if len(first) <= 120:
            title, blocks = first, blocks[1:]
    title = clean_inline(title) if title else humanise_stem(ctx.path.stem)
    paragraphs = drop_back_matter(render_blocks(blocks, flavour=flavour))
    url = meta_str(meta, "url") or meta_str(meta, "link")
    if not url and prov.url_template and prov.titles_from_filename:
        url = article_url(prov.url_template, title)
    known = {"title", "author", "date", "url", "link", "source", "license", "licence"}
    extra.update({k: jsonable(v) for k, v in meta.items() if k not in known})
    return [
        make_document(
            ctx,
            title=title,
            text=join_paragraphs(paragraphs),
            source=meta_str(meta, "source"),
            date=date,
            url=url,
            author=author,
            license=meta_str(meta, "license") or meta_str(meta, "licence"),
            extra=extra,
        )
    ]


def _take_h1(blocks: list[list[str]], title: str | None) -> tuple[str | None, list[list[str]]]:
    """The first level-1 heading, removed from the blocks when it becomes (or repeats) the title."""
    for b, block in enumerate(blocks):
        for i, line in enumerate(block):
            m = H1.match(line)
            if not m:
                continue
            heading = m.group(1)
            if title and clean_inline(heading).casefold() != clean_inline(title).casefold():
                return heading, blocks
            rest = block[:i] + block[i + 1 :]
            return heading, blocks[:b] + ([rest] if rest else []) + blocks[b + 1 :]
    return None, blocks


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split off a leading YAML front-matter block (``---`` ... ``---``)."""
    text = text.lstrip("\ufeff")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            break
    else:
        return {}, text
    raw = "\n".join(lines[1:end])
    body = "\n".join(lines[end + 1 :])
    if not raw.strip():
        return {}, body
    looks_like_yaml = re.search(r"(?m)^[\w\-]+\s*:", raw) is not None
    try:
        meta = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        if not looks_like_yaml:
            return {}, text
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 2})" if where is not None else ""
        raise LoadFailure(f"the YAML front matter is invalid{at}") from None
    if not isinstance(meta, dict):
        return {}, text
    return {str(k).strip().lower(): v for k, v in meta.items()}, body


def article_filename(article: Article) -> str:
    """``<date>-<title slug>.md``, e.g. ``2026-11-20-russia-and-kazakhstan-sign-gas-deal.md``."""
    slug = slugify(article.title, 70, ascii_only=True)
    slug = slug or slugify(urlsplit(article.url or "").path.replace("/", " "), 70, ascii_only=True) or "article"
    return f"{article.date}-{slug}.md" if article.date else f"{slug}.md"


def article_markdown(article: Article, fetched: dt.datetime | None = None) -> str:
    """The article as Markdown with YAML front matter (title, source, url, date, author, license, what
    ``article.recorded`` holds, fetched)."""
    fetched = fetched or dt.datetime.now(dt.UTC)
    meta: dict[str, Any] = {"title": article.title or "Untitled"}
    date: Any = article.date
    if date and len(date) == 10:
        date = dt.date.fromisoformat(date)  # written unquoted: date: 2026-11-20
    for key, value in (
        ("source", article.source),
        ("url", article.url),
        ("date", date),
        ("author", article.author),
        ("license", article.license),
        *article.recorded.items(),  # e.g. feed, feed_name, language, country of a watched feed
    ):
        if value:
            meta[key] = value
    meta["fetched"] = fetched.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, default_flow_style=False, width=10_000)
    return f"---\n{front}---\n\n{article.text.strip()}\n"


def unique_path(path: Path) -> Path:
    """``path``, or ``<stem>-2<suffix>``, ``-3``... if it is taken."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def save_article(article: Article, corpus_dir: Path) -> Path:
    """Write the article into ``corpus_dir`` under a new, unique file name; return its path."""
    corpus_dir.mkdir(parents=True, exist_ok=True)
    path = unique_path(corpus_dir / article_filename(article))
    tmp = path.with_name(f".{path.name}.tmp")  # hidden: corpus loaders skip it
    tmp.write_text(article_markdown(article), encoding="utf-8")
    os.replace(tmp, path)
    return path

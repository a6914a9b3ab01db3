"""HTML pages, from a corpus folder or fetched by ``corpus add``: the article and its metadata.

One trafilatura extraction with one acceptance rule serves both: a page with less than
MIN_PROSE_CHARS characters of prose (lines of at least PROSE_WORDS words; menus, buttons and
"Log in" don't count) is a front page, a paywall or a page built by JavaScript, not an article.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from index.models import Article, Document
from index.sources.common import Context, LoadFailure, clean_text, iso_date, join_paragraphs, make_document
from index.sources.markup import UNORDERED
from index.sources.urls import site_name, trusted_canonical

MIN_PROSE_CHARS = 100  # less prose than this is "no article" (two short sentences pass)
PROSE_WORDS = 5


def extract_article(html: bytes | str, *, url: str | None = None) -> Article:
    """The article text and metadata of an HTML page fetched from ``url`` (if known).

    List items keep their "- " marks. Raises LoadFailure with the reason when there is no article.
    """
    try:
        import trafilatura
    except ImportError as exc:  # e.g. lxml_html_clean missing
        raise LoadFailure(f"HTML extraction is unavailable (trafilatura cannot be imported: {exc})") from None
    try:
        result = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception as exc:  # trafilatura and lxml raise many kinds on malformed input
        raise LoadFailure(f"the page could not be parsed ({type(exc).__name__})") from None
    data: dict[str, Any] = {} if result is None else (result if isinstance(result, dict) else result.as_dict())
    title = clean_text(data.get("title"))
    lines = [line for line in (clean_text(line) for line in (data.get("text") or "").split("\n")) if line]
    if lines and title and lines[0].casefold() == title.casefold():
        lines = lines[1:]
    prose = sum(len(line) for line in lines if len(line.split()) >= PROSE_WORDS)
    if prose < MIN_PROSE_CHARS:
        raise LoadFailure(
            f"no article found on the page (only {prose} characters of text in sentences; at least "
            f"{MIN_PROSE_CHARS} are needed): it may be a front page, a paywall or a page built by JavaScript"
        )
    text = "\n\n".join(lines)
    return Article(
        title=title,
        text=text,
        author=clean_text(data.get("author")) or None,
        date=iso_date(data.get("date")),
        source=clean_text(data.get("sitename")) or site_name(data.get("hostname") or urlsplit(url or "").hostname),
        url=trusted_canonical(data.get("url")) or url,
        license=clean_text(data.get("license")) or None,
        extra={key: data[key] for key in ("description", "language") if data.get(key)},
    )


def load_html(text: str, ctx: Context) -> list[Document]:
    """An HTML file in a corpus folder: its article as one document, list marks removed."""
    article = extract_article(text)
    paragraphs = (UNORDERED.sub("", p) if p.startswith("- ") else p for p in article.text.split("\n\n"))
    return [
        make_document(
            ctx,
            title=article.title,
            text=join_paragraphs(paragraphs),
            source=article.source,
            date=article.date,
            url=article.url,
            author=article.author,
            license=article.license,
            extra=article.extra,
        )
    ]

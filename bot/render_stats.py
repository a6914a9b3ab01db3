"""Index statistics as text and Telegram HTML: /sources, /about, /stats and `steppe index stats`."""

from __future__ import annotations

from collections.abc import Sequence

from bot.render import SOURCE_PREVIEW, TELEGRAM_LIMIT, esc, fits, format_date, preview
from bot.strings import DEFAULT_LANG, plural, t_text
from bot.strings import number as format_number
from index.models import IndexStats, SourceStats

MAX_COUNTRIES = 20


def date_range(first: str | None, last: str | None, lang: str) -> str:
    first, last = format_date(first, lang), format_date(last, lang)
    if first and last and first != last:
        return f"{first} – {last}"
    return first or last or t_text("dates_unknown", lang)


def _count(n: int, lang: str = DEFAULT_LANG) -> str:
    return format_number(n, lang)


def count_documents(n: int, lang: str = DEFAULT_LANG) -> str:
    """The number of documents in words: "1 document", "2,345 documents" ("2 345 документов")."""
    return t_text(plural("documents", n, lang), lang, n=_count(n, lang))


def _size(n: int, lang: str = DEFAULT_LANG) -> str:
    units = t_text("size_units", lang).split()  # bytes, KB, MB, GB
    if n < 1024:
        return f"{n} {units[0]}"
    size = n / 1024
    for unit in units[1:3]:
        if size < 1024:
            return f"{format_number(size, lang, 1)} {unit}"
        size /= 1024
    return f"{format_number(size, lang, 1)} {units[3]}"


def merged_sources(stats: IndexStats) -> list[SourceStats]:
    """Each source once, most documents first: the index counts a source once per licence
    (Wikipedia under two CC BY-SA versions), readers want one line with its licences joined."""
    merged: dict[str, SourceStats] = {}
    for s in stats.sources:
        old = merged.get(s.source)
        if old is None:
            merged[s.source] = s
            continue
        licences = [x for x in dict.fromkeys([*(old.license or "").split("; "), s.license or ""]) if x]
        dates = [d for d in (old.first_date, old.last_date, s.first_date, s.last_date) if d]
        merged[s.source] = SourceStats(
            source=s.source,
            license="; ".join(licences) or None,
            documents=old.documents + s.documents,
            chunks=old.chunks + s.chunks,
            first_date=min(dates) if dates else None,
            last_date=max(dates) if dates else None,
            attribution=old.attribution or s.attribution,
        )
    return sorted(merged.values(), key=lambda s: (-s.documents, s.source))


def source_counts(stats: IndexStats, lang: str = DEFAULT_LANG, most: int = 6) -> str:
    """The biggest sources once each with their document counts, for /start:
    "Wikipedia: 1,204 documents, CIA World Factbook: 96 documents, …"."""
    sources = merged_sources(stats)
    shown = [f"{preview(s.source, SOURCE_PREVIEW)}: {count_documents(s.documents, lang)}" for s in sources[:most]]
    return ", ".join(shown + (["…"] if len(sources) > most else []))


def _licence_line(source: SourceStats, lang: str) -> str:
    line = t_text(
        "licence_line",
        lang,
        source=source.source,
        documents=count_documents(source.documents, lang),
        licence=source.license or t_text("no_licence", lang),
    )
    credit = source.attribution  # e.g. "Wikipedia contributors" for CC BY-SA text
    return f"{line} ({t_text('credit', lang, attribution=credit)})" if credit else line


def stats_sections(stats: IndexStats, lang: str = DEFAULT_LANG) -> dict[str, tuple[str, list[str]]]:
    """The stats as named sections of plain-text lines: (heading, lines)."""
    sources = [
        t_text(
            "source_line",
            lang,
            source=preview(s.source, SOURCE_PREVIEW),
            documents=count_documents(s.documents, lang),
            dates=date_range(s.first_date, s.last_date, lang),
        )
        for s in merged_sources(stats)
    ]
    countries = ", ".join(f"{name} ({_count(n, lang)})" for name, n in stats.countries[:MAX_COUNTRIES])
    if len(stats.countries) > MAX_COUNTRIES:
        countries += ", …"
    index = t_text(
        "about_index",
        lang,
        model=stats.model,
        dim=stats.dim,
        backend=stats.backend,
        documents=count_documents(stats.documents, lang),
        chunks=_count(stats.chunks, lang),
        size=_size(stats.size_bytes, lang),
        built=format_date(stats.built_at, lang) or stats.built_at,
    )
    summary = t_text(
        "sources_summary",
        lang,
        documents=count_documents(stats.documents, lang),
        chunks=_count(stats.chunks, lang),
        dates=date_range(stats.first_date, stats.last_date, lang),
    )
    return {
        "summary": (t_text("sources_title", lang), [summary]),
        "sources": (t_text("sources_heading", lang), sources),
        "countries": (t_text("countries_heading", lang), [countries] if countries else []),
        "about": (t_text("about_title", lang), [t_text("about_intro", lang)]),
        "index": (t_text("index_heading", lang), [index]),
        "licences": (t_text("licences_heading", lang), [_licence_line(s, lang) for s in merged_sources(stats)]),
    }


def _sections_html(stats: IndexStats, names: Sequence[str], lang: str, limit: int) -> str:
    sections = stats_sections(stats, lang)
    headings, contents = [], []
    for name in names:
        heading, lines = sections[name]
        bullet = "• " if name in ("sources", "licences") else ""
        headings.append(f"<b>{esc(heading)}</b>")
        contents.append([bullet + esc(preview(line, 400)) for line in lines])
    cut: set[int] = set()

    def joined() -> str:
        return "\n\n".join(
            "\n".join([heading, *lines, *(["…"] if i in cut else [])])
            for i, (heading, lines) in enumerate(zip(headings, contents, strict=True))
        )

    while not fits(joined(), limit):  # a huge index: shorten the longest section, marking the cut
        shrinkable = [i for i, lines in enumerate(contents) if lines]
        if not shrinkable:
            break
        i = max(shrinkable, key=lambda i: (len(contents[i]) > 1, len("".join(contents[i]))))
        contents[i].pop()
        cut.add(i)
    return joined()


def render_sources_html(stats: IndexStats, *, lang: str = DEFAULT_LANG, limit: int = TELEGRAM_LIMIT) -> str:
    """/sources: documents per source, date range and countries."""
    return _sections_html(stats, ("summary", "sources", "countries"), lang, limit)


def render_about_html(stats: IndexStats, *, lang: str = DEFAULT_LANG, limit: int = TELEGRAM_LIMIT) -> str:
    """/about: what the bot is, the model and index size, and the licences of the sources."""
    return _sections_html(stats, ("about", "index", "licences"), lang, limit)


def render_stats_html(stats: IndexStats, *, lang: str = DEFAULT_LANG, limit: int = TELEGRAM_LIMIT) -> str:
    """Everything about the index, for admins' /stats."""
    return _sections_html(stats, ("index", "summary", "sources", "countries", "licences"), lang, limit)


def render_stats_text(stats: IndexStats, *, lang: str = DEFAULT_LANG) -> str:
    """Everything about the index as plain text, for `steppe index stats`."""
    blocks = []
    for name, (heading, lines) in stats_sections(stats, lang).items():
        if name == "about":
            continue  # the bot's self-description does not belong in the CLI
        bullet = "  - " if name in ("sources", "licences") else "  "
        blocks.append("\n".join([heading, *(bullet + line for line in lines)]))
    return "\n\n".join(blocks)

"""Citation defaults from PROVENANCE.md: the source, licence, author, date and URL pattern of a folder.

A file's own metadata wins; the nearest PROVENANCE.md (walking up to the corpus root) fills
in what the file does not carry.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from index.sources.common import MONTH_NAME, PUBLIC_DOMAIN_US, LoadFailure, decode_bytes, month_number
from index.sources.factbook import FACTBOOK_SOURCE
from index.sources.wikipedia import WIKIPEDIA_URL

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Provenance:
    """Citation defaults for the files of one folder, read from its PROVENANCE.md."""

    source: str | None = None
    license: str | None = None
    author: str | None = None
    date: str | None = None
    url_template: str | None = None  # e.g. "https://en.wikipedia.org/wiki/{title}"
    titles_from_filename: bool = False


# Recognisable sources: (text to find in the heading, defaults). Anything else gets the
# heading text (minus parentheses) as its source.
_KNOWN_PROVENANCE = (
    (
        "wikipedia",
        Provenance(
            source="Wikipedia",
            author="Wikipedia contributors",
            url_template=WIKIPEDIA_URL,
            titles_from_filename=True,
        ),
    ),
    ("congressional record", Provenance(source="Congressional Record")),
    ("world factbook", Provenance(source=FACTBOOK_SOURCE)),
)


def provenance_for(path: Path, root: Path) -> Provenance:
    """The parsed PROVENANCE.md nearest to ``path`` (walking up to ``root``), or empty defaults."""
    folder = Path(path).parent
    try:
        root_resolved = Path(root).resolve()
        folder = folder.resolve()
    except OSError:
        return Provenance()
    while True:
        candidate = folder / "PROVENANCE.md"
        try:
            stat = candidate.stat()
        except OSError:
            stat = None
        if stat is not None:
            return _parse_provenance_file(str(candidate), stat.st_mtime_ns, stat.st_size)
        if folder == root_resolved or folder.parent == folder or root_resolved not in folder.parents:
            return Provenance()
        folder = folder.parent


@functools.lru_cache(maxsize=256)
def _parse_provenance_file(path: str, mtime_ns: int, size: int) -> Provenance:
    """Read and parse one PROVENANCE.md (cached per file and modification time)."""
    try:
        text = decode_bytes(Path(path).read_bytes())[0]
    except (OSError, LoadFailure):
        logger.warning("cannot read %s; ignoring it", path)
        return Provenance()
    return parse_provenance(text)


def parse_provenance(text: str) -> Provenance:
    """Derive citation defaults (source, licence, author, date, URL pattern) from provenance text."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return Provenance()
    heading = lines[0].lstrip("#").strip()
    body = "\n".join(lines[1:])
    base = Provenance()
    for needle, known in _KNOWN_PROVENANCE:
        if needle in heading.casefold():
            base = known
            break
    source = base.source
    if source is None:
        field = re.search(r"(?im)^\s*source\s*:\s*(.+)$", text)
        source = _clean_heading(heading) or (field.group(1).strip() if field else None)
    license_ = _find_license(heading) or _find_license(body)
    author = base.author
    if author is None:
        m = re.search(r'attribute\s+"?([^",;)]+?)"?\s*(?:[,;)+]|$)', text, re.I)
        author = m.group(1).strip() if m else None
    url_template = base.url_template
    m = re.search(r"(https?://\S*?)<Title>", text)
    if m:
        url_template = m.group(1) + "{title}"
    return replace(
        base,
        source=source,
        license=license_,
        author=author,
        date=_provenance_date(text),
        url_template=url_template,
    )


def _clean_heading(heading: str) -> str:
    return " ".join(re.sub(r"\([^)]*\)", " ", heading).split()).strip(" -–—:;,") or ""


def _find_license(text: str) -> str | None:
    """The first licence named in ``text``, spelt the usual way."""
    patterns: list[tuple[str, Any]] = [
        (r"\bCC[ -]BY[ -]SA[ -]?(\d\.\d)", lambda m: f"CC BY-SA {m.group(1)}"),
        (r"\bCC[ -]BY[ -]NC[ -]SA[ -]?(\d\.\d)", lambda m: f"CC BY-NC-SA {m.group(1)}"),
        (r"\bCC[ -]BY[ -]?(\d\.\d)", lambda m: f"CC BY {m.group(1)}"),
        (r"\bCC0\b", lambda m: "CC0"),
        (
            r"\bpublic[ -]domain\b",
            lambda m: (
                PUBLIC_DOMAIN_US
                if re.search(r"\b(?:US|U\.S\.|United States)\s+government\s+work", text, re.I)
                else "Public domain"
            ),
        ),
        (r"\bMIT\b", lambda m: "MIT"),
    ]
    best: tuple[int, str] | None = None
    for pattern, render in patterns:
        m = re.search(pattern, text, re.I if "public" in pattern else 0)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), render(m))
    return best[1] if best else None


def _provenance_date(text: str) -> str | None:
    """The content date a provenance note gives: a dump date, a '~Aug 2025', else a snapshot month."""
    m = re.search(r"\bdump\s+(\d{4}-\d{2}-\d{2})\b", text, re.I)
    if m:
        return m.group(1)
    m = re.search(rf"~\s*({MONTH_NAME})\s+(\d{{4}})\b", text)
    if m:
        month = month_number(m.group(1))
        if month:
            return f"{m.group(2)}-{month:02d}"
    m = re.search(r"\b(\d{4})-(\d{2})-\d{2}\b", text)
    if m:
        return f"{m.group(1)}-{m.group(2)}"
    return None

"""Load article files into cleaned :class:`Document` objects.

Supported inputs: the seed plain-text news format and plain ``.txt``; Markdown (YAML front
matter, pandoc and html2text flavours, Congressional Record statements); JSON / JSONL records;
HTML pages (via trafilatura); and CIA World Factbook JSON (the flat 2012 shape and the nested
section -> field shape), which yields one document per country and section.

Source, licence, author and date fall back to the nearest ``PROVENANCE.md`` when a file does
not carry them itself. Cleaning removes markup and boilerplate but never rewrites the words of
an article: paragraphs are separated by a blank line, whitespace inside lines is collapsed.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import itertools
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from index.models import Document, LoadError

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024  # larger files are skipped with a LoadError
MAX_HTML_BYTES = 5 * 1024 * 1024  # HTML parsing is costlier: a lower cap
MIN_HTML_WORDS = 10  # less than this is navigation debris, not an article

TEXT_SUFFIXES = frozenset({".txt", ".text"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
JSON_SUFFIXES = frozenset({".json"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | JSON_SUFFIXES | JSONL_SUFFIXES | HTML_SUFFIXES

SKIPPED_NAMES = frozenset({"readme.md", "provenance.md"})  # compared in lower case; LICENSE* too

_KNOWN_BINARY_FORMATS = {
    ".pdf": "PDF",
    ".doc": "Word",
    ".docx": "Word",
    ".odt": "OpenDocument",
    ".rtf": "RTF",
    ".epub": "EPUB",
    ".xls": "Excel",
    ".xlsx": "Excel",
    ".pptx": "PowerPoint",
    ".zip": "ZIP archive",
    ".gz": "gzip archive",
    ".tgz": "gzip archive",
    ".bz2": "bzip2 archive",
    ".xz": "xz archive",
    ".7z": "7-Zip archive",
    ".rar": "RAR archive",
    ".tar": "tar archive",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".gif": "image",
    ".webp": "image",
    ".svg": "image",
}

FACTBOOK_SOURCE = "CIA World Factbook"
PUBLIC_DOMAIN_US = "Public domain (US government work)"
WIKIPEDIA_URL = "https://en.wikipedia.org/wiki/{title}"

# Factbook (GEC) country codes of the countries steppe cares about.
FACTBOOK_COUNTRY_NAMES = {
    "kz": "Kazakhstan",
    "kg": "Kyrgyzstan",
    "ti": "Tajikistan",
    "tx": "Turkmenistan",
    "uz": "Uzbekistan",
    "rs": "Russia",
    "af": "Afghanistan",
    "ch": "China",
    "mg": "Mongolia",
    "ir": "Iran",
    "pk": "Pakistan",
    "in": "India",
    "tu": "Turkey",
    "us": "United States",
    "up": "Ukraine",
    "bo": "Belarus",
    "am": "Armenia",
    "aj": "Azerbaijan",
    "gg": "Georgia",
}

FACTBOOK_SECTIONS = (
    "Introduction",
    "Geography",
    "People and Society",
    "Environment",
    "Government",
    "Economy",
    "Energy",
    "Communications",
    "Transportation",
    "Military and Security",
    "Space",
    "Terrorism",
    "Transnational Issues",
)

# The 2012 edition is a flat field list; its fields come in section order. A field not listed
# here goes to the section of the field before it.
_FACTBOOK_2012_SECTION_FIELDS = {
    "Introduction": ("Background",),
    "Geography": (
        "Location", "Geographic coordinates", "Map references", "Area", "Area - comparative",
        "Land boundaries", "Coastline", "Maritime claims", "Climate", "Terrain", "Elevation extremes",
        "Natural resources", "Land use", "Irrigated land", "Total renewable water resources",
        "Freshwater withdrawal (domestic/industrial/agricultural)", "Natural hazards",
        "Environment - current issues", "Environment - international agreements", "Geography - note",
    ),
    "People and Society": (
        "Nationality", "Ethnic groups", "Languages", "Religions", "Population", "Age structure",
        "Dependency ratios", "Median age", "Population growth rate", "Birth rate", "Death rate",
        "Net migration rate", "Urbanization", "Major cities - population", "Sex ratio",
        "Mother's mean age at first birth", "Maternal mortality rate", "Infant mortality rate",
        "Life expectancy at birth", "Total fertility rate", "Contraceptive prevalence rate",
        "Health expenditures", "Physicians density", "Hospital bed density", "Drinking water source",
        "Sanitation facility access", "HIV/AIDS - adult prevalence rate",
        "HIV/AIDS - people living with HIV/AIDS", "HIV/AIDS - deaths", "Major infectious diseases",
        "Obesity - adult prevalence rate", "Children under the age of 5 years underweight",
        "Education expenditures", "Literacy", "School life expectancy (primary to tertiary education)",
        "Child labor - children ages 5-14", "Unemployment, youth ages 15-24",
    ),
    "Government": (
        "Country name", "Government type", "Capital", "Administrative divisions", "Dependent areas",
        "Independence", "National holiday", "Constitution", "Legal system",
        "International law organization participation", "Suffrage", "Executive branch",
        "Legislative branch", "Judicial branch", "Political parties and leaders",
        "Political pressure groups and leaders", "International organization participation",
        "Diplomatic representation in the US", "Diplomatic representation from the US",
        "Flag description", "National symbol(s)", "National anthem",
    ),
    "Economy": (
        "Economy - overview", "GDP (purchasing power parity)", "GDP (official exchange rate)",
        "GDP - real growth rate", "GDP - per capita (PPP)", "Gross national saving",
        "GDP - composition by sector", "GDP - composition, by end use",
        "GDP - composition, by sector of origin", "Agriculture - products", "Industries",
        "Industrial production growth rate", "Labor force", "Labor force - by occupation",
        "Unemployment rate", "Population below poverty line",
        "Household income or consumption by percentage share",
        "Distribution of family income - Gini index", "Investment (gross fixed)", "Budget",
        "Taxes and other revenues", "Budget surplus (+) or deficit (-)", "Public debt",
        "Fiscal year", "Inflation rate (consumer prices)", "Central bank discount rate",
        "Commercial bank prime lending rate", "Stock of narrow money", "Stock of broad money",
        "Stock of domestic credit", "Market value of publicly traded shares",
        "Current account balance", "Exports", "Exports - commodities", "Exports - partners", "Imports",
        "Imports - commodities", "Imports - partners", "Reserves of foreign exchange and gold",
        "Debt - external", "Stock of direct foreign investment - at home",
        "Stock of direct foreign investment - abroad", "Exchange rates",
    ),
    "Energy": (
        "Electricity - production", "Electricity - consumption", "Electricity - exports",
        "Electricity - imports", "Electricity - installed generating capacity",
        "Electricity - from fossil fuels", "Electricity - from nuclear fuels",
        "Electricity - from hydroelectric plants", "Electricity - from other renewable sources",
        "Crude oil - production", "Crude oil - exports", "Crude oil - imports",
        "Crude oil - proved reserves", "Refined petroleum products - production",
        "Refined petroleum products - consumption", "Refined petroleum products - exports",
        "Refined petroleum products - imports", "Natural gas - production",
        "Natural gas - consumption", "Natural gas - exports", "Natural gas - imports",
        "Natural gas - proved reserves", "Carbon dioxide emissions from consumption of energy",
    ),
    "Communications": (
        "Telephones - main lines in use", "Telephones - mobile cellular", "Telephone system",
        "Broadcast media", "Internet country code", "Internet hosts", "Internet users",
        "Communications - note",
    ),
    "Transportation": (
        "Airports", "Airports - with paved runways", "Airports - with unpaved runways", "Heliports",
        "Pipelines", "Railways", "Roadways", "Waterways", "Merchant marine", "Ports and terminals",
        "Transportation - note",
    ),
    "Military and Security": (
        "Military branches", "Military service age and obligation",
        "Manpower available for military service", "Manpower fit for military service",
        "Manpower reaching militarily significant age annually", "Military expenditures",
        "Military - note",
    ),
    "Transnational Issues": (
        "Disputes - international", "Refugees and internally displaced persons",
        "Trafficking in persons", "Illicit drugs",
    ),
}  # fmt: skip
FACTBOOK_2012_FIELD_SECTIONS = {
    field.casefold(): section for section, fields in _FACTBOOK_2012_SECTION_FIELDS.items() for field in fields
}


class LoadFailure(Exception):
    """A file could not be loaded; the message is a plain-English reason."""


# --------------------------------------------------------------------------- public API


def load_corpus(root: Path, label: str | None = None) -> tuple[list[Document], list[LoadError]]:
    """Load every article file under ``root``; return the documents and per-file errors."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"corpus folder not found: {root}")
    if root.is_file():
        files, root = [root], root.parent
    else:
        files = list(iter_corpus_files(root))
    label = label or root.resolve().name
    documents: list[Document] = []
    errors: list[LoadError] = []
    for path in files:
        try:
            documents.extend(load_file(path, root, label))
        except LoadFailure as exc:
            errors.append(LoadError(_relative_path(path, root), str(exc)))
        except Exception as exc:  # a bug or an unforeseen input must not stop the whole corpus
            log.exception("unexpected error loading %s", path)
            errors.append(LoadError(_relative_path(path, root), f"unexpected error: {exc}"))
    return documents, errors


def iter_corpus_files(root: Path) -> Iterator[Path]:
    """Yield the candidate article files under ``root`` in sorted, deterministic order."""
    found: list[tuple[str, Path]] = []
    for folder, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if _is_skipped_name(name):
                continue
            path = Path(folder) / name
            found.append((_relative_path(path, root), path))
    for _, path in sorted(found):
        yield path


def load_file(path: Path, root: Path, label: str) -> list[Document]:
    """Load one file into one or more documents; raise :class:`LoadFailure` if impossible."""
    path, root = Path(path), Path(root)
    suffix = path.suffix.lower()
    if suffix in _KNOWN_BINARY_FORMATS:
        raise LoadFailure(f"unsupported format: {_KNOWN_BINARY_FORMATS[suffix]} files ({suffix}) are not read")
    if suffix not in SUPPORTED_SUFFIXES:
        shown = suffix or "no extension"
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise LoadFailure(f"unsupported format ({shown}); supported: {supported}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LoadFailure(f"cannot read the file: {exc.strerror or exc}") from None
    limit = MAX_HTML_BYTES if suffix in HTML_SUFFIXES else MAX_FILE_BYTES
    if size > limit:
        raise LoadFailure(f"file is too large ({size:,} bytes; the limit is {limit:,} bytes)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadFailure(f"cannot read the file: {exc.strerror or exc}") from None
    if not data.strip():
        raise LoadFailure("the file is empty")
    text, encoding = decode_bytes(data)
    ctx = _Context(
        path=path,
        rel=_relative_path(path, root),
        label=label,
        provenance=provenance_for(path, root),
        encoding=encoding,
    )
    if suffix in TEXT_SUFFIXES:
        docs = _load_text(text, ctx)
    elif suffix in MARKDOWN_SUFFIXES:
        docs = _load_markdown(text, ctx)
    elif suffix in JSON_SUFFIXES:
        docs = _load_json(text, ctx)
    elif suffix in JSONL_SUFFIXES:
        docs = _load_jsonl(text, ctx)
    else:
        docs = _load_html(text, ctx)
    docs = [d for d in docs if d.text.strip()]
    if not docs:
        raise LoadFailure("no article text found")
    return docs


# --------------------------------------------------------------------------- decoding


_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27, 8))
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"[^\W\d_]+")


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode file bytes: UTF-8 (BOM or not), UTF-16 with BOM, else cp1251 or cp1252.

    Returns ``(text, encoding)`` with newlines normalised; raises LoadFailure for binary data.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _normalise_newlines(data.decode("utf-16")), "utf-16"
        except UnicodeDecodeError:
            raise LoadFailure("the file starts with a UTF-16 mark but is not valid UTF-16") from None
    head = data[:65536]
    if b"\x00" in head:
        raise LoadFailure("looks like a binary file (it contains NUL bytes), not text")
    control = sum(head.count(bytes([b])) for b in _CONTROL_BYTES)
    if control > max(8, len(head) // 100):
        raise LoadFailure("looks like a binary file (many control characters), not text")
    try:
        return _normalise_newlines(data.decode("utf-8-sig")), "utf-8"
    except UnicodeDecodeError:
        pass
    # Not UTF-8: a single-byte legacy encoding. cp1251 when that yields whole Cyrillic words
    # (Russian text); Western text decoded as cp1251 gives Cyrillic letters inside Latin words.
    as_cp1251 = data.decode("cp1251", errors="replace")
    cyrillic_words = mixed_words = 0
    for word in _WORD.findall(as_cp1251):
        if _CYRILLIC.search(word):
            if _LATIN.search(word):
                mixed_words += 1
            else:
                cyrillic_words += 1
    if cyrillic_words and cyrillic_words >= 4 * mixed_words:
        return _normalise_newlines(as_cp1251), "cp1251"
    try:
        return _normalise_newlines(data.decode("cp1252")), "cp1252"
    except UnicodeDecodeError:
        return _normalise_newlines(data.decode("latin-1")), "latin-1"


def _normalise_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --------------------------------------------------------------------------- provenance


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
_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
            ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
            ("oct", "october"), ("nov", "november"), ("dec", "december"),
        ),
        start=1,
    )
    for m in names
}  # fmt: skip
_MONTH_NAME = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"


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
        log.warning("cannot read %s; ignoring it", path)
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
    m = re.search(rf"~\s*({_MONTH_NAME})\s+(\d{{4}})\b", text)
    if m:
        month = _month_number(m.group(1))
        if month:
            return f"{m.group(2)}-{month:02d}"
    m = re.search(r"\b(\d{4})-(\d{2})-\d{2}\b", text)
    if m:
        return f"{m.group(1)}-{m.group(2)}"
    return None


def _month_number(name: str) -> int | None:
    key = name.rstrip(".").lower()
    return _MONTHS.get(key) or _MONTHS.get(key[:3])


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class _Context:
    path: Path
    rel: str
    label: str
    provenance: Provenance
    encoding: str

    @property
    def doc_id(self) -> str:
        return f"{self.label}/{self.rel}"

    @property
    def extra(self) -> dict[str, Any]:
        return {} if self.encoding in ("utf-8", "utf-16") else {"encoding": self.encoding}


def _relative_path(path: Path, root: Path) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        pass
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except (ValueError, OSError):
        return Path(path).name


def _is_skipped_name(name: str) -> bool:
    lower = name.lower()
    return name.startswith(".") or lower in SKIPPED_NAMES or lower.startswith(("license", "licence"))


def slugify(text: str, max_len: int = 60) -> str:
    """A short ASCII-ish URL fragment: 'Transnational Issues' -> 'transnational-issues'."""
    slug = re.sub(r"[^\w]+", "-", text.casefold(), flags=re.UNICODE).strip("-_")
    return slug[:max_len].strip("-") or "section"


def _unique_fragments(fragments: Iterable[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for frag in fragments:
        n = seen.get(frag, 0) + 1
        seen[frag] = n
        out.append(frag if n == 1 else f"{frag}-{n}")
    return out


_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def normalise_line(line: str) -> str:
    """Collapse runs of whitespace inside a line and drop invisible characters."""
    return _SPACES.sub(" ", _INVISIBLE.sub("", line)).strip()


def _join_paragraphs(paragraphs: Iterable[str]) -> str:
    return "\n\n".join(p for p in (p.strip("\n ") for p in paragraphs) if p)


def humanise_stem(stem: str) -> str:
    """'Economy_of_Tajikistan' -> 'Economy of Tajikistan'; 'some-file' -> 'Some file'; 'Nur-Sultan' kept."""
    separators = r"[_\s]+|(?<=\w)-(?=\w)" if stem.islower() else r"[_\s]+"  # kebab-case slugs
    words = " ".join(re.split(separators, stem)).strip()
    if not words:
        return stem
    if words.islower():
        return words[0].upper() + words[1:]
    return words


_SMALL_WORDS = frozenset(
    "a an and as at but by for from in into nor of on onto or over per the to upon via vs with".split()
)
_KEEP_UPPER = frozenset("OSCE US U.S. USA UN NATO CIS CSTO SCO EU EAEU UK USSR II III IV IMF WTO GDP CICA ECO".split())


def smart_title(text: str, *, keep_upper: bool = False) -> str:
    """Title-case ``text`` (ALL-CAPS headings, lower-case file names); small words stay lower."""
    out = []
    for i, word in enumerate(text.split()):
        bare = word.strip("\"'“”‘’()[],:;!?")
        if keep_upper and bare.upper() in _KEEP_UPPER:
            out.append(word)
        elif i and bare.lower() in _SMALL_WORDS:
            out.append(word.lower())
        else:
            out.append("-".join(_capitalise_first_letter(part) for part in word.lower().split("-")))
    return " ".join(out)


def _capitalise_first_letter(word: str) -> str:
    for i, ch in enumerate(word):
        if ch.isalpha():
            return word[:i] + ch.upper() + word[i + 1 :]
    return word


def iso_date(value: Any) -> str | None:
    """Normalise a date-ish value to ISO 8601 (YYYY, YYYY-MM or YYYY-MM-DD), or None."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int) and 1000 <= value <= 2999:
        return str(value)
    if not isinstance(value, str):
        return None
    s = value.strip()
    m = re.match(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T ].*)?$", s)
    if m:
        year, month, day = m.group(1), m.group(2), m.group(3)
        return _valid_date(int(year), int(month) if month else None, int(day) if day else None)
    m = re.match(rf"^(\d{{1,2}})\s+({_MONTH_NAME})\s+(\d{{4}})\b", s)
    if m:
        return _valid_date(int(m.group(3)), _month_number(m.group(2)), int(m.group(1)))
    m = re.match(rf"^({_MONTH_NAME})\s+(\d{{1,2}}),?\s+(\d{{4}})\b", s)
    if m:
        return _valid_date(int(m.group(3)), _month_number(m.group(1)), int(m.group(2)))
    m = re.match(rf"^({_MONTH_NAME})\s+(\d{{4}})$", s)
    if m:
        return _valid_date(int(m.group(2)), _month_number(m.group(1)), None)
    return None


def _valid_date(year: int, month: int | None, day: int | None) -> str | None:
    if month is None:
        return f"{year:04d}"
    if not 1 <= month <= 12:
        return None
    if day is None:
        return f"{year:04d}-{month:02d}"
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _make_document(
    ctx: _Context,
    *,
    title: str,
    text: str,
    fragment: str | None = None,
    source: str | None = None,
    date: str | None = None,
    url: str | None = None,
    author: str | None = None,
    license: str | None = None,
    section: str | None = None,
    edition: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Document:
    prov = ctx.provenance
    return Document(
        doc_id=ctx.doc_id + (f"#{fragment}" if fragment else ""),
        title=normalise_line(title) or humanise_stem(ctx.path.stem),
        text=text,
        source=source or prov.source or "unknown",
        path=ctx.rel,
        date=date or prov.date,
        url=url,
        author=author or prov.author,
        license=license or prov.license,
        section=section,
        edition=edition,
        extra={**ctx.extra, **(extra or {})},
    )


# --------------------------------------------------------------------------- plain text


_META_LINE = re.compile(
    rf"^(?P<category>[^\d/]{{2,60}}?)\s+(?P<date>\d{{1,2}}\s+{_MONTH_NAME}\s+\d{{4}})"
    r"(?:\s+(?P<time>\d{1,2}:\d{2}))?(?:\s*\(\s*UTC\s*(?P<tz>[+\-−]\s*\d{1,2}:?\d{2})\s*\))?\s*$"
)
_DATELINE = re.compile(
    rf"^(?P<place>[^/]{{2,80}}?),\s*(?P<when>{_MONTH_NAME}\s*\d{{1,2}}(?:,\s*\d{{4}})?)\s*/\s*"
    r"(?P<credit>[^/]+?)\s*/\s*$"
)
_CREDIT = re.compile(
    r"^(?P<source>.+?)(?:[,\s]+(?P<author>(?:[A-ZА-ЯЁ]\.\s?){1,3}\s?[A-ZА-ЯЁ][\w'’\-]+"
    r"(?:[ \-][A-ZА-ЯЁ][\w'’\-]+)?))?$"
)


def _load_text(text: str, ctx: _Context) -> list[Document]:
    """Plain text: the seed news header (title / category+date / dateline) or title + body."""
    blocks = _blocks(text)
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
    paragraphs = [p for block in rest for p in _render_block(block, flavour="text")]
    return [
        _make_document(
            ctx,
            title=title,
            text=_join_paragraphs(paragraphs),
            source=source,
            author=author,
            date=date,
            extra=extra,
        )
    ]


# --------------------------------------------------------------------------- markdown


_CR_HEADER = re.compile(
    r"\A\s*#\s+(?P<title>[^\n]*)\n+##\s+`(?P<id>[0-9a-fA-F]{8,})`\s*\n+`(?P<speaker>[^`\n]+?)\s+[—–-]+\s+"
    r"(?P<date>[^`\n]+)`[ \t]*\n(?:\s*(?:---|\*\*\*)[ \t]*\n)?"
)


def _load_markdown(text: str, ctx: _Context) -> list[Document]:
    """Markdown with optional YAML front matter; pandoc, html2text and Congressional Record flavours."""
    meta, body = _split_front_matter(text)
    prov = ctx.provenance
    extra: dict[str, Any] = {}
    title = _meta_str(meta, "title")
    author = _meta_str(meta, "author")
    date = iso_date(meta.get("date")) if meta.get("date") is not None else None
    cr = _CR_HEADER.match(body)
    if cr:
        body = body[cr.end() :]
        speaker = normalise_line(cr.group("speaker"))
        record_date = iso_date(normalise_line(cr.group("date")))
        heading = normalise_line(cr.group("title"))
        author = author or _tidy_speaker(speaker)
        date = date or record_date
        extra.update({"speaker": speaker, "record_id": cr.group("id")})
        if not title:
            if heading and heading.lower() not in ("none", "null", "untitled"):
                title = smart_title(heading, keep_upper=True) if heading.isupper() else heading
            else:
                when = normalise_line(cr.group("date"))
                title = f"Floor statement by {_tidy_speaker(speaker)}, {when}"
        body = _unwrap_congressional_record(body)
        flavour = "cr"
    else:
        flavour = "markdown"
    if not title and prov.titles_from_filename:
        title = title_from_stem(ctx.path.stem, body)
    blocks = _blocks(body)
    heading, blocks = _take_h1(blocks, title)
    if not title:
        title = heading
    if not title and blocks and len(blocks) > 1 and len(blocks[0]) == 1:
        first = normalise_line(blocks[0][0])
        if len(first) <= 120:
            title, blocks = first, blocks[1:]
    title = _clean_inline(title) if title else humanise_stem(ctx.path.stem)
    paragraphs = _drop_back_matter(_render_blocks(blocks, flavour=flavour))
    url = _meta_str(meta, "url") or _meta_str(meta, "link")
    if not url and prov.url_template and prov.titles_from_filename:
        url = prov.url_template.format(title=quote(title.replace(" ", "_"), safe="_-().,'!:~"))
    known = {"title", "author", "date", "url", "link", "source", "license", "licence"}
    extra.update({k: _jsonable(v) for k, v in meta.items() if k not in known})
    return [
        _make_document(
            ctx,
            title=title,
            text=_join_paragraphs(paragraphs),
            source=_meta_str(meta, "source"),
            date=date,
            url=url,
            author=author,
            license=_meta_str(meta, "license") or _meta_str(meta, "licence"),
            extra=extra,
        )
    ]


def _take_h1(blocks: list[list[str]], title: str | None) -> tuple[str | None, list[list[str]]]:
    """The first level-1 heading, removed from the blocks when it becomes (or repeats) the title."""
    for b, block in enumerate(blocks):
        for i, line in enumerate(block):
            m = _H1.match(line)
            if not m:
                continue
            heading = m.group(1)
            if title and _clean_inline(heading).casefold() != _clean_inline(title).casefold():
                return heading, blocks
            rest = block[:i] + block[i + 1 :]
            return heading, blocks[:b] + ([rest] if rest else []) + blocks[b + 1 :]
    return None, blocks


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
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


def _meta_str(meta: dict[str, Any], key: str) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value if v is not None)
    value = normalise_line(str(value))
    return value or None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _tidy_speaker(speaker: str) -> str:
    """'Mr. BURTON of Indiana' -> 'Mr. Burton of Indiana'."""
    return " ".join(w.capitalize() if w.isupper() and len(w) > 1 and w.isalpha() else w for w in speaker.split())


def title_from_stem(stem: str, text: str = "") -> str:
    """A title from a file name, using the article's own spelling when the name is lower case."""
    human = humanise_stem(stem)
    words = [w for w in re.split(r"[_\s-]+", stem) if w]
    if not words or any(c.isupper() for c in stem):
        return human
    phrase = r"[\s\-–]+".join(re.escape(w) for w in words)
    for pattern in (rf"\*\*({phrase})\*\*", rf"(?<!\w)({phrase})(?!\w)"):
        for m in re.finditer(pattern, text, re.I):
            found = " ".join(m.group(1).split())
            if any(c.isupper() for c in found[1:]):
                return found[0].upper() + found[1:]
    return smart_title(" ".join(words))


def _unwrap_congressional_record(body: str) -> str:
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
                current = _join_wrapped(current, stripped)
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


def _join_wrapped(left: str, right: str) -> str:
    """Join two hard-wrapped pieces; a word split after a hyphen is re-joined without a space."""
    left = left.rstrip()
    if left.endswith("-") and right[:1].isalnum():
        stem = left[:-2] if left.endswith("--") else left[:-1]
        if stem and not stem[-1].isspace() and stem[-1] != "-":
            return left + right
    return f"{left} {right}"


# Block structure -------------------------------------------------------------


def _blocks(text: str) -> list[list[str]]:
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
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_UNORDERED = re.compile(r"^\s*[-*+•]\s+")
_H1 = re.compile(r"^\s{0,3}#(?!#)\s+(.+?)\s*#*\s*$")
_HEADING = re.compile(r"^\s*#{1,6}\s+(.*?)\s*#*\s*$")
_REFERENCE_ENTRY = re.compile(r"^\s*\[\d{1,4}\]")
_FENCE = re.compile(r"^\s*(```|~~~)")
_MAINTENANCE = re.compile(r"Learn how and when to remove th(?:is|ese) (?:message|template)", re.I)
_INFOBOX_PARAM = re.compile(r"(?:^|\|)\s*[a-z][a-z0-9_ ]{0,30}=(?:\s|$)")
_BACK_MATTER = frozenset(
    {"see also", "references", "notes", "citations", "sources", "further reading", "external links"}
    | {"bibliography", "footnotes", "notes and references"}
)
_TABLE_GAP = re.compile(r"(?<=\S) {3,}(?=\S)")


def _drop_back_matter(paragraphs: list[str]) -> list[str]:
    """Cut a trailing 'See also' / 'References' / 'External links' part (in the second half)."""
    for i in range(len(paragraphs) // 2, len(paragraphs)):
        if paragraphs[i].strip().casefold() in _BACK_MATTER:
            return paragraphs[:i]
    return paragraphs


def _render_blocks(blocks: list[list[str]], *, flavour: str) -> list[str]:
    out: list[str] = []
    for block in blocks:
        out.extend(_render_block(block, flavour=flavour))
    return out


def _render_block(block: list[str], *, flavour: str) -> list[str]:
    """Turn one block of raw lines into zero or more cleaned paragraphs."""
    lines = [ln for ln in block if not _FENCE.match(ln)]
    if not lines:
        return []
    if flavour != "text" and _REFERENCE_ENTRY.match(lines[0]):
        return []  # a reference-list entry ("[12] Smith, J. ...")
    if flavour != "text" and _MAINTENANCE.search(" ".join(ln.strip() for ln in lines)):
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
            if len(_INFOBOX_PARAM.findall(line)) >= 2:
                continue  # wiki infobox parameters ("| image_caption = ... | pushpin_map = ...")
            line = re.sub(r"^(?:>\s?)+", "", line)  # block quotes
            line = re.sub(r"^[:;]+\*?\s*", "", line)  # wiki indentation / definition markers
        hard_break = raw.endswith("  ") and flavour == "markdown"
        kind = "text"
        heading = _HEADING.match(line) if flavour != "text" else None
        if heading:
            out.append(["heading", heading.group(1), False])
            continue
        if _BULLET.match(line):
            kind = "item"
            line = _UNORDERED.sub("", line) if _UNORDERED.match(line) else line.strip()
        elif flavour != "text" and (
            line.count("|") >= 2
            or len(_TABLE_GAP.findall(line)) >= 2
            or (raw.startswith("  ") and _TABLE_GAP.search(line))
        ):
            out.append(["row", _cells_row(re.split(r" {3,}|\|", line)), False])
            continue
        if out and out[-1][2] and kind == "text" and out[-1][0] in ("text", "item"):
            out[-1][1] = _join_wrapped(out[-1][1], line)
            out[-1][2] = not hard_break
        else:
            out.append([kind, line, not hard_break])
    return [(kind, text) for kind, text, _ in out]


def _cells_row(cells: Iterable[str]) -> str:
    return " | ".join(c for c in (c.strip() for c in cells) if c)


def _paragraph_of_lines(lines: list[str]) -> list[str]:
    cleaned = _clean_lines(lines)
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
        if _BULLET.match(text):
            pieces.append(_UNORDERED.sub("", text))
            joinable = True
        elif joinable and pieces:
            pieces[-1] = _join_wrapped(pieces[-1], text)
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

_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")
_WIKI_LINK = re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]]*)\]\]")
_FILE_LINK = re.compile(r"\[\[(?:File|Image):[^\[\]]*\]\]", re.I)
_REF_MARK = re.compile(
    r"\[(?:\d{1,4}|citation needed|clarification needed|verification needed|dubious|"
    r"failed verification|when\?|who\?|which\?|by whom\?|according to whom\?|TABLE|edit)\]",
    re.I,
)
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]\n]+)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\)")
_REF_LINK = re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^>\s]+)>")
_LEADING_FILE = re.compile(r"^\S+\.(?:png|jpe?g|svg|gif|tiff?|webp)\s+", re.I)
_HTML_ATTRIBUTE = re.compile(
    r"(?<![\w-])(?:colspan|rowspan|style|class|align|valign|width|height|bgcolor|resource|scope|border|"
    r"cellpadding|cellspacing)\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s|]*)",
    re.I,
)
_EMPTY_PARENS = re.compile(r"\s*\([\s,;:]*\)")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<\"'$])")
_TIGHT_CLOSE = re.compile(r"(?<=\S)(\*\*|__|\*|_) +(?=[,.;:!?)])")
# Emphasis spans are bounded so that a stray marker cannot make cleaning quadratic.
_BOLD = re.compile(r"\*\*(?=\S)([^*]{1,1000}?)(?<=\S)\*\*|__(?=\S)([^_]{1,1000}?)(?<=\S)__")
_ITALIC_STAR = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*]{1,400}?)(?<=[^\s*])\*(?![\w*])")
_ITALIC_UNDERSCORE = re.compile(r"(?<![\w_])_(?=[^\s_])([^_]{1,400}?)(?<=[^\s_])_(?![\w_])")
_CODE = re.compile(r"`([^`\n]+)`")
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)


def _clean_inline(text: str) -> str:
    """Strip Markdown/wiki markup from one line, keeping the words as they are."""
    return _finish_line(_strip_emphasis(_clean_markup(text)))


def _clean_lines(lines: Iterable[str]) -> list[str]:
    """Clean the lines of one paragraph; emphasis may span lines (table cells, wrapped text)."""
    joined = _strip_emphasis("\n".join(_clean_markup(ln) for ln in lines))
    return [c for c in (_finish_line(ln) for ln in joined.split("\n")) if c]


def _clean_markup(text: str) -> str:
    """Remove templates, caption debris, reference marks, links and images from one line."""
    s = _HTML_COMMENT.sub("", text)
    for _ in range(5):  # nested templates, innermost first
        s, n = _TEMPLATE.subn("", s)
        if not n:
            break
    s = re.sub(r"\{\{.*$", "", s)  # an unclosed template runs to the end of the line
    s = _FILE_LINK.sub("", s)
    s = _WIKI_LINK.sub(r"\1", s)
    s = re.sub(r"\[\[(?:File|Image):.*$", "", s, flags=re.I)
    if "]]" in s or "}}" in s:  # the tail of an image caption or infobox pandoc left behind
        s = s[max(s.rfind("]]"), s.rfind("}}")) + 2 :]
    s = _LEADING_FILE.sub("", s)
    if "=" in s:
        s = _HTML_ATTRIBUTE.sub("", s)
    s = _REF_MARK.sub("", s)
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
    s = _REF_MARK.sub("", _MD_ESCAPE.sub(r"\1", s))  # again: "[_citation needed_]"
    s = _EMPTY_PARENS.sub("", s)
    s = normalise_line(s)
    return "" if re.fullmatch(r"[\W_]*", s) else s


# --------------------------------------------------------------------------- JSON / JSONL


_TEXT_KEYS = ("text", "body", "content", "article", "full_text")
_RECORD_LIST_KEYS = ("records", "documents", "docs", "articles", "items", "data")


def _load_json(text: str, ctx: _Context) -> list[Document]:
    """JSON: a Factbook country file (either shape), one record, or a list of records."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadFailure(f"invalid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise LoadFailure("invalid JSON (nested too deeply)") from None
    if is_factbook(data):
        return _factbook_from_file(data, ctx)
    records = _records_of(data)
    if records is None:
        raise LoadFailure("JSON holds no records with a text, body or content field")
    return _records_to_documents(records, ctx)


def _load_jsonl(text: str, ctx: _Context) -> list[Document]:
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


def _records_to_documents(records: list[tuple[str | None, dict[str, Any]]], ctx: _Context) -> list[Document]:
    usable = []
    for index, record in records:
        body = next((t for t in (_record_body(record.get(k)) for k in _TEXT_KEYS) if t), None)
        if body is None:
            log.warning("%s: record %s has no text; skipped", ctx.rel, index)
            continue
        usable.append((index, record, body))
    if not usable:
        raise LoadFailure("no record has a non-empty text, body or content field")
    fragments: list[str | None]
    if len(usable) == 1:
        fragments = [None]
    else:
        raw = [slugify(str(r.get("_id") or r.get("id") or idx or i)) for i, (idx, r, _) in enumerate(usable)]
        fragments = list(_unique_fragments(raw))
    docs = []
    for (_, record, body), fragment in zip(usable, fragments, strict=True):
        text = _record_text(body)
        title = _meta_str(record, "title") or _meta_str(record, "headline") or _title_from_text(text)
        known = {"title", "headline", "source", "url", "date", "author", "license", "licence", *_TEXT_KEYS}
        date_value = record.get("date") or record.get("published")
        docs.append(
            _make_document(
                ctx,
                title=title or humanise_stem(ctx.path.stem),
                text=text,
                fragment=fragment,
                source=_meta_str(record, "source"),
                date=iso_date(date_value) if date_value is not None else None,
                url=_meta_str(record, "url"),
                author=_meta_str(record, "author"),
                license=_meta_str(record, "license") or _meta_str(record, "licence"),
                extra={k: _jsonable(v) for k, v in record.items() if k not in known},
            )
        )
    return docs


def _record_body(value: Any) -> str | None:
    """A record's text: a string, or a list of paragraph strings."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = "\n\n".join(value)
    return value if isinstance(value, str) and value.strip() else None


def _record_text(body: str) -> str:
    if _HTML_TAG.search(body):
        body = html_to_text(body)
    paragraphs = []
    for block in _blocks(_normalise_newlines(body)):
        lines = [normalise_line(ln) for ln in block]
        paragraphs.append("\n".join(ln for ln in lines if ln))
    return _join_paragraphs(paragraphs)


def _title_from_text(text: str, max_len: int = 90) -> str:
    first = text.strip().split("\n", 1)[0]
    if len(first) <= max_len:
        return first
    cut = first[:max_len].rsplit(" ", 1)[0]
    return cut + "…"


# --------------------------------------------------------------------------- HTML


def _load_html(text: str, ctx: _Context) -> list[Document]:
    """HTML: main text and metadata via trafilatura; a page without an article fails."""
    try:
        import trafilatura
    except ImportError as exc:  # e.g. lxml_html_clean missing
        raise LoadFailure(f"HTML support is unavailable (trafilatura cannot be imported: {exc})") from None
    try:
        result = trafilatura.bare_extraction(
            text,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception as exc:  # trafilatura/lxml raise many kinds on malformed input
        raise LoadFailure(f"the HTML could not be parsed ({type(exc).__name__})") from None
    if result is None:
        raise LoadFailure("no article text found in the HTML page")
    data = result if isinstance(result, dict) else result.as_dict()
    body = (data.get("text") or "").strip()
    if not body:
        raise LoadFailure("no article text found in the HTML page")
    title = normalise_line(data.get("title") or "")
    lines = [normalise_line(ln) for ln in body.split("\n")]
    lines = [_UNORDERED.sub("", ln) if ln.startswith("- ") else ln for ln in lines if ln]
    if lines and title and lines[0] == title:
        lines = lines[1:]
    words = sum(len(ln.split()) for ln in lines)
    if words < MIN_HTML_WORDS:
        raise LoadFailure(f"no article text found in the HTML page (only {words} words of text)")
    return [
        _make_document(
            ctx,
            title=title or humanise_stem(ctx.path.stem),
            text=_join_paragraphs(lines),
            source=data.get("sitename") or data.get("hostname"),
            date=iso_date(data.get("date")) if data.get("date") else None,
            url=data.get("url"),
            author=data.get("author"),
            license=data.get("license"),
            extra={k: data[k] for k in ("description", "language") if data.get(k)},
        )
    ]


# --------------------------------------------------------------------------- CIA World Factbook


_BLOCK_TAGS = re.compile(r"<\s*(?:br|/p|p|/div|div|/li|li|/tr|tr|/h\d|h\d)\b[^>]*>", re.I)


def html_to_text(fragment: str) -> str:
    """Strip HTML from a text fragment: block tags become line breaks, entities are decoded."""
    s = _BLOCK_TAGS.sub("\n", fragment)
    s = _HTML_TAG.sub("", s)
    s = html.unescape(s)
    lines = (normalise_line(ln) for ln in s.split("\n"))
    return "\n".join(ln for ln in lines if ln)


def is_factbook(data: Any) -> bool:
    """True for a Factbook country JSON: flat ``{"fields": [{field, content}]}`` or nested sections."""
    if not isinstance(data, dict):
        return False
    fields = data.get("fields")
    if (
        isinstance(fields, list)
        and fields
        and all(isinstance(f, dict) and "field" in f and "content" in f for f in fields)
    ):
        return True
    sections = [k for k in data if k in FACTBOOK_SECTIONS]
    return bool(sections) and all(isinstance(data[k], dict) for k in sections) and _has_text_leaf(data)


def _has_text_leaf(node: Any, depth: int = 0) -> bool:
    if depth > 4 or not isinstance(node, dict):
        return False
    if isinstance(node.get("text"), str):
        return True
    return any(_has_text_leaf(v, depth + 1) for v in node.values())


def factbook_country_name(data: dict[str, Any], code: str | None) -> str:
    """The country's English name: 2012 'name', the code table, or Government -> Country name."""
    if isinstance(data.get("name"), str) and data["name"].strip():
        return data["name"].strip()
    if code and code.lower() in FACTBOOK_COUNTRY_NAMES:
        return FACTBOOK_COUNTRY_NAMES[code.lower()]
    try:
        short = data["Government"]["Country name"]["conventional short form"]
        name = html_to_text(short["text"] if isinstance(short, dict) else short)
    except (KeyError, TypeError):
        name = ""
    if name and name.lower() != "none":
        return name
    return code.upper() if code else "Unknown country"


def factbook_documents(
    data: dict[str, Any],
    *,
    code: str | None,
    doc_id_base: str,
    path: str,
    edition: str | None,
    date: str | None,
    license: str | None = PUBLIC_DOMAIN_US,
    source: str = FACTBOOK_SOURCE,
    extra: dict[str, Any] | None = None,
) -> list[Document]:
    """One Document per country and section of a Factbook country JSON (either shape)."""
    code = (code or str(data.get("code") or "")).lower() or None
    country = factbook_country_name(data, code)
    sections = _factbook_sections(data)
    named = [(name, paras) for name, paras in sections.items() if paras]
    fragments = _unique_fragments(slugify(name) for name, _ in named)
    url = None
    if edition and edition.isdigit() and int(edition) >= 2021:
        url = f"https://www.cia.gov/the-world-factbook/countries/{slugify(country)}/"
    prefix = f"CIA World Factbook ({edition} edition)" if edition else "CIA World Factbook"
    docs = []
    for (section, paragraphs), fragment in zip(named, fragments, strict=True):
        docs.append(
            Document(
                doc_id=f"{doc_id_base}#{fragment}",
                title=f"{prefix} — {country}: {section}",
                text=_join_paragraphs(paragraphs),
                source=source,
                path=path,
                date=date,
                url=url,
                author=None,
                license=license,
                section=section,
                edition=edition,
                extra={"country": country, "country_code": code, **(extra or {})},
            )
        )
    return docs


def _factbook_sections(data: dict[str, Any]) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    if isinstance(data.get("fields"), list):  # 2012: flat, grouped by the static mapping
        current = "Introduction"
        for item in data["fields"]:
            if not isinstance(item, dict):
                continue
            name = normalise_line(str(item.get("field") or ""))
            current = FACTBOOK_2012_FIELD_SECTIONS.get(name.casefold(), current)
            content = item.get("content")
            if name and isinstance(content, str):
                sections.setdefault(current, []).extend(_factbook_field(name, content))
        return sections
    for section, fields in data.items():
        if not isinstance(fields, dict):
            continue
        paragraphs = sections.setdefault(normalise_line(section), [])
        for name, value in fields.items():
            paragraphs.extend(_factbook_field(normalise_line(name), value))
    return sections


def _factbook_field(name: str, value: Any, depth: int = 0) -> list[str]:
    """Render one field as 'Name: text' paragraphs; sub-fields as 'Name — sub: text'."""
    if depth > 3 or value is None:
        return []
    if isinstance(value, str):
        text = _factbook_text(value)
        prefix = name.split(" — ")[-1].casefold() + ":"
        if text.casefold().startswith(prefix):  # "note: note: ..." -> "note: ..."
            text = text[len(prefix) :].lstrip()
        return [f"{name}: {text}"] if text else []
    if not isinstance(value, dict):
        return []
    out = _factbook_field(name, value["text"], depth) if isinstance(value.get("text"), str) else []
    for sub, sub_value in value.items():
        if sub == "text":
            continue
        label = normalise_line(str(sub))
        if label.casefold() == name.casefold():
            full = name
        elif label.casefold().startswith(name.casefold()):
            full = label  # "Real GDP growth rate 2023" under "Real GDP growth rate"
        else:
            full = f"{name} — {label}"
        out.extend(_factbook_field(full, sub_value, depth + 1))
    return out


def _factbook_text(value: str) -> str:
    text = html_to_text(value) if ("<" in value or "&" in value) else normalise_line(value)
    return re.sub(r"\s*\+\+\s*", "; ", text).strip("; ")


_EDITION_DIR = re.compile(r"^(?:(?P<year>\d{4})(?:-edition)?|(?P<date>(?P<dyear>\d{4})-\d{2}-\d{2}))$")


def factbook_edition(rel_path: str, data: dict[str, Any]) -> tuple[str | None, str | None]:
    """(edition year, ISO date) from the folder name ('2012-edition', '2015-11-29') or the data."""
    for part in reversed(Path(rel_path).parts[:-1]):
        m = _EDITION_DIR.match(part)
        if m:
            if m.group("date"):
                return m.group("dyear"), m.group("date")
            return m.group("year"), m.group("year")
    year = data.get("year")
    if isinstance(year, int | str) and str(year).isdigit():
        return str(year), str(year)
    return None, None


def _factbook_from_file(data: dict[str, Any], ctx: _Context) -> list[Document]:
    edition, date = factbook_edition(ctx.rel, data)
    prov = ctx.provenance
    license_ = prov.license if prov.license else PUBLIC_DOMAIN_US
    if "public domain" in (license_ or "").lower() and "government" not in license_.lower():
        license_ = PUBLIC_DOMAIN_US
    return factbook_documents(
        data,
        code=str(data.get("code") or ctx.path.stem),
        doc_id_base=ctx.doc_id,
        path=ctx.rel,
        edition=edition,
        date=date,
        license=license_,
        extra=ctx.extra,
    )

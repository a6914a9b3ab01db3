"""What every source format shares: decoding, documents and their ids, slugs, titles, dates.

Cleaning never rewrites the words of an article: paragraphs are separated by a blank line,
whitespace inside lines is collapsed, invisible characters are dropped.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.models import Document
from index.store.ids import document_id
from index.text import latin

if TYPE_CHECKING:
    from index.sources.provenance import Provenance

PUBLIC_DOMAIN_US = "Public domain (US government work)"


class LoadFailure(Exception):
    """A file could not be loaded; the message is a plain-English reason."""


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
            return normalise_newlines(data.decode("utf-16")), "utf-16"
        except UnicodeDecodeError:
            raise LoadFailure("the file starts with a UTF-16 mark but is not valid UTF-16") from None
    head = data[:65536]
    if b"\x00" in head:
        raise LoadFailure("looks like a binary file (it contains NUL bytes), not text")
    control = sum(head.count(bytes([b])) for b in _CONTROL_BYTES)
    if control > max(8, len(head) // 100):
        raise LoadFailure("looks like a binary file (many control characters), not text")
    try:
        return normalise_newlines(data.decode("utf-8-sig")), "utf-8"
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
        return normalise_newlines(as_cp1251), "cp1251"
    try:
        return normalise_newlines(data.decode("cp1252")), "cp1252"
    except UnicodeDecodeError:
        return normalise_newlines(data.decode("latin-1")), "latin-1"


def normalise_newlines(text: str) -> str:
    """Unix newlines only."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


MONTHS = {
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
MONTH_NAME = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"


def month_number(name: str) -> int | None:
    """1-12 for an English month name or abbreviation, else None."""
    key = name.rstrip(".").lower()
    return MONTHS.get(key) or MONTHS.get(key[:3])


@dataclass(frozen=True)
class Context:
    """The file being loaded: where it is, its corpus label, provenance and encoding."""

    path: Path
    rel: str
    label: str
    provenance: Provenance
    encoding: str

    def doc_id(self, fragment: str | None = None) -> str:
        """The id of the file's document (``fragment``: one of several in the file)."""
        return document_id(self.label, self.rel, fragment)

    @property
    def extra(self) -> dict[str, Any]:
        """Metadata every document of the file carries (a legacy encoding, when not UTF)."""
        return {} if self.encoding in ("utf-8", "utf-16") else {"encoding": self.encoding}


def relative_path(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` (POSIX), else its name."""
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        pass
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except (ValueError, OSError):
        return Path(path).name


_NOT_SLUG = re.compile(r"[\W_]+")


def slugify(text: str, max_len: int = 60, *, ascii_only: bool = False) -> str:
    """Lower-case words joined by hyphens, at most ``max_len`` characters, cut after a whole word:
    "Transnational Issues" -> "transnational-issues" (document id fragments, URLs).

    ``ascii_only`` transliterates Cyrillic and drops accents, for file names:
    "Россия и Казахстан" -> "rossiya-i-kazakhstan". Empty when nothing is left.
    """
    text = text.casefold()
    if ascii_only:
        text = latin(text)
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", text).strip("-")
    if len(slug) > max_len:
        slug = slug[:max_len].rsplit("-", 1)[0] if "-" in slug[:max_len] else slug[:max_len]
    return slug.strip("-")


def unique_fragments(fragments: Iterable[str]) -> list[str]:
    """The fragments with "-2", "-3"... added to repeats."""
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


def clean_text(value: Any) -> str:
    """A value from a web page or feed as one clean line (NFC, whitespace collapsed)."""
    return " ".join(normalise_line(unicodedata.normalize("NFC", str(value or ""))).split())


def join_paragraphs(paragraphs: Iterable[str]) -> str:
    """Non-empty paragraphs separated by one blank line."""
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
    m = re.match(rf"^(\d{{1,2}})\s+({MONTH_NAME})\s+(\d{{4}})\b", s)
    if m:
        return _valid_date(int(m.group(3)), month_number(m.group(2)), int(m.group(1)))
    m = re.match(rf"^({MONTH_NAME})\s+(\d{{1,2}}),?\s+(\d{{4}})\b", s)
    if m:
        return _valid_date(int(m.group(3)), month_number(m.group(1)), int(m.group(2)))
    m = re.match(rf"^({MONTH_NAME})\s+(\d{{4}})$", s)
    if m:
        return _valid_date(int(m.group(2)), month_number(m.group(1)), None)
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


def make_document(
    ctx: Context,
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
        doc_id=ctx.doc_id(fragment),
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


def meta_str(meta: dict[str, Any], key: str) -> str | None:
    """A metadata value as one clean line (lists joined by commas), or None."""
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value if v is not None)
    value = normalise_line(str(value))
    return value or None


def jsonable(value: Any) -> Any:
    """A metadata value as plain JSON (dates as ISO strings)."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def title_from_text(text: str, max_len: int = 90) -> str:
    """A stand-in title for a text without one: the start of its first paragraph."""
    first = text.strip().split("\n", 1)[0]
    if len(first) <= max_len:
        return first
    cut = first[:max_len].rsplit(" ", 1)[0]
    return cut + "…"

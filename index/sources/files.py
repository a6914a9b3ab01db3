"""Corpus folders: which files are articles, each file read by the module for its format.

``load_corpus`` walks a folder in a fixed order and returns the documents and, per file that
could not be read, the reason; one bad file never stops the rest.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from index.models import Document, LoadError
from index.sources.common import Context, LoadFailure, decode_bytes, relative_path
from index.sources.html import load_html
from index.sources.markdown import load_markdown
from index.sources.news import load_news_text
from index.sources.provenance import provenance_for
from index.sources.records import load_json, load_jsonl

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024  # larger files are skipped with a LoadError
MAX_HTML_BYTES = 5 * 1024 * 1024  # HTML parsing is costlier: a lower cap

TEXT_SUFFIXES = frozenset({".txt", ".text"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
JSON_SUFFIXES = frozenset({".json"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | JSON_SUFFIXES | JSONL_SUFFIXES | HTML_SUFFIXES
Reader = Callable[[str, Context], list[Document]]
READERS: dict[str, Reader] = {
    **dict.fromkeys(TEXT_SUFFIXES, load_news_text),
    **dict.fromkeys(MARKDOWN_SUFFIXES, load_markdown),
    **dict.fromkeys(JSON_SUFFIXES, load_json),
    **dict.fromkeys(JSONL_SUFFIXES, load_jsonl),
    **dict.fromkeys(HTML_SUFFIXES, load_html),
}

SKIPPED_NAMES = frozenset({"readme.md", "provenance.md"})  # compared in lower case; LICENSE* too

KNOWN_BINARY_FORMATS = {
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
            errors.append(LoadError(relative_path(path, root), str(exc)))
        except Exception as exc:  # a bug or an unforeseen input must not stop the whole corpus
            logger.exception("unexpected error loading %s", path)
            errors.append(LoadError(relative_path(path, root), f"unexpected error: {exc}"))
    return documents, errors


def is_skipped_name(name: str) -> bool:
    """Hidden files, README.md, PROVENANCE.md and licence files are not articles."""
    lower = name.lower()
    return name.startswith(".") or lower in SKIPPED_NAMES or lower.startswith(("license", "licence"))


def iter_corpus_files(root: Path) -> Iterator[Path]:
    """Yield the candidate article files under ``root`` in sorted, deterministic order."""
    found: list[tuple[str, Path]] = []
    for folder, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if is_skipped_name(name):
                continue
            path = Path(folder) / name
            found.append((relative_path(path, root), path))
    for _, path in sorted(found):
        yield path


def load_file(path: Path, root: Path, label: str) -> list[Document]:
    """Load one file into one or more documents; raise :class:`LoadFailure` if impossible."""
    path, root = Path(path), Path(root)
    suffix = path.suffix.lower()
    if suffix in KNOWN_BINARY_FORMATS:
        raise LoadFailure(f"unsupported format: {KNOWN_BINARY_FORMATS[suffix]} files ({suffix}) are not read")
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
    ctx = Context(
        path=path,
        rel=relative_path(path, root),
        label=label,
        provenance=provenance_for(path, root),
        encoding=encoding,
    )
    docs = READERS[suffix](text, ctx)
    docs = [d for d in docs if d.text.strip()]
    if not docs:
        raise LoadFailure("no article text found")
    return docs

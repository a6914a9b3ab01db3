"""One owner per concern, checked over the source: SQL, the environment, and the shared helpers
each live in one module, and no module grows past what a newcomer can read."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from index.countries import COUNTRIES

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("index", "bot")
MAX_LINES = 600


def sources() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def code_of(path: Path) -> str:
    """The module without its docstrings and comments (prose may mention SQL or variables)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            first.value.value = ""
    return ast.unparse(tree)


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


SQL = re.compile(
    r"\b(SELECT|INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET|CREATE\s+(VIRTUAL\s+)?TABLE|VACUUM|PRAGMA)\b"
)


def test_sql_lives_only_in_the_stores() -> None:
    offenders = [
        relative(path)
        for path in sources()
        if relative(path) not in ("index/store/local.py", "index/store/feedback.py")  # the index; users' votes
        and (SQL.search(code_of(path)) or re.search(r"\.execute(many|script)?\(|sqlite3\.connect", code_of(path)))
    ]
    assert offenders == []


def test_only_the_config_module_reads_the_environment() -> None:
    readers = []
    for path in sources():
        code = code_of(path)
        if relative(path) == "index/__init__.py":
            # The OpenMP default must be set at import, before any runtime loads (its comment says why).
            code = code.replace("os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')", "")
        if re.search(r"\bos\.environ\b|\bgetenv\(|\bputenv\(", code):
            readers.append(relative(path))
    assert readers == ["index/config.py"]


def test_hugging_face_is_kept_offline_in_one_place() -> None:
    places = [
        relative(path)
        for path in sources() + sorted((ROOT / "bench").glob("*.py"))
        if "HF_HUB_OFFLINE" in code_of(path)
    ]
    assert places == ["index/config.py"]


@pytest.mark.parametrize(
    ("definition", "home"),
    [
        ("def slugify(", "index/sources/common.py"),
        ("def split_front_matter(", "index/sources/markdown.py"),
        ("def title_from_text(", "index/sources/common.py"),
        ("trafilatura.bare_extraction(", "index/sources/html.py"),
        ("def document_id(", "index/store/ids.py"),
        ("def corpus_label(", "index/store/ids.py"),
    ],
)
def test_shared_helpers_are_written_once(definition: str, home: str) -> None:
    assert [relative(path) for path in sources() if definition in code_of(path)] == [home]


def test_the_regions_countries_are_listed_once() -> None:
    """Only countries.py names the countries as a list; glossary.py maps Russian word stems to
    English names (a lookup table for BM25, not a list of countries)."""
    listing = []
    for path in sources():
        code = path.read_text(encoding="utf-8")
        named = {c for c in COUNTRIES if re.search(r"[\"']" + re.escape(c) + r"[\"']", code)}
        if len(named) >= 5:
            listing.append(relative(path))
    assert listing == ["index/countries.py", "index/glossary.py"]


def test_no_module_is_too_long_to_read() -> None:
    long = {relative(p): n for p in sources() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_index_knows_no_telegram() -> None:
    assert [relative(p) for p in (ROOT / "index").rglob("*.py") if re.search(r"\btelegram\b|\bbot\.", code_of(p))] == []

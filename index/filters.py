"""Filters written inline in a question: ``since:2012 country:Tajikistan source:factbook``."""

from __future__ import annotations

import re

from index.countries import normalize_country
from index.errors import UserFacingError
from index.models import Filters

_TOKEN = re.compile(r"(?<!\S)(since|until|country|source):(\"[^\"]*\"|\S+)", re.IGNORECASE)
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def normalize_date(value: str, field: str) -> str:
    """An ISO date prefix (YYYY, YYYY-MM or YYYY-MM-DD), or a clear error."""
    value = value.strip()
    if not _DATE.match(value):
        raise UserFacingError(f"{field} takes a year or date like 2012, 2012-10 or 2012-10-10, not {value!r}.")
    return value


def make_filters(
    sources: list[str] | tuple[str, ...] = (),
    since: str | None = None,
    until: str | None = None,
    countries: list[str] | tuple[str, ...] = (),
) -> Filters:
    """Validated filters from loose user input (country names in any common spelling)."""
    canonical = []
    for name in countries:
        country = normalize_country(name)
        if country is None:
            raise UserFacingError(f"Unknown country {name!r}. Try a name such as Tajikistan or Kazakhstan.")
        canonical.append(country)
    return Filters(
        sources=tuple(s.strip().lower() for s in sources if s.strip()),
        since=normalize_date(since, "since") if since else None,
        until=normalize_date(until, "until") if until else None,
        countries=tuple(dict.fromkeys(canonical)),
    )


def split_filter_tokens(text: str) -> tuple[str, list[str]]:
    """The question without its ``key:value`` filter tokens, and those tokens as written."""
    return " ".join(_TOKEN.sub(" ", text).split()), [m.group(0) for m in _TOKEN.finditer(text)]


def parse_query(text: str) -> tuple[str, Filters]:
    """Split ``since:``/``until:``/``country:``/``source:`` tokens off a question."""
    sources: list[str] = []
    countries: list[str] = []
    dates: dict[str, str] = {}
    for key, value in _TOKEN.findall(text):
        value = value.strip('"')
        key = key.lower()
        if key == "source":
            sources.append(value)
        elif key == "country":
            countries.append(value)
        else:
            dates[key] = value
    question, _ = split_filter_tokens(text)
    return question, make_filters(sources, dates.get("since"), dates.get("until"), countries)

"""Web addresses: which ones steppe fetches, how it cites them, and when two are the same page."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from index.errors import FetchError

TRACKING_PARAMS = frozenset({"fbclid", "gclid", "dclid", "yclid", "msclkid", "mc_cid", "mc_eid", "_hsenc", "_hsmi"})


def normalise_url(url: str) -> str:
    """A URL's comparison key: lower-case scheme and host, no default port, fragment,
    tracking parameters (utm_*, fbclid, ...) or trailing slash."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    query = urlsplit(clean_url(url)).query
    return urlunsplit((scheme, host, path, query, ""))


def clean_url(url: str) -> str:
    """The URL to cite: without its fragment or tracking parameters, otherwise as given."""
    parts = urlsplit(url.strip())
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    ]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query) if query else "", ""))


def check_url(url: str) -> str:
    """The URL stripped of surrounding space; FetchError unless it is a usable http(s) URL."""
    url = url.strip()
    if not url:
        raise FetchError("empty URL")
    if any(c.isspace() for c in url):
        raise FetchError("invalid URL: it contains spaces")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"'{scheme}'" if scheme else "none"
        raise FetchError(f"unsupported URL scheme ({shown}): only http:// and https:// addresses can be fetched")
    try:
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        raise FetchError("invalid URL: the port is not a number between 0 and 65535") from None
    if not parts.hostname:
        raise FetchError("invalid URL: there is no host name")
    return url


def trusted_canonical(url: str | None) -> str | None:
    """A page's canonical URL, unless it is missing, not http(s) or just a home page."""
    if not url:
        return None
    try:
        check_url(url)
    except FetchError:
        return None
    return url if urlsplit(url).path.strip("/") else None


def site_name(hostname: str | None) -> str | None:
    """A site's name from its host when the page names none: "www.example.org" -> "example.org"."""
    if not hostname:
        return None
    host = hostname.lower()
    return host[4:] if host.startswith("www.") else host

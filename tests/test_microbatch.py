"""Micro-batching: concurrent encode calls merged into one model call, each caller gets its own rows."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from index.build import build_index
from index.embedding import HashEmbedder
from index.microbatch import MicroBatchEmbedder
from index.service import Library


class SlowEmbedder(HashEmbedder):
    """A HashEmbedder that takes a while per call and records the size of every call."""

    def __init__(self) -> None:
        super().__init__(dim=64, max_tokens=128)
        self.calls: list[tuple[str, int]] = []
        self.gate = threading.Event()

    def encode_queries(self, texts):
        self.calls.append(("query", len(texts)))
        self.gate.wait(5)
        return super().encode_queries(texts)

    def encode_documents(self, texts, batch_size=16):
        self.calls.append(("document", len(texts)))
        self.gate.wait(5)
        return super().encode_documents(texts, batch_size)


def test_concurrent_calls_are_merged_and_routed_back() -> None:
    inner = SlowEmbedder()
    batched = MicroBatchEmbedder(inner)
    reference = HashEmbedder(dim=64, max_tokens=128)
    questions = [f"question {i} about Kazakh oil" for i in range(8)]
    with ThreadPoolExecutor(max_workers=12) as pool:  # one thread per caller
        first = pool.submit(batched.encode_queries, ["the first, alone"])
        time.sleep(0.2)  # the worker is now busy with the first call; the rest queue up
        rest = [pool.submit(batched.encode_queries, [q]) for q in questions]
        sentences = pool.submit(batched.encode_documents, ["one sentence.", "two sentences."])
        time.sleep(0.2)
        inner.gate.set()
        np.testing.assert_allclose(first.result(), reference.encode_queries(["the first, alone"]))
        for future, question in zip(rest, questions, strict=True):
            np.testing.assert_allclose(future.result(), reference.encode_queries([question]))
        np.testing.assert_allclose(sentences.result(), reference.encode_documents(["one sentence.", "two sentences."]))
    assert inner.calls[0] == ("query", 1)
    assert ("query", 8) in inner.calls and ("document", 2) in inner.calls  # merged: one call for eight
    assert batched.requests == 10 and batched.batches == 2
    assert (batched.model, batched.dim, batched.backend) == (inner.model, inner.dim, inner.backend)


def test_errors_reach_every_waiting_caller() -> None:
    class Broken(HashEmbedder):
        def encode_queries(self, texts):
            raise RuntimeError("model crashed")

    batched = MicroBatchEmbedder(Broken(dim=64))
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(batched.encode_queries, [f"q{i}"]) for i in range(4)]
        for future in futures:
            with pytest.raises(RuntimeError, match="model crashed"):
                future.result()
    assert batched.encode_queries([]).shape == (0, 64)
    np.testing.assert_allclose(
        batched.encode_documents(["still works"]), Broken(dim=64).encode_documents(["still works"])
    )


def test_library_answers_the_same_with_micro_batching(tmp_path: Path, tiny_corpus: Path) -> None:
    index_dir = tmp_path / "index"
    embedder = HashEmbedder(dim=64, max_tokens=128)
    build_index(index_dir, [str(tiny_corpus)], embedder=embedder, progress=False, log=lambda message: None)
    plain = Library.open(index_dir, embedder=HashEmbedder(dim=64, max_tokens=128))
    batched = Library.open(index_dir, embedder=HashEmbedder(dim=64, max_tokens=128), microbatch=True)
    assert isinstance(batched.searcher.embedder, MicroBatchEmbedder)
    questions = ["Where is the Russian base in Tajikistan?", "How does Kazakhstan export oil?", "cotton harvest"] * 4
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(lambda q: batched.search(q, k=3), questions))
    for question, result in zip(questions, together, strict=True):
        expected = plain.search(question, k=3)
        assert [h.chunk.chunk_id for h in result.hits] == [h.chunk.chunk_id for h in expected.hits]

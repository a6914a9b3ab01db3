"""Micro-batching: concurrent encode calls from the bot's worker threads become one model call.

The bot answers each question in a worker thread (``asyncio.to_thread``), so under load
several threads call the embedder at once, each with one question (``encode_queries``) and a
few dozen excerpt sentences (``encode_documents``). The runtime already uses every core for
each call, so the calls mostly queue; merging them turns many small padded batches into fewer,
better-sorted ones. Nothing waits on purpose: a lone call is encoded at once, and calls that
arrive while the model is busy are merged into the next batch ("opportunistic" batching).
Measured with 50 simulated users (bench/bot_load.py): more answers per second and a lower p95
than one call per thread; the README has the before and after.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np

from index.embedding import DEFAULT_BATCH_SIZE


class MicroBatchEmbedder:
    """Wraps an embedder; concurrent ``encode_*`` calls are merged by one worker thread.

    Everything else (``backend``, ``model``, ``dim``, ``count_tokens``...) is the inner embedder's.
    """

    def __init__(self, inner: Any, max_texts: int = 256) -> None:
        self._inner = inner
        self.max_texts = max_texts
        self._queue: queue.SimpleQueue[tuple[str, list[str], Future[np.ndarray]]] = queue.SimpleQueue()
        self.batches = 0
        self.requests = 0
        self._worker = threading.Thread(target=self._run, name="microbatch", daemon=True)
        self._worker.start()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)  # backend, model, dim, count_tokens, ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Questions, merged with other threads' questions."""
        return self._submit("query", texts)

    def encode_documents(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Passages or sentences, merged with other threads' passages."""
        return self._submit("document", texts)

    def _submit(self, kind: str, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._inner.dim), dtype=np.float32)
        future: Future[np.ndarray] = Future()
        self._queue.put((kind, list(texts), future))
        return future.result()

    def _run(self) -> None:
        while True:
            items = [self._queue.get()]
            size = len(items[0][1])
            while size < self.max_texts:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                items.append(item)
                size += len(item[1])
            self.batches += 1
            self.requests += len(items)
            for kind in ("query", "document"):
                group = [item for item in items if item[0] == kind]
                if group:
                    self._encode(kind, group)

    def _encode(self, kind: str, group: list[tuple[str, list[str], Future[np.ndarray]]]) -> None:
        texts = [text for _, batch, _ in group for text in batch]
        try:
            if kind == "query":
                vectors = self._inner.encode_queries(texts)
            else:
                vectors = self._inner.encode_documents(texts, batch_size=DEFAULT_BATCH_SIZE)
        except BaseException as exc:  # every waiting caller gets the error
            for _, _, future in group:
                future.set_exception(exc)
            return
        start = 0
        for _, batch, future in group:
            future.set_result(vectors[start : start + len(batch)])
            start += len(batch)

"""The two ways steppe reaches Qdrant, behind one small interface the Qdrant store programs against.

* :class:`EdgeEngine`: the embedded engine (qdrant-edge-py), one shard folder per index generation
  under ``STEPPE_QDRANT_PATH/<collection>/``. Edge has no aliases, so the live generation is named
  by a ``CURRENT`` file replaced atomically, exactly like the local store's. Shards are created
  without a write-ahead log and flushed when published, so a bot and a build may open them at once.
* :class:`ClientEngine`: a Qdrant server or cluster (qdrant-client, ``STEPPE_QDRANT_URL``), or
  qdrant-client's local mode for tests. One collection per generation, ``<collection>-<stamp>``,
  and the alias ``<collection>`` switched to a new one in a single atomic alias update.

Each generation holds three kinds of points, told apart by the ``kind`` payload: ``chunk`` (a
named dense vector ``dense``, the BM25 sparse vector ``bm25`` and the chunk's payload), ``doc``
(a document's citation fields and cleaned text, no vectors) and one ``manifest``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

DENSE, SPARSE = "dense", "bm25"
KEYWORD_FIELDS = ("kind", "doc_id", "countries", "embed_hash", "language")
SCROLL_PAGE = 1024
UPSERT_BATCH = 256


@dataclass(frozen=True)
class PointData:
    """One point to write: id, optional dense vector, optional sparse (indices, values), payload."""

    id: int
    payload: dict[str, Any]
    dense: Sequence[float] | None = None
    sparse: tuple[list[int], list[float]] | None = None


@dataclass(frozen=True)
class Found:
    """One point read back: id, payload (if asked for) and dense vector (if asked for)."""

    id: int
    payload: dict[str, Any]
    dense: list[float] | None = None


class Engine(Protocol):
    """What the Qdrant store needs from an engine; ``name`` is a generation's collection/shard."""

    def live(self) -> str | None:
        """The generation the alias points at, or None."""
        ...

    def create(self, name: str, dim: int) -> None:
        """A new empty generation with the dense, sparse and payload-index layout."""
        ...

    def exists(self, name: str) -> bool:
        """Whether the generation is still there."""
        ...

    def switch(self, name: str) -> None:
        """Point the alias at ``name`` atomically, then drop generations older than the previous one."""
        ...

    def drop(self, name: str) -> None:
        """Delete a generation (one that never went live, or an old one)."""
        ...

    def drop_all(self) -> None:
        """Delete every generation and the alias."""
        ...

    def upsert(self, name: str, points: Sequence[PointData]) -> None:
        """Write points."""
        ...

    def delete(self, name: str, ids: Sequence[int]) -> None:
        """Delete points by id."""
        ...

    def search(
        self, name: str, using: str, query: Any, n: int, ids: Iterable[int] | None = None, exact: bool = True
    ) -> list[tuple[int, float]]:
        """Top ``n`` chunk ids by ``using`` ("dense": a vector, "bm25": (indices, values)), among ``ids``;
        dense search is exact unless ``exact`` is False (then HNSW)."""
        ...

    def retrieve(self, name: str, ids: Sequence[int], *, payload: bool, dense: bool) -> list[Found]:
        """Points by id."""
        ...

    def scroll(self, name: str, match: Mapping[str, Any], *, payload: bool | list[str] = True) -> Iterator[Found]:
        """Every point whose payload matches (a value, or any of a list of values)."""
        ...

    def flush(self, name: str) -> None:
        """Make what was written durable."""
        ...

    def close(self) -> None:
        """Release shards and connections."""
        ...


# --- the embedded engine -------------------------------------------------------------------------


class EdgeEngine:
    """qdrant-edge-py shards in ``root`` (``STEPPE_QDRANT_PATH/<collection>``)."""

    def __init__(self, root: Path) -> None:
        import qdrant_edge

        self.q = qdrant_edge
        self.root = Path(root)
        self._shards: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _shard(self, name: str) -> Any:
        with self._lock:
            shard = self._shards.get(name)
            if shard is None:
                path = self.root / name
                if not path.is_dir():
                    raise FileNotFoundError(path)
                shard = self._shards[name] = self.q.EdgeShard.load(str(path))
            return shard

    def live(self) -> str | None:
        try:
            name = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return name or None

    def create(self, name: str, dim: int) -> None:
        q = self.q
        config = q.EdgeConfig(
            vectors={DENSE: q.EdgeVectorParams(size=dim, distance=q.Distance.Cosine)},
            sparse_vectors={SPARSE: q.EdgeSparseVectorParams(modifier=q.Modifier.Idf)},
            wal_enabled=False,  # durable at flush; lets a bot read while a build writes another shard
        )
        self.root.mkdir(parents=True, exist_ok=True)
        shard = q.EdgeShard.create(str(self.root / name), config)
        for field in KEYWORD_FIELDS:
            shard.update(q.UpdateOperation.create_field_index(field, q.PayloadSchemaType.Keyword))
        shard.update(q.UpdateOperation.create_field_index("date", q.PayloadSchemaType.Keyword))
        with self._lock:
            self._shards[name] = shard

    def exists(self, name: str) -> bool:
        return (self.root / name).is_dir()

    def switch(self, name: str) -> None:
        previous = self.live()
        tmp = self.root / ".CURRENT.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(name + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.root / "CURRENT")
        for folder in self.root.iterdir():
            if folder.is_dir() and folder.name not in {name, previous}:
                self.drop(folder.name)

    def drop(self, name: str) -> None:
        import shutil

        with self._lock:
            shard = self._shards.pop(name, None)
        if shard is not None:
            shard.close()
        shutil.rmtree(self.root / name, ignore_errors=True)

    def drop_all(self) -> None:
        import shutil

        self.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def _point(self, point: PointData) -> Any:
        vector: dict[str, Any] = {}
        if point.dense is not None:
            vector[DENSE] = list(point.dense)
        if point.sparse is not None:
            vector[SPARSE] = self.q.SparseVector(indices=point.sparse[0], values=point.sparse[1])
        return self.q.Point(point.id, vector, point.payload)

    def upsert(self, name: str, points: Sequence[PointData]) -> None:
        shard = self._shard(name)
        for start in range(0, len(points), UPSERT_BATCH):
            batch = [self._point(p) for p in points[start : start + UPSERT_BATCH]]
            shard.update(self.q.UpdateOperation.upsert_points(batch))

    def delete(self, name: str, ids: Sequence[int]) -> None:
        if ids:
            self._shard(name).update(self.q.UpdateOperation.delete_points([int(i) for i in ids]))

    def search(
        self, name: str, using: str, query: Any, n: int, ids: Iterable[int] | None = None, exact: bool = True
    ) -> list[tuple[int, float]]:
        q = self.q
        vector = q.SparseVector(indices=query[0], values=query[1]) if using == SPARSE else list(query)
        must: list[Any] = [q.FieldCondition("kind", match=q.MatchValue("chunk"))]
        if ids is not None:
            must.append(q.HasIdCondition({int(i) for i in ids}))
        request = q.QueryRequest(
            limit=n,
            query=q.Query.Nearest(vector, using=using),
            filter=q.Filter(must=must),
            params=q.SearchParams(exact=True) if using == DENSE and exact else None,
        )
        return [(int(p.id), float(p.score)) for p in self._shard(name).query(request)]

    def retrieve(self, name: str, ids: Sequence[int], *, payload: bool, dense: bool) -> list[Found]:
        records = self._shard(name).retrieve(
            [int(i) for i in ids], with_payload=payload, with_vector=[DENSE] if dense else False
        )
        return [_found(r.id, r.payload, r.vector, dense) for r in records]

    def scroll(self, name: str, match: Mapping[str, Any], *, payload: bool | list[str] = True) -> Iterator[Found]:
        q = self.q
        conditions = [
            q.FieldCondition(key, match=q.MatchAny(list(v)) if isinstance(v, list | tuple) else q.MatchValue(v))
            for key, v in match.items()
        ]
        selector = q.PayloadSelector.Include(payload) if isinstance(payload, list) else payload
        offset = None
        while True:
            records, offset = self._shard(name).scroll(
                q.ScrollRequest(
                    offset=offset, limit=SCROLL_PAGE, filter=q.Filter(must=conditions), with_payload=selector
                )
            )
            for r in records:
                yield _found(r.id, r.payload, None, False)
            if offset is None:
                return

    def flush(self, name: str) -> None:
        shard = self._shard(name)
        shard.flush()
        shard.optimize()  # build the HNSW and payload indexes now, not on the first questions

    def close(self) -> None:
        with self._lock:
            shards, self._shards = list(self._shards.values()), {}
        for shard in shards:
            shard.close()


# --- a server or cluster ------------------------------------------------------------------------


class ClientEngine:
    """Collections ``<collection>-<stamp>`` behind the alias ``<collection>`` on a Qdrant server."""

    def __init__(
        self,
        collection: str,
        *,
        url: str | None = None,
        api_key: str | None = None,
        path: Path | None = None,
        replicas: int = 2,
    ) -> None:
        from qdrant_client import QdrantClient, models

        self.m = models
        self.alias = collection
        self.client = QdrantClient(path=str(path)) if path is not None else QdrantClient(url=url, api_key=api_key)
        self.local = path is not None  # local mode: exact search always, no payload indexes, no replicas
        self.replicas = replicas

    def live(self) -> str | None:
        for alias in self.client.get_aliases().aliases:
            if alias.alias_name == self.alias:
                return alias.collection_name
        return None

    def create(self, name: str, dim: int) -> None:
        m = self.m
        self.client.create_collection(
            name,
            vectors_config={DENSE: m.VectorParams(size=dim, distance=m.Distance.COSINE)},
            sparse_vectors_config={SPARSE: m.SparseVectorParams(modifier=m.Modifier.IDF)},
            **({} if self.local else {"replication_factor": self.replicas, "write_consistency_factor": 1}),
        )
        for field in () if self.local else (*KEYWORD_FIELDS, "date"):
            self.client.create_payload_index(name, field, m.PayloadSchemaType.KEYWORD)

    def exists(self, name: str) -> bool:
        return self.client.collection_exists(name)

    def switch(self, name: str) -> None:
        m = self.m
        previous = self.live()
        operations: list[Any] = []
        if previous is not None:
            operations.append(m.DeleteAliasOperation(delete_alias=m.DeleteAlias(alias_name=self.alias)))
        operations.append(
            m.CreateAliasOperation(create_alias=m.CreateAlias(collection_name=name, alias_name=self.alias))
        )
        self.client.update_collection_aliases(operations)  # one request: readers never see no alias
        for collection in self.client.get_collections().collections:
            if collection.name.startswith(self.alias + "-") and collection.name not in {name, previous}:
                self.drop(collection.name)

    def drop(self, name: str) -> None:
        self.client.delete_collection(name)

    def drop_all(self) -> None:
        m = self.m
        if self.live() is not None:
            self.client.update_collection_aliases(
                [m.DeleteAliasOperation(delete_alias=m.DeleteAlias(alias_name=self.alias))]
            )
        for collection in self.client.get_collections().collections:
            if collection.name.startswith(self.alias + "-"):
                self.drop(collection.name)

    def upsert(self, name: str, points: Sequence[PointData]) -> None:
        m = self.m
        for start in range(0, len(points), UPSERT_BATCH):
            batch = []
            for p in points[start : start + UPSERT_BATCH]:
                vector: dict[str, Any] = {}
                if p.dense is not None:
                    vector[DENSE] = list(p.dense)
                if p.sparse is not None:
                    vector[SPARSE] = m.SparseVector(indices=p.sparse[0], values=p.sparse[1])
                batch.append(m.PointStruct(id=p.id, vector=vector, payload=p.payload))
            self.client.upsert(name, batch, wait=True)

    def delete(self, name: str, ids: Sequence[int]) -> None:
        if ids:
            self.client.delete(name, self.m.PointIdsList(points=[int(i) for i in ids]), wait=True)

    def search(
        self, name: str, using: str, query: Any, n: int, ids: Iterable[int] | None = None, exact: bool = True
    ) -> list[tuple[int, float]]:
        m = self.m
        vector = m.SparseVector(indices=query[0], values=query[1]) if using == SPARSE else list(query)
        must: list[Any] = [m.FieldCondition(key="kind", match=m.MatchValue(value="chunk"))]
        if ids is not None:
            must.append(m.HasIdCondition(has_id=[int(i) for i in ids]))
        response = self.client.query_points(
            name,
            query=vector,
            using=using,
            limit=n,
            query_filter=m.Filter(must=must),
            search_params=m.SearchParams(exact=True) if using == DENSE and exact and not self.local else None,
        )
        return [(int(p.id), float(p.score)) for p in response.points]

    def retrieve(self, name: str, ids: Sequence[int], *, payload: bool, dense: bool) -> list[Found]:
        records = self.client.retrieve(
            name, [int(i) for i in ids], with_payload=payload, with_vectors=[DENSE] if dense else False
        )
        return [_found(r.id, r.payload, r.vector, dense) for r in records]

    def scroll(self, name: str, match: Mapping[str, Any], *, payload: bool | list[str] = True) -> Iterator[Found]:
        m = self.m
        conditions = [
            m.FieldCondition(
                key=key, match=m.MatchAny(any=list(v)) if isinstance(v, list | tuple) else m.MatchValue(value=v)
            )
            for key, v in match.items()
        ]
        offset = None
        while True:
            records, offset = self.client.scroll(
                name, scroll_filter=m.Filter(must=conditions), limit=SCROLL_PAGE, offset=offset, with_payload=payload
            )
            for r in records:
                yield _found(r.id, r.payload, None, False)
            if offset is None:
                return

    def flush(self, name: str) -> None:
        """Upserts wait for the server's acknowledgement; nothing more to do."""

    def close(self) -> None:
        self.client.close()


def _found(point_id: Any, payload: Any, vector: Any, dense: bool) -> Found:
    values = vector.get(DENSE) if dense and isinstance(vector, dict) else None
    return Found(int(point_id), dict(payload or {}), list(values) if values is not None else None)

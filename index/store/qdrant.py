"""The Qdrant store: the same Store / StoreReader / StoreWriter as the local one, kept in Qdrant.

Chosen by ``steppe index build --store qdrant`` with ``STEPPE_QDRANT_PATH`` (the embedded engine,
qdrant-edge-py) or ``STEPPE_QDRANT_URL`` (+ ``STEPPE_QDRANT_API_KEY``, a server or cluster through
qdrant-client). The build writes ``store.json`` into the index folder naming the store and the
collection, so every later command on that folder follows it; where Qdrant is still comes from the
environment.

Every index generation is its own collection (shard), made live by switching the alias, so a
killed build leaves the previous one answering. Point ids are 63-bit integers from content hashes:
a chunk's id changes when its document, place or embedding text change, and only such chunks are
embedded again. Dense search is exact cosine similarity on the ``dense`` vector; BM25 is Qdrant's
own encoder (stemming and stopwords in the document's language) on the ``bm25`` sparse vector with
Qdrant's IDF. Filters are payload conditions. The engines are in index/store/qdrant_engines.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from index.config import Settings, resolve
from index.errors import IndexCorrupt, IndexNotFound, UserFacingError
from index.language import detect_language
from index.models import Chunk, DocInfo, Filters, IndexStats, SourceStats, source_attribution
from index.store.base import PendingChunk, PendingDocument, Scored
from index.store.generations import REBUILD_HINT, Manifest, build_lock
from index.store.qdrant_engines import DENSE, SPARSE, ClientEngine, EdgeEngine, Engine, Found, PointData
from index.store.vectors import FLAT_LIMIT

STORE_FILE = "store.json"  # in the index folder: which store serves it, and the collection
FILTER_CACHE = 256
_DOC_FIELDS = [f for f in DocInfo.__dataclass_fields__]
_CHUNK_FIELDS = ["doc_id", "seq", "start", "end", "text"]
BM25_LANGUAGES = {"ru": "russian", "kk": "russian", "en": "english"}  # Kazakh text is mostly Cyrillic
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def point_id(key: str) -> int:
    """A stable 63-bit point id from a key (Qdrant ids are unsigned 64-bit; stay clear of the sign bit)."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") >> 1


MANIFEST_ID = point_id("steppe:manifest")


def read_store_file(index_dir: Path) -> dict[str, str] | None:
    """The index folder's store.json, or None when the local store serves it."""
    path = Path(index_dir) / STORE_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("store") != "qdrant" or not data.get("collection"):
            raise ValueError("no Qdrant store and collection named")
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"{path} is unreadable ({exc}). {REBUILD_HINT}") from exc
    return data


def collection_for(index_dir: Path, settings: Settings) -> str:
    """The collection of an index folder: as recorded, else STEPPE_QDRANT_COLLECTION, else
    ``steppe-<folder name>-<hash of its path>`` (two folders both called "index" never share one)."""
    recorded = read_store_file(index_dir)
    if recorded:
        return recorded["collection"]
    if settings.qdrant_collection:
        return settings.qdrant_collection
    folder = Path(index_dir).resolve()
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", folder.name).strip("-") or "index"
    return f"steppe-{name}-{hashlib.sha256(str(folder).encode()).hexdigest()[:6]}"


def connect_engine(collection: str, settings: Settings) -> Engine:
    """The engine the settings point at; a clear message when neither location is set."""
    if settings.qdrant_url:
        return ClientEngine(
            collection, url=settings.qdrant_url, api_key=settings.qdrant_api_key, replicas=settings.qdrant_replicas
        )
    if settings.qdrant_path:
        return EdgeEngine(Path(settings.qdrant_path) / collection)
    raise UserFacingError(
        "This index lives in Qdrant: set STEPPE_QDRANT_PATH (the embedded engine's folder) "
        "or STEPPE_QDRANT_URL (a Qdrant server) to say where."
    )


class SparseEncoder:
    """Qdrant's own BM25 encoder, one per language (stemmer and stopwords of that language)."""

    def __init__(self) -> None:
        import qdrant_edge

        self._q = qdrant_edge
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _model(self, language: str) -> Any:
        with self._lock:
            model = self._models.get(language)
            if model is None:
                model = self._models[language] = self._q.Bm25(self._q.Bm25Config(language=language))
            return model

    def document(self, text: str, language: str) -> tuple[list[int], list[float]]:
        """The sparse vector of a passage in its document's language."""
        vector = self._model(language).embed_document(text)
        return list(vector.indices), list(vector.values)

    def query(self, terms: Sequence[str]) -> tuple[list[int], list[float]]:
        """The sparse vector of query terms: Cyrillic ones stemmed as Russian, the rest as English."""
        weights: Counter[int] = Counter()
        for language, words in (
            ("russian", [t for t in terms if _CYRILLIC.search(t)]),
            ("english", [t for t in terms if not _CYRILLIC.search(t)]),
        ):
            if words:
                vector = self._model(language).embed_query(" ".join(words))
                for index in vector.indices:
                    weights[int(index)] = 1  # a term counts once, as in an OR query
        return list(weights), [float(v) for v in weights.values()]


def _bm25_language(text: str) -> str:
    return BM25_LANGUAGES.get(detect_language(text[:2000]), "english")


# --- reading -------------------------------------------------------------------------------------


class QdrantReader:
    """One published generation (collection), read-only (the StoreReader of the Qdrant store)."""

    def __init__(self, engine: Engine, name: str, index_dir: Path) -> None:
        self.engine, self._name, self._index_dir = engine, name, index_dir
        self._sparse = SparseEncoder()
        try:
            found = engine.retrieve(name, [MANIFEST_ID], payload=True, dense=False)
            if not found:
                raise IndexCorrupt(f"The Qdrant collection {name} has no steppe manifest. {REBUILD_HINT}")
            data = json.loads(found[0].payload["manifest"])
            self._manifest = Manifest(**{k: v for k, v in data.items() if k in Manifest.__dataclass_fields__})
            fields = [*_DOC_FIELDS, "length"]
            docs = list(engine.scroll(name, {"kind": "doc"}, payload=fields))
        except UserFacingError:
            raise
        except Exception as exc:  # the engines raise their own types for a damaged store
            raise IndexCorrupt(f"The Qdrant collection {name} is unreadable ({exc}). {REBUILD_HINT}") from exc
        self._docs = {d.payload["doc_id"]: DocInfo(**{k: d.payload.get(k) for k in _DOC_FIELDS}) for d in docs}
        self._lengths = {d.payload["doc_id"]: int(d.payload.get("length", 0)) for d in docs}
        if len(self._docs) != self._manifest.documents:
            raise IndexCorrupt(
                f"The Qdrant collection {name} holds {len(self._docs)} documents, its manifest says "
                f"{self._manifest.documents}: it is incomplete. {REBUILD_HINT}"
            )
        self._allowed: dict[Filters, np.ndarray] = {}

    read_errors: tuple[type[BaseException], ...] = (IndexCorrupt, FileNotFoundError, RuntimeError, ValueError)

    @property
    def name(self) -> str:
        """The generation's collection name."""
        return self._name

    @property
    def manifest(self) -> Manifest:
        """The generation's manifest (kept as a point in the collection)."""
        return self._manifest

    @property
    def manifest_path(self) -> Path:
        """The index folder's store.json, which names the collection."""
        return self._index_dir / STORE_FILE

    @property
    def documents(self) -> dict[str, DocInfo]:
        """Every document's citation fields by id."""
        return self._docs

    @property
    def document_lengths(self) -> dict[str, int]:
        """Characters of each document's text, by id."""
        return self._lengths

    def exists(self) -> bool:
        """False once a later build dropped this collection."""
        return self.engine.exists(self._name)

    def allowed_ids(self, filters: Filters | None) -> np.ndarray | None:
        """Sorted chunk ids passing the filters (payload conditions), or None when nothing is filtered."""
        if filters is None or filters.is_empty():
            return None
        cached = self._allowed.get(filters)
        if cached is None:
            match: dict[str, Any] = {"kind": "chunk"}
            if filters.sources or filters.since or filters.until:
                match["doc_id"] = [d for d, info in self._docs.items() if _document_passes(info, filters)]
            if filters.countries:
                match["countries"] = list(filters.countries)
            if match.get("doc_id") == []:
                cached = np.array([], dtype=np.int64)
            else:
                found = self.engine.scroll(self._name, match, payload=False)
                cached = np.array(sorted(f.id for f in found), dtype=np.int64)
            if len(self._allowed) >= FILTER_CACHE:
                self._allowed.pop(next(iter(self._allowed)))
            self._allowed[filters] = cached
        return cached

    def dense(self, vector: np.ndarray, n: int, allowed: np.ndarray | None = None) -> Scored:
        """Top-n chunk ids by exact cosine similarity, among ``allowed`` if given."""
        if n <= 0 or (allowed is not None and len(allowed) == 0):
            return []
        ids = None if allowed is None else allowed.tolist()
        exact = self._manifest.chunks <= FLAT_LIMIT or allowed is not None  # as the local store: HNSW when large
        return self.engine.search(self._name, DENSE, vector.astype(np.float32).tolist(), n, ids, exact)

    def dense_scores(self, vector: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Exact cosine similarity of the question to each of ``ids``."""
        found = {f.id: f.dense for f in self.engine.retrieve(self._name, ids.tolist(), payload=False, dense=True)}
        matrix = np.array([found[int(i)] for i in ids], dtype=np.float32).reshape(len(ids), -1)
        return matrix @ vector if len(ids) else np.zeros(0, dtype=np.float32)

    def bm25(
        self, terms: Sequence[str], n: int, allowed: np.ndarray | None = None, among: Sequence[int] | None = None
    ) -> Scored:
        """Top-n chunk ids by Qdrant's BM25, optionally only among some ids."""
        if not terms or (among is not None and not among):
            return []
        query = self._sparse.query(terms)
        if not query[0]:
            return []
        if among is not None:
            permitted = None if allowed is None else set(allowed.tolist())
            ids = [int(i) for i in among if permitted is None or int(i) in permitted]
            return self.engine.search(self._name, SPARSE, query, len(ids), ids) if ids else []
        if allowed is not None and len(allowed) == 0:
            return []
        return self.engine.search(self._name, SPARSE, query, n, None if allowed is None else allowed.tolist())

    def _chunk_payloads(self, ids: Iterable[int]) -> list[Found]:
        ids = [int(i) for i in ids]
        return self.engine.retrieve(self._name, ids, payload=True, dense=False) if ids else []

    def chunks(self, ids: Iterable[int]) -> dict[int, Chunk]:
        """Stored chunks by id."""
        return {
            f.id: Chunk(chunk_id=f.id, **{k: f.payload[k] for k in _CHUNK_FIELDS})
            for f in self._chunk_payloads(ids)
            if f.payload.get("kind") == "chunk"
        }

    def chunk_documents(self, ids: Iterable[int]) -> dict[int, str]:
        """The document id of each chunk id."""
        return {chunk_id: chunk.doc_id for chunk_id, chunk in self.chunks(ids).items()}

    def neighbours(self, chunk_id: int, before: int = 1, after: int = 1) -> list[Chunk]:
        """The chunk with up to ``before``/``after`` chunks of its document around it."""
        chunk = self.chunks([chunk_id]).get(int(chunk_id))
        if chunk is None:
            raise KeyError(chunk_id)
        seqs = list(range(chunk.seq - before, chunk.seq + after + 1))
        found = self.engine.scroll(self._name, {"kind": "chunk", "doc_id": chunk.doc_id, "seq": seqs})
        return sorted(
            (Chunk(chunk_id=f.id, **{k: f.payload[k] for k in _CHUNK_FIELDS}) for f in found), key=lambda c: c.seq
        )

    def document_text(self, doc_id: str) -> str:
        """The cleaned text of a document."""
        for found in self.engine.scroll(self._name, {"kind": "doc", "doc_id": doc_id}, payload=["text"]):
            return found.payload["text"]
        raise KeyError(doc_id)

    def stats(self) -> IndexStats:
        """Documents and chunks per source, dates, countries, model and size."""
        per_doc = Counter(
            f.payload["doc_id"] for f in self.engine.scroll(self._name, {"kind": "chunk"}, payload=["doc_id"])
        )
        countries: Counter[str] = Counter()
        for found in self.engine.scroll(self._name, {"kind": "doc"}, payload=["countries"]):
            countries.update(found.payload.get("countries") or [])
        groups: dict[tuple[str, str | None], list[DocInfo]] = {}
        for info in self._docs.values():
            groups.setdefault((info.source, info.license), []).append(info)
        sources = sorted(
            (
                SourceStats(
                    source=source,
                    license=license_,
                    documents=len(infos),
                    chunks=sum(per_doc[i.doc_id] for i in infos),
                    first_date=min((i.date for i in infos if i.date), default=None),
                    last_date=max((i.date for i in infos if i.date), default=None),
                    attribution=source_attribution(source, min((i.author for i in infos if i.author), default=None)),
                )
                for (source, license_), infos in groups.items()
            ),
            key=lambda s: -s.chunks,
        )
        dates = [i.date for i in self._docs.values() if i.date]
        m = self._manifest
        return IndexStats(
            documents=m.documents,
            chunks=m.chunks,
            model=m.model,
            backend=m.backend,
            dim=m.dim,
            built_at=m.built_at,
            size_bytes=sum(self._lengths.values()),
            sources=tuple(sources),
            countries=tuple(countries.most_common()),
            first_date=min(dates, default=None),
            last_date=max(dates, default=None),
        )

    def close(self) -> None:
        """Release the engine's shards or connection."""
        self.engine.close()


def _document_passes(info: DocInfo, filters: Filters) -> bool:
    """The source and date rules of the local store's filter SQL, on one document."""
    if filters.sources:
        source, doc_id = info.source.lower(), info.doc_id.lower()
        prefixes = [s.lower() for s in filters.sources]
        if not any(source.startswith(p) or f" {p}" in source or doc_id.startswith(p) for p in prefixes):
            return False
    if filters.since and (not info.date or info.date[: len(filters.since)] < filters.since):
        return False
    return not (filters.until and (not info.date or info.date[: len(filters.until)] > filters.until))


# --- writing -------------------------------------------------------------------------------------


class QdrantWriter:
    """A generation (collection) being built; live only once published (the StoreWriter)."""

    def __init__(self, engine: Engine, index_dir: Path, collection: str, name: str, previous: str | None) -> None:
        self.engine, self.index_dir, self.collection, self.name = engine, index_dir, collection, name
        self._sparse = SparseEncoder()
        self._dim: int | None = None
        self._previous = previous
        self._created = False

    def _ensure(self, dim: int) -> None:
        """Create the collection on the first write, copying the previous generation into it."""
        if self._created:
            return
        self.engine.create(self.name, dim)
        self._created, self._dim = True, dim
        if self._previous is not None:
            self._copy_previous()

    def _copy_previous(self) -> None:
        previous = self._previous
        batch: list[PointData] = []
        for found in self.engine.scroll(previous, {"kind": ["doc", "chunk"]}):
            payload = found.payload
            if payload["kind"] == "doc":
                batch.append(PointData(found.id, payload))
            else:
                batch.append(PointData(found.id, payload, None, self._sparse_of(payload)))
            if len(batch) >= 512:
                self._with_vectors(previous, batch)
                batch = []
        self._with_vectors(previous, batch)

    def _with_vectors(self, source: str, batch: list[PointData]) -> None:
        chunk_ids = [p.id for p in batch if p.sparse is not None]
        dense = {f.id: f.dense for f in self.engine.retrieve(source, chunk_ids, payload=False, dense=True)}
        self.engine.upsert(self.name, [PointData(p.id, p.payload, dense.get(p.id), p.sparse) for p in batch])

    def _sparse_of(self, payload: dict[str, Any]) -> tuple[list[int], list[float]]:
        return self._sparse.document(f"{payload['title']}\n{payload['text']}", payload.get("language", "english"))

    def drop_documents(self, doc_ids: Sequence[str]) -> dict[str, bytes]:
        """Delete documents with their chunks; return their vectors by embedding hash for reuse."""
        if not doc_ids or self._previous is None:
            return {}
        self._ensure(self._previous_dim())
        found = list(self.engine.scroll(self.name, {"kind": "chunk", "doc_id": list(doc_ids)}, payload=["embed_hash"]))
        vectors = {
            f.id: f.dense for f in self.engine.retrieve(self.name, [f.id for f in found], payload=False, dense=True)
        }
        reusable = {
            f.payload["embed_hash"]: np.asarray(vectors[f.id], dtype=np.float32).tobytes()
            for f in found
            if f.id in vectors
        }
        doc_points = [point_id(f"doc:{d}") for d in doc_ids]
        self.engine.delete(self.name, [f.id for f in found] + doc_points)
        return reusable

    def _previous_dim(self) -> int:
        found = self.engine.retrieve(self._previous, [MANIFEST_ID], payload=True, dense=False)
        return int(json.loads(found[0].payload["manifest"])["dim"])

    def stored_vector(self, embed_hash: str) -> bytes | None:
        """The vector of a stored chunk with this embedding hash, if any."""
        if not self._created:
            return None
        for found in self.engine.scroll(self.name, {"kind": "chunk", "embed_hash": embed_hash}, payload=False):
            vectors = self.engine.retrieve(self.name, [found.id], payload=False, dense=True)
            if vectors and vectors[0].dense is not None:
                return np.asarray(vectors[0].dense, dtype=np.float32).tobytes()
        return None

    def insert(self, documents: Sequence[PendingDocument], chunks: Sequence[PendingChunk]) -> None:
        """Add documents (payload-only points) and their chunks (dense + BM25 vectors, payload)."""
        dims = {len(c.vector) // 4 for c in chunks if c.vector}
        self._ensure(dims.pop() if dims else self._dim or (self._previous_dim() if self._previous else 1))
        languages = {p.document.doc_id: _bm25_language(p.document.text) for p in documents}
        points = []
        for pending in documents:
            doc = pending.document
            payload = {k: getattr(doc, k, None) for k in _DOC_FIELDS if k != "corpus"}
            payload.update(
                kind="doc",
                corpus=doc.doc_id.split("/", 1)[0],
                text=doc.text,
                length=len(doc.text),
                content_hash=pending.content_hash,
                countries=list(pending.countries),
                extra=json.dumps(doc.extra, ensure_ascii=False, sort_keys=True),
                language=languages[doc.doc_id],
            )
            points.append(PointData(point_id(f"doc:{doc.doc_id}"), payload))
        dates = {p.document.doc_id: p.document.date for p in documents}
        for chunk in chunks:
            payload = {
                "kind": "chunk",
                "doc_id": chunk.doc_id,
                "seq": chunk.seq,
                "start": chunk.start,
                "end": chunk.end,
                "text": chunk.text,
                "title": chunk.title,
                "countries": list(chunk.countries),
                "embed_hash": chunk.embed_hash,
                "date": dates.get(chunk.doc_id),
                "language": languages.get(chunk.doc_id, "english"),
            }
            dense = np.frombuffer(chunk.vector, dtype=np.float32).tolist() if chunk.vector else None
            key = f"chunk:{chunk.doc_id}:{chunk.seq}:{chunk.start}:{chunk.embed_hash}"
            points.append(PointData(point_id(key), payload, dense, self._sparse_of(payload)))
        self.engine.upsert(self.name, points)

    def counts(self) -> tuple[int, int]:
        """(documents, chunks) the generation holds now."""
        if not self._created:
            return 0, 0
        kinds = Counter(
            f.payload["kind"] for f in self.engine.scroll(self.name, {"kind": ["doc", "chunk"]}, payload=["kind"])
        )
        return kinds["doc"], kinds["chunk"]

    def publish(self, manifest: Manifest) -> str:
        """Write the manifest point, flush, switch the alias to this collection and record the store."""
        self._ensure(manifest.dim)
        manifest.documents, manifest.chunks = self.counts()
        manifest.faiss_factory = "qdrant"
        manifest.files = {}
        self.engine.upsert(
            self.name, [PointData(MANIFEST_ID, {"kind": "manifest", "manifest": json.dumps(asdict(manifest))})]
        )
        self.engine.flush(self.name)
        self.engine.switch(self.name)
        record = {"store": "qdrant", "collection": self.collection}
        path = self.index_dir / STORE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
        self._previous = None
        return self.name


# --- the store -----------------------------------------------------------------------------------


class QdrantStore:
    """An index folder whose generations live in Qdrant (the Store of the Qdrant implementation)."""

    def __init__(self, index_dir: Path, settings: Settings | None = None) -> None:
        self._index_dir = Path(index_dir)
        self.settings = resolve(settings)
        self.collection = collection_for(self._index_dir, self.settings)
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        """The engine, connected on first use."""
        if self._engine is None:
            self._engine = connect_engine(self.collection, self.settings)
        return self._engine

    @property
    def index_dir(self) -> Path:
        """The index folder (it holds store.json)."""
        return self._index_dir

    def published(self) -> str | None:
        """The collection the alias points at now."""
        try:
            return self.engine.live()
        except UserFacingError:
            return None

    def open(self, *, mmap: bool = False) -> QdrantReader:
        """A reader of the live collection (``mmap`` is the engine's business here)."""
        engine = connect_engine(self.collection, self.settings)  # a reader owns its engine
        name = engine.live()
        if name is None or not engine.exists(name):
            raise IndexNotFound(
                f"No index found in Qdrant collection {self.collection}. Build one with "
                f"`steppe index build --store qdrant --index-dir {self._index_dir}`."
            )
        return QdrantReader(engine, name, self._index_dir)

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """The index folder's build lock."""
        return build_lock(self._index_dir)

    def previous(self) -> Manifest | None:
        """The live collection's manifest, or None when there is none yet."""
        name = self.published()
        if name is None:
            return None
        found = self.engine.retrieve(name, [MANIFEST_ID], payload=True, dense=False)
        if not found:
            raise UserFacingError(f"The Qdrant collection {name} has no steppe manifest. Pass --rebuild to start over.")
        data = json.loads(found[0].payload["manifest"])
        return Manifest(**{k: v for k, v in data.items() if k in Manifest.__dataclass_fields__})

    def stored_hashes(self) -> dict[str, str]:
        """Content hash by document id in the live collection."""
        name = self.published()
        if name is None:
            return {}
        found = self.engine.scroll(name, {"kind": "doc"}, payload=["doc_id", "content_hash"])
        return {f.payload["doc_id"]: f.payload["content_hash"] for f in found}

    def passage_counts(self, doc_ids: Iterable[str]) -> dict[str, int]:
        """Chunks per document id in the live collection."""
        doc_ids = list(doc_ids)
        name = self.published()
        counts: Counter[str] = Counter()
        if name is not None and doc_ids:
            found = self.engine.scroll(name, {"kind": "chunk", "doc_id": doc_ids}, payload=["doc_id"])
            counts.update(f.payload["doc_id"] for f in found)
        return {doc_id: counts[doc_id] for doc_id in doc_ids}

    def discard(self) -> None:
        """Delete every generation of this index, its alias and its store.json (a throwaway index)."""
        self.engine.drop_all()
        (self._index_dir / STORE_FILE).unlink(missing_ok=True)

    @contextlib.contextmanager
    def writer(self, *, from_previous: bool) -> Iterator[QdrantWriter]:
        """A new collection; dropped again unless published."""
        name = f"{self.collection}-{time.strftime('%Y%m%d-%H%M%S')}-{time.monotonic_ns() % 10**6}"
        previous = self.published() if from_previous else None
        writer = QdrantWriter(self.engine, self._index_dir, self.collection, name, previous)
        published = False
        try:
            yield writer
            published = self.engine.live() == name
        finally:
            if not published and writer._created:
                self.engine.drop(name)

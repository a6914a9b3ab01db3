"""Where passages live: every read and write of an index, the document id rule, and the generations.

* base.py: the interfaces (Store, StoreReader, StoreWriter) the builder, searcher and service use.
* ids.py: the one rule deriving document ids from corpus folders and paths.
* generations.py: the index folder: CURRENT, gen-* folders, manifests, the build lock, publishing.
* local.py: the local implementation, FAISS + SQLite; the only module with SQL in it.
* vectors.py: the local store's FAISS files: flat or HNSW by size, memory-mapped when large.

* qdrant.py, qdrant_engines.py: the Qdrant implementation (embedded engine or a server).

``open_store(index_dir)`` returns the store serving a folder: Qdrant when the folder's store.json
says so (or a build asks for it with ``--store qdrant``), else the local one.
"""

from __future__ import annotations

from pathlib import Path

from index.config import Settings
from index.errors import UserFacingError
from index.store.base import PendingChunk, PendingDocument, Scored, Store, StoreReader, StoreWriter
from index.store.generations import MANIFEST, SCHEMA_VERSION, Manifest, current_generation
from index.store.ids import BUILTIN_FACTBOOK, PROJECT_LABEL, corpus_label, document_id, file_document_id

STORES = ("local", "qdrant")


def open_store(index_dir: Path, kind: str | None = None, settings: Settings | None = None) -> Store:
    """The store serving an index folder; ``kind`` ("local" or "qdrant") when a build chooses one."""
    from index.store.qdrant import read_store_file  # light: no engine loads until it is used

    recorded = "qdrant" if read_store_file(Path(index_dir)) else None
    if kind is not None and recorded is not None and kind != recorded:
        raise UserFacingError(
            f"The index in {index_dir} lives in Qdrant; use another --index-dir for a {kind} index "
            "(or delete the folder's store.json to start it over)."
        )
    if (kind or recorded) == "qdrant":
        from index.store.qdrant import QdrantStore

        return QdrantStore(Path(index_dir), settings)
    from index.store.local import LocalStore  # FAISS loads only where an index is used

    return LocalStore(Path(index_dir))


__all__ = [
    "BUILTIN_FACTBOOK",
    "MANIFEST",
    "PROJECT_LABEL",
    "SCHEMA_VERSION",
    "STORES",
    "Manifest",
    "PendingChunk",
    "PendingDocument",
    "Scored",
    "Store",
    "StoreReader",
    "StoreWriter",
    "corpus_label",
    "current_generation",
    "document_id",
    "file_document_id",
    "open_store",
]

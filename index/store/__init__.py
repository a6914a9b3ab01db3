"""Where passages live: every read and write of an index, the document id rule, and the generations.

* base.py: the interfaces (Store, StoreReader, StoreWriter) the builder, searcher and service use.
* ids.py: the one rule deriving document ids from corpus folders and paths.
* generations.py: the index folder: CURRENT, gen-* folders, manifests, the build lock, publishing.
* local.py: the local implementation, FAISS + SQLite; the only module with SQL in it.
* vectors.py: the local store's vector files: FAISS (flat or HNSW by size, memory-mapped when
  large) for chunks, memory-mapped float16 NumPy arrays for their sentences.

``open_store(index_dir)`` returns the store serving a folder. A Qdrant-backed store (issue 17)
implements the same interfaces and is chosen here.
"""

from __future__ import annotations

from pathlib import Path

from index.store.base import (
    PendingChunk,
    PendingDocument,
    Scored,
    Store,
    StoredVectors,
    StoreReader,
    StoreWriter,
)
from index.store.generations import MANIFEST, SCHEMA_VERSION, Manifest, current_generation
from index.store.ids import BUILTIN_FACTBOOK, PROJECT_LABEL, corpus_label, document_id, file_document_id


def open_store(index_dir: Path) -> Store:
    """The store of an index folder (the local FAISS + SQLite generations)."""
    from index.store.local import LocalStore  # FAISS loads only where an index is used

    return LocalStore(Path(index_dir))


__all__ = [
    "BUILTIN_FACTBOOK",
    "MANIFEST",
    "PROJECT_LABEL",
    "SCHEMA_VERSION",
    "Manifest",
    "PendingChunk",
    "PendingDocument",
    "Scored",
    "Store",
    "StoreReader",
    "StoreWriter",
    "StoredVectors",
    "corpus_label",
    "current_generation",
    "document_id",
    "file_document_id",
    "open_store",
]

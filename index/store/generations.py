"""An index folder of generations: the CURRENT pointer, the manifest, the build lock, atomic publishing.

Layout::

    INDEX_DIR/
      CURRENT              name of the live generation (replaced atomically)
      .lock                held by a running build
      gen-<stamp>/         one complete, immutable generation
        manifest.json      schema, model, dimension, chunking, counts, corpora, file sizes
        store.sqlite       documents, chunks, vectors, and an FTS5 table over chunk text
        index.faiss        the vectors; FAISS ids are SQLite chunk ids

A build writes a new generation in a temporary folder and only then points CURRENT at
it, so a crash or a full disk mid-build leaves the previous generation live. What is inside
a generation is the local store's business (index/store/local.py); this module knows folders.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import IndexCorrupt, IndexNotFound, ModelMismatch, UserFacingError

# 2: Russian words are stored normalised in the full-text table (index/text.py). A schema 1 index
# still answers (its Russian questions search as before) until the next build re-indexes it.
SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)
MANIFEST = "manifest.json"
STORE = "store.sqlite"
FAISS_FILE = "index.faiss"
CURRENT = "CURRENT"
REBUILD_HINT = "Rebuild it with `steppe index build --rebuild`."


@dataclass
class Manifest:
    """What an index generation promises about itself."""

    backend: str
    model: str
    dim: int
    chunking: dict[str, int]
    max_tokens: int
    schema_version: int = SCHEMA_VERSION
    normalized: bool = True
    metric: str = "inner_product"  # inner product of normalised vectors is cosine similarity
    faiss_factory: str = "IDMap,Flat"
    documents: int = 0
    chunks: int = 0
    built_at: str = ""
    corpora: list[dict[str, str]] = field(default_factory=list)
    files: dict[str, int] = field(default_factory=dict)  # file name -> size in bytes
    versions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        """The manifest as pretty JSON."""
        return json.dumps(self.__dict__, indent=2, sort_keys=True)

    @classmethod
    def from_file(cls, path: Path) -> Manifest:
        """Read and validate a manifest file."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            manifest = cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        except FileNotFoundError as exc:
            raise IndexCorrupt(f"The index manifest {path} is missing. {REBUILD_HINT}") from exc
        except (OSError, ValueError, TypeError) as exc:
            raise IndexCorrupt(f"The index manifest {path} is unreadable ({exc}). {REBUILD_HINT}") from exc
        if manifest.schema_version not in READABLE_SCHEMAS:
            raise ModelMismatch(
                f"The index at {path.parent} uses schema version {manifest.schema_version}, "
                f"this steppe reads versions {', '.join(map(str, READABLE_SCHEMAS))}. {REBUILD_HINT}"
            )
        return manifest

    @property
    def normalised_text(self) -> bool:
        """True when the full-text table holds Russian words in their normal forms (schema 2 on)."""
        return self.schema_version >= 2


def current_generation(index_dir: Path) -> Path:
    """The live generation folder, or IndexNotFound / IndexCorrupt with the fix."""
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        raise IndexNotFound(
            f"No index found in {index_dir}. Build one with `steppe index build` "
            "(or set STEPPE_INDEX_DIR to the folder that holds it)."
        )
    name = pointer.read_text(encoding="utf-8").strip()
    generation = index_dir / name
    if not name or "/" in name or not generation.is_dir():
        raise IndexCorrupt(f"The index pointer {pointer} names a missing generation {name!r}. {REBUILD_HINT}")
    return generation


def check_files(generation: Path, manifest: Manifest) -> None:
    """Raise IndexCorrupt naming the file when a file is missing or has the wrong size."""
    for name in (STORE, FAISS_FILE):
        path = generation / name
        if not path.is_file():
            raise IndexCorrupt(f"The index file {path} is missing. {REBUILD_HINT}")
        expected = manifest.files.get(name)
        if expected is not None and path.stat().st_size != expected:
            raise IndexCorrupt(
                f"The index file {path} is {path.stat().st_size} bytes, the manifest says {expected}: "
                f"it is truncated or was changed. {REBUILD_HINT}"
            )


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index directory's build lock; a second concurrent build waits for the first."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def new_generation(index_dir: Path) -> Path:
    """A fresh temporary folder for a generation being built (swept if a build dies)."""
    for stale in index_dir.glob(".tmp-gen-*"):
        shutil.rmtree(stale, ignore_errors=True)
    path = index_dir / f".tmp-gen-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    path.mkdir(parents=True)
    return path


def publish_generation(index_dir: Path, tmp: Path) -> Path:
    """Move a finished generation into place and point CURRENT at it, atomically."""
    final = index_dir / tmp.name.replace(".tmp-gen-", "gen-", 1)
    for child in tmp.iterdir():
        with open(child, "rb") as handle:
            os.fsync(handle.fileno())
    os.rename(tmp, final)
    pointer_tmp = index_dir / f".{CURRENT}.tmp"
    with open(pointer_tmp, "w", encoding="utf-8") as handle:
        handle.write(final.name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    previous = (index_dir / CURRENT).read_text().strip() if (index_dir / CURRENT).is_file() else None
    os.replace(pointer_tmp, index_dir / CURRENT)
    _fsync_dir(index_dir)
    # Keep the previous generation for readers that still have it open; drop older ones.
    for old in index_dir.glob("gen-*"):
        if old.name not in {final.name, previous}:
            shutil.rmtree(old, ignore_errors=True)
    return final


def describe_write_error(exc: OSError, index_dir: Path) -> UserFacingError:
    """Turn a failed write (full disk, permissions) into a clear message."""
    if exc.errno == errno.ENOSPC:
        reason = "the disk is full"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = "steppe may not write there"
    else:
        reason = exc.strerror or str(exc)
    return write_failed(index_dir, reason)


def write_failed(index_dir: Path, reason: str) -> UserFacingError:
    """The error of a build that could not write: the reason, and that nothing live changed."""
    return UserFacingError(
        f"Could not write the index in {index_dir}: {reason}. The previous index is unchanged and still used."
    )


def load_manifest(index_dir: Path) -> tuple[Path, Manifest]:
    """The live generation and its manifest."""
    generation = current_generation(index_dir)
    return generation, Manifest.from_file(generation / MANIFEST)


def dir_size(path: Path) -> int:
    """Total bytes of the files in a folder."""
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def published_name(index_dir: Path) -> str | None:
    """The name CURRENT points to now (one small read), or None if it is missing or unreadable."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return name or None

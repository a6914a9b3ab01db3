"""The one rule for document ids: ``<corpus label>/<path in the corpus>[#<fragment>]``.

Ids are stable across runs and machines, so an unchanged file keeps its passages (and vectors)
from one build to the next. The loaders, the builder, ``corpus add`` and the evaluation all
derive ids here; chunk ids are the store's own (SQLite row ids, which are also FAISS ids).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

PROJECT_LABEL = "project"  # the project's own corpus folder (Settings.project_corpus)
BUILTIN_FACTBOOK = "builtin:factbook"  # a corpus spec that is not a folder: the packaged Factbook


def document_id(label: str, path: str, fragment: str | None = None) -> str:
    """The id of the document at ``path`` (POSIX, relative to its corpus) of corpus ``label``.

    ``fragment`` tells apart the documents of one file (Factbook sections, JSON records).
    """
    return f"{label}/{path}" + (f"#{fragment}" if fragment else "")


def corpus_label(root: Path, specs: Sequence[str], project: Path) -> str:
    """The label of a corpus folder among the ``specs`` of one build: "project" for ``project``,
    else the folder's name; when two folders share a name, their parent's name tells them apart."""
    root, project = Path(root).resolve(), Path(project).resolve()
    if root == project:
        return PROJECT_LABEL
    names = [Path(s).resolve().name for s in specs if s != BUILTIN_FACTBOOK and Path(s).resolve() != project]
    if names.count(root.name) > 1 or root.name == PROJECT_LABEL:
        return f"{root.parent.name}-{root.name}"
    return root.name


def file_document_id(file: Path, specs: Sequence[str], project: Path) -> str | None:
    """The id a build over ``specs`` gives the (first) document of ``file``, or None when no
    corpus folder among them holds the file (the innermost folder wins)."""
    try:
        resolved = Path(file).resolve()
    except OSError:
        return None
    roots = [Path(s).resolve() for s in specs if s != BUILTIN_FACTBOOK and resolved.is_relative_to(Path(s).resolve())]
    if not roots:
        return None
    root = max(roots, key=lambda p: len(p.parts))
    return document_id(corpus_label(root, specs, project), resolved.relative_to(root).as_posix())

"""Reruns: whether a finished result of an earlier run can be reused.

A result is reused only when the submission's content (:func:`submission_digest`) and
the kit (:func:`kit_version`) are those it was graded with (:func:`regrade_reason`).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat

from . import course
from .uploads import is_os_junk, regular_files


def _hash_file(digest, path):
    with open(path, "rb") as f:
        while chunk := f.read(2**20):
            digest.update(chunk)


def submission_digest(path: str | Path) -> str | None:
    """A fingerprint of a submission's content: a zip's bytes, or a folder's files.

    A folder's fingerprint covers each regular file's path relative to it, its bytes and
    its date (of several copies of a notebook, intake grades the newest), with OS junk,
    checkpoints and symbolic links left out as intake leaves them: renaming, editing,
    touching, adding or removing a file changes it; a copy that keeps dates does not.

    Returns
    -------
    str or None
        ``"sha256:<hex>"``, or None when the submission cannot be read (never reused then).
    """
    path = Path(path)
    digest = hashlib.sha256()
    try:
        if path.is_dir() and not path.is_symlink():
            files = [
                p
                for p in regular_files(path)
                if not any(is_os_junk(part) for part in p.relative_to(path).parts)
            ]
            for file in sorted(files, key=lambda p: p.relative_to(path).as_posix()):
                name = file.relative_to(path).as_posix().encode("utf-8", "surrogateescape")
                info = file.stat()
                digest.update(len(name).to_bytes(8, "big") + name)
                # The date too: of several copies of a notebook, intake grades the newest.
                digest.update(info.st_size.to_bytes(8, "big") + info.st_mtime_ns.to_bytes(8, "big"))
                _hash_file(digest, file)
        else:
            _hash_file(digest, path)
    except OSError:
        return None
    return f"sha256:{digest.hexdigest()}"


# The kit's files that decide a grade; a change to any of them regrades every submission.
KIT_VERSION_FILES = (
    "cs_loss/**/*.py",
    "notebooks/*.ipynb",
    "grading/**/*.py",  # the topics' declarations, isolation, the nbgrader config file too
    "grading/*.npz",
    "grading/*.json",
    "data/get_datasets.py",
)


def kit_version(kit: str | Path | None = None) -> str:
    """A fingerprint of the kit's grading-relevant files (:data:`KIT_VERSION_FILES`)."""
    kit = Path(kit or course.KIT_ROOT)
    files = sorted(
        {
            p
            for pattern in KIT_VERSION_FILES
            for p in kit.glob(pattern)
            if p.is_file() and "__pycache__" not in p.parts
        }
    )
    digest = hashlib.sha256()
    for file in files:
        name = file.relative_to(kit).as_posix().encode()
        digest.update(len(name).to_bytes(8, "big") + name)
        if file.suffix == ".ipynb":  # its cells, not their outputs: running it changes nothing
            digest.update(_notebook_sources(file))
        else:
            digest.update(file.stat().st_size.to_bytes(8, "big"))
            _hash_file(digest, file)
    return f"sha256:{digest.hexdigest()[:16]}"


def _notebook_sources(path):
    """A notebook's cells without outputs or counts (what generate_assignment keeps), as bytes;
    the file's bytes when it is not a readable notebook."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            notebook = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - nbformat raises many kinds; the bytes will do
        return Path(path).read_bytes()
    cells = [[c.cell_type, c.source, c.metadata.get("nbgrader", {})] for c in notebook.cells]
    return json.dumps(cells, sort_keys=True).encode()


def regrade_reason(saved: Mapping[str, Any] | None, digest: str | None, kit: str) -> str | None:
    """Why a submission is graded again, or None when its finished result can be reused.

    Parameters
    ----------
    saved : dict or None
        The finished result of an earlier run (``finished/<student>.json``), if any.
    digest : str or None
        :func:`submission_digest` of the submission now.
    kit : str
        :func:`kit_version` now.
    """
    if saved is None:
        return "new"
    if "submission_digest" not in saved or "kit_version" not in saved:
        return "its earlier result has no fingerprint (an older grader)"
    if digest is None or saved["submission_digest"] != digest:
        return "the submission changed"
    if saved["kit_version"] != kit:
        return "the kit changed"
    if saved.get("error"):
        return f"its earlier grading did not finish ({saved['error'][:80]})"
    return None

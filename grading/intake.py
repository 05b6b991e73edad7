"""Intake: what was uploaded, read into a clean folder per student.

The first step of the pipeline (:mod:`grading.autograde` runs the rest):

- :func:`expand_submissions` reads the paths a TA gives: a zip, a student's
  folder, or a class folder, where every entry gets a row (graded, or with the
  reason it is not) and operating-system junk is set aside and named;
- :func:`assign_ids` gives each submission a safe student id, never the same
  one to two uploads;
- :func:`intake` unpacks one submission within caps (size, ratio, members,
  name length; no symlinks followed) into a folder with the three notebooks
  under their canonical names and the student's ``cs_loss`` files; anything
  missing, unreadable or ambiguous becomes a flag, and an upload that cannot
  be read at all raises :class:`IntakeError` with the reason for the student;
- :func:`submission_digest`, :func:`kit_version` and :func:`regrade_reason`
  decide whether a finished result of an earlier run can be reused.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import nbformat

from . import course
from .classfolder import Entry, Expansion, expand_submissions, lone_zip
from .rerun import kit_version, regrade_reason, submission_digest
from .results import Flag, FlagKind
from .uploads import (
    NOT_A_SUBMISSION,
    UNREADABLE_ZIP,
    IntakeError,
    canonical_name,
    is_os_junk,
    looks_like_zip,
    regular_files,
    safe_extract,
    zip_problem,
)

__all__ = [
    "UNREADABLE_ZIP",
    "Entry",
    "Expansion",
    "IntakeError",
    "assign_ids",
    "canonical_name",
    "expand_submissions",
    "intake",
    "is_os_junk",
    "is_release",
    "kit_version",
    "looks_like_zip",
    "regrade_reason",
    "student_id",
    "submission_digest",
    "zip_problem",
]


ID_MAX = 100  # characters of a student id: report file names add a few to it, under 255 bytes


def student_id(path: str | Path) -> str:
    """A safe id from a submission's file or folder name: letters of any script, digits,
    ``_`` and ``-``; at most :data:`ID_MAX` characters (a longer name keeps its start and a
    short hash of the whole, so two long names stay apart)."""
    stem = Path(path).name
    if stem.lower().endswith(".zip"):
        stem = stem[: -len(".zip")]
    sid = re.sub(r"[^\w-]+", "_", stem).strip("_") or "student"
    if len(sid.encode()) > ID_MAX:
        digest = hashlib.sha1(sid.encode("utf-8", "surrogateescape")).hexdigest()[:8]
        sid = sid.encode()[: ID_MAX // 2].decode("utf-8", "ignore") + "-" + digest
    return sid


def assign_ids(
    submissions: Sequence[str | Path],
) -> tuple[list[str], list[Flag | None]]:
    """One id per submission, and a note for each id that had to be changed.

    Ids come from the file names (:func:`student_id`), so "alice smith.zip" and
    "alice_smith.zip" would share one: then neither gets it. Each gets the id
    plus a short hash of its path (the same whatever the order of the
    submissions), and a note asking to check who it belongs to.
    """
    base = [student_id(path) for path in submissions]
    ids, notes = [], []
    for path, sid in zip(submissions, base, strict=True):
        if base.count(sid) == 1:
            ids.append(sid)
            notes.append(None)
            continue
        unique = f"{sid}-{hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:6]}"
        while unique in ids or unique in base:  # the same path twice; a file named like it
            unique += "_"
        ids.append(unique)
        others = sorted(
            repr(Path(q).name)
            for q, b in zip(submissions, base, strict=True)
            if b == sid and q != path
        )
        notes.append(
            Flag(
                FlagKind.REVIEW,
                f"review: the name {Path(path).name!r} gives the same id as "
                f"{', '.join(others)}: graded as {unique}; check which student it belongs to",
            )
        )
    return ids, notes


def intake(submission: str | Path, dest: str | Path, stub_dir: str | Path) -> list[Flag]:
    """Lay out one submission in ``dest`` (notebooks + cs_loss); return its flags.

    Parameters
    ----------
    submission : path
        A folder or a zip file.
    dest : path
        The folder to fill: ``dest/knn.ipynb``..., ``dest/cs_loss/*.py``.
    stub_dir : path
        The release folder: its stubs stand in for missing student files.
    """
    submission, dest = Path(submission), Path(dest)
    flags: list[Flag] = []
    with tempfile.TemporaryDirectory(prefix="cs_loss_intake_") as tmp:
        if submission.is_symlink():
            raise IntakeError("the submission is a symbolic link: not followed")
        if not submission.exists():
            raise IntakeError(
                f"{submission.name} was not found when its turn came (moved or "
                "deleted after the uploads were read): upload it again"
            )
        if submission.is_file() and (zipfile.is_zipfile(submission) or looks_like_zip(submission)):
            root = Path(tmp)
            safe_extract(submission, root)
        elif submission.is_dir() and (inner := lone_zip(submission)) is not None:
            root = Path(tmp)  # an LMS's folder per student, holding the student's zip
            safe_extract(inner, root)
            flags.append(
                _note(f"graded the zip {inner.name!r} found in the folder {submission.name!r}")
            )
        elif submission.is_dir():
            root = submission
        else:
            raise IntakeError(f"{submission.name} is {NOT_A_SUBMISSION}")
        files = regular_files(root)
        dest.mkdir(parents=True, exist_ok=True)
        student_files = 0  # notebooks and package files the submission holds
        unreadable = False  # a notebook replaced by the release's: the student did hand in work
        for canonical in course.NOTEBOOKS:
            found = [p for p in files if canonical_name(p.name) == canonical]
            student_files += bool(found)
            if not found:
                flags.append(_note(f"missing notebook {canonical}: graded as blank"))
                shutil.copy(Path(stub_dir) / canonical, dest / canonical)
                continue
            chosen = max(found, key=lambda p: p.stat().st_mtime)
            if chosen.name != canonical:
                flags.append(_note(f"{chosen.name!r} graded as {canonical}"))
            if len(found) > 1:
                others = ", ".join(sorted(repr(p.name) for p in found if p != chosen))
                flags.append(
                    _note(
                        f"several files for {canonical}: graded the newest, "
                        f"{chosen.name!r} (not {others})"
                    )
                )
            try:  # a truncated or non-JSON notebook costs that notebook only, not all three
                with warnings.catch_warnings():  # duplicate cell ids are repaired, not fatal
                    warnings.simplefilter("ignore")
                    notebook = nbformat.read(chosen, as_version=4)
                    nbformat.validate(notebook)
                    flags += _drop_duplicate_ids(notebook, canonical)
                    nbformat.write(notebook, dest / canonical)
            except Exception:  # noqa: BLE001 - nbformat raises many kinds
                flags.append(_note(f"{canonical} is not a readable notebook: graded as blank"))
                unreadable = True
                shutil.copy(Path(stub_dir) / canonical, dest / canonical)
        (dest / "cs_loss").mkdir(exist_ok=True)
        for path in sorted(Path(stub_dir, "cs_loss").glob("*.py")):
            shutil.copy(path, dest / "cs_loss" / path.name)
        for student_file in course.STUDENT_FILES:
            name = Path(student_file).name
            found = [p for p in files if p.name == name and p.parent.name == "cs_loss"]
            student_files += bool(found)
            if not found:
                flags.append(_note(f"missing {student_file}: graded as the unchanged stub"))
                continue
            chosen = max(found, key=lambda p: p.stat().st_mtime)
            if len(found) > 1:
                flags.append(_note(f"several copies of {student_file}: graded the newest"))
            shutil.copyfile(chosen, dest / "cs_loss" / name)
    if not student_files:
        flags.append(EMPTY_FLAG)
    elif not unreadable and is_release(dest, stub_dir):
        flags.append(UNTOUCHED_FLAG)
    return flags


# Flags that the class report counts as "not attempted", by their kind.
EMPTY_FLAG = Flag(
    FlagKind.EMPTY,
    "empty: the submission holds no notebook and no cs_loss file (nothing to grade)",
)
UNTOUCHED_FLAG = Flag(
    FlagKind.UNTOUCHED,
    "untouched: the files are the release as handed out (no exercise attempted)",
)


def _note(message: str) -> Flag:
    """A flag saying how the upload was read (it asks for no review)."""
    return Flag(FlagKind.NOTE, message)


def _answer_cells(notebook_path):
    """``{grade_id: source}`` of a notebook's answer cells (code and written), or None
    when it is unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            notebook = nbformat.read(notebook_path, as_version=4)
    except Exception:  # noqa: BLE001 - nbformat raises many kinds; unreadable is not the release
        return None
    return {
        c.metadata["nbgrader"].get("grade_id"): c.source
        for c in notebook.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }


def is_release(laid_out: str | Path, stub_dir: str | Path) -> bool:
    """Whether a laid-out submission is the release as handed out.

    True when every student file of ``cs_loss`` has the bytes of the release's stub and
    every answer cell of the notebooks (code and written) has the release's source.
    Outputs and execution counts are not compared: running the blank release changes nothing.
    """
    laid_out, stub_dir = Path(laid_out), Path(stub_dir)
    for student_file in course.STUDENT_FILES:
        mine, stub = laid_out / student_file, stub_dir / student_file
        if not mine.is_file() or not stub.is_file() or mine.read_bytes() != stub.read_bytes():
            return False
    for name in course.NOTEBOOKS:
        answers = _answer_cells(laid_out / name)
        if answers is None or answers != _answer_cells(stub_dir / name):
            return False
    return True


def _drop_duplicate_ids(notebook: nbformat.NotebookNode, name: str) -> list[Flag]:
    """A pasted cell repeats a grade id, which makes nbgrader stop: keep the first, unmark
    the rest."""
    flags, seen, cell_ids = [], set(), set()
    for cell in notebook.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid and gid in seen:
            cell.metadata.pop("nbgrader")
            flags.append(
                Flag(
                    FlagKind.NOTE,
                    f"cell {gid} appears twice (a pasted cell?): graded the first copy",
                    where=name,
                )
            )
        elif gid:
            seen.add(gid)
        if cell.get("id") in cell_ids:
            cell["id"] = f"dup{len(cell_ids)}"
        cell_ids.add(cell.get("id"))
    return flags

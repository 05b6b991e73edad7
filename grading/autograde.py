"""Grade a class of submissions: intake, a sandbox per submission, trusted checks, reports.

Pipeline, per run:

1. ``prepare``: build the release once into a course directory (the template),
   with its gradebook holding the assignment.
2. ``intake``: each submission (a folder or a zip, as downloaded from an LMS or
   Colab) is unpacked within caps (size, ratio, members, name length; no
   symlinks followed) into a clean folder with the three notebooks under their
   canonical names and the student's ``cs_loss`` files; anything missing,
   unreadable or ambiguous becomes a flag, and a submission that cannot be read
   at all is recorded with the reason while the batch goes on.
3. ``grade_one`` (in a worker process with a wall-clock and a memory limit),
   inside a :class:`grading.sandbox.Sandbox` (its own user when the grader is
   root): the hidden package tests (:mod:`grading.package`) first, then
   nbgrader's autograde with the kit's preprocessors
   (:mod:`grading.preprocessors`) in what is left of the time budget. Test
   cells only export values; the verdicts come from
   :mod:`grading.notebook_checks`, in nbgrader's process.
4. ``report``: as each submission finishes, its result is cleaned (valid
   UTF-8, messages quoting the grader's code withheld) and saved, and the
   per-test CSV (cells that cannot start a formula), JSON and feedback pages
   are rewritten atomically.

A class folder is read by :func:`expand_submissions`: every entry gets a row
(graded, or with the reason it is not), OS junk is set aside and named. A
rerun into the same reports folder reuses a finished result only when the
submission's content and the kit's version are those it was graded with
(:func:`submission_digest`, :func:`kit_version`, :func:`regrade_reason`).
"""

import ast
import csv
import hashlib
import html
import io
import itertools
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import course, package
from . import sandbox as sandbox_module
from .release import build_release, find_leaks, secret_lines
from .sandbox import Sandbox

CANONICAL = {Path(n).stem: n for n in course.NOTEBOOKS}
# What in a student's own code deserves a human look (it costs no points). Read from the
# syntax tree, so a comment or a string that merely mentions these raises nothing.
SUSPICIOUS_EXITS = {("os", "_exit"), ("os", "kill"), ("os", "killpg"), ("sys", "exit"), ("os", "abort")}
IPYTHON_HOOKS = {"events", "input_transformers_post", "input_transformers_cleanup", "ast_transformers",
                 "run_cell", "set_custom_exc", "register_magic_function", "showtraceback",
                 "_showtraceback", "set_hook"}  # fmt: skip
READ_TARGETS = (".ipynb", "gradebook", ".db", "/proc", "expected.npz", "hidden_tests", "grading/")


def _dotted(node):
    """``"os._exit"`` for the expression ``os._exit``; None for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    if isinstance(node, ast.Call) and _dotted(node.func) == "get_ipython":
        return ".".join(["get_ipython()", *reversed(parts)])
    return None


def suspicious(text):
    """Review reasons for Python source ``text`` (IPython magics and shell lines are skipped)."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in text.splitlines()]
    try:
        tree = ast.parse("\n".join(lines))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name in ("__eq__", "__ne__", "__hash__", "__bool__"):
            found.add(f"defines {node.name}")
        elif isinstance(node, (ast.Name, ast.Attribute)):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name in ("builtins", "__builtins__"):
                found.add("touches builtins")
            if name in ("__eq__", "__ne__") and isinstance(node.ctx, ast.Store):
                found.add(f"defines {name}")
            dotted = _dotted(node) or ""
            if isinstance(node, ast.Attribute) and node.attr in IPYTHON_HOOKS and (
                    "get_ipython" in dotted or "ip" in dotted.split(".")[0].lower()):  # fmt: skip
                found.add("reaches into IPython")
            if dotted in ("nb.check", "nb.check_close") and isinstance(node.ctx, ast.Store):
                found.add("replaces a notebook check")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            if any(m.split(".")[0] in ("grading", "nbgrader") for m in modules):
                found.add("imports the grader")
            if any(m.split(".")[0] in ("builtins", "ctypes") for m in modules):
                found.add("touches builtins" if "builtins" in str(modules) else "loads native code")
        elif isinstance(node, ast.Call):
            dotted = _dotted(node.func) or ""
            if tuple(dotted.split(".")[-2:]) in SUSPICIOUS_EXITS or dotted.startswith("signal."):
                found.add("exits the kernel or sends signals")
            if dotted in ("setattr",) and node.args and _dotted(node.args[0]) in ("builtins", "np", "numpy"):
                found.add("touches builtins")
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and any(
                        t in arg.value for t in READ_TARGETS):  # fmt: skip
                    found.add("opens notebooks, the gradebook, /proc or the grader's files")
        if isinstance(node, ast.Assign):
            for target in node.targets:
                dotted = _dotted(target) or ""
                if dotted.split(".")[0] in ("np", "numpy") and "." in dotted:
                    found.add(f"rebinds {dotted}")
    return found


def canonical_name(filename):
    """``knn.ipynb`` for "Copy of knn (1).ipynb", "KNN.ipynb", "knn-2.ipynb"...; else None."""
    stem = Path(filename).name
    if not stem.lower().endswith(".ipynb"):
        return None
    stem = stem[: -len(".ipynb")].strip().lower()
    while stem.startswith("copy of "):
        stem = stem[len("copy of "):].strip()
    stem = re.sub(r"(\s*\(\d+\)|[-_ ]copy|[-_ ]\d+)+$", "", stem).strip()
    return CANONICAL.get(stem)


def student_id(path):
    """A safe id from a submission's file or folder name."""
    stem = Path(path).name
    for suffix in (".zip", ".ZIP"):
        stem = stem.removesuffix(suffix)
    return re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_") or "student"


def _readable_by_others(path):
    """Whether a user who is neither the owner of ``path`` nor in its group can read it."""
    path = Path(path).resolve()
    try:
        if any(not os.stat(folder).st_mode & 0o001 for folder in path.parents):
            return False  # a folder on the way is closed to others
        return bool(os.stat(path).st_mode & 0o004)
    except OSError:
        return False


def open_secrets(kit=None):
    """The kit's files that hold answers (reference solutions, source notebooks, expected
    values, the notebook checks) and that any user of the machine, a sandbox user too,
    can read."""
    kit = Path(kit or course.KIT_ROOT)
    secrets = [*(kit / name for name in course.STUDENT_FILES), *sorted((kit / "notebooks").glob("*.ipynb")),
               kit / "grading" / "expected.npz", kit / "grading" / "notebook_checks.py"]  # fmt: skip
    return [path for path in secrets if path.exists() and _readable_by_others(path)]


def warn_open_secrets(stream=None):
    """As root: say loudly if student code could read the kit's answers; return the paths."""
    found = open_secrets()
    if found:
        kit = course.KIT_ROOT
        print(f"WARNING: {len(found)} files of the kit that hold answers (e.g. "
              f"{found[0].relative_to(kit)}) are readable by every user of this machine, so a "
              "submission can read the reference solutions and expected values. Close them: "
              f"chmod -R go-rwx {kit / 'cs_loss'} {kit / 'notebooks'} {kit / 'grading'} "
              "(the virtual environment may stay open).", file=stream or sys.stderr)  # fmt: skip
    return found


def assign_ids(submissions):
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
        while unique in ids:  # the same path given twice
            unique += "_"
        ids.append(unique)
        others = sorted(repr(Path(q).name) for q, b in zip(submissions, base, strict=True)
                        if b == sid and q != path)  # fmt: skip
        notes.append(f"review: the name {Path(path).name!r} gives the same id as {', '.join(others)}: "
                     f"graded as {unique}; check which student it belongs to")  # fmt: skip
    return ids, notes


# Caps on what a zip may unpack to: a zip bomb or a junk archive fails that submission only.
ZIP_MAX_TOTAL = 200 * 2**20
ZIP_MAX_MEMBERS = 2000
ZIP_MAX_RATIO = 200
ZIP_MAX_NAME = 255


class IntakeError(ValueError):
    """A submission that cannot be laid out; the reason is shown to the student."""


UNREADABLE_ZIP = "not a readable zip file (the file is truncated or damaged): upload it again"


def looks_like_zip(path):
    """Whether the file ``path`` is meant as a zip: its name ends in .zip or it starts with ``PK``.

    A truncated upload has no end-of-central-directory record, so
    :func:`zipfile.is_zipfile` says no; it is still a zip that failed to read, not some other file.
    """
    path = Path(path)
    if path.name.lower().endswith(".zip"):
        return True
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"PK"
    except OSError:
        return False


def zip_problem(path):
    """Why the zip ``path`` cannot be opened (:data:`UNREADABLE_ZIP`), or None when it can."""
    try:
        with zipfile.ZipFile(path):
            return None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return UNREADABLE_ZIP


def _safe_extract(zip_path, dest):
    """Unpack ``zip_path`` into ``dest`` within the caps; skip unsafe or junk members."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise IntakeError(UNREADABLE_ZIP) from None
    with archive:
        members = archive.infolist()
        if len(members) > ZIP_MAX_MEMBERS:
            raise IntakeError(f"the zip holds {len(members)} files; at most {ZIP_MAX_MEMBERS} are read")
        total = 0
        for member in members:
            name = member.filename
            if (name.startswith(("__MACOSX/", "/")) or ".." in Path(name).parts
                    or len(name) > ZIP_MAX_NAME or any(len(p) > 200 for p in Path(name).parts)
                    or (member.external_attr >> 16) & 0o170000 == 0o120000):  # a symlink  # fmt: skip
                continue
            if member.flag_bits & 0x1:
                raise IntakeError("the zip is encrypted (password-protected): upload it without a password")
            if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED,
                                            zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):  # fmt: skip
                raise IntakeError(f"the zip uses an unsupported compression ({member.compress_type}): "
                                  "zip it again with your system's standard zip tool")  # fmt: skip
            target = dest / name
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            try:
                with archive.open(member) as source, open(target, "wb") as out:
                    while chunk := source.read(2**20):
                        written += len(chunk)
                        total += len(chunk)
                        if total > ZIP_MAX_TOTAL or written > ZIP_MAX_RATIO * max(member.compress_size, 2**16):
                            raise IntakeError("the zip unpacks to far more than a submission holds "
                                              f"(over {ZIP_MAX_TOTAL // 2**20} MiB or a ratio over {ZIP_MAX_RATIO})")  # fmt: skip
                        out.write(chunk)
            except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
                raise IntakeError(f"the zip is damaged or unsupported ({type(exc).__name__})") from None
            stamp = time.mktime(member.date_time + (0, 0, -1))
            os.utime(target, (stamp, stamp))


def _regular_files(root):
    """Regular files under ``root``, never following a symlink (into the kit or elsewhere)."""
    found = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))
                   and d not in ("__MACOSX", ".ipynb_checkpoints")]  # fmt: skip
        for name in names:
            path = Path(folder) / name
            if not path.is_symlink() and path.is_file():
                found.append(path)
    return found


def intake(submission, dest, stub_dir):
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
    flags = []
    with tempfile.TemporaryDirectory(prefix="cs_loss_intake_") as tmp:
        if submission.is_symlink():
            raise IntakeError("the submission is a symbolic link: not followed")
        if submission.is_file() and (zipfile.is_zipfile(submission) or looks_like_zip(submission)):
            root = Path(tmp)
            _safe_extract(submission, root)
        elif submission.is_dir():
            root = submission
        else:
            raise IntakeError(f"{submission.name} is {NOT_A_SUBMISSION}")
        files = _regular_files(root)
        dest.mkdir(parents=True, exist_ok=True)
        student_files = 0  # notebooks and package files the submission holds
        unreadable = False  # a notebook replaced by the release's: the student did hand in work
        for canonical in course.NOTEBOOKS:
            found = [p for p in files if canonical_name(p.name) == canonical]
            student_files += bool(found)
            if not found:
                flags.append(f"missing notebook {canonical}: graded as blank")
                shutil.copy(Path(stub_dir) / canonical, dest / canonical)
                continue
            chosen = max(found, key=lambda p: p.stat().st_mtime)
            if chosen.name != canonical:
                flags.append(f"{chosen.name!r} graded as {canonical}")
            if len(found) > 1:
                others = ", ".join(sorted(repr(p.name) for p in found if p != chosen))
                flags.append(f"several files for {canonical}: graded the newest, {chosen.name!r} (not {others})")
            try:  # a truncated or non-JSON notebook costs that notebook only, not all three
                with warnings.catch_warnings():  # duplicate cell ids are repaired, not fatal
                    warnings.simplefilter("ignore")
                    notebook = nbformat.read(chosen, as_version=4)
                    nbformat.validate(notebook)
                    flags += _drop_duplicate_ids(notebook, canonical)
                    nbformat.write(notebook, dest / canonical)
            except Exception:  # noqa: BLE001 - nbformat raises many kinds
                flags.append(f"{canonical} is not a readable notebook: graded as blank")
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
                flags.append(f"missing {student_file}: graded as the unchanged stub")
                continue
            chosen = max(found, key=lambda p: p.stat().st_mtime)
            if len(found) > 1:
                flags.append(f"several copies of {student_file}: graded the newest")
            shutil.copyfile(chosen, dest / "cs_loss" / name)
    if not student_files:
        flags.append(EMPTY_FLAG)
    elif not unreadable and is_release(dest, stub_dir):
        flags.append(UNTOUCHED_FLAG)
    return flags


# Flags that the class report keys on by their prefix ("empty:", "untouched:").
EMPTY_FLAG = "empty: the submission holds no notebook and no cs_loss file (nothing to grade)"
UNTOUCHED_FLAG = "untouched: the files are the release as handed out (no exercise attempted)"


def _answer_cells(notebook_path):
    """``{grade_id: source}`` of a notebook's answer cells (code and written); None if unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            notebook = nbformat.read(notebook_path, as_version=4)
    except Exception:  # noqa: BLE001 - nbformat raises many kinds; unreadable is not the release
        return None
    return {c.metadata["nbgrader"].get("grade_id"): c.source for c in notebook.cells
            if c.metadata.get("nbgrader", {}).get("solution")}  # fmt: skip


def is_release(laid_out, stub_dir):
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


def _drop_duplicate_ids(notebook, name):
    """A pasted cell repeats a grade id, which makes nbgrader stop: keep the first, unmark the rest."""
    flags, seen, cell_ids = [], set(), set()
    for cell in notebook.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid and gid in seen:
            cell.metadata.pop("nbgrader")
            flags.append(f"{name}: cell {gid} appears twice (a pasted cell?): graded the first copy")
        elif gid:
            seen.add(gid)
        if cell.get("id") in cell_ids:
            cell["id"] = f"dup{len(cell_ids)}"
        cell_ids.add(cell.get("id"))
    return flags


# ---------------------------------------------------------------- what to grade, and reruns

NOT_A_SUBMISSION = "not a submission (a zip or a folder of notebooks)"
# What an operating system leaves beside uploads: set aside and named, never a row.
OS_JUNK = ("__MACOSX", "Thumbs.db", "desktop.ini")


@dataclass(frozen=True)
class Entry:
    """A path given to the grader, or found in a class folder, that is not graded.

    ``reason`` is the whole message: a student's feedback shows it as the grading problem.
    """

    path: Path
    reason: str


@dataclass(frozen=True)
class Expansion:
    """What :func:`expand_submissions` found in the paths it was given.

    Attributes
    ----------
    submissions : tuple of Path
        Zips and folders to grade, one student each, in the order found.
    not_graded : tuple of Entry
        Entries of class folders that are not submissions or cannot be read; each still
        gets a row in every report (0 points, with its reason), through ``autograde``'s
        ``rejected``.
    ignored : tuple of Entry
        Operating-system junk (hidden files, ``__MACOSX``): no row, only named.
    notes : tuple of str
        One line per folder given: how it was read and why.
    """

    submissions: tuple = ()
    not_graded: tuple = ()
    ignored: tuple = ()
    notes: tuple = ()


def is_os_junk(name):
    """Whether an entry called ``name`` is left by an operating system, not uploaded by anyone."""
    return name.startswith(".") or name in OS_JUNK


def _top_notebooks(folder):
    """The assignment's notebooks (canonical names) at the top of ``folder``."""
    return {canonical_name(p.name) for p in Path(folder).iterdir() if p.is_file()} - {None}


def _holds_work(folder):
    """Whether ``folder`` holds a notebook or a ``cs_loss`` file anywhere (hidden folders aside)."""
    for path in _regular_files(folder):
        parts = path.relative_to(folder).parts
        if any(is_os_junk(part) for part in parts):
            continue
        if path.suffix == ".ipynb" or (path.suffix == ".py" and "cs_loss" in parts):
            return True
    return False


def is_one_submission(folder):
    """Whether a folder is one student's work whatever else it holds: a ``cs_loss`` folder or at
    least two of the assignment's notebooks (under any name Colab gives them) at its top."""
    folder = Path(folder)
    return (folder / "cs_loss").is_dir() or len(_top_notebooks(folder)) >= 2


def _class_entry(path):
    """How an entry of a class folder is read: ``None`` for a submission, else its reason."""
    name = path.name
    if path.is_symlink():
        return f"{name} is a symbolic link: not followed, not graded"
    if path.is_dir():
        if _holds_work(path):
            return None
        if any(looks_like_zip(p) for p in _regular_files(path)):  # an LMS's folder per student
            return (f"{name}/ holds a zip but no notebook: not graded (unzip it in {name}/, or "
                    "give the zip itself)")  # fmt: skip
        return f"{name}/ holds no notebook and no cs_loss file: not graded"
    if looks_like_zip(path):
        problem = zip_problem(path)
        return f"could not read the submission: {problem}" if problem else None
    if name.lower().endswith(".ipynb"):
        return (f"{name} is a notebook at the top of the class folder, not a student's zip or "
                "folder: not graded (put it in its student's folder to grade it)")  # fmt: skip
    return f"{name} is {NOT_A_SUBMISSION}: not graded"


def expand_submissions(paths):
    """The submissions in ``paths``: each a zip, a student's folder or a class folder.

    The rule, for each path given:

    - a file is one submission, whatever it holds (intake says why if it cannot be read);
    - a folder with a ``cs_loss`` folder or at least two of the assignment's notebooks at its
      top is one submission (a student's kit folder, an unzipped ``submission.zip``): a zip
      beside them (``submission.zip``, ``loss.zip``) is part of it;
    - otherwise, a folder holding a zip, or at least two folders with notebooks or ``cs_loss``
      files, is a class folder: each zip and each such folder is one student; every other
      entry (a stray notebook or file, an empty folder, a zip that cannot be read) is not
      graded and gets a row with the reason; hidden files and ``__MACOSX`` are ignored;
    - any other folder (notebooks at its top, or one nested folder) is one submission.

    A stray file therefore never changes how the rest of a class folder is read.

    Parameters
    ----------
    paths : sequence of path
        As given on the command line; each must exist.

    Returns
    -------
    Expansion
    """
    submissions, not_graded, ignored, notes = [], [], [], []
    for path in map(Path, paths):
        if not path.is_dir() or path.is_symlink():
            submissions.append(path)
            continue
        if is_one_submission(path):
            submissions.append(path)
            notes.append(f"{path} is one submission: it holds the assignment's notebooks or a "
                         "cs_loss folder at its top")  # fmt: skip
            continue
        children = sorted(path.iterdir())
        junk = [p for p in children if is_os_junk(p.name)]
        entries = [p for p in children if not is_os_junk(p.name)]
        zips = [p for p in entries if p.is_file() and not p.is_symlink() and looks_like_zip(p)]
        folders = [p for p in entries if p.is_dir() and not p.is_symlink() and _holds_work(p)]
        if not zips and len(folders) < 2:
            submissions.append(path)
            notes.append(f"{path} is one submission: it holds no zip and at most one folder "
                         "with notebooks")  # fmt: skip
            continue
        graded, rejected = [], []
        for entry in entries:
            reason = _class_entry(entry)
            if reason is None:
                graded.append(entry)
            else:
                rejected.append(Entry(entry, reason))
        submissions += graded
        not_graded += rejected
        ignored += [Entry(p, "left by the operating system (a hidden file or a Mac's __MACOSX): "
                             "ignored") for p in junk]  # fmt: skip
        n_zips = sum(1 for p in graded if p.is_file())
        notes.append(f"{path} is a class folder of {len(entries)} entries: {len(graded)} "
                     f"submissions to grade ({n_zips} zips, {len(graded) - n_zips} folders), "
                     f"{len(rejected)} not graded (a row each, with the reason), "
                     f"{len(junk)} ignored")  # fmt: skip
    return Expansion(tuple(submissions), tuple(not_graded), tuple(ignored), tuple(notes))


def _hash_file(digest, path):
    with open(path, "rb") as f:
        while chunk := f.read(2**20):
            digest.update(chunk)


def submission_digest(path):
    """A fingerprint of a submission's content: a zip's bytes, or a folder's files.

    A folder's fingerprint covers each regular file's path relative to it and its
    bytes (``__MACOSX``, checkpoints and symbolic links aside, as intake skips them),
    so renaming, editing, adding or removing a file changes it; copying does not.

    Returns
    -------
    str or None
        ``"sha256:<hex>"``, or None when the submission cannot be read (never reused then).
    """
    path = Path(path)
    digest = hashlib.sha256()
    try:
        if path.is_dir() and not path.is_symlink():
            for file in sorted(_regular_files(path), key=lambda p: p.relative_to(path).as_posix()):
                name = file.relative_to(path).as_posix().encode("utf-8", "surrogateescape")
                digest.update(len(name).to_bytes(8, "big") + name)
                digest.update(file.stat().st_size.to_bytes(8, "big"))
                _hash_file(digest, file)
        else:
            _hash_file(digest, path)
    except OSError:
        return None
    return f"sha256:{digest.hexdigest()}"


# The kit's files that decide a grade; a change to any of them regrades every submission.
KIT_VERSION_FILES = ("cs_loss/**/*.py", "notebooks/*.ipynb", "grading/*.py", "grading/*.npz",
                     "grading/*.json", "data/get_datasets.py")  # fmt: skip


def kit_version(kit=None):
    """A fingerprint of the kit's grading-relevant files (:data:`KIT_VERSION_FILES`)."""
    kit = Path(kit or course.KIT_ROOT)
    files = sorted({p for pattern in KIT_VERSION_FILES for p in kit.glob(pattern)
                    if p.is_file() and "__pycache__" not in p.parts})  # fmt: skip
    digest = hashlib.sha256()
    for file in files:
        name = file.relative_to(kit).as_posix().encode()
        digest.update(len(name).to_bytes(8, "big") + name)
        digest.update(file.stat().st_size.to_bytes(8, "big"))
        _hash_file(digest, file)
    return f"sha256:{digest.hexdigest()[:16]}"


def regrade_reason(saved, digest, kit):
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
    return None


class GradedBatch(list):
    """The results of :func:`autograde` (a list, one dict per row), and what this run did.

    Attributes
    ----------
    reused : tuple of str
        Students whose finished result was kept (submission and kit unchanged).
    graded : dict of str to str
        Students graded in this run, each with why (``"new"``, ``"the submission changed"``...).
    not_graded : tuple of str
        Rows for rejected entries (not submissions, or unreadable).
    """

    def __init__(self, results, reused=(), graded=None, not_graded=()):
        super().__init__(results)
        self.reused = tuple(reused)
        self.graded = dict(graded or {})
        self.not_graded = tuple(not_graded)


def prepare(work_dir):
    """Build the release and the template course directory; return the template's path."""
    work_dir = Path(work_dir)
    template = work_dir / "course"
    build_release(work_dir / "release", keep_course=template)
    return template


def _scan_student_code(folder):
    """Flags for suspicious patterns in the student's answer cells and package files."""
    flags = []
    texts = {}
    for name in course.NOTEBOOKS:
        try:
            notebook = nbformat.read(Path(folder) / name, as_version=4)
        except Exception as exc:  # unreadable JSON: nbgrader will fail on it too
            flags.append(f"{name} is not a readable notebook: {exc}"[:200])
            continue
        texts[name] = "\n".join(
            c.source for c in notebook.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution", True)
        )  # fmt: skip
    for student_file in course.STUDENT_FILES:
        path = Path(folder) / student_file
        if path.is_file():
            texts[student_file] = path.read_text(errors="replace")
    for where, text in texts.items():
        for what in sorted(suspicious(text)):
            flags.append(f"review: {where} {what}")
    return flags


def _notebook_results(gradebook_url, autograded_dir, sid):
    """Per-cell grades from the gradebook, with reasons from the executed notebooks."""
    from nbgrader.api import Gradebook

    results = []
    with Gradebook(gradebook_url) as gb:
        submission = gb.find_submission(course.ASSIGNMENT, sid)
        for notebook in submission.notebooks:
            executed = Path(autograded_dir) / f"{notebook.name}.ipynb"
            reasons = {}
            if executed.is_file():
                for cell in nbformat.read(executed, as_version=4).cells:
                    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
                    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
                    if gid and errors:
                        error = errors[-1]
                        evalue = error.get("evalue", "")
                        reasons[gid] = (f"{error['ename']}: {evalue}" if evalue
                                        else f"{error['ename']} (a hidden check failed)")  # fmt: skip
            for grade in notebook.grades:
                written = grade.cell.cell_type == "markdown"
                manual = bool(grade.needs_manual_grade)
                score = grade.score if not manual else 0.0
                if written:
                    output = "answered: needs manual grading" if manual else "no answer given"
                elif manual:
                    output = "needs manual grading"
                elif score < grade.max_score:
                    output = reasons.get(grade.name, "not passed")
                else:
                    output = "passed"
                results.append({
                    "name": f"{notebook.name}:{grade.name}", "kind": "written" if written else "notebook",
                    "score": float(score or 0.0), "max_score": float(grade.max_score),
                    "needs_manual_grade": manual, "output": output[:500],
                })  # fmt: skip
    return results


def grade_one(template, submission_dir, sid, out_json, cell_timeout=120):
    """Grade one laid-out submission; write its result to ``out_json``. Runs in a worker.

    The package tests run first (their time is bounded by groups x their timeout),
    then nbgrader with what is left of the worker's budget, so a slow notebook
    never costs the package points. Student code runs in a :class:`Sandbox`.
    """
    start = time.perf_counter()
    budget = float(os.environ.get("CS_LOSS_WORKER_BUDGET", "600"))
    cell_timeout = float(os.environ.get("CS_LOSS_CELL_TIMEOUT", cell_timeout))
    slot = int(os.environ.get("CS_LOSS_SANDBOX_SLOT", "0"))
    result = {"student": sid, "tests": [], "flags": [], "error": None}
    box = Sandbox(tempfile.mkdtemp(prefix="cs_loss_box_"), slot=slot)
    # Exported notebook values go to a folder of the grader's, outside the student's tree
    # (which the student could rename or swap for a symlink): traversable, not listable.
    exports = Path(tempfile.mkdtemp(prefix="cs_loss_export_"))
    os.chmod(exports, 0o711)
    box.monitor.start()  # memory of all its processes together, and /proc reads
    try:
        _grade_in(box, template, submission_dir, sid, result, cell_timeout, start, budget, exports)
    finally:
        shutil.rmtree(exports, ignore_errors=True)  # first: the user's files there are expected
        result["flags"] += box.cleanup()
    if box.monitor.memory_stops:  # a kernel the monitor killed: say why it died
        for test in result["tests"]:
            if test["output"].startswith("KernelDied"):
                test["output"] = f"{test['output']}; the grader stopped it: {box.monitor.memory_reason}"
    result["seconds"] = round(time.perf_counter() - start, 2)
    Path(out_json).write_text(json.dumps(result, indent=1))
    return result


def _grade_in(box, template, submission_dir, sid, result, cell_timeout, start, budget, exports):
    with tempfile.TemporaryDirectory(prefix="cs_loss_grade_") as tmp:
        os.chmod(tmp, 0o700)
        result["flags"] += _scan_student_code(submission_dir)
        if box.user is not None:
            os.environ["CS_LOSS_GRADE_USER"] = box.user.pw_name  # package.run_child drops to it
        result["tests"] += [
            {"name": f"cs_loss:{r.name}", "kind": "package", "score": r.score,
             "max_score": float(r.max_score), "needs_manual_grade": False, "output": r.output,
             "targets": list(r.targets)}
            for r in package.run_package_tests(submission_dir)
        ]  # fmt: skip
        root = Path(tmp) / "course"
        shutil.copytree(template, root, ignore=shutil.ignore_patterns("submitted", "autograded",
                                                                        "feedback", "*.db"))  # fmt: skip
        db_path = Path(tmp) / "gradebook.db"
        shutil.copy(Path(template) / "gradebook.db", db_path)
        flag_file = Path(tmp) / "flags.json"
        work = box.work
        # What is left of the budget goes to the notebooks, in equal shares (less a few
        # seconds each to start nbgrader and a kernel): a notebook that runs out costs its
        # own remaining cells, never another notebook or the package points above.
        remaining = budget - (time.perf_counter() - start) - 30
        notebook_seconds = max(10.0, (remaining - 10 * len(course.NOTEBOOKS)) / len(course.NOTEBOOKS))
        owner = f"{box.user.pw_uid}:{box.user.pw_gid}" if box.user is not None else ""
        extra = course.GRADING_CONFIG.format(
            kit=str(course.KIT_ROOT), release_dir=str(root / "release" / course.ASSIGNMENT),
            flag_file=str(flag_file), sandbox=str(work), notebook_seconds=notebook_seconds,
            export_dir=str(exports), export_owner=owner,
        )  # fmt: skip
        course.write_config(root, cell_timeout=cell_timeout, extra=extra, db_path=db_path)
        submitted = root / "submitted" / sid / course.ASSIGNMENT
        shutil.copytree(submission_dir, submitted)
        # The kernel's folder: the student's package and the data script, nothing else.
        shutil.copytree(Path(submission_dir) / "cs_loss", work / "cs_loss")
        shutil.copytree(root / "source" / course.ASSIGNMENT / "data", work / "data")
        box.give()
        env = {"NBGRADER_EXECUTION": "autograde"}
        if box.user is not None:
            jupyter = Path(tmp) / "jupyter"
            box.install_kernelspec(jupyter)
            env.update(JUPYTER_PATH=str(jupyter))
            env[sandbox_module.SPEC_VARIABLE] = box.spec()
        try:
            if remaining < 3 * len(course.NOTEBOOKS):
                raise course.NbgraderError("no time left for the notebooks after the package tests")
            course.nbgrader(root, "autograde", course.ASSIGNMENT, "--student", sid, "--create",
                            "--force", env_extra=env, timeout=remaining)  # fmt: skip
            result["tests"] += _notebook_results(f"sqlite:///{db_path}",
                                                 root / "autograded" / sid / course.ASSIGNMENT, sid)  # fmt: skip
        except course.NbgraderError as exc:
            result["error"] = f"notebook grading failed: {str(exc).splitlines()[0]}"
            result["tests"] += _blank_notebook_results(root, str(exc))
        if flag_file.is_file():
            try:
                for name, messages in json.loads(flag_file.read_text()).items():
                    result["flags"] += [f"{name}: {m}" for m in messages]
            except ValueError:
                pass


def _blank_notebook_results(root, reason):
    """Every notebook test as 0 points, with the reason, when nbgrader itself failed."""
    results = []
    for name in course.NOTEBOOKS:
        notebook = nbformat.read(root / "source" / course.ASSIGNMENT / name, as_version=4)
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                written = cell.cell_type == "markdown"
                results.append({
                    "name": f"{Path(name).stem}:{meta['grade_id']}",
                    "kind": "written" if written else "notebook", "score": 0.0,
                    "max_score": float(meta["points"]), "needs_manual_grade": False,
                    "output": f"not graded: {(reason.splitlines() or [''])[0][:200]}",
                })  # fmt: skip
    return results


def _limits(memory_bytes):
    def apply():
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))

    return apply


def _slot_lock_dir():
    """The grader's own folder of slot lock files (created 0700; refused if anyone else's)."""
    folder = Path(tempfile.gettempdir()) / f"cs_loss_slots_{os.geteuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(folder)
    if not os.path.isdir(folder) or os.path.islink(folder) or info.st_uid != os.geteuid():
        raise RuntimeError(f"{folder} is not a folder of this user's: remove it and grade again")
    return folder


def _claim_slot():
    """The smallest worker slot that no grader on this machine holds: ``(slot, lock file)``.

    A slot picks the sandbox user, and a sandbox kills every process of its user
    when it starts and ends, so two graders at once (two ``autograde`` commands,
    or Gradescope runs side by side) must never share one: each holds an
    exclusive ``flock`` on its slot's file while it grades. The lock dies with
    the process that holds it.
    """
    import fcntl

    folder = _slot_lock_dir()
    for slot in itertools.count():
        handle = open(folder / f"{slot}.lock", "a")  # noqa: SIM115 (held until released)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return slot, handle


def run_worker(template, laid_out, sid, out_json, timeout, memory_bytes, cell_timeout=120):
    """``grade_one`` in a child process with a wall-clock and memory limit.

    The child runs in an empty folder (not the kit) and holds a worker slot (the
    smallest one free on this machine, see :func:`_claim_slot`), which picks its
    sandbox user; after a timeout every process of that user is killed.
    """
    slot, lock = _claim_slot()
    try:
        return _run_worker(template, laid_out, sid, out_json, timeout, memory_bytes, slot,
                           cell_timeout)  # fmt: skip
    finally:
        lock.close()  # releases the flock


def _run_worker(template, laid_out, sid, out_json, timeout, memory_bytes, slot, cell_timeout=120):
    code = ("import sys; sys.path.insert(0, sys.argv.pop(1)); from grading.__main__ import main; "
            "sys.exit(main(sys.argv[1:]))")  # fmt: skip
    cmd = [sys.executable, "-I", "-c", code, str(course.KIT_ROOT), "_grade_one", str(template),
           str(laid_out), sid, str(out_json)]  # fmt: skip
    # No PYTHONPATH: it would reach the student's kernel, and with it the kit's hidden tests.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", CS_LOSS_SANDBOX_SLOT=str(slot),
               CS_LOSS_WORKER_BUDGET=str(timeout), CS_LOSS_CELL_TIMEOUT=str(cell_timeout))  # fmt: skip
    if sandbox_module.can_switch_users() and sandbox_module.python_usable(sandbox_module.ensure_user(slot)):
        env[sandbox_module.PROBED_VARIABLE] = sys.executable  # the worker need not probe again
    with tempfile.TemporaryDirectory(prefix="cs_loss_worker_") as cwd:
        process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, errors="replace",
                                   preexec_fn=_limits(memory_bytes))  # fmt: skip
        try:
            log, _ = process.communicate(timeout=timeout + 60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)  # the worker, nbgrader and the kernels it started
            if sandbox_module.can_switch_users():
                sandbox_module.kill_user(sandbox_module.ensure_user(slot).pw_uid)
            process.kill()
            process.wait()
            return {"student": sid, "tests": [], "flags": [],
                    "error": f"grading stopped after the time limit of {timeout:.0f} s"}  # fmt: skip
    try:
        return json.loads(Path(out_json).read_text())
    except (OSError, ValueError):
        tail = " | ".join(log.strip().splitlines()[-3:])[:300]
        return {"student": sid, "tests": [], "flags": [],
                "error": f"the grading worker died (exit code {process.returncode}): {tail}"}  # fmt: skip


def complete(result, template_tests):
    """Make sure every test appears in a result (0 points, with the reason) even after a crash."""
    have = {t["name"] for t in result["tests"]}
    for test in template_tests:
        if test["name"] not in have:
            result["tests"].append(dict(test, score=0.0, output=f"not graded: {result['error']}"))
    auto = [t for t in result["tests"] if t["kind"] != "written"]
    result["auto_score"] = sum(t["score"] for t in auto)
    result["auto_max"] = sum(t["max_score"] for t in auto)
    result["manual_max"] = sum(t["max_score"] for t in result["tests"] if t["kind"] == "written")
    result["manual_pending"] = sum(1 for t in result["tests"] if t["needs_manual_grade"])
    return result


def all_tests(template):
    """Every test of the assignment, with its points (the report's rows)."""
    tests = [{**t, "score": 0.0} for t in _blank_notebook_results(template, "")]
    for _group, name, points, targets, _run in package.hidden_tests.TESTS:
        tests.append({"name": f"cs_loss:{name}", "kind": "package", "score": 0.0,
                      "max_score": float(points), "needs_manual_grade": False, "output": "",
                      "targets": list(targets)})  # fmt: skip
    return tests


def autograde(submissions, out_dir, workers=2, timeout=600, memory_bytes=6 * 2**30,
              progress=True, work_dir=None, cell_timeout=120, rejected=(),
              regrade=False):  # fmt: skip
    """Grade ``submissions`` (folders or zips); write the reports to ``out_dir``.

    ``work_dir`` may hold a template already made by :func:`prepare`; it is
    built there (or in a temporary folder) otherwise. ``timeout`` is the whole
    budget of one submission (package tests first, then the notebooks in equal
    shares of what is left); ``cell_timeout`` limits one notebook cell.

    A submission graded before into ``out_dir`` (``finished/<student>.json``) keeps
    its result only when its content and the kit are unchanged (:func:`regrade_reason`);
    ``regrade=True`` grades every one again.

    Parameters
    ----------
    rejected : sequence of Entry
        Uploads that are not graded (see :func:`expand_submissions`): each gets a row
        with 0 points and ``entry.reason`` as its grading problem, after the submissions.

    Returns
    -------
    GradedBatch
        One result per submission, in the order given, then one per rejected entry;
        it also says which were reused and which graded, and why.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    submissions, rejected = [Path(p) for p in submissions], list(rejected)
    if not sandbox_module.can_switch_users():
        sandbox_module.warn_not_root()
    else:
        if not sandbox_module.python_usable(sandbox_module.ensure_user(0)):
            sandbox_module.warn_python_unusable()
        warn_open_secrets()  # reports and the work folder (template, gradebook, intake) are the grader's alone
        os.chmod(out_dir, 0o700)
        if work_dir:
            Path(work_dir).mkdir(parents=True, exist_ok=True)
            os.chmod(work_dir, 0o700)
    with tempfile.TemporaryDirectory(prefix="cs_loss_autograde_") as tmp:
        work = Path(work_dir) if work_dir else Path(tmp)
        template = work / "course"
        if not (template / "gradebook.db").is_file():
            template = prepare(work)
        stub_dir = work / "release" / course.ASSIGNMENT
        tests = all_tests(template)
        # Student ids over every row, so a rejected entry never takes a submission's id.
        order, id_notes = assign_ids(submissions + [entry.path for entry in rejected])
        done_dir = out_dir / "finished"  # one result per row: a rerun reuses unchanged ones
        done_dir.mkdir(exist_ok=True)
        secrets = grader_secrets()
        kit = kit_version()
        jobs, results, reused, graded = [], {}, [], {}

        def finish(sid, result):
            results[sid] = redact(complete(result, tests), secrets)
            _write_atomic(done_dir / f"{sid}.json", json.dumps(results[sid], indent=1))
            write_reports([results[s] for s in order if s in results], out_dir)

        graded_ids, graded_notes = order[: len(submissions)], id_notes[: len(submissions)]
        for submission, sid, note in zip(submissions, graded_ids, graded_notes, strict=True):
            digest, saved = submission_digest(submission), _load_finished(done_dir / f"{sid}.json")
            why = "--regrade" if regrade else regrade_reason(saved, digest, kit)
            if why is None:
                results[sid] = saved
                reused.append(sid)
                continue
            graded[sid] = why
            stamp = {"submission_digest": digest, "kit_version": kit}
            laid_out = work / "intake" / sid
            shutil.rmtree(laid_out, ignore_errors=True)  # nothing of an earlier upload stays
            try:
                flags = intake(submission, laid_out, stub_dir)
            except Exception as exc:  # noqa: BLE001 - one bad upload never stops the batch
                shutil.rmtree(laid_out, ignore_errors=True)
                reason = str(exc) if isinstance(exc, IntakeError) else type(exc).__name__
                finish(sid, {"student": sid, "tests": [], "flags": [note] if note else [],
                             "error": f"could not read the submission: {reason}",
                             **stamp})  # fmt: skip
                continue
            jobs.append((sid, laid_out, ([note] if note else []) + flags, stamp))
        for entry, sid, note in zip(rejected, order[len(submissions):], id_notes[len(submissions):],
                                    strict=True):  # fmt: skip
            finish(sid, {"student": sid, "tests": [], "flags": [note] if note else [],
                         "error": entry.reason, "submission_digest": submission_digest(entry.path),
                         "kit_version": kit})  # fmt: skip
        bar = None
        if progress and jobs:
            from tqdm import tqdm

            bar = tqdm(total=len(jobs), desc="grading", unit=" submissions", file=sys.stdout)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {
                pool.submit(run_worker, template, laid_out, sid, work / f"{sid}.json", timeout,
                            memory_bytes, cell_timeout): (sid, flags, stamp)
                for sid, laid_out, flags, stamp in jobs
            }  # fmt: skip
            for future in as_completed(futures):
                sid, flags, stamp = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - the batch goes on
                    result = {"student": sid, "tests": [], "flags": [],
                              "error": f"grading failed ({type(exc).__name__})"}  # fmt: skip
                result["flags"] = flags + result.get("flags", [])
                finish(sid, {**result, **stamp})
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
        ordered = GradedBatch([results[s] for s in order], reused=reused, graded=graded,
                              not_graded=order[len(submissions):])  # fmt: skip
        write_reports(ordered, out_dir)
        for leak in find_leaks(out_dir / "feedback", secret_lines()):
            # Redaction happens before writing; this is the last line of defence.
            page = out_dir / "feedback" / leak.split(":", 1)[0]
            if page.is_file():
                page.write_text("<!doctype html><p>This page was withheld: ask your instructor.</p>")
    return ordered


def _load_finished(path):
    """A finished result saved by an earlier run, or None (none, or not readable)."""
    try:
        saved = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return saved if isinstance(saved, dict) and "tests" in saved else None


# Text written to reports: no surrogates, no spreadsheet formulas.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def clean_text(text):
    """``text`` as valid UTF-8 (undecodable characters replaced)."""
    return str(text).encode("utf-8", "replace").decode("utf-8")


def csv_cell(value):
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    if not isinstance(value, str):
        return value
    value = clean_text(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def grader_secrets():
    """Lines whose appearance in a report would leak: solutions, hidden tests, trusted checks."""
    secrets = {line for line in secret_lines() if len(line) >= 16}
    for name in ("hidden_tests.py", "notebook_checks.py"):
        for line in (Path(__file__).parent / name).read_text().splitlines():
            line = line.strip()
            if len(line) >= 24 and not line.startswith(("#", '"', "'", "f\"", "return False")):
                secrets.add(line)
    return secrets


def redact(result, secrets):
    """``result`` with every text cleaned and any text quoting the grader's code withheld."""

    def safe(text):
        text = clean_text(text)
        if any(marker in text for marker in ("BEGIN HIDDEN", "END HIDDEN", "BEGIN SOLUTION", "END SOLUTION")):
            return "(message withheld: it quoted the grader's code)"
        if any(secret in text for secret in secrets):
            return "(message withheld: it quoted the grader's code)"
        return text

    for test in result["tests"]:
        test["output"] = safe(test.get("output", ""))
    result["flags"] = [safe(flag) for flag in result.get("flags", [])]
    if result.get("error"):
        result["error"] = safe(result["error"])
    result["student"] = clean_text(result["student"])
    return result


def _write_atomic(path, text, newline=None):
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", errors="replace", newline=newline) as f:
        f.write(text)
    os.replace(tmp, path)


def write_reports(results, out_dir):
    """grades.csv (one row per student and test), totals.csv, grades.json, feedback/*.html.

    Each file is replaced atomically, so a killed grader leaves whole files.
    """
    out_dir = Path(out_dir)
    f = io.StringIO()
    writer = csv.writer(f, quoting=csv.QUOTE_ALL)
    writer.writerow(["student", "test", "kind", "score", "max_score", "needs_manual_grade", "output"])
    for result in results:
        for test in result["tests"]:
            writer.writerow([csv_cell(v) for v in (
                result["student"], test["name"], test["kind"], test["score"], test["max_score"],
                test["needs_manual_grade"], test["output"])])  # fmt: skip
    _write_atomic(out_dir / "grades.csv", f.getvalue(), newline="")
    f = io.StringIO()
    writer = csv.writer(f, quoting=csv.QUOTE_ALL)
    writer.writerow(["student", "auto_score", "auto_max", "manual_max", "manual_pending",
                     "needs_review", "flags", "error"])
    for r in results:
        review = bool(r["error"]) or any(fl.startswith("review") or "edited" in fl or "deleted" in fl
                                         or "tags" in fl or "not found by id" in fl
                                         for fl in r["flags"])  # fmt: skip
        writer.writerow([csv_cell(v) for v in (
            r["student"], r["auto_score"], r["auto_max"], r["manual_max"], r["manual_pending"],
            review, " | ".join(r["flags"]), r["error"] or "")])  # fmt: skip
    _write_atomic(out_dir / "totals.csv", f.getvalue(), newline="")
    _write_atomic(out_dir / "grades.json", json.dumps(results, indent=1))
    feedback = out_dir / "feedback"
    feedback.mkdir(exist_ok=True)
    for result in results:
        _write_atomic(feedback / f"{result['student']}.html", feedback_html(result))


def feedback_html(result):
    """A student's feedback page: each check, its points and why it failed; no test code."""
    rows = "\n".join(
        f"<tr class='{'manual' if t['kind'] == 'written' else 'ok' if t['score'] >= t['max_score'] else 'fail'}'>"
        f"<td>{html.escape(t['name'])}</td><td>{t['score']:g} / {t['max_score']:g}</td>"
        f"<td>{html.escape(t['output'])}</td></tr>"
        for t in result["tests"]
    )
    notes = "".join(f"<li>{html.escape(f)}</li>" for f in result["flags"])
    error = f"<p class='fail'>{html.escape(result['error'])}</p>" if result["error"] else ""
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Feedback: {html.escape(result['student'])}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td{{padding:.2em .6em;vertical-align:top}}
.ok td:nth-child(2){{color:#080}}.fail td:nth-child(2),.fail{{color:#b00}}.manual td:nth-child(2){{color:#666}}</style>
</head><body><h1>Feedback for {html.escape(result['student'])}</h1>
<p>Automatically graded: <b>{result['auto_score']:g} / {result['auto_max']:g}</b> points;
{result['manual_max']:g} more points are graded by hand.</p>{error}
{'<h2>Notes</h2><ul>' + notes + '</ul>' if notes else ''}
<table><tr><th>check</th><th>points</th><th>result</th></tr>
{rows}
</table></body></html>
"""

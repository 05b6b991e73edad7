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

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import course

CANONICAL = {Path(n).stem: n for n in course.NOTEBOOKS}


def canonical_name(filename):
    """``knn.ipynb`` for "Copy of knn (1).ipynb", "KNN.ipynb", "knn-2.ipynb"...; else None."""
    stem = Path(filename).name
    if not stem.lower().endswith(".ipynb"):
        return None
    stem = stem[: -len(".ipynb")].strip().lower()
    while stem.startswith("copy of "):
        stem = stem[len("copy of ") :].strip()
    stem = re.sub(r"(\s*\(\d+\)|[-_ ]copy|[-_ ]\d+)+$", "", stem).strip()
    return CANONICAL.get(stem)


ID_MAX = 100  # characters of a student id: report file names add a few to it, under 255 bytes


def student_id(path):
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
        while unique in ids or unique in base:  # the same path twice; a file named like it
            unique += "_"
        ids.append(unique)
        others = sorted(
            repr(Path(q).name)
            for q, b in zip(submissions, base, strict=True)
            if b == sid and q != path
        )
        notes.append(
            f"review: the name {Path(path).name!r} gives the same id as {', '.join(others)}: "
            f"graded as {unique}; check which student it belongs to"
        )
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
    """Whether the file ``path`` is meant as a zip: its name ends in .zip, or it has no
    extension and starts with ``PK``.

    A truncated upload has no end-of-central-directory record, so
    :func:`zipfile.is_zipfile` says no; it is still a zip that failed to read, not some other file.
    """
    path = Path(path)
    if path.name.lower().endswith(".zip"):
        return True
    if path.suffix and path.suffix.lower() not in (".zip",):
        return False  # roster.xlsx, notes.docx: zips inside, but not uploads of this assignment
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
            raise IntakeError(
                f"the zip holds {len(members)} files; at most {ZIP_MAX_MEMBERS} are read"
            )
        total = 0
        for member in members:
            name = member.filename
            if (
                name.startswith(("__MACOSX/", "/"))
                or ".." in Path(name).parts
                or len(name) > ZIP_MAX_NAME
                or any(len(p) > 200 for p in Path(name).parts)
                or (member.external_attr >> 16) & 0o170000 == 0o120000
            ):  # a symlink
                continue
            if member.flag_bits & 0x1:
                raise IntakeError(
                    "the zip is encrypted (password-protected): upload it without a password"
                )
            if member.compress_type not in (
                zipfile.ZIP_STORED,
                zipfile.ZIP_DEFLATED,
                zipfile.ZIP_BZIP2,
                zipfile.ZIP_LZMA,
            ):
                raise IntakeError(
                    f"the zip uses an unsupported compression ({member.compress_type}): "
                    "zip it again with your system's standard zip tool"
                )
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
                        if total > ZIP_MAX_TOTAL or written > ZIP_MAX_RATIO * max(
                            member.compress_size, 2**16
                        ):
                            raise IntakeError(
                                "the zip unpacks to far more than a submission holds "
                                f"(over {ZIP_MAX_TOTAL // 2**20} MiB or a ratio over {ZIP_MAX_RATIO})"
                            )
                        out.write(chunk)
            except (
                zipfile.BadZipFile,
                EOFError,
                zlib.error,
                NotImplementedError,
                RuntimeError,
            ) as exc:
                raise IntakeError(
                    f"the zip is damaged or unsupported ({type(exc).__name__})"
                ) from None
            stamp = time.mktime(member.date_time + (0, 0, -1))
            os.utime(target, (stamp, stamp))


def _regular_files(root):
    """Regular files under ``root``, never following a symlink (into the kit or elsewhere)."""
    found = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = [
            d
            for d in dirs
            if not os.path.islink(os.path.join(folder, d))
            and d not in ("__MACOSX", ".ipynb_checkpoints")
        ]
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
        if not submission.exists():
            raise IntakeError(
                f"{submission.name} was not found when its turn came (moved or "
                "deleted after the uploads were read): upload it again"
            )
        if submission.is_file() and (zipfile.is_zipfile(submission) or looks_like_zip(submission)):
            root = Path(tmp)
            _safe_extract(submission, root)
        elif submission.is_dir() and (inner := lone_zip(submission)) is not None:
            root = Path(tmp)  # an LMS's folder per student, holding the student's zip
            _safe_extract(inner, root)
            flags.append(f"graded the zip {inner.name!r} found in the folder {submission.name!r}")
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
                flags.append(
                    f"several files for {canonical}: graded the newest, {chosen.name!r} (not {others})"
                )
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
    return {
        c.metadata["nbgrader"].get("grade_id"): c.source
        for c in notebook.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }


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
            flags.append(
                f"{name}: cell {gid} appears twice (a pasted cell?): graded the first copy"
            )
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


def lone_zip(folder):
    """The one zip in ``folder`` when it holds no notebook and no ``cs_loss`` file (as an
    LMS's folder per student does: ``Ada Lovelace_1234_assignsubmission_file/submission.zip``,
    perhaps beside a PDF of the written answers), else None."""
    zips = [
        p
        for p in _regular_files(folder)
        if looks_like_zip(p) and not any(is_os_junk(part) for part in p.relative_to(folder).parts)
    ]
    if len(zips) == 1 and not _holds_work(folder):
        return zips[0]
    return None


# A student's own zips, often left beside their notebooks: never another student.
OWN_ZIPS = ("submission.zip", "loss.zip")
MAX_SECTION_DEPTH = 2  # class/section/subsection/<student>: deeper folders are not read


def _student_zips(entries):
    """The zips among ``entries`` that would each be one student (not a student's own)."""
    return [
        p for p in entries if p.is_file() and looks_like_zip(p) and p.name.lower() not in OWN_ZIPS
    ]


def _entries(folder):
    """The entries of ``folder``, sorted, without OS junk and symbolic links."""
    return [
        p for p in sorted(Path(folder).iterdir()) if not is_os_junk(p.name) and not p.is_symlink()
    ]


def _students_in(folder):
    """The entries of ``folder`` that would each be one student: zips, and folders of work."""
    entries = _entries(folder)
    folders = [
        p
        for p in entries
        if p.is_dir()
        and p.name != "cs_loss"
        and (_holds_work(p) or lone_zip(p) is not None or _is_section(p))
    ]
    return _student_zips(entries), folders


def _is_section(folder):
    """Whether ``folder`` holds students' zips but no work of its own (a section's downloads)."""
    return len(_student_zips(_entries(folder))) >= 2 and not _holds_work(folder)


def is_class_folder(folder):
    """Whether ``folder`` holds a class: at least two students' zips or folders, whatever
    else sits beside them (stray notebooks, the kit's ``cs_loss``), or a zip with no work of
    its own around it."""
    zips, folders = _students_in(folder)
    return len(zips) + len(folders) >= 2 or bool(zips and not is_one_submission(folder))


def is_one_submission(folder):
    """Whether a folder is one student's work whatever else it holds: a ``cs_loss`` folder or at
    least two of the assignment's notebooks (under any name Colab gives them) at its top."""
    folder = Path(folder)
    return (folder / "cs_loss").is_dir() or len(_top_notebooks(folder)) >= 2


SECTION = "a section"  # what _class_entry says of a folder that is a class of its own


def _class_entry(path):
    """How an entry of a class folder is read: ``None`` for a submission, :data:`SECTION` for
    a folder holding a class of its own (read the same way), else the reason it is not graded."""
    name = path.name
    if path.is_symlink():
        return f"{name} is a symbolic link: not followed, not graded"
    if path.is_dir():
        if is_one_submission(path):
            return None
        inner = lone_zip(path)  # an LMS's folder per student, holding the student's zip
        if inner is not None:
            problem = zip_problem(inner)
            return f"could not read the submission: {problem}" if problem else None
        zips, folders = _students_in(path)
        if len(zips) + len(folders) >= 2:
            return SECTION
        if _holds_work(path):
            return None
        if any(looks_like_zip(p) for p in _regular_files(path)):
            return (
                f"{name}/ holds several zips and no notebook: not graded (keep the one to "
                f"grade in {name}/, or give that zip itself)"
            )
        return f"{name}/ holds no notebook and no cs_loss file: not graded"
    if looks_like_zip(path):
        problem = zip_problem(path)
        return f"could not read the submission: {problem}" if problem else None
    if name.lower().endswith(".ipynb"):
        return (
            f"{name} is a notebook at the top of the class folder, not a student's zip or "
            "folder: not graded (put it in its student's folder to grade it)"
        )
    return f"{name} is {NOT_A_SUBMISSION}: not graded"


def is_reports_folder(folder):
    """Whether ``folder`` is a reports folder of ``autograde`` (kept beside the uploads)."""
    return (Path(folder) / "finished").is_dir() and (Path(folder) / "totals.csv").is_file()


def _read_class(folder, found, depth):
    """Sort the entries of the class folder ``folder`` into ``found``: (graded, not graded,
    ignored); a section (a folder holding a class of its own) is read the same way."""
    graded, rejected, junk = found
    for entry in sorted(Path(folder).iterdir()):
        if entry.is_dir() and not entry.is_symlink() and is_reports_folder(entry):
            junk.append(Entry(entry, "the grader's own reports folder: ignored"))
            continue
        if is_os_junk(entry.name):
            junk.append(
                Entry(
                    entry,
                    "left by the operating system (a hidden file or a Mac's __MACOSX): ignored",
                )
            )
            continue
        reason = _class_entry(entry)
        if reason == SECTION and depth < MAX_SECTION_DEPTH:
            _read_class(entry, found, depth + 1)
        elif reason == SECTION:
            rejected.append(
                Entry(
                    entry,
                    f"{entry.name}/ holds a class nested deeper than "
                    f"{MAX_SECTION_DEPTH} folders: not read (give it "
                    "as a class folder of its own)",
                )
            )
        elif reason is None:
            graded.append(entry)
        else:
            rejected.append(Entry(entry, reason))


def expand_submissions(paths):
    """The submissions in ``paths``: each a zip, a student's folder or a class folder.

    The rule, for each path given:

    - a file is one submission, whatever it holds (intake says why if it cannot be read);
    - a folder holding at least two students' zips or folders (folders with notebooks or
      ``cs_loss`` files, or with a zip alone, as an LMS keeps one folder per student) is a
      class folder, whatever else sits beside them; so is a folder holding one zip and no
      work of its own. Each such zip and folder is one student; a folder that holds a class
      of its own (a section) is read the same way, two levels deep at most; every other entry
      (a stray notebook or file, the kit's ``cs_loss``, an empty folder, a zip that cannot be
      read) is not graded and gets a row with the reason; hidden files, ``__MACOSX`` and the
      grader's own reports folder are ignored;
    - any other folder (a student's, with the notebooks or ``cs_loss`` at its top, perhaps
      beside their ``submission.zip``; or one nested folder) is one submission.

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
        if not is_class_folder(path):
            submissions.append(path)
            why = (
                "it holds the assignment's notebooks or a cs_loss folder at its top"
                if is_one_submission(path)
                else "it holds no zip and at most one folder with notebooks"
            )
            notes.append(f"{path} is one submission: {why}")
            continue
        found = ([], [], [])  # graded, not graded, ignored
        _read_class(path, found, depth=0)
        graded, rejected, junk = found
        submissions += graded
        not_graded += rejected
        ignored += junk
        n_zips = sum(1 for p in graded if p.is_file())
        notes.append(
            f"{path} is a class folder of {len(graded) + len(rejected)} entries: "
            f"{len(graded)} submissions to grade ({n_zips} zips, {len(graded) - n_zips} "
            f"folders), {len(rejected)} not graded (a row each, with the reason), "
            f"{len(junk)} ignored"
        )
    return Expansion(tuple(submissions), tuple(not_graded), tuple(ignored), tuple(notes))


def _hash_file(digest, path):
    with open(path, "rb") as f:
        while chunk := f.read(2**20):
            digest.update(chunk)


def submission_digest(path):
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
                for p in _regular_files(path)
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
    "grading/*.py",
    "grading/*.npz",
    "grading/*.json",
    "data/get_datasets.py",
)


def kit_version(kit=None):
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
    if saved.get("error"):
        return f"its earlier grading did not finish ({saved['error'][:80]})"
    return None

"""What to grade: the paths a TA gives, read as submissions, class folders and sections.

:func:`expand_submissions` gives every entry of a class folder a row (graded, or with
the reason it is not) and sets operating-system junk aside, named.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .uploads import (
    NOT_A_SUBMISSION,
    canonical_name,
    is_os_junk,
    looks_like_zip,
    regular_files,
    zip_problem,
)


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


def _top_notebooks(folder):
    """The assignment's notebooks (canonical names) at the top of ``folder``."""
    return {canonical_name(p.name) for p in Path(folder).iterdir() if p.is_file()} - {None}


def _holds_work(folder):
    """Whether ``folder`` holds a notebook or a ``cs_loss`` file anywhere (hidden folders aside)."""
    for path in regular_files(folder):
        parts = path.relative_to(folder).parts
        if any(is_os_junk(part) for part in parts):
            continue
        if path.suffix == ".ipynb" or (path.suffix == ".py" and "cs_loss" in parts):
            return True
    return False


def lone_zip(folder: str | Path) -> Path | None:
    """The one zip in ``folder`` when it holds no notebook and no ``cs_loss`` file (as an
    LMS's folder per student does: ``Ada Lovelace_1234_assignsubmission_file/submission.zip``,
    perhaps beside a PDF of the written answers), else None."""
    zips = [
        p
        for p in regular_files(folder)
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


def is_class_folder(folder: str | Path) -> bool:
    """Whether ``folder`` holds a class: at least two students' zips or folders, whatever
    else sits beside them (stray notebooks, the kit's ``cs_loss``), or a zip with no work of
    its own around it."""
    zips, folders = _students_in(folder)
    return len(zips) + len(folders) >= 2 or bool(zips and not is_one_submission(folder))


def is_one_submission(folder: str | Path) -> bool:
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
        if any(looks_like_zip(p) for p in regular_files(path)):
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


def is_reports_folder(folder: str | Path) -> bool:
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


def expand_submissions(paths: Iterable[str | Path]) -> Expansion:
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

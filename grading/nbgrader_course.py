"""A persistent nbgrader course for stock nbgrader and the formgrader, made safe.

``python -m grading course DIR`` creates (or updates) ``DIR`` as an nbgrader
course directory:

- ``source/loss/``: the kit's notebooks, ``cs_loss`` with every solution region
  already replaced by its stub (nbgrader does not strip ``.py`` files, so no
  solution line can reach ``release/``), ``data/get_datasets.py``,
  ``collect_submission.py`` and ``package_tests.ipynb``;
- ``package_tests.ipynb``: one auto-graded cell per hidden package test, with
  its points. When nbgrader autogrades it, :class:`PackageTests` runs the hidden
  tests (:func:`grading.package.run_package_tests`) on the student's own
  ``cs_loss`` and records each as that cell's grade, so the package points are
  in the gradebook, the formgrader and ``nbgrader export``;
- ``nbgrader_config.py`` (the kit's file, with ``nbgrader_settings.json`` beside
  it: :mod:`grading.nbconfig`): the kit's one preprocessor list (the release
  notebook rebuilt around the student's answers, a kernel that survives crashes,
  stderr that costs no points, trusted checks), the student's ``.py`` files kept
  (``exclude_overwriting``), feedback without the hidden tests' code, and every
  kernel started in a folder holding only that student's ``cs_loss`` and ``data``
  (:class:`StudentSandbox`), not beside the notebook with its hidden tests restored.

Then the usual nbgrader workflow works in ``DIR``: ``nbgrader
generate_assignment loss``, collect submissions into ``submitted/<student>/loss/``
(``nbgrader collect``, or ``python -m grading autograde --course DIR ...``),
``nbgrader autograde loss``, the formgrader for the written answers, ``nbgrader
generate_feedback loss`` and ``nbgrader export``.

Where stock nbgrader would be unsafe, the configuration refuses: a
``source/loss/cs_loss`` holding solution markers (the kit's own files copied
in by hand) stops every nbgrader command with a message naming the command to
run instead.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from . import course, nbconfig, package
from .child import user_from_environment
from .markers import strip_file
from .preprocessors import TrustedExport, TrustedVerdict
from .results import Flag

# A course made by `python -m grading course`: its nbgrader_config.py is the kit's file, whose
# first line is this mark, with settings of the "course" flavour beside it (the release and
# autograde folders have the same file with other flavours). Courses made before the
# configuration became a file have the legacy mark.
MARK = nbconfig.CONFIG_FILE.read_text().splitlines()[0]
LEGACY_MARK = "# Written by `python -m grading course`; rerun that command to update it."


def is_course(root: str | Path) -> bool:
    """Whether ``root`` is a course folder made by `python -m grading course`."""
    config = Path(root) / "nbgrader_config.py"
    if not config.is_file():
        return False
    text = config.read_text()
    if text.startswith(LEGACY_MARK):
        return True
    try:
        settings = nbconfig.Settings.from_json((Path(root) / nbconfig.SETTINGS_FILE).read_text())
    except (OSError, ValueError, TypeError, KeyError):
        return False
    return text.startswith(MARK) and settings.flavour == "course"


PACKAGE_NOTEBOOK = "package_tests.ipynb"
SANDBOX = "sandbox"  # DIR/sandbox/<student>: the kernel's folder


class UnsafeCourseError(RuntimeError):
    """The course directory would leak solutions or grade the instructor's code."""


def refuse_unsafe_source(root: str | Path) -> None:
    """Raise if ``root/source/loss/cs_loss`` holds solution markers (nbgrader_config.py asks)."""
    package_dir = Path(root) / "source" / course.ASSIGNMENT / "cs_loss"
    leaking = sorted(
        p.name for p in package_dir.glob("*.py") if "### BEGIN SOLUTION" in p.read_text()
    )
    if leaking:
        raise UnsafeCourseError(
            f"source/{course.ASSIGNMENT}/cs_loss holds solutions ({', '.join(leaking)}): nbgrader "
            "would copy them into release/ and grade your code instead of the students'. Run "
            f"`python -m grading course {root}` to rebuild source/ with stubs, then run nbgrader "
            "again."
        )


def _grade_id(test_name: str) -> str:
    return "package_" + re.sub(r"[^A-Za-z0-9_]+", "_", test_name).strip("_")


def package_notebook() -> nbformat.NotebookNode:
    """``package_tests.ipynb``: one read-only, auto-graded cell per hidden package test."""
    notebook = nbformat.v4.new_notebook()
    intro = nbformat.v4.new_markdown_cell(
        "# Hidden tests of your `cs_loss` package\n\nNothing to do here: when your submission "
        "is graded, these cells record the hidden tests the grader runs on your `cs_loss` files. "
        "Keep this notebook in your submission."
    )
    intro.metadata["nbgrader"] = {
        "grade_id": "package_intro",
        "locked": True,
        "grade": False,
        "solution": False,
        "schema_version": 3,
    }
    notebook.cells.append(intro)
    for case in package.TESTS:
        name, points, targets = case.name, case.points, case.targets
        cell = nbformat.v4.new_code_cell(
            f"# Hidden test {name} ({points} points) of {', '.join(targets)}: run by the grader.\n"
        )
        cell.metadata["nbgrader"] = {
            "grade_id": _grade_id(name),
            "locked": True,
            "grade": True,
            "solution": False,
            "points": points,
            "schema_version": 3,
        }
        notebook.cells.append(cell)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return notebook


def student_package(course_root: str | Path, student: str, dest: str | Path) -> Path:
    """Fill ``dest`` with the student's ``cs_loss`` (stubs for missing files) and ``data``."""
    course_root, dest = Path(course_root), Path(dest)
    source = course_root / "source" / course.ASSIGNMENT
    submitted = course_root / "submitted" / student / course.ASSIGNMENT
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(
        source / "cs_loss", dest / "cs_loss", ignore=shutil.ignore_patterns("__pycache__")
    )
    for student_file in course.STUDENT_FILES:
        if (submitted / student_file).is_file():
            shutil.copy(submitted / student_file, dest / student_file)
    shutil.copytree(source / "data", dest / "data")
    return dest


class StudentSandbox(NbGraderPreprocessor):
    """Start the kernel in ``DIR/sandbox/<student>``: that student's cs_loss and data only."""

    course_root = Unicode("", help="the course directory").tag(config=True)

    def preprocess(
        self, nb: nbformat.NotebookNode, resources: dict[str, Any]
    ) -> tuple[nbformat.NotebookNode, dict[str, Any]]:
        student = resources["nbgrader"]["student"]
        folder = student_package(
            self.course_root, student, Path(self.course_root) / SANDBOX / student
        )
        resources.setdefault("metadata", {})["path"] = str(folder)
        return nb, resources


class CourseTrustedExport(TrustedExport):
    """The kit's TrustedExport, except in ``package_tests.ipynb`` (PackageTests grades it)."""

    def preprocess(
        self, nb: nbformat.NotebookNode, resources: dict[str, Any]
    ) -> tuple[nbformat.NotebookNode, dict[str, Any]]:
        if resources.get("unique_key") == Path(PACKAGE_NOTEBOOK).stem:
            return nb, resources
        return super().preprocess(nb, resources)


class CourseTrustedVerdict(TrustedVerdict):
    """The kit's TrustedVerdict, except in ``package_tests.ipynb`` (PackageTests grades it)."""

    def preprocess(
        self, nb: nbformat.NotebookNode, resources: dict[str, Any]
    ) -> tuple[nbformat.NotebookNode, dict[str, Any]]:
        if resources.get("unique_key") == Path(PACKAGE_NOTEBOOK).stem:
            return nb, resources
        return super().preprocess(nb, resources)


class PackageTests(NbGraderPreprocessor):
    """In ``package_tests.ipynb``: each cell's outputs become its hidden test's result."""

    def preprocess(
        self, nb: nbformat.NotebookNode, resources: dict[str, Any]
    ) -> tuple[nbformat.NotebookNode, dict[str, Any]]:
        if resources.get("unique_key") != Path(PACKAGE_NOTEBOOK).stem:
            return nb, resources
        folder = resources.get("metadata", {}).get("path")
        if not folder or not (Path(folder) / "cs_loss").is_dir():
            raise UnsafeCourseError("PackageTests needs StudentSandbox before it in the pipeline")
        tests = package.run_package_tests(folder, user=user_from_environment())
        results = {_grade_id(r.name): r for r in tests}
        for cell in nb.cells:
            result = results.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
            if result is None or cell.cell_type != "code":
                continue
            if result.score >= result.max_score:
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="passed\n")]
            else:
                cell.outputs = [
                    nbformat.v4.new_output(
                        "error",
                        ename="HiddenTestFailed",
                        evalue=result.output[:500],
                        traceback=[f"HiddenTestFailed: {result.output[:500]}"],
                    )
                ]
        return nb, resources


class HideTestTracebacks(NbGraderPreprocessor):
    """In feedback, a failing test cell shows its error message, not the traceback's code lines."""

    def preprocess_cell(
        self, cell: nbformat.NotebookNode, resources: dict[str, Any], index: int
    ) -> tuple[nbformat.NotebookNode, dict[str, Any]]:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [
                        f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
                    ]
        return cell, resources


def write_course(root: str | Path, cell_timeout: int = 120) -> Path:
    """Create or update the course directory ``root``; return its path.

    Refuses a non-empty folder that is not a course made by this command, so
    nothing of someone else's is overwritten. Submissions, grades and the
    gradebook of an existing course are kept; ``source/loss`` is rebuilt.
    """
    root = Path(root).resolve()
    if root.exists() and any(root.iterdir()):
        if not is_course(root):
            raise UnsafeCourseError(
                f"{root} is not empty and not a course made by `python -m grading course`: "
                "give a new or empty folder (nothing was changed)."
            )
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cs_loss_source_") as tmp:
        staged = course.write_source(tmp)  # the kit's layout, with solutions
        for path in sorted((staged / "cs_loss").glob("*.py")):
            strip_file(path, f"cs_loss/{path.name}")
        shutil.copy(
            Path(__file__).with_name("collect_submission.py"), staged / "collect_submission.py"
        )
        nbformat.write(package_notebook(), staged / PACKAGE_NOTEBOOK)
        source = root / "source" / course.ASSIGNMENT
        if source.exists():
            shutil.rmtree(source)
        source.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staged, source)
    course.write_config(
        root,
        cell_timeout=cell_timeout,
        flavour="course",
        ignore=(*nbconfig.IGNORE, SANDBOX),
        release_dir=str(root / "release" / course.ASSIGNMENT),
        flag_file=str(root / "autograde_flags.json"),
        sandbox=str(root / SANDBOX),
        export_dir=str(root / SANDBOX / ".export"),
    )
    return root


def require_course(root: str | Path) -> Path:
    """``root`` resolved, if it is a course made by :func:`write_course`; else UnsafeCourseError."""
    root = Path(root).resolve()
    if not is_course(root):
        raise UnsafeCourseError(
            f"{root} is not a course made by `python -m grading course`: "
            f"run `python -m grading course {root}` first."
        )
    return root


def autograde_into(
    root: str | Path, submissions: Iterable[tuple[str, str | Path]], timeout: float = 600
) -> dict[str, list[Flag]]:
    """Lay each ``(student, submission)`` into the course and autograde it there with nbgrader.

    ``submission`` is a folder or zip as :func:`grading.intake.intake` reads it; an
    earlier submission of the same student in the course is replaced. Afterwards the
    formgrader lists every submission's written answers and ``nbgrader export`` has
    the full grades. ``timeout`` bounds each student's nbgrader run, in seconds.
    Returns ``{student: flags}``.
    """
    from . import intake

    root = require_course(root)
    release = root / "release" / course.ASSIGNMENT
    if not (release / PACKAGE_NOTEBOOK).is_file():
        course.nbgrader(root, "generate_assignment", course.ASSIGNMENT, "--force")
    flags = {}
    for student, submission in submissions:
        dest = root / "submitted" / student / course.ASSIGNMENT
        if dest.exists():
            shutil.rmtree(dest)
        flags[student] = intake.intake(submission, dest, release)
        shutil.copy(release / PACKAGE_NOTEBOOK, dest / PACKAGE_NOTEBOOK)
        course.nbgrader(
            root,
            "autograde",
            course.ASSIGNMENT,
            "--student",
            student,
            "--create",
            "--force",
            timeout=timeout,
        )
    return flags

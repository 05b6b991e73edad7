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
- ``nbgrader_config.py``: feedback without the hidden tests' code; the kit's preprocessors (the release notebook
  rebuilt around the student's answers, a kernel that survives crashes, stderr
  that costs no points), the student's ``.py`` files kept
  (``exclude_overwriting``), and every kernel started in a folder holding only
  that student's ``cs_loss`` and ``data`` (:class:`StudentSandbox`), not beside
  the notebook with its hidden tests restored.

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

import re
import shutil
import tempfile
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from . import course, package, sandbox
from .child import user_from_environment
from .markers import strip_file
from .preprocessors import TrustedExport, TrustedVerdict

MARK = "# Written by `python -m grading course`; rerun that command to update it."
PACKAGE_NOTEBOOK = "package_tests.ipynb"
SANDBOX = "sandbox"  # DIR/sandbox/<student>: the kernel's folder

COURSE_CONFIG = """\
{mark}
c = get_config()  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "cs_loss"
c.CourseDirectory.db_url = {db_url!r}
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", {sandbox!r}]
c.Autograde.exclude_overwriting = {{{assignment!r}: {student_files!r}}}
c.Execute.timeout = {cell_timeout}
c.Execute.interrupt_on_timeout = True

# The kit's preprocessors, imported in nbgrader's process only (never in a student's kernel).
import sys
sys.path.insert(0, {kit!r})
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearHiddenTests,
    ClearOutput, DeduplicateIds, GetGrades, IgnorePattern, LimitOutput, OverwriteCells,
    OverwriteKernelspec, SaveAutoGrades)
from grading.preprocessors import RebuildFromRelease, ResilientExecute, StderrToStdout
from grading.nbgrader_course import (CourseTrustedExport, CourseTrustedVerdict,
    HideTestTracebacks, PackageTests, StudentSandbox, UnsafeCourseError, refuse_unsafe_source)
try:
    refuse_unsafe_source({root!r})
except UnsafeCourseError as exc:  # traitlets turns an exception here into a mere warning
    sys.exit(f"[ERROR] {{exc}}")
# Trusted evaluation as in `python -m grading autograde`: CourseTrustedExport (after
# OverwriteCells) turns each graded test cell into an export of plain values;
# CourseTrustedVerdict (after the kernel is gone, before SaveAutoGrades) checks them in
# nbgrader's own process with the kit's code, and puts back each test cell's release source:
# the formgrader and the feedback show the check the student saw and its verdict.
c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, RebuildFromRelease,
    OverwriteKernelspec, OverwriteCells, CourseTrustedExport, CheckCellMetadata]
# StudentSandbox before execution (the kernel's folder); PackageTests after it and before
# SaveAutoGrades, which reads the grades from the outputs it writes.
c.Autograde.autograde_preprocessors = [StudentSandbox, ResilientExecute, StderrToStdout,
    PackageTests, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, CourseTrustedVerdict,
    SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
c.CourseTrustedExport.export_dir = {root!r} + "/{sandbox}/.export"
c.CourseTrustedExport.flag_file = {flag_file!r}
c.CourseTrustedVerdict.export_dir = {root!r} + "/{sandbox}/.export"
c.CourseTrustedVerdict.flag_file = {flag_file!r}
# Feedback shows the student's notebook without the hidden tests' code, in cells or tracebacks.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, HideTestTracebacks,
    CSSHTMLHeaderPreprocessor]
c.RebuildFromRelease.release_dir = {release_dir!r}
c.RebuildFromRelease.flag_file = {flag_file!r}
c.StderrToStdout.flag_file = {flag_file!r}
c.ResilientExecute.flag_file = {flag_file!r}
c.StudentSandbox.course_root = {root!r}
"""


class UnsafeCourseError(RuntimeError):
    """The course directory would leak solutions or grade the instructor's code."""


def refuse_unsafe_source(root):
    """Raise if ``root/source/loss/cs_loss`` holds solution markers (loaded by nbgrader_config.py)."""
    package_dir = Path(root) / "source" / course.ASSIGNMENT / "cs_loss"
    leaking = sorted(
        p.name for p in package_dir.glob("*.py") if "### BEGIN SOLUTION" in p.read_text()
    )
    if leaking:
        raise UnsafeCourseError(
            f"source/{course.ASSIGNMENT}/cs_loss holds solutions ({', '.join(leaking)}): nbgrader "
            "would copy them into release/ and grade your code instead of the students'. Run "
            f"`python -m grading course {root}` to rebuild source/ with stubs, then run nbgrader again."
        )


def _grade_id(test_name):
    return "package_" + re.sub(r"[^A-Za-z0-9_]+", "_", test_name).strip("_")


def package_notebook():
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
    for _group, name, points, targets, _modules in package.TESTS:
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


def student_package(course_root, student, dest):
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

    def preprocess(self, nb, resources):
        student = resources["nbgrader"]["student"]
        folder = student_package(
            self.course_root, student, Path(self.course_root) / SANDBOX / student
        )
        resources.setdefault("metadata", {})["path"] = str(folder)
        return nb, resources


class CourseTrustedExport(TrustedExport):
    """The kit's TrustedExport, except in ``package_tests.ipynb`` (PackageTests grades it)."""

    def preprocess(self, nb, resources):
        if resources.get("unique_key") == Path(PACKAGE_NOTEBOOK).stem:
            return nb, resources
        return super().preprocess(nb, resources)


class CourseTrustedVerdict(TrustedVerdict):
    """The kit's TrustedVerdict, except in ``package_tests.ipynb`` (PackageTests grades it)."""

    def preprocess(self, nb, resources):
        if resources.get("unique_key") == Path(PACKAGE_NOTEBOOK).stem:
            return nb, resources
        return super().preprocess(nb, resources)


class PackageTests(NbGraderPreprocessor):
    """In ``package_tests.ipynb``: each cell's outputs become its hidden test's result."""

    def preprocess(self, nb, resources):
        if resources.get("unique_key") != Path(PACKAGE_NOTEBOOK).stem:
            return nb, resources
        folder = resources.get("metadata", {}).get("path")
        if not folder or not (Path(folder) / "cs_loss").is_dir():
            raise UnsafeCourseError("PackageTests needs StudentSandbox before it in the pipeline")
        results = {
            _grade_id(r.name): r
            for r in package.run_package_tests(
                folder, user=user_from_environment(), monitor=sandbox.active_monitor()
            )
        }
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

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [
                        f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
                    ]
        return cell, resources


def write_course(root, cell_timeout=120):
    """Create or update the course directory ``root``; return its path.

    Refuses a non-empty folder that is not a course made by this command, so
    nothing of someone else's is overwritten. Submissions, grades and the
    gradebook of an existing course are kept; ``source/loss`` is rebuilt.
    """
    root = Path(root).resolve()
    config = root / "nbgrader_config.py"
    if root.exists() and any(root.iterdir()):
        if not (config.is_file() and config.read_text().startswith(MARK)):
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
    config.write_text(
        COURSE_CONFIG.format(
            mark=MARK,
            root=str(root),
            db_url=f"sqlite:///{root / 'gradebook.db'}",
            sandbox=SANDBOX,
            assignment=course.ASSIGNMENT,
            student_files=list(course.STUDENT_FILES),
            cell_timeout=cell_timeout,
            kit=str(course.KIT_ROOT),
            release_dir=str(root / "release" / course.ASSIGNMENT),
            flag_file=str(root / "autograde_flags.json"),
        )
    )
    return root


def require_course(root):
    """``root`` resolved, if it is a course made by :func:`write_course`; else UnsafeCourseError."""
    root = Path(root).resolve()
    config = root / "nbgrader_config.py"
    if not (config.is_file() and config.read_text().startswith(MARK)):
        raise UnsafeCourseError(
            f"{root} is not a course made by `python -m grading course`: "
            f"run `python -m grading course {root}` first."
        )
    return root


def autograde_into(root, submissions, timeout=600):
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

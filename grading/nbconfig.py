"""The one nbgrader configuration of the kit, built as a traitlets ``Config``.

Every nbgrader run of the kit (the release build, ``python -m grading autograde``
and the stock course of ``python -m grading course``) reads the same real file,
``grading/nbgrader_files/nbgrader_config.py``, copied into the course directory
with its :class:`Settings` beside it as ``nbgrader_settings.json``
(:func:`write_config`). That file merges :func:`nbgrader_config` of those settings
into nbgrader's own configuration, so the configuration is code read by the linter
and the tests, never text formatted into a file.

The preprocessors are the one ordered list below (:data:`SANITIZE` and
:data:`AUTOGRADE`), with the reason each sits where it does. nbgrader runs
``autograde`` in two passes over each notebook: ``sanitize_preprocessors`` on
the submitted notebook, then ``autograde_preprocessors`` on the sanitized copy
(nbgrader's own lists: ``nbgrader/converters/autograde.py``). The stock course
differs from the kit's autograde only by the named differences of
:data:`COURSE_REPLACES`, :data:`COURSE_INSERTS` and :data:`COURSE_FEEDBACK`.

This module imports nothing of the kit: nbgrader imports each preprocessor by its
dotted name in its own process (never in a student's kernel).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from traitlets.config import Config

CONFIG_FILE = Path(__file__).resolve().with_name("nbgrader_files") / "nbgrader_config.py"
SETTINGS_FILE = "nbgrader_settings.json"
FLAVOURS = ("release", "autograde", "course")
IGNORE = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback")  # not graded: CourseDirectory

# sanitize: the submitted notebook made into the notebook that is graded.
SANITIZE = (
    # nbgrader's: outputs the student left are never trusted.
    "nbgrader.preprocessors.ClearOutput",
    # nbgrader's: a duplicated grade id (a copied cell) keeps only its first cell.
    "nbgrader.preprocessors.DeduplicateIds",
    # Before OverwriteCells: the release notebook with the student's answers put in, so
    # deleted, edited, skipped or renamed test cells come back from the release (flagged).
    "grading.preprocessors.RebuildFromRelease",
    # nbgrader's: the kernelspec of the release, whatever the student's notebook says.
    "nbgrader.preprocessors.OverwriteKernelspec",
    # nbgrader's: read-only and test cells restored from the gradebook.
    "nbgrader.preprocessors.OverwriteCells",
    # After OverwriteCells (it needs the restored test cells): each graded test cell becomes
    # an export of plain values; its release source is kept in its metadata.
    "grading.preprocessors.TrustedExport",
    # nbgrader's, last as in its own list: the cell metadata is still valid.
    "nbgrader.preprocessors.CheckCellMetadata",
)
# autograde: the sanitized notebook executed and scored.
AUTOGRADE = (
    # Before execution: the kernel starts in a folder holding only the student's files.
    "grading.preprocessors.Sandbox",
    # Where nbgrader has Execute: a dead kernel costs its cell, time is bounded.
    "grading.preprocessors.ResilientExecute",
    # Right after execution: stderr (a warning) moved to stdout, so it costs no points.
    "grading.preprocessors.StderrToStdout",
    # nbgrader's, in its own order: IgnorePattern, ClearMetadataPreprocessor, LimitOutput.
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    # After the kernel is gone and right before SaveAutoGrades, which scores the outputs it
    # writes: the trusted checks on the exported values, and the release source put back.
    "grading.preprocessors.TrustedVerdict",
    # nbgrader's, in its own order: scores into the gradebook, late penalties, a last check.
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
)

# The stock course (grading/nbgrader_course.py) differs from the list above in these ways only.
COURSE_REPLACES = {
    # Its kernels start in DIR/sandbox/<student>, built from the gradebook's student id.
    "grading.preprocessors.Sandbox": "grading.nbgrader_course.StudentSandbox",
    # Both leave package_tests.ipynb alone: PackageTests grades it.
    "grading.preprocessors.TrustedExport": "grading.nbgrader_course.CourseTrustedExport",
    "grading.preprocessors.TrustedVerdict": "grading.nbgrader_course.CourseTrustedVerdict",
}
# (inserted after, inserted): PackageTests needs StudentSandbox's folder, and writes the
# outputs that SaveAutoGrades scores.
COURSE_INSERTS = (("grading.preprocessors.StderrToStdout", "grading.nbgrader_course.PackageTests"),)
# Feedback shows the student's notebook without the hidden tests' code, in cells or tracebacks.
COURSE_FEEDBACK = (
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "grading.nbgrader_course.HideTestTracebacks",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
)


@dataclass(frozen=True)
class Settings:
    """What varies between the kit's nbgrader runs; the rest is :func:`nbgrader_config`.

    ``flavour`` is ``"release"`` (generate_assignment only: no grading pipeline),
    ``"autograde"`` (``python -m grading autograde``: one student, a :class:`Sandbox
    <grading.isolation.Sandbox>`) or ``"course"`` (the stock course). ``sandbox`` is the
    kernel's folder (autograde) or the folder of the students' kernel folders (course).
    """

    root: str
    db_path: str
    kit: str
    assignment: str
    student_files: tuple[str, ...]
    flavour: str = "release"
    cell_timeout: int = 120
    ignore: tuple[str, ...] = IGNORE
    release_dir: str = ""
    flag_file: str = ""
    sandbox: str = ""
    export_dir: str = ""
    export_owner: str = ""
    verdict_file: str = ""
    notebook_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.flavour not in FLAVOURS:
            raise ValueError(f"flavour: expected one of {FLAVOURS}, got {self.flavour!r}")

    def to_json(self) -> str:
        """The settings as the JSON file beside ``nbgrader_config.py``."""
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> Settings:
        """Settings read back from :meth:`to_json`."""
        data = json.loads(text)
        for key in ("student_files", "ignore"):
            data[key] = tuple(data[key])
        return cls(**data)


def preprocessors(flavour: str) -> tuple[list[str], list[str]]:
    """The sanitize and autograde lists of ``flavour`` (the course's named differences applied)."""
    sanitize, autograde = list(SANITIZE), list(AUTOGRADE)
    if flavour == "course":
        sanitize = [COURSE_REPLACES.get(name, name) for name in sanitize]
        autograde = [COURSE_REPLACES.get(name, name) for name in autograde]
        for after, inserted in COURSE_INSERTS:
            autograde.insert(autograde.index(after) + 1, inserted)
    return sanitize, autograde


def nbgrader_config(settings: Settings) -> Config:
    """nbgrader's configuration for ``settings``, as a traitlets ``Config``."""
    c = Config()
    c.CourseDirectory.root = settings.root
    c.CourseDirectory.course_id = "cs_loss"
    c.CourseDirectory.db_url = f"sqlite:///{settings.db_path}"
    c.CourseDirectory.ignore = list(settings.ignore)
    # The student's .py files are graded as submitted, never overwritten by the release's.
    c.Autograde.exclude_overwriting = {settings.assignment: list(settings.student_files)}
    c.Execute.timeout = settings.cell_timeout
    c.Execute.interrupt_on_timeout = True
    if settings.flavour == "release":
        return c
    sanitize, autograde = preprocessors(settings.flavour)
    c.Autograde.sanitize_preprocessors = sanitize
    c.Autograde.autograde_preprocessors = autograde
    c.RebuildFromRelease.release_dir = settings.release_dir
    for name in ("RebuildFromRelease", "StderrToStdout", "ResilientExecute"):
        c[name].flag_file = settings.flag_file
    # The course's subclasses (CourseTrustedExport, CourseTrustedVerdict) read these too.
    c.TrustedExport.export_dir = settings.export_dir
    c.TrustedExport.flag_file = settings.flag_file
    c.TrustedVerdict.export_dir = settings.export_dir
    c.TrustedVerdict.flag_file = settings.flag_file
    if settings.flavour == "autograde":
        c.Sandbox.directory = settings.sandbox
        c.ResilientExecute.notebook_seconds = settings.notebook_seconds
        # One submission per worker process: its notebooks share one kernel (reset between).
        c.ResilientExecute.share_kernel = True
        c.TrustedExport.export_owner = settings.export_owner
        c.TrustedVerdict.verdict_file = settings.verdict_file
    else:
        c.StudentSandbox.course_root = settings.root
        c.GenerateFeedback.preprocessors = list(COURSE_FEEDBACK)
    return c


def write_config(course_root: str | Path, settings: Settings) -> Path:
    """Copy ``nbgrader_config.py`` into ``course_root`` with ``settings`` beside it; return it."""
    course_root = Path(course_root)
    (course_root / SETTINGS_FILE).write_text(settings.to_json())
    target = course_root / CONFIG_FILE.name
    shutil.copyfile(CONFIG_FILE, target)
    return target

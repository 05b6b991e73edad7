"""The nbgrader course directory, assembled from the kit by the tool, and nbgrader runs.

Nobody keeps a course directory by hand: every command builds a fresh one in a
temporary folder from ``notebooks/``, ``cs_loss/`` and ``data/``, so the source
of truth stays the kit.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .exercises import ASSIGNMENT, KIT_ROOT, NOTEBOOKS, STUDENT_FILES

# NOTEBOOKS and STUDENT_FILES (what students edit besides the notebooks: their
# versions are the ones graded) are derived from the exercise table.
__all__ = [
    "ASSIGNMENT",
    "KIT_ROOT",
    "NOTEBOOKS",
    "STUDENT_FILES",
    "NbgraderError",
    "nbgrader",
    "write_config",
    "write_source",
]
# Shipped to students alongside the notebooks.
PACKAGE_GLOB = "cs_loss/*.py"
DATA_FILES = ("data/get_datasets.py",)

CONFIG = """\
c = get_config()  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "cs_loss"
c.CourseDirectory.db_url = {db_url!r}
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]
c.Autograde.exclude_overwriting = {{{assignment!r}: {student_files!r}}}
c.Execute.timeout = {cell_timeout}
c.Execute.interrupt_on_timeout = True
{extra}
"""

# Appended for autograding: the kit's preprocessors (see grading/preprocessors.py),
# imported in nbgrader's process only; the student's kernel never sees the kit.
GRADING_CONFIG = """
import sys
sys.path.insert(0, {kit!r})
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearOutput,
    DeduplicateIds, Execute, IgnorePattern, LimitOutput, OverwriteCells, OverwriteKernelspec,
    SaveAutoGrades)
from grading.preprocessors import (RebuildFromRelease, ResilientExecute, Sandbox, StderrToStdout,
    TrustedExport, TrustedVerdict)
# TrustedExport must follow OverwriteCells (which restores test cells from the gradebook);
# TrustedVerdict must run after the kernel is gone and right before SaveAutoGrades scores outputs;
# it also puts back each test cell's release source, so the executed notebook shows the check.
c.Autograde.sanitize_preprocessors = [ClearOutput, DeduplicateIds, RebuildFromRelease,
    OverwriteKernelspec, OverwriteCells, TrustedExport, CheckCellMetadata]
c.Autograde.autograde_preprocessors = [Sandbox, ResilientExecute, StderrToStdout, IgnorePattern,
    ClearMetadataPreprocessor, LimitOutput, TrustedVerdict, SaveAutoGrades, AssignLatePenalties,
    CheckCellMetadata]
c.RebuildFromRelease.release_dir = {release_dir!r}
c.RebuildFromRelease.flag_file = {flag_file!r}
c.StderrToStdout.flag_file = {flag_file!r}
c.Sandbox.directory = {sandbox!r}
c.ResilientExecute.flag_file = {flag_file!r}
c.ResilientExecute.notebook_seconds = {notebook_seconds}
c.TrustedExport.export_dir = {export_dir!r}
c.TrustedExport.export_owner = {export_owner!r}
c.TrustedExport.flag_file = {flag_file!r}
c.TrustedVerdict.export_dir = {export_dir!r}
c.TrustedVerdict.flag_file = {flag_file!r}
"""


class NbgraderError(RuntimeError):
    """nbgrader failed; the message holds the end of its log."""


def write_source(course_root, kit_root=None):
    """Copy the kit's notebooks, package and data scripts into ``source/loss``.

    ``kit_root`` (default: this kit) is the folder holding ``notebooks/``,
    ``cs_loss/`` and ``data/``.
    """
    kit_root = Path(kit_root or KIT_ROOT)
    source = Path(course_root) / "source" / ASSIGNMENT
    if source.exists():
        shutil.rmtree(source)
    (source / "cs_loss").mkdir(parents=True)
    (source / "data").mkdir()
    for name in NOTEBOOKS:
        shutil.copy(kit_root / "notebooks" / name, source / name)
    for path in sorted(kit_root.glob(PACKAGE_GLOB)):
        shutil.copy(path, source / "cs_loss" / path.name)
    for name in DATA_FILES:
        shutil.copy(kit_root / name, source / name)
    return source


def write_config(course_root, cell_timeout=120, extra="", db_path=None):
    course_root = Path(course_root)
    db_url = f"sqlite:///{db_path or course_root / 'gradebook.db'}"
    (course_root / "nbgrader_config.py").write_text(
        CONFIG.format(
            root=str(course_root),
            db_url=db_url,
            assignment=ASSIGNMENT,
            student_files=list(STUDENT_FILES),
            cell_timeout=cell_timeout,
            extra=extra,
        )
    )


def nbgrader(course_root, *args, timeout=None, env_extra=None):
    """Run ``nbgrader ARGS`` in the course directory; raise NbgraderError on failure.

    nbgrader 0.9 shells out to ``alembic`` to create its database, so the
    folder of this Python's scripts goes first on PATH; and it can exit 0
    after a failure, so its log is checked for errors too.
    """
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(env_extra or {})
    try:
        done = subprocess.run(
            [sys.executable, "-m", "nbgrader", *args],
            cwd=course_root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise NbgraderError(f"nbgrader {args[0]} timed out after {timeout} s") from exc
    log = done.stdout + done.stderr
    if done.returncode != 0 or "[ERROR]" in log:
        tail = "\n".join(log.strip().splitlines()[-25:])
        raise NbgraderError(
            f"nbgrader {' '.join(args[:2])} failed (exit {done.returncode}):\n{tail}"
        )
    return log

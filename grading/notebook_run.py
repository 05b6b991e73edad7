"""The notebook run: nbgrader's autograde of one submission's notebooks, in its sandbox.

nbgrader's autograde app runs in the worker's own process (:func:`autograde_in_process`:
no second interpreter importing the same stack again), with the kit's preprocessors
(:mod:`grading.preprocessors`) in a course folder of its own, copied from the template.
The kernel's folder holds only the student's ``cs_loss`` and ``data``; exported values
go to the grader's export folder.
The outcomes come from nbgrader's gradebook (points, written answers waiting for a
manual grade) and from the trusted verdicts the preprocessors recorded
(:func:`grading.nbrecords.read_verdicts`); the executed notebooks are not read back.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat

from . import course
from . import isolation as sandbox_module
from .context import GradeContext
from .nbrecords import read_flags, read_verdicts
from .results import Flag, TestOutcome

NBGRADER_START = 10  # seconds to start a kernel and nbgrader's steps, per notebook
RESERVE = 30  # seconds kept to write the result after the notebooks


def verdict_output(passed: bool, reason: str) -> str:
    """What a notebook check shows the student: ``"passed"`` or why it failed."""
    if passed:
        return "passed"
    return f"CheckFailed: {reason}" if reason else "CheckFailed (a hidden check failed)"


def notebook_outcomes(
    gradebook_url: str, student: str, verdicts: dict[str, tuple[bool, str]]
) -> list[TestOutcome]:
    """Per-cell outcomes: points from the gradebook, reasons from the trusted verdicts."""
    from nbgrader.api import Gradebook

    outcomes = []
    with Gradebook(gradebook_url) as gb:
        submission = gb.find_submission(course.ASSIGNMENT, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                name = f"{notebook.name}:{grade.name}"
                written = grade.cell.cell_type == "markdown"
                manual = bool(grade.needs_manual_grade)
                score = grade.score if not manual else 0.0
                if written:
                    output = "answered: needs manual grading" if manual else "no answer given"
                elif manual:
                    output = "needs manual grading"
                elif name in verdicts:
                    output = verdict_output(*verdicts[name])
                else:
                    output = "passed" if score >= grade.max_score else "not passed"
                outcomes.append(
                    TestOutcome(
                        name=name,
                        kind="written" if written else "notebook",
                        score=float(score or 0.0),
                        max_score=float(grade.max_score),
                        needs_manual_grade=manual,
                        output=output[:500],
                    )
                )
    return outcomes


def blank_notebook_outcomes(root: str | Path, reason: str) -> list[TestOutcome]:
    """Every notebook test of the course ``root`` as 0 points, with ``reason``."""
    outcomes = []
    for name in course.NOTEBOOKS:
        notebook = nbformat.read(Path(root) / "source" / course.ASSIGNMENT / name, as_version=4)
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                outcomes.append(
                    TestOutcome(
                        name=f"{Path(name).stem}:{meta['grade_id']}",
                        kind="written" if cell.cell_type == "markdown" else "notebook",
                        score=0.0,
                        max_score=float(meta["points"]),
                        output=f"not graded: {(reason.splitlines() or [''])[0][:200]}",
                    )
                )
    return outcomes


def autograde_in_process(
    root: Path, student: str, env: dict[str, str], options: Sequence[str] = ()
) -> None:
    """``nbgrader autograde ASSIGNMENT --student STUDENT --create --force [options]`` in
    ``root``, run in this process by nbgrader's own app, as its command line would.

    For a worker process only: it changes the working folder while nbgrader runs, and
    sets ``env`` (and this Python's scripts first on ``PATH``, for nbgrader's ``alembic``)
    in this process's environment, which the kernels inherit, as they would from a
    ``python -m nbgrader`` child. Raises :class:`grading.course.NbgraderError` when
    nbgrader fails (where the command would exit non-zero).
    """
    from jupyter_core.application import NoStart
    from nbgrader.apps.nbgraderapp import NbGraderApp

    from .execute import shutdown_shared_kernel  # nbgrader's stack: only where it runs

    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    os.environ.update(env)
    args = ["autograde", course.ASSIGNMENT, "--student", student, "--create", "--force", *options]
    here = os.getcwd()
    os.chdir(root)
    try:
        app = NbGraderApp()
        app.initialize(args)
        app.start()
    except NoStart:  # how jupyter's apps end after running their subcommand's app
        pass
    except SystemExit as exc:  # nbgrader's apps exit 1 on a failure
        if exc.code not in (0, None):
            raise course.NbgraderError(f"nbgrader autograde failed (exit {exc.code})") from exc
    except Exception as exc:  # noqa: BLE001 - as the command, which would exit 1
        raise course.NbgraderError(f"nbgrader autograde failed ({type(exc).__name__})") from exc
    finally:
        os.chdir(here)
        shutdown_shared_kernel()  # before the sandbox's cleanup, which would flag it


def _configure(ctx: GradeContext, root: Path, tmp: Path, seconds: float) -> None:
    """Write the course's nbgrader configuration for this submission."""
    box = ctx.box
    owner = f"{box.user.pw_uid}:{box.user.pw_gid}" if box.user is not None else ""
    course.write_config(
        root,
        cell_timeout=ctx.cell_timeout,
        db_path=tmp / "gradebook.db",
        flavour="autograde",
        release_dir=str(root / "release" / course.ASSIGNMENT),
        flag_file=str(tmp / "flags.json"),
        # Where TrustedVerdict records the verdicts this pipeline reads (read_verdicts).
        verdict_file=str(tmp / "verdicts.json"),
        sandbox=str(box.work),
        notebook_seconds=seconds,
        export_dir=str(ctx.export_dir),
        export_owner=owner,
    )


def _kernel_folder(ctx: GradeContext, tmp: Path) -> dict[str, str]:
    """Put the student's package and the data script in the kernel's folder, hand it to the
    sandbox user and install the sandbox's kernelspec; return the notebooks' environment."""
    job, box = ctx.job, ctx.box
    # The kernel's folder: the student's package and the data script, nothing else.
    shutil.copytree(job.submission / "cs_loss", box.work / "cs_loss", dirs_exist_ok=True)
    data = job.template / "source" / course.ASSIGNMENT / "data"
    shutil.copytree(data, box.work / "data", dirs_exist_ok=True)
    box.give()
    env = {"NBGRADER_EXECUTION": "autograde"}
    if box.isolated:
        jupyter = tmp / "jupyter"
        box.install_kernelspec(jupyter)
        env.update(JUPYTER_PATH=str(jupyter))
        env[sandbox_module.SPEC_VARIABLE] = box.spec()
    return env


def start_kernel_early(ctx: GradeContext, tmp: Path) -> None:
    """Start the notebooks' shared kernel now, so that it boots while the package tests run.

    For a worker process only (it sets the notebooks' environment in this process's, as
    :func:`autograde_in_process` does). Should it fail to start, the first notebook starts
    one as it would have.
    """
    from .execute import start_shared_kernel  # nbgrader's stack: only where it runs

    os.environ.update(_kernel_folder(ctx, tmp))
    try:
        start_shared_kernel(str(ctx.box.work), **ctx.box.connection())
    except Exception:  # noqa: BLE001 - the first notebook starts its own
        pass


def run_notebooks(ctx: GradeContext, tmp: Path) -> tuple[list[TestOutcome], list[Flag], str | None]:
    """Autograde the notebooks of ``ctx.job`` with what is left of the budget.

    ``tmp`` is a folder of the grader's own (mode 0700) for the course copy, the
    gradebook and the preprocessors' records.

    Returns
    -------
    outcomes : list of TestOutcome
    flags : list of Flag
        What the preprocessors flagged (repaired cells, time outs, hooks...).
    error : str or None
        Why nbgrader failed, if it did (then every notebook test gets 0 points).
    """
    job, box = ctx.job, ctx.box
    root = tmp / "course"
    shutil.copytree(
        job.template,
        root,
        ignore=shutil.ignore_patterns("submitted", "autograded", "feedback", "*.db"),
    )
    db_path = tmp / "gradebook.db"
    shutil.copy(job.template / "gradebook.db", db_path)
    # What is left of the budget goes to the notebooks, in equal shares (less a few
    # seconds each to start nbgrader and a kernel): a notebook that runs out costs its
    # own remaining cells, never another notebook or the package points before it.
    remaining = ctx.remaining() - RESERVE
    count = len(course.NOTEBOOKS)
    _configure(ctx, root, tmp, max(10.0, (remaining - NBGRADER_START * count) / count))
    submitted = root / "submitted" / job.student / course.ASSIGNMENT
    shutil.copytree(job.submission, submitted)
    env = _kernel_folder(ctx, tmp)  # done already when the kernel was started early
    error = None
    try:
        if remaining < 3 * count:
            raise course.NbgraderError("no time left for the notebooks after the package tests")
        autograde_in_process(root, job.student, env, box.nbgrader_args())
        verdicts = read_verdicts(tmp / "verdicts.json")
        outcomes = notebook_outcomes(f"sqlite:///{db_path}", job.student, verdicts)
    except course.NbgraderError as exc:
        error = f"notebook grading failed: {str(exc).splitlines()[0]}"
        outcomes = blank_notebook_outcomes(root, str(exc))
    return outcomes, read_flags(tmp / "flags.json"), error

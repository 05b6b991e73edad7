"""Grade a class of submissions: intake, a sandbox per submission, trusted checks, reports.

Pipeline, per run:

1. ``prepare``: build the release once into a course directory (the template),
   with its gradebook holding the assignment.
2. ``intake`` (:mod:`grading.intake`): each submission (a folder or a zip, as
   downloaded from an LMS or Colab) is unpacked within caps into a clean folder
   with the three notebooks under their canonical names and the student's
   ``cs_loss`` files; anything missing, unreadable or ambiguous becomes a flag,
   and a submission that cannot be read at all is recorded with the reason
   while the batch goes on.
3. ``grade_one`` (:mod:`grading.worker`, in a worker process with a wall-clock and a memory limit),
   inside a :class:`grading.isolation.Sandbox` (its own user when the grader is
   root): the hidden package tests (:mod:`grading.package`) first, then
   nbgrader's autograde with the kit's preprocessors
   (:mod:`grading.notebook_run`) in what is left of the time budget. Test
   cells only export values; the verdicts come from
   :mod:`grading.notebook_checks`, in nbgrader's process.
4. ``report``: as each submission finishes, its result is cleaned (valid
   UTF-8, messages quoting the grader's code withheld) and saved, and the
   per-test CSV (cells that cannot start a formula), JSON and feedback pages
   are rewritten atomically (:mod:`grading.reports`); results are typed
   (:mod:`grading.results`), review flags come from :mod:`grading.review`.

A class folder is read by :func:`grading.intake.expand_submissions`: every entry
gets a row (graded, or with the reason it is not), OS junk is set aside and named.
A rerun into the same reports folder reuses a finished result only when the
submission's content and the kit's version are those it was graded with
(:func:`grading.rerun.regrade_reason`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import course, notebook_checks, package
from . import isolation as sandbox_module
from .classfolder import Entry
from .intake import IntakeError, assign_ids, intake
from .notebook_run import blank_notebook_outcomes
from .release import build_release, find_leaks, secret_lines
from .reports import clean_text, csv_cell, grader_secrets, redact, write_atomic, write_reports
from .rerun import kit_version, regrade_reason, submission_digest
from .results import Flag, SubmissionResult, TestOutcome
from .review import open_secrets, suspicious, warn_open_secrets
from .worker import claim_slot, grade_one, run_worker, start_workers, stop_workers

__all__ = [  # the steps, for the callers of this module (CLI, Gradescope, tests)
    "GradedBatch",
    "all_tests",
    "autograde",
    "claim_slot",
    "clean_text",
    "complete",
    "csv_cell",
    "grade_one",
    "grader_secrets",
    "open_secrets",
    "package",
    "prepare",
    "redact",
    "run_worker",
    "suspicious",
    "warn_open_secrets",
    "write_reports",
]
_claim_slot = claim_slot  # its name before the pipeline was split into files


class GradedBatch(list):
    """The results of :func:`autograde` (a list, one JSON row per row, as ``grades.json``),
    and what this run did.

    Attributes
    ----------
    results : tuple of SubmissionResult
        The same rows, typed.
    reused : tuple of str
        Students whose finished result was kept (submission and kit unchanged).
    graded : dict of str to str
        Students graded in this run, each with why (``"new"``, ``"the submission changed"``...).
    not_graded : tuple of str
        Rows for rejected entries (not submissions, or unreadable).
    """

    def __init__(
        self,
        results: Iterable[SubmissionResult],
        reused: Iterable[str] = (),
        graded: dict[str, str] | None = None,
        not_graded: Iterable[str] = (),
    ) -> None:
        self.results = tuple(results)
        super().__init__(r.to_dict() for r in self.results)
        self.reused = tuple(reused)
        self.graded = dict(graded or {})
        self.not_graded = tuple(not_graded)


def prepare(work_dir: str | Path) -> Path:
    """Build the release and the template course directory; return the template's path."""
    work_dir = Path(work_dir)
    template = work_dir / "course"
    build_release(work_dir / "release", keep_course=template)
    return template


def complete(result: SubmissionResult, template_tests: Sequence[TestOutcome]) -> SubmissionResult:
    """Make sure every test appears in a result (0 points, with the reason) even after a crash."""
    return result.completed(template_tests)


def all_tests(template: str | Path) -> list[TestOutcome]:
    """Every test of the assignment, with its points (the report's rows)."""
    tests = blank_notebook_outcomes(template, "")
    for case in package.TESTS:
        name, points, targets = case.name, case.points, case.targets
        tests.append(
            TestOutcome(
                name=f"cs_loss:{name}",
                kind="package",
                score=0.0,
                max_score=float(points),
                targets=tuple(targets),
            )
        )
    return [replace(t, output="") for t in tests]


@dataclass(frozen=True)
class _Job:
    """A submission laid out and waiting for a worker."""

    student: str
    laid_out: Path
    flags: tuple[Flag, ...]
    stamp: dict[str, Any]


def _not_graded(
    student: str, flags: list[Flag], error: str, stamp: dict[str, Any]
) -> SubmissionResult:
    return SubmissionResult(student=student, flags=tuple(flags), error=error, graded=False, **stamp)


def _prepare_folders(out_dir: Path, work_dir: str | Path | None) -> None:
    """Warn when the sandbox cannot isolate; close the grader's folders to others."""
    sandbox_module.say_once(sandbox_module.choose()[0])  # which isolation grades, once
    if not sandbox_module.can_switch_users():
        return
    # Reports and the work folder (template, gradebook, intake) are the grader's alone.
    warn_open_secrets()
    os.chmod(out_dir, 0o700)
    if work_dir:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
        os.chmod(work_dir, 0o700)


def autograde(
    submissions: Iterable[str | Path],
    out_dir: str | Path,
    workers: int = 2,
    timeout: float = 600,
    memory_bytes: int = 6 * 2**30,
    progress: bool = True,
    work_dir: str | Path | None = None,
    cell_timeout: float = 120,
    rejected: Iterable[Entry] = (),
    regrade: bool = False,
) -> GradedBatch:
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
        One result per submission, in the order given, then one per rejected entry
        (``"graded": False``, as for an upload intake could not read); it also says which
        were reused and which graded, and why. ``feedback/`` then holds one page per row:
        pages of earlier runs' rows that are not rows now are removed.

    Notes
    -----
    The workers fork from a multiprocessing fork server, which imports the calling script
    again: a script that calls ``autograde`` must do so under
    ``if __name__ == "__main__":`` (``python -m grading autograde`` does).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    submissions, rejected = [Path(p) for p in submissions], list(rejected)
    _prepare_folders(out_dir, work_dir)
    # A batch's workers fork from a fork server, started now so that it imports the grading
    # stack while this process lays the submissions out; a lone submission's worker forks
    # from this process (a fork server would cost it more than it saves).
    pooled = len(submissions) > 1
    if pooled:
        start_workers()  # before any thread: it changes this process's folder meanwhile
    try:
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
            jobs: list[_Job] = []
            results: dict[str, SubmissionResult] = {}
            reused: list[str] = []
            graded: dict[str, str] = {}

            def finish(sid: str, result: SubmissionResult) -> None:
                results[sid] = redact(complete(result, tests), secrets)
                write_atomic(done_dir / f"{sid}.json", json.dumps(results[sid].to_dict(), indent=1))
                write_reports([results[s] for s in order if s in results], out_dir)

            count = len(submissions)
            for submission, sid, note in zip(
                submissions, order[:count], id_notes[:count], strict=True
            ):
                digest, saved = (
                    submission_digest(submission),
                    _load_finished(done_dir / f"{sid}.json"),
                )
                saved_row = saved.to_dict() if saved is not None else None
                why = "--regrade" if regrade else regrade_reason(saved_row, digest, kit)
                if why is None and saved is not None:
                    results[sid] = saved
                    reused.append(sid)
                    continue
                graded[sid] = why or "new"
                stamp = {"submission_digest": digest, "kit_version": kit}
                notes = [note] if note else []
                laid_out = work / "intake" / sid
                shutil.rmtree(laid_out, ignore_errors=True)  # nothing of an earlier upload stays
                try:
                    flags = intake(submission, laid_out, stub_dir)
                except Exception as exc:  # noqa: BLE001 - one bad upload never stops the batch
                    shutil.rmtree(laid_out, ignore_errors=True)
                    reason = str(exc) if isinstance(exc, IntakeError) else type(exc).__name__
                    finish(
                        sid,
                        _not_graded(sid, notes, f"could not read the submission: {reason}", stamp),
                    )
                    continue
                jobs.append(_Job(sid, laid_out, tuple(notes + flags), stamp))
            for entry, sid, note in zip(rejected, order[count:], id_notes[count:], strict=True):
                stamp = {"submission_digest": submission_digest(entry.path), "kit_version": kit}
                finish(sid, _not_graded(sid, [note] if note else [], entry.reason, stamp))
            # A constant of the kNN trusted check: computed once here, not in every worker.
            folds = notebook_checks.reference_fold_accuracies() if jobs else None
            bar = None
            if progress and jobs:
                from tqdm import tqdm

                bar = tqdm(total=len(jobs), desc="grading", unit=" submissions", file=sys.stdout)

            def grade(job: _Job, pooled: bool) -> SubmissionResult:
                out_json = work / f"{job.student}.json"
                args = (timeout, memory_bytes, cell_timeout, folds, pooled)
                return run_worker(template, job.laid_out, job.student, out_json, *args)

            for job, result in _run_jobs(jobs, grade, workers, pooled):
                result = replace(result.with_flags(job.flags, first=True), **job.stamp)
                finish(job.student, result)
                if bar is not None:
                    bar.update(1)
            if bar is not None:
                bar.close()
            ordered = GradedBatch(
                [results[s] for s in order], reused=reused, graded=graded, not_graded=order[count:]
            )
            write_reports(ordered.results, out_dir)
            _tidy_feedback(out_dir / "feedback", set(results))
    finally:
        stop_workers()  # also when a report or the pool fails: no fork server outlives us
    return ordered


def _run_jobs(
    jobs: Sequence[_Job],
    grade: Callable[[_Job, bool], SubmissionResult],
    workers: int,
    pooled: bool,
) -> Iterator[tuple[_Job, SubmissionResult]]:
    """Each job with its result, as they finish: ``grade(job, pooled)`` in a pool of
    ``workers`` threads (``pooled``: their workers fork from the fork server), else one
    by one in this thread (each worker forks from this process). A failure to grade is
    that job's result; the batch goes on."""

    def failed(job: _Job, exc: Exception) -> SubmissionResult:
        return SubmissionResult(student=job.student, error=f"grading failed ({type(exc).__name__})")

    if not pooled:
        for job in jobs:
            try:
                result = grade(job, False)
            except Exception as exc:  # noqa: BLE001 - the batch goes on
                result = failed(job, exc)
            yield job, result
        return
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(grade, job, True): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 - the batch goes on
                result = failed(job, exc)
            yield job, result


def _tidy_feedback(feedback: Path, students: set[str]) -> None:
    """Remove pages of rows that are not rows now; withhold a page that would leak."""
    for page in feedback.glob("*.html"):
        if page.stem not in students:  # an earlier run's row (a renamed or removed upload)
            page.unlink()
    for leak in find_leaks(feedback, secret_lines()):
        # Redaction happens before writing; this is the last line of defence.
        page = feedback / leak.split(":", 1)[0]
        if page.is_file():
            page.write_text("<!doctype html><p>This page was withheld: ask your instructor.</p>")


def _load_finished(path: Path) -> SubmissionResult | None:
    """A finished result saved by an earlier run, or None (none, or not readable)."""
    try:
        saved = json.loads(Path(path).read_text())
        if isinstance(saved, dict) and "tests" in saved:
            return SubmissionResult.from_dict(saved)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None

"""Grading one submission in a worker process: its slot, its limits, its steps.

The batch (:mod:`grading.autograde`) calls :func:`run_worker` per submission, in a
thread; it claims a worker slot (:func:`claim_slot`, which picks the sandbox user),
writes a :class:`~grading.context.WorkerJob` and starts a child process with a
wall-clock and a memory limit, forked from a fork server that has imported the grading
stack once (:func:`start_workers`). The child (:func:`worker_main`) runs :func:`grade_one`: in a
:class:`grading.isolation.Sandbox`, the review scan, the hidden package tests
(:mod:`grading.package`), then the notebooks (:mod:`grading.notebook_run`, nbgrader in
the same process) in what is left of the time budget; then it exits at once.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import multiprocessing.context
import os
import resource
import shutil
import sys
import tempfile
import threading
import traceback
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import IO

from . import course, notebook_checks, package
from . import isolation as sandbox_module
from .context import GradeContext, WorkerJob
from .isolation import Sandbox
from .notebook_run import run_notebooks, start_kernel_early
from .results import Flag, FlagKind, SubmissionResult, TestOutcome
from .review import scan_student_code

THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}  # one BLAS thread per worker


def grade_one(job: WorkerJob) -> SubmissionResult:
    """Grade one laid-out submission; write its result to ``job.out_json``. Runs in a worker.

    The package tests run first (their time is bounded by groups x their timeout),
    then nbgrader with what is left of the budget, so a slow notebook never costs the
    package points. Student code runs in a :class:`Sandbox`.
    """
    if job.reference_folds is not None:  # computed once for the batch
        notebook_checks.preset_reference_folds(job.reference_folds)
    box = Sandbox(tempfile.mkdtemp(prefix="cs_loss_box_"), slot=job.slot)
    # Exported notebook values go to a folder of the grader's, outside the student's tree
    # (which the student could rename or swap for a symlink): traversable, not listable.
    exports = Path(tempfile.mkdtemp(prefix="cs_loss_export_"))
    os.chmod(exports, 0o711)
    box.share(exports)  # the kernel writes there: in a namespace box, bound at its path
    ctx = GradeContext(job=job, box=box, export_dir=exports)
    tests: list[TestOutcome] = []
    flags: list[Flag] = []
    error = None
    box.monitor.start()  # memory of all its processes together, and /proc reads
    try:
        with tempfile.TemporaryDirectory(prefix="cs_loss_grade_") as tmp:
            os.chmod(tmp, 0o700)
            flags += scan_student_code(job.submission)
            start_kernel_early(ctx, Path(tmp))  # it boots while the package tests run
            results = package.run_package_tests(job.submission, user=ctx.user, monitor=ctx.monitor)
            tests += [TestOutcome.from_package(r) for r in results]
            outcomes, notebook_flags, error = run_notebooks(ctx, Path(tmp))
            tests += outcomes
            flags += notebook_flags
    finally:
        from .execute import shutdown_shared_kernel  # nbgrader's stack: the worker's only

        shutdown_shared_kernel()  # if the notebooks never ran (their run ends it otherwise)
        shutil.rmtree(exports, ignore_errors=True)  # first: the user's files there are expected
        # The sandbox's own findings (strays, processes left, /proc reads) are all reviews.
        flags += [Flag(FlagKind.REVIEW, text) for text in box.cleanup()]
    if box.monitor.memory_stops:  # a kernel the monitor killed: say why it died
        reason = box.monitor.memory_reason
        tests = [
            replace(t, output=f"{t.output}; the grader stopped it: {reason}")
            if t.output.startswith("KernelDied")
            else t
            for t in tests
        ]
    result = SubmissionResult(
        student=job.student,
        tests=tuple(tests),
        flags=tuple(flags),
        error=error,
        seconds=round(ctx.elapsed(), 2),
        isolation=box.backend,
    )
    Path(job.out_json).write_text(json.dumps(result.to_dict(), indent=1))
    return result


def worker_main(job_file: str | Path) -> None:
    """A worker process's whole life: :func:`grade_one` of the job in ``job_file``, then exit.

    The result is on disk when :func:`grade_one` returns, so the process ends with
    ``os._exit`` after flushing its output: no interpreter teardown (a second or so of
    garbage collection and atexit handlers that nothing needs).
    """
    code = 0
    try:
        grade_one(WorkerJob.read(job_file))
    except BaseException:  # noqa: BLE001 - reported through the log and the exit code
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _limits(memory_bytes: int) -> Callable[[], None]:
    def apply() -> None:
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))

    return apply


def _slot_lock_dir() -> Path:
    """The grader's own folder of slot lock files (created 0700; refused if anyone else's)."""
    folder = Path(tempfile.gettempdir()) / f"cs_loss_slots_{os.geteuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(folder)
    if not os.path.isdir(folder) or os.path.islink(folder) or info.st_uid != os.geteuid():
        raise RuntimeError(f"{folder} is not a folder of this user's: remove it and grade again")
    return folder


def claim_slot() -> tuple[int, IO[str]]:
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
    raise AssertionError("unreachable: itertools.count() never ends")


def run_worker(
    template: str | Path,
    laid_out: str | Path,
    sid: str,
    out_json: str | Path,
    timeout: float,
    memory_bytes: int,
    cell_timeout: float = 120,
    reference_folds: dict[int, list[float]] | None = None,
    fork_server: bool = True,
) -> SubmissionResult:
    """:func:`grade_one` in a child process with a wall-clock and memory limit.

    ``reference_folds``: the kNN check's reference cross-validation, when the batch has
    computed it (see :class:`~grading.context.WorkerJob`).

    ``fork_server``: start the child from the fork server (:func:`start_workers`), as a
    batch does. False for a lone submission (Gradescope's one upload): the child is forked
    from this process, after it has imported the worker's stack (:func:`preload`), which
    costs one interpreter and one import of the grading stack less than a fork server
    started for a single worker. Call it from the main thread then.

    The child runs in an empty folder (not the kit) and holds a worker slot (the
    smallest one free on this machine, see :func:`claim_slot`), which picks its
    sandbox user; after a timeout every process of that user is killed.
    """
    slot, lock = claim_slot()
    job = WorkerJob(
        template=Path(template),
        submission=Path(laid_out),
        student=sid,
        out_json=Path(out_json),
        budget=float(timeout),
        cell_timeout=float(cell_timeout),
        slot=slot,
        reference_folds=reference_folds,
    )
    try:
        return _run_worker(job, memory_bytes, fork_server)
    finally:
        lock.close()  # releases the flock


def _failed(job: WorkerJob, error: str) -> SubmissionResult:
    return SubmissionResult(student=job.student, error=error)


# What every worker imports, loaded once by the fork server (its workers are forked from it).
PRELOAD = (
    "grading.worker",
    "grading.preprocessors",
    "nbgrader.apps.nbgraderapp",
    "nbgrader.apps.autogradeapp",
    "nbgrader.converters.autograde",
    "jupyter_client.manager",
    "matplotlib",
)
_FORKSERVER = threading.Lock()


def start_workers() -> multiprocessing.context.BaseContext:
    """The fork server the workers start from, started once per process with :data:`PRELOAD`.

    It starts in the kit's folder with the kit on ``PYTHONPATH`` (each worker removes it
    from its environment before anything reaches a student's kernel) and one BLAS thread,
    so that what it imports is the kit's. Call it before starting threads: it changes this
    process's environment and folder meanwhile. As with every ``multiprocessing`` start
    method but fork, a script that grades must guard its work with
    ``if __name__ == "__main__":`` (``python -m grading`` does).
    """
    from multiprocessing import forkserver

    context = multiprocessing.get_context("forkserver")
    with _FORKSERVER:
        if getattr(forkserver._forkserver, "_forkserver_pid", None) is not None:
            return context
        context.set_forkserver_preload(list(PRELOAD))
        saved_env, saved_cwd = dict(os.environ), os.getcwd()
        os.environ.update(PYTHONPATH=str(course.KIT_ROOT), **THREADS)
        os.chdir(course.KIT_ROOT)
        try:
            forkserver.ensure_running()
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
    return context


def stop_workers() -> None:
    """Stop the fork server and wait for it (so its CPU time counts as this process's)."""
    from multiprocessing import forkserver

    with _FORKSERVER:
        if getattr(forkserver._forkserver, "_forkserver_pid", None) is not None:
            forkserver._forkserver._stop()


def _forked_worker(job_file: str, cwd: str, env: dict[str, str], memory_bytes: int) -> None:
    """A forked worker: its own session and memory limit, its output to ``cwd/worker.log``.

    Forked from the grading process (a lone submission), it inherits that process's warning
    filters: any that turns a warning into an error is dropped (nbgrader's own warnings
    must not fail a grade), as a fork server's worker never has one.
    """
    _limits(memory_bytes)()
    warnings.filters[:] = [f for f in warnings.filters if f[0] != "error"]
    os.chdir(cwd)
    log = os.open("worker.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.environ.clear()
    os.environ.update(env)
    worker_main(job_file)


def preload() -> multiprocessing.context.BaseContext:
    """Import :data:`PRELOAD` in this process; the ``fork`` context its workers start from."""
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    return multiprocessing.get_context("fork")


def _run_worker(job: WorkerJob, memory_bytes: int, fork_server: bool = True) -> SubmissionResult:
    # No PYTHONPATH: it would reach the student's kernel, and with it the kit's hidden tests.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(THREADS)
    if sandbox_module.can_switch_users() and sandbox_module.python_usable(
        sandbox_module.ensure_user(job.slot)
    ):
        env[sandbox_module.PROBED_VARIABLE] = sys.executable  # the worker need not probe again
    context = start_workers() if fork_server else preload()
    with tempfile.TemporaryDirectory(prefix="cs_loss_worker_") as cwd:
        job_file = job.write(Path(cwd) / "job.json")
        process = context.Process(
            target=_forked_worker, args=(str(job_file), cwd, env, memory_bytes), daemon=False
        )
        process.start()
        process.join(timeout=job.budget + 60)
        if process.exitcode is None:
            os.killpg(process.pid, 9)  # the worker and the kernels it started
            if sandbox_module.can_switch_users():
                sandbox_module.kill_user(sandbox_module.ensure_user(job.slot).pw_uid)
            process.kill()
            sandbox_module.remove_recorded(job.slot)  # its cgroup and folders: no cleanup ran
            process.join()
            return _failed(job, f"grading stopped after the time limit of {job.budget:.0f} s")
        log = (Path(cwd) / "worker.log").read_text(errors="replace")
    try:
        return SubmissionResult.from_dict(json.loads(Path(job.out_json).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        tail = " | ".join(log.strip().splitlines()[-3:])[:300]
        return _failed(job, f"the grading worker died (exit code {process.exitcode}): {tail}")

"""Where one submission's grading time goes: a table of phases, and the costliest cells.

    python benchmarks/profile_grading.py                 # the reference submission
    python benchmarks/profile_grading.py --cells 15      # and its 15 slowest cells

Grades one reference submission in this process, as a worker would (the same
``grade_one``, sandbox and nbgrader pipeline), with a timer wrapped around each
step: the per-batch steps first (the grader's imports, the sandbox probe, the
reference cross-validation, the fork server's start), then the steps of
``grade_one`` (review scan, package tests, kernel start, each nbgrader
preprocessor per notebook, each cell, the kernel's shutdown, the sandbox's
cleanup). Wall-clock seconds; nested steps are also counted in their parent.
The wrappers only time: nothing of the pipeline is replaced.
"""

import argparse
import inspect
import os
import resource
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Any

KIT = Path(__file__).resolve().parent.parent
TOTALS: dict[str, float] = defaultdict(float)
CELLS: list[tuple[float, str]] = []


def children_cpu() -> float:
    """User + system CPU of this process's waited-for descendants, in seconds."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(owner: Any, name: str, label: str) -> None:
    """Replace ``owner.name`` by the same callable that adds its wall time to ``label``."""
    original = getattr(owner, name)
    if inspect.iscoroutinefunction(original):

        async def waiter(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                TOTALS[label] += time.perf_counter() - start

        setattr(owner, name, waiter)
        return

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            TOTALS[label] += time.perf_counter() - start

    setattr(owner, name, wrapper)


@contextmanager
def phase(label: str) -> Any:
    start = time.perf_counter()
    yield
    TOTALS[label] += time.perf_counter() - start


def instrument() -> None:
    """Timers around the steps of ``grade_one`` (see the module's docstring)."""
    from nbclient import NotebookClient
    from nbconvert.preprocessors import Preprocessor
    from nbgrader.converters.autograde import Autograde

    from grading import execute, isolation, notebook_run, package, worker

    timed(worker, "scan_student_code", "review scan")
    timed(package, "run_package_tests", "package tests (child)")
    timed(worker, "run_notebooks", "notebooks, all (copy, config, nbgrader, outcomes)")
    timed(notebook_run, "autograde_in_process", "  nbgrader autograde app")
    timed(Autograde, "init_assignment", "    init_assignment (gradebook, copies)")
    timed(NotebookClient, "start_new_kernel", "    kernel start (manager)")
    timed(NotebookClient, "start_new_kernel_client", "    kernel client ready")
    timed(execute, "_reset", "    %reset -f between notebooks")
    timed(execute, "shutdown_shared_kernel", "    shared kernel shutdown")
    timed(notebook_run, "notebook_outcomes", "  read gradebook outcomes")
    timed(isolation.Sandbox, "cleanup", "sandbox cleanup")
    original_call = Preprocessor.__call__

    def call(self: Any, nb: Any, resources: Any) -> Any:
        start = time.perf_counter()
        try:
            return original_call(self, nb, resources)
        finally:
            TOTALS[f"    pp {type(self).__name__}"] += time.perf_counter() - start

    Preprocessor.__call__ = call
    original_cell = execute.ResilientExecute.preprocess_cell

    def cell(self: Any, cell: Any, resources: Any, index: int) -> Any:
        start = time.perf_counter()
        try:
            return original_cell(self, cell, resources, index)
        finally:
            first = (cell.source.strip().splitlines() or [""])[0][:60]
            CELLS.append((time.perf_counter() - start, f"{self._notebook_name}[{index}] {first}"))

    execute.ResilientExecute.preprocess_cell = cell


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, default=12, help="how many of the slowest cells")
    opts = parser.parse_args(argv)
    sys.path.insert(0, str(KIT))
    start = time.perf_counter()
    with phase("batch: the grader's imports (grading.autograde)"):
        from grading import autograde, course, examples, intake, isolation, notebook_checks, worker
        from grading.context import WorkerJob
    with phase("batch: sandbox probe (backend choice)"):
        isolation.choose()
    tmp = Path(tempfile.mkdtemp(prefix="profile_grading_"))
    with phase("batch: release and template (prepare, once per course)"):
        template = autograde.prepare(tmp / "work")
    release = tmp / "work" / "release" / course.ASSIGNMENT
    reference = examples.write_reference(tmp / "reference", release)
    intake.intake(reference, tmp / "laid_out", release)
    with phase("batch: reference cross-validation (once per batch)"):
        folds = notebook_checks.reference_fold_accuracies()
    with phase("batch: fork server start"):
        worker.start_workers()
    worker.stop_workers()
    instrument()
    os.environ.pop("PYTHONPATH", None)
    os.environ.update(worker.THREADS)
    slot, lock = worker.claim_slot()
    job = WorkerJob(
        template=template,
        submission=tmp / "laid_out",
        student="reference",
        out_json=tmp / "reference.json",
        budget=600.0,
        cell_timeout=120.0,
        slot=slot,
        reference_folds=folds,
    )
    cpu, children = time.process_time(), children_cpu()
    with phase("submission: grade_one, all"):
        result = worker.grade_one(job)
    lock.close()
    TOTALS["submission: grade_one, CPU of this process"] = time.process_time() - cpu
    TOTALS["submission: grade_one, CPU of its children"] = children_cpu() - children
    for seconds, name in CELLS:
        TOTALS[f"cells of {name.split('[')[0]}"] += seconds
    total = time.perf_counter() - start
    points = sum(t.score for t in result.tests)
    print(f"{'step':62s} {'seconds':>8s}")
    for label, seconds in TOTALS.items():
        print(f"{label:62s} {seconds:8.2f}")
    print(f"{'whole run':62s} {total:8.2f}   points {points:g}, error {result.error}")
    print(f"\nslowest cells ({len(CELLS)} run):")
    for seconds, name in sorted(CELLS, reverse=True)[: opts.cells]:
        print(f"{seconds:6.2f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

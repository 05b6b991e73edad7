"""What each step of grading one submission receives, instead of environment variables.

- :class:`WorkerJob`: what the batch hands a worker process (the submission, its budget,
  the cell timeout, the worker slot). It crosses the process boundary as a JSON file,
  written by :meth:`WorkerJob.write` and read in one place, :meth:`WorkerJob.read`.
- :class:`GradeContext`: what the worker's steps share while grading: the job, the
  sandbox (its user and its monitor), the folder of exported notebook values, the clock.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pwd

    from .isolation import Monitor, Sandbox


@dataclass(frozen=True)
class WorkerJob:
    """One submission to grade in a worker process.

    Attributes
    ----------
    template : Path
        The course directory made by :func:`grading.autograde.prepare`.
    submission : Path
        The laid-out submission (:func:`grading.intake.intake`).
    student : str
    out_json : Path
        Where the worker writes its result.
    budget : float
        Seconds for the whole submission: package tests first, then the notebooks.
    cell_timeout : float
        Seconds for one notebook cell.
    slot : int
        The worker slot (:func:`grading.worker.claim_slot`): it picks the sandbox user.
    reference_folds : dict of int to list of float, optional
        The reference cross-validation of the kNN trusted check
        (:func:`grading.notebook_checks.reference_fold_accuracies`), computed once per
        batch; None: the worker computes it.
    """

    template: Path
    submission: Path
    student: str
    out_json: Path
    budget: float = 600.0
    cell_timeout: float = 120.0
    slot: int = 0
    reference_folds: dict[int, list[float]] | None = None

    def write(self, path: str | Path) -> Path:
        """Save the job to the JSON file ``path`` (for the worker's command line)."""
        data: dict[str, Any] = {key: str(value) for key, value in asdict(self).items()}
        data["reference_folds"] = self.reference_folds  # JSON as it is (None or numbers)
        Path(path).write_text(json.dumps(data, indent=1))
        return Path(path)

    @classmethod
    def read(cls, path: str | Path) -> WorkerJob:
        """The job saved by :meth:`write`."""
        data: dict[str, Any] = json.loads(Path(path).read_text())
        return cls(
            template=Path(data["template"]),
            submission=Path(data["submission"]),
            student=str(data["student"]),
            out_json=Path(data["out_json"]),
            budget=float(data["budget"]),
            cell_timeout=float(data["cell_timeout"]),
            slot=int(data["slot"]),
            reference_folds=_folds(data.get("reference_folds")),
        )


def _folds(table: Any) -> dict[int, list[float]] | None:
    """JSON's string keys back to the int k of ``reference_folds``."""
    if table is None:
        return None
    return {int(k): [float(a) for a in accuracies] for k, accuracies in table.items()}


@dataclass(frozen=True)
class GradeContext:
    """The explicit context of the steps that grade one submission in a worker.

    Attributes
    ----------
    job : WorkerJob
    box : Sandbox
        Where student code runs: its user (None when the grader is not root) and its
        monitor (memory of all its processes, reads of /proc).
    export_dir : Path
        The grader's folder the kernels export notebook values to (outside the
        student's tree).
    start : float
        ``time.perf_counter()`` when grading began.
    """

    job: WorkerJob
    box: Sandbox
    export_dir: Path
    start: float = field(default_factory=time.perf_counter)

    @property
    def user(self) -> pwd.struct_passwd | None:
        """The unprivileged user that runs student code, or None."""
        return self.box.user

    @property
    def monitor(self) -> Monitor:
        """The sandbox's monitor."""
        return self.box.monitor

    @property
    def cell_timeout(self) -> float:
        """Seconds for one notebook cell."""
        return self.job.cell_timeout

    def elapsed(self) -> float:
        """Seconds since grading began."""
        return time.perf_counter() - self.start

    def remaining(self) -> float:
        """Seconds left of the budget."""
        return self.job.budget - self.elapsed()

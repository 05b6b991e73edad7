"""A daemon started by a correct notebook costs no points and no time, and is flagged.

A real ``autograde`` batch (two workers, the notebooks sharing one kernel, as the kit's
``autograde`` command runs it) on each root backend, forced: an honest reference
submission next to three that leave a process running in each notebook (an open
``multiprocessing.Pool``, a ``subprocess.Popen`` of ``sleep``, a double-forked process in
a session of its own). Each keeps full marks, finishes within 10 s of the honest one, and
carries the review flag for processes left running.
"""

from pathlib import Path

import nbformat
import pytest
from conftest import forced_backend

from grading import autograde as ag
from grading import course, examples
from grading import isolation as sandbox

ROOT_MODE = sandbox.can_switch_users() and sandbox.python_usable(sandbox.ensure_user(0))
pytestmark = [
    pytest.mark.slow,
    pytest.mark.grading,
    pytest.mark.skipif(not ROOT_MODE, reason="the sandbox backends need root"),
]

DAEMONS = {
    "pool": "import multiprocessing\n_pool = multiprocessing.Pool(2)",
    "popen": 'import subprocess\n_sleeper = subprocess.Popen(["sleep", "600"])',
    "double_fork": (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(600)\n"
        "    os._exit(0)\n"
        "os.wait()"
    ),
}
LEFTOVER_FLAG = "process(es) were still running when a notebook's kernel ended"
SLACK_SECONDS = 10.0


def _start_daemon(folder: Path, code: str) -> None:
    """Put ``code`` in a cell of its own before the first answer of each notebook (whichever
    runs last leaves its process running when the shared kernel ends)."""
    for name in course.NOTEBOOKS:
        nb = nbformat.read(folder / name, as_version=4)
        answers = (c.metadata.get("nbgrader", {}).get("solution") for c in nb.cells)
        first = next(i for i, answer in enumerate(answers) if answer)
        nb.cells.insert(first, nbformat.v4.new_code_cell(code))
        nbformat.write(nb, folder / name)


@pytest.fixture(scope="module", params=["namespaces", "users"])
def batch(request, tmp_path_factory):
    """The batch graded on one backend (forced, so the workers use it too)."""
    with forced_backend(request.param):
        root = tmp_path_factory.mktemp(f"daemons_{request.param}")
        work = root / "work"
        ag.prepare(work)
        release = work / "release" / course.ASSIGNMENT
        made = [examples.write_reference(root / "subs" / "honest", release)]
        for name, code in DAEMONS.items():
            folder = examples.write_reference(root / "subs" / name, release)
            _start_daemon(folder, code)
            made.append(folder)
        results = ag.autograde(made, root / "out", workers=2, work_dir=work, progress=False)
        yield {r["student"]: r for r in results}


@pytest.mark.parametrize("name", sorted(DAEMONS))
def test_a_daemon_costs_no_points(batch, name):
    result = batch[name]
    assert result["auto_score"] == result["auto_max"] == batch["honest"]["auto_max"], result
    assert not result["error"]


@pytest.mark.parametrize("name", sorted(DAEMONS))
def test_a_daemon_costs_less_than_ten_seconds(batch, name):
    assert batch[name]["seconds"] < batch["honest"]["seconds"] + SLACK_SECONDS, (
        batch[name]["seconds"],
        batch["honest"]["seconds"],
    )


@pytest.mark.parametrize("name", sorted(DAEMONS))
def test_a_daemon_is_flagged_for_review(batch, name):
    assert any(LEFTOVER_FLAG in flag for flag in batch[name]["flags"]), batch[name]["flags"]


def test_an_honest_submission_is_not_flagged(batch):
    assert not any(LEFTOVER_FLAG in flag for flag in batch["honest"]["flags"])
    assert not any("still running" in flag for flag in batch["honest"]["flags"])

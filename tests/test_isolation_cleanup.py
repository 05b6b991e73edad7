"""A submission's control group and folders are gone after it, even when its worker was
killed at its timeout (and so never ran the sandbox's own cleanup)."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from grading import course, worker
from grading import isolation as sandbox
from grading.isolation import cgroups

ROOT = sandbox.can_switch_users()
needs_cgroup = pytest.mark.skipif(
    not ROOT or cgroups.version() == 0, reason="a control group needs root and cgroups mounted"
)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _wait_dead(pid: int, seconds: float = 5.0) -> bool:
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


@needs_cgroup
def test_removing_a_group_ends_its_processes_first():
    group = cgroups.make(f"test_{uuid.uuid4().hex[:8]}", 2**28, 16)
    assert group is not None
    sleeper = subprocess.Popen(["sleep", "600"], preexec_fn=group.join, start_new_session=True)
    try:
        assert group.members() == {sleeper.pid}
        group.remove()
        assert sleeper.wait(timeout=5) == -signal.SIGKILL
        assert not any(folder.exists() for folder in group.folders)
    finally:
        sleeper.kill()
        sleeper.wait()


WORKER = Path(__file__).parent / "data" / "sandbox_worker.py"


@pytest.mark.skipif(not ROOT, reason="the sandbox's folders and group are made as root")
def test_a_killed_worker_leaves_no_group_no_folders_and_no_process():
    slot, lock = worker.claim_slot()  # the slot is this test's while it runs
    try:
        child = subprocess.Popen(
            [sys.executable, str(WORKER), str(slot)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=course.KIT_ROOT,
            env={**os.environ, "PYTHONPATH": str(course.KIT_ROOT)},
            text=True,
        )
        with child:
            made = json.loads(child.stdout.readline())
            child.kill()  # the batch's kill at the timeout: no cleanup runs in the worker
        assert all(os.path.isdir(folder) for folder in made["folders"])
        removed = sandbox.remove_recorded(slot)
        if made["cgroup"]:  # the group's processes end with it
            assert _wait_dead(made["pid"])
            assert not any(os.path.exists(folder) for folder in made["cgroup"])
        else:
            os.kill(made["pid"], signal.SIGKILL)
        assert not any(os.path.exists(folder) for folder in made["folders"])
        assert set(made["folders"]) <= set(removed)
        assert sandbox.remove_recorded(slot) == []  # the record went with them
    finally:
        lock.close()

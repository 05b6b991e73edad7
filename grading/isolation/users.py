"""The sandbox users of the worker slots, their processes, and the limits of student code.

When the grader runs as root every worker slot has a user of its own
(``cs_loss_w0``, ``cs_loss_w1``..., created on demand). Without root nothing can be
enforced: the grader says so once, loudly, and grades anyway.
"""

from __future__ import annotations

import os
import pwd
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

USER_PREFIX = "cs_loss_w"
PROBED_VARIABLE = "CS_LOSS_SANDBOX_PYTHON"  # set by a grader whose probe passed, for its workers
NOT_ROOT_WARNING = (
    "WARNING: the grader is not running as root, so student code runs as YOUR user, with your "
    "files in reach: no per-submission user, no process cap, no cleanup of stray processes. "
    "Grade untrusted submissions as root in a container (see the README)."
)
_warned: list[bool] = []
_USABLE: dict[int, bool] = {}


def warn_not_root(stream: IO[str] | None = None) -> bool:
    """Print :data:`NOT_ROOT_WARNING` once per process; return whether it was printed now."""
    if _warned:
        return False
    _warned.append(True)
    print(NOT_ROOT_WARNING, file=stream or sys.stderr)
    return True


def warn_python_unusable(stream: IO[str] | None = None) -> bool:
    """Say once, loudly, that the sandbox users cannot run this Python, so nothing is isolated."""
    if _warned:
        return False
    _warned.append(True)
    print(
        f"WARNING: the sandbox users cannot run {sys.executable} (a folder on its path is closed "
        "to other users, e.g. a Python under /root): student code runs as root, unisolated. "
        "Install Python where other users can read it.",
        file=stream or sys.stderr,
    )
    return True


def can_switch_users() -> bool:
    """Whether this process may become another user (it runs as root)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def ensure_user(slot: int) -> pwd.struct_passwd:
    """The pwd entry of the sandbox user for worker ``slot``, created when missing."""
    name = f"{USER_PREFIX}{int(slot)}"
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                "--user-group",
                name,
            ],
            check=False,
            capture_output=True,
        )
        return pwd.getpwnam(name)


def processes_of(uid: int) -> list[int]:
    """Pids of the live processes owned by ``uid``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def kill_user(uid: int, rounds: int = 20) -> int:
    """Kill every process of ``uid`` (forks racing the kill included); return how many lived."""
    seen: set[int] = set()
    for _ in range(rounds):
        pids = processes_of(uid)
        if not pids:
            break
        seen.update(pids)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)
    return len(seen)


def python_usable(user: pwd.struct_passwd) -> bool:
    """Whether ``user`` can start this Python with ipykernel and numpy.

    The probe (about a second of CPU) runs once per batch: a worker started by a grader
    whose probe passed for this Python finds it in ``CS_LOSS_SANDBOX_PYTHON``.
    """
    if os.environ.get(PROBED_VARIABLE) == sys.executable:
        return True
    if user.pw_uid not in _USABLE:

        def drop() -> None:
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)

        env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
        if os.environ.get("LD_LIBRARY_PATH"):
            env["LD_LIBRARY_PATH"] = os.environ["LD_LIBRARY_PATH"]
        # Three tries: another grader on this machine may kill the user's processes (its
        # sandbox's start or cleanup) while the probe runs; a failure to import is final.
        for _attempt in range(3):
            try:
                done = subprocess.run(
                    [sys.executable, "-I", "-c", "import ipykernel, numpy, nbformat"],
                    cwd="/",
                    env=env,
                    preexec_fn=drop,
                    capture_output=True,
                    timeout=60,
                    check=False,
                )
            except (OSError, subprocess.SubprocessError):
                continue
            _USABLE[user.pw_uid] = done.returncode == 0
            if done.returncode >= 0:
                break
        _USABLE.setdefault(user.pw_uid, False)
    return _USABLE[user.pw_uid]


def dropper(spec: Mapping[str, Any], memory_bytes: int | None = None) -> Callable[[], None]:
    """For ``subprocess`` (``preexec_fn``) or before an exec: a new session, limits, the user.

    ``spec`` holds ``uid`` and ``gid`` (None: stay this user, limits only),
    ``memory_bytes`` (address space per process, unless ``memory_bytes`` is given),
    ``max_file_bytes`` and ``max_processes`` (processes of the user).
    """

    def apply() -> None:
        try:
            os.setsid()
        except OSError:  # already a session leader
            pass
        memory = memory_bytes or spec["memory_bytes"]
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (spec["max_file_bytes"], spec["max_file_bytes"]))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if spec["uid"] is not None:
            resource.setrlimit(
                resource.RLIMIT_NPROC, (spec["max_processes"], spec["max_processes"])
            )
            os.setgroups([])
            os.setgid(spec["gid"])
            os.setuid(spec["uid"])

    return apply

"""Run the hidden tests in a child process and read what it left.

The student's code runs only in a child (``hidden_tests.py``, copied with
``hidden_support.py`` and ``proc_audit.py`` next to a copy of the submission's
``cs_loss`` in a throw-away folder, with the plan and the inputs the grader made,
:mod:`grading.plan`), with a time and a memory limit, as ``user`` when one is
given. This process only reads the plain numbers and statuses the child saved.

One child runs every test of a submission (:func:`run_groups`); each test has its
own time limit inside it. When that child dies or times out as a whole, each group
of tests is run again in a child of its own, so a crash costs only its group.

What the step needs is passed to it: the user to drop to and the sandbox's
monitor (:class:`grading.isolation.Monitor`), never read from the environment or
a global. :func:`user_from_environment` is for entry points (Gradescope's
``run_autograder`` names the user in ``CS_LOSS_GRADE_USER``).
"""

from __future__ import annotations

import io
import json
import os
import pwd
import resource
import shutil
import stat
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .isolation import wrap_command
from .plan import plan_of as _plan_of
from .plan import write_plan
from .topics import CASES

HERE = Path(__file__).resolve().parent
MAX_FILE_BYTES = 256 * 2**20  # any file the child writes, as in the kernel's sandbox
MAX_STATUS_BYTES = 2**20
#: The child's files, copied beside the submission's cs_loss: they import no other kit code.
CHILD_FILES = ("hidden_tests.py", "hidden_support.py", "proc_audit.py")

Statuses = dict[str, dict[str, Any]]
Arrays = dict[str, np.ndarray]


def _limit_memory(limit_bytes: int, user: pwd.struct_passwd | None) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if user is not None:  # drop root: the student's code runs as an unprivileged user
            resource.setrlimit(resource.RLIMIT_NPROC, (64, 64))
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)

    return apply


def user_named(name: str | None) -> pwd.struct_passwd | None:
    """The unprivileged user ``name`` that runs student code, when the grader runs as root.

    None when ``name`` is empty, when this process is not root (it cannot drop to
    another user), or when no such user exists (with a warning: student code then
    runs as the grader's own user).
    """
    if not name or os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(name)
    except KeyError:
        warnings.warn(f"user {name} does not exist; student code runs as root", stacklevel=2)
        return None


def user_from_environment() -> pwd.struct_passwd | None:
    """:func:`user_named` of ``CS_LOSS_GRADE_USER``, for entry points only (Gradescope)."""
    return user_named(os.environ.get("CS_LOSS_GRADE_USER"))


def tests_of(group: str) -> list[str]:
    """The names of the hidden tests of ``group``, in their declared order."""
    return [case.name for case in CASES if case.group == group]


def plan_of(group: str) -> dict[str, Any]:
    """What the child of ``group`` runs (:func:`grading.plan.plan_of`, without the inputs)."""
    return _plan_of(tests_of(group))[0]


def failed(names: Iterable[str], reason: str) -> Statuses:
    """The status of every test of ``names`` when their whole child process failed."""
    return {name: {"ok": False, "error": reason} for name in names}


def group_failed(group: str, reason: str) -> Statuses:
    """The status of every test of ``group`` when its whole child process failed."""
    return failed(tests_of(group), reason)


def _read_available(fd: int, limit: int = 2**16) -> bytes:
    """What the pipe ``fd`` holds now (at most ``limit`` bytes), without waiting for more."""
    os.set_blocking(fd, False)
    data = b""
    while len(data) < limit:
        try:
            chunk = os.read(fd, limit - len(data))
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    return data


def _read_result(path: Path, limit: int, owner: int) -> bytes:
    """The bytes of a result file the child wrote: a regular file of ``owner``'s with one
    link, read without following a symlink (the student's code may have swapped it for a
    link to the expected values), at most ``limit`` bytes; else ValueError."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if (
            not stat.S_ISREG(info.st_mode)
            or info.st_uid != owner
            or info.st_nlink != 1
            or info.st_size > limit
        ):
            raise ValueError(f"{Path(path).name} is not a plain result file")
        return f.read(limit)


def _prepare(
    package_dir: Path, tmp: Path, names: list[str], user: pwd.struct_passwd | None
) -> None:
    """Copy the submission's ``cs_loss`` and the child's files into ``tmp``, and write the
    plan and the inputs of the tests ``names`` for the child."""
    source = Path(package_dir) / "cs_loss"
    if source.is_dir():
        shutil.copytree(source, tmp / "cs_loss", ignore=shutil.ignore_patterns("__pycache__"))
    for name in CHILD_FILES:
        shutil.copy(HERE / name, tmp / name)
    write_plan(tmp, names)
    if user is not None:
        for path in [tmp, *tmp.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)


def _parse(names: list[str], status_bytes: bytes, out_bytes: bytes) -> tuple[Arrays, Statuses]:
    """Statuses and arrays from the child's files: anything but plain data is a failure."""
    raw = json.loads(status_bytes.decode("utf-8", "replace"))
    statuses = failed(names, "no result")
    for name in statuses:
        status = raw.get(name) if type(raw) is dict else None
        if type(status) is dict and status.get("ok") is True:
            statuses[name] = {"ok": True}
        elif type(status) is dict and type(status.get("error")) is str:
            statuses[name] = {"ok": False, "error": status["error"][:500]}
    with np.load(io.BytesIO(out_bytes), allow_pickle=False) as saved:
        arrays = {key: saved[key] for key in saved.files}
    return arrays, statuses


def _run(
    package_dir: Path,
    names: list[str],
    timeout: float,
    memory_bytes: int,
    user: pwd.struct_passwd | None,
    monitor: Any,
) -> tuple[Arrays, Statuses, bool]:
    """One child running the tests ``names``: (arrays, statuses, whether the child as a
    whole failed: timed out, died or left a malformed result)."""
    with tempfile.TemporaryDirectory(prefix="cs_loss_grade_") as tmp:
        tmp = Path(tmp)
        _prepare(package_dir, tmp, names, user)
        out = tmp / "out.npz"
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp),
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MPLBACKEND": "Agg",
        }
        # The child's /proc monitor reports on this pipe; the sandbox's Monitor gets its lines.
        stops = monitor.memory_stops if monitor else 0
        read_end, write_end = os.pipe()
        try:
            done = subprocess.run(
                wrap_command(
                    [
                        sys.executable,
                        "-I",
                        "hidden_tests.py",
                        "plan.json",
                        str(out),
                        str(write_end),
                    ],
                    [tmp],
                    cgroup=getattr(monitor, "cgroup", None),
                ),
                cwd=tmp,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                preexec_fn=_limit_memory(memory_bytes, user),
                pass_fds=(write_end,),
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {}, failed(names, f"timed out after {timeout:.0f} s"), True
        finally:
            os.close(write_end)
            records = _read_available(read_end)
            os.close(read_end)
            if monitor is not None:
                monitor.add_records(records)
        owner = user.pw_uid if user is not None else os.geteuid()
        malformed = failed(names, "the test process left a malformed result")
        try:
            status_bytes = _read_result(Path(str(out) + ".json"), MAX_STATUS_BYTES, owner)
        except FileNotFoundError:
            status_bytes = None
        except (OSError, ValueError):  # a symlink, a link to another file, too big...
            return {}, malformed, True
        if status_bytes is None:
            if monitor is not None and monitor.memory_stops > stops:
                reason = f"the test process was stopped: {monitor.memory_reason}"
                return {}, failed(names, reason), True
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            reason = f"the test process died (exit code {done.returncode}): {tail[0][:200]}"
            return {}, failed(names, reason), True
        try:
            return (*_parse(names, status_bytes, _read_result(out, MAX_FILE_BYTES, owner)), False)
        except Exception:  # noqa: BLE001 - a malformed result file costs this child only
            return {}, malformed, True


def run_child(
    package_dir: str | os.PathLike,
    group: str,
    timeout: float,
    memory_bytes: int,
    *,
    user: pwd.struct_passwd | None = None,
    monitor: Any = None,
) -> tuple[Arrays, Statuses]:
    """Run one group of hidden tests on ``package_dir/cs_loss`` in a child of its own.

    Parameters
    ----------
    package_dir : path
        A folder holding the submission's ``cs_loss``.
    group : str
        The group of hidden tests to run (``Case.group`` of ``grading/topics/``).
    timeout : float
        Seconds the whole child may take.
    memory_bytes : int
        The child's address-space limit.
    user : pwd.struct_passwd, optional
        The unprivileged user the child runs as (only when this process is root).
    monitor : grading.isolation.Monitor, optional
        Receives the child's ``/proc`` audit lines; its memory stops name the reason
        when the child dies.

    Returns
    -------
    arrays : dict of str to ndarray
        Each test's outputs, keyed ``"test/output"``.
    statuses : dict of str to dict
        ``{"ok": True}`` or ``{"ok": False, "error": reason}`` for every test of
        the group, also when the child timed out or died.
    """
    arrays, statuses, _whole = _run(
        Path(package_dir), tests_of(group), timeout, memory_bytes, user, monitor
    )
    return arrays, statuses


def run_groups(
    package_dir: str | os.PathLike,
    groups: Iterable[str],
    timeout: Callable[[str], float],
    memory_bytes: int,
    *,
    user: pwd.struct_passwd | None = None,
    monitor: Any = None,
    total_timeout: float | None = None,
) -> tuple[Arrays, Statuses]:
    """The tests of ``groups`` in one child (limited to ``total_timeout``, by default the
    sum of the groups' ``timeout``); if that child fails as a whole, each group again
    in a child of its own (:func:`run_child`), so that a crash costs only its group."""
    groups = list(groups)
    names = [name for group in groups for name in tests_of(group)]
    limit = total_timeout or sum(timeout(group) for group in groups)
    arrays, statuses, whole = _run(Path(package_dir), names, limit, memory_bytes, user, monitor)
    if not whole or len(groups) < 2:
        return arrays, statuses
    arrays, statuses = {}, {}
    for group in groups:
        got, status = run_child(
            package_dir, group, timeout(group), memory_bytes, user=user, monitor=monitor
        )
        arrays.update(got)
        statuses.update(status)
    return arrays, statuses

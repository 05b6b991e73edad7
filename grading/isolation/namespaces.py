"""The namespace box: student code under bubblewrap (``bwrap``), as the grader's container.

A private root holding, read-only, only the system's programs and libraries, the
Python environment and the dataset; the submission's own folders writable; private
``/tmp`` and ``/dev/shm`` of a capped size; new mount, PID, IPC, UTS, user and
network namespaces (loopback only); no capabilities. Every process of the box dies
with it: its first process is the PID namespace's init, and bwrap ends it when the
box's command ends or the process that started bwrap dies.

bwrap runs as the unprivileged user that runs the student's code (the slot's sandbox
user when the grader is root, the TA's own user otherwise), so it needs unprivileged
user namespaces, which :func:`probe` checks once per interpreter.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

SHM_BYTES = 256 * 2**20  # the box's /dev/shm and /tmp, each
SYSTEM = ("/usr", "/etc", "/bin", "/lib", "/lib32", "/lib64", "/sbin", "/opt")
KIT = Path(__file__).resolve().parents[2]  # never inside the box: it holds the answers
# A venv inside the kit's folder may be bound; these of its folders never are.
KIT_PRIVATE = tuple(KIT / name for name in ("grading", "cs_loss", "notebooks", "tests", ".git"))
_PROBED: dict[int, bool] = {}


def bwrap_path() -> str | None:
    """The ``bwrap`` program on this machine, or None."""
    return shutil.which("bwrap", path="/usr/bin:/bin:/usr/local/bin")


def _forbidden(path: Path) -> bool:
    """Whether ``path`` would show the box what it must not see: the kit's answers (the kit,
    its private folders, or a folder holding the kit) or the home folder of whoever grades."""
    home = Path.home().resolve()
    return (
        path == KIT
        or path in KIT.parents
        or any(path == p or p in path.parents for p in KIT_PRIVATE)
        or path == home
        or path in home.parents
    )


def python_roots() -> list[str]:
    """The folders this Python needs, read-only: its prefixes (the venv, the base Python) and
    the user's site-packages when it is in use, never the kit or a folder above it.

    ``sys.path`` itself is not used: it may hold the grader's script folder or ``PYTHONPATH``
    entries, such as a folder that holds the kit."""
    found = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    user_site = site.getusersitepackages() if site.ENABLE_USER_SITE else ""
    if user_site and user_site in sys.path:
        found.append(user_site)
    roots: list[str] = []
    for path in found:
        path = os.path.abspath(path)
        under_system = any(path == s or path.startswith(s + "/") for s in SYSTEM)
        if os.path.isdir(path) and not under_system and not _forbidden(Path(path).resolve()):
            if path not in roots:
                roots.append(path)
    return roots


def _system_args() -> list[str]:
    args: list[str] = []
    for path in SYSTEM:
        if os.path.islink(path):  # merged /usr: /bin -> usr/bin
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


def bwrap_argv(
    argv: Iterable[str],
    writable: Iterable[str | os.PathLike] = (),
    readonly: Iterable[str | os.PathLike] = (),
    cwd: str | os.PathLike | None = None,
    shm_bytes: int = SHM_BYTES,
) -> list[str]:
    """``argv`` run inside a new box: ``writable`` and ``readonly`` folders bound at their paths.

    The dataset named by ``CIFAR10_DIR`` (when set) is bound read-only too.
    """
    program = bwrap_path()
    if program is None:
        raise FileNotFoundError("bwrap: expected bubblewrap on PATH, found none")
    box = [program, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    box += _system_args()
    for path in python_roots():
        box += ["--ro-bind", path, path]
    box += ["--proc", "/proc", "--dev", "/dev"]
    for private in ("/tmp", "/var/tmp", "/dev/shm"):
        box += ["--size", str(shm_bytes), "--tmpfs", private]
    dataset = os.environ.get("CIFAR10_DIR")
    shared = [*readonly, *([dataset] if dataset and os.path.isdir(dataset) else [])]
    for path in shared:
        box += ["--ro-bind", os.fspath(path), os.fspath(path)]
    for path in writable:
        box += ["--bind", os.fspath(path), os.fspath(path)]
    if cwd is not None:
        box += ["--chdir", os.fspath(cwd)]
    return [*box, "--", *argv]


def probe(preexec: Callable[[], None] | None = None, key: int = -1) -> bool:
    """Whether a box starts here (once per interpreter and ``key``): ``preexec`` drops to the
    user who will run bwrap (None: this user)."""
    if key not in _PROBED:
        try:
            done = subprocess.run(
                bwrap_argv(["/bin/true"], cwd="/"),
                cwd="/",
                preexec_fn=preexec,
                capture_output=True,
                timeout=30,
                check=False,
            )
            _PROBED[key] = done.returncode == 0
        except (OSError, subprocess.SubprocessError):
            _PROBED[key] = False
    return _PROBED[key]

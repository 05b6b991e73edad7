"""Starting a student's kernel inside the sandbox.

nbgrader starts kernels through jupyter_client, in a process of its own, so what
the kernel needs crosses that boundary as the one environment variable
:data:`SPEC_VARIABLE` (a JSON spec written by
:meth:`grading.isolation.Sandbox.spec`, read here by :func:`read_spec` only).
The kernelspec's command is :data:`LAUNCHER` (``python -I kernel_launcher.py
{connection_file}``), which calls :func:`launch_kernel`: still root, it copies the
connection file into a folder of the grader's that the user can read but not
change (never into the user's HOME, where a symlink could redirect root's
write), opens the monitor's FIFO for writing, drops to the user, sets the limits
and execs Python on :data:`BOOTSTRAP` (copied beside ``proc_audit.py`` into
that folder by :func:`place_bootstrap`: the kit's ``grading/`` is closed to the
user), which installs the audit hook and runs ``ipykernel_launcher`` as
``python -m`` would.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from .namespaces import bwrap_argv
from .users import dropper

SPEC_VARIABLE = "CS_LOSS_SANDBOX_SPEC"
HERE = Path(__file__).resolve().parent
LAUNCHER = HERE / "kernel_launcher.py"
BOOTSTRAP = HERE / "kernel_bootstrap.py"
JOIN = HERE / "cgroup_join.py"
PROC_AUDIT = HERE.parent / "proc_audit.py"
# In the kernels' folder (traversable, not listable): a listable folder for the bootstrap,
# since Python imports proc_audit from a folder only when it can list it.
BOOTSTRAP_FOLDER = "bootstrap"


def kernel_argv(connection_file: str = "{connection_file}") -> list[str]:
    """The command that starts a sandboxed kernel (by default, with the kernelspec's field)."""
    return [sys.executable, "-I", str(LAUNCHER), connection_file]


def install_kernelspec(jupyter_dir: str | Path, boxed: bool = False) -> Path:
    """A ``python3`` kernelspec under ``jupyter_dir`` whose command is :data:`LAUNCHER`.

    ``boxed``: the kernel runs in a namespace box, whose outer process a signal would
    end, so interrupts go as messages (ipykernel interrupts itself).
    """
    folder = Path(jupyter_dir) / "kernels" / "python3"
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": kernel_argv(), "display_name": "Python 3 (sandbox)", "language": "python"}
    if boxed:
        spec["interrupt_mode"] = "message"
    (folder / "kernel.json").write_text(json.dumps(spec))
    return folder


def bootstrap_path(kernels: str | Path) -> Path:
    """Where :func:`place_bootstrap` puts the bootstrap in the kernels' folder ``kernels``."""
    return Path(kernels) / BOOTSTRAP_FOLDER / BOOTSTRAP.name


def place_bootstrap(kernels: str | Path) -> Path:
    """Copy the bootstrap, ``proc_audit.py`` and ``cgroup_join.py`` into a folder of
    ``kernels``; return the first.

    ``kernels`` is the grader's (the user may enter it, not change it), so the copies are
    root's files that the sandbox user can read and run, not replace.
    """
    folder = bootstrap_path(kernels).parent
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)  # whatever the umask
    for source in (BOOTSTRAP, PROC_AUDIT, JOIN):
        shutil.copyfile(source, folder / source.name)
        os.chmod(folder / source.name, 0o644)
    return folder / BOOTSTRAP.name


def open_channel(path: str | None) -> int:
    """A write end of the monitor's FIFO, inheritable, or -1 (no channel, or nobody reads it)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except (OSError, TypeError):
        return -1
    os.set_inheritable(fd, True)
    return fd


def read_spec(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The sandbox spec handed to the kernel launcher in its environment."""
    return json.loads(environ[SPEC_VARIABLE])


def _transport(connection: bytes) -> str | None:
    """The transport a connection file names (None when it is not a connection file)."""
    try:
        value = json.loads(connection)
    except ValueError:
        return None
    return value.get("transport") if isinstance(value, dict) else None


def launch_kernel(connection_file: str, spec: Mapping[str, Any]) -> NoReturn:
    """Start ipykernel inside the sandbox ``spec`` describes; this process becomes the kernel."""
    # Still root: the copy goes to the grader's folder (never through a path the student
    # controls), readable by the sandbox user's group only.
    raw = Path(connection_file).read_bytes()
    if spec.get("backend") == "namespaces" and _transport(raw) != "ipc":
        sys.exit("kernel_launcher: the namespace box has no network: expected the ipc transport")
    handle, conn = tempfile.mkstemp(prefix="kernel-", suffix=".json", dir=spec["kernels"])
    with os.fdopen(handle, "wb") as f:
        if spec["gid"] is not None:
            os.fchown(f.fileno(), -1, spec["gid"])
        os.fchmod(f.fileno(), 0o640)
        f.write(raw)
    fd = open_channel(spec.get("channel"))  # as root: the user cannot open the FIFO itself
    bootstrap = str(bootstrap_path(spec["kernels"]))
    for procs in spec.get("cgroup", []):  # the kernel and all it starts count from here
        Path(procs).write_text(f"{os.getpid()}\n")
    dropper(spec)()
    os.chdir(spec["work"])
    argv = [sys.executable, bootstrap, str(fd), "-f", conn]
    if spec.get("backend") == "namespaces":
        writable = [spec["root"], *spec.get("shared", [])]
        argv = bwrap_argv(argv, writable=writable, readonly=[spec["kernels"]], cwd=spec["work"])
    os.execve(argv[0], argv, spec["env"])

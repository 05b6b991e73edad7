"""One sandbox per submission: an unprivileged user, a private folder, limits, cleanup."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import backend as backends
from . import cgroups, kernel, namespaces
from .cleanup import forget_sandbox, record_sandbox, remove_files_of
from .monitor import Monitor
from .users import dropper, kill_user


class Sandbox:
    """The private folder, user and limits of one submission.

    Parameters
    ----------
    root : path
        A fresh folder; ``home``, ``tmp`` and ``work`` are made inside it.
    slot : int
        The worker slot: picks the sandbox user.
    memory_bytes, max_processes, max_file_bytes : int
        Address space per process, processes of the user, size of any file written.
    total_memory_bytes : int
        Memory of all the submission's processes together: the maximum of its control
        group (every page, memfd and ``/dev/shm`` included) on the namespace backend
        where one can be made, else watched by :attr:`monitor` (root only).

    Attributes
    ----------
    backend : str
        ``"namespaces"``, ``"users"`` or ``"none"`` (:mod:`grading.isolation.backend`).
    cgroup : Cgroup or None
        The submission's control group, when the kernel enforces its limits.
    """

    def __init__(
        self,
        root: str | Path,
        slot: int = 0,
        memory_bytes: int = 3 * 2**30,
        max_processes: int = 64,
        max_file_bytes: int = 256 * 2**20,
        total_memory_bytes: int = 4 * 2**30,
    ) -> None:
        self.root = Path(root)
        self.home, self.tmp, self.work = self.root / "home", self.root / "tmp", self.root / "work"
        for folder in (self.home, self.tmp, self.work):
            folder.mkdir(parents=True, exist_ok=True)
        self.memory_bytes, self.max_processes = memory_bytes, max_processes
        self.max_file_bytes = max_file_bytes
        self.backend, self.user = backends.choose(slot)
        if self.backend == backends.USERS:
            kill_user(self.user.pw_uid)  # nothing left from an earlier run of this slot
        self.cgroup = None
        if self.backend == backends.NAMESPACES:
            self.cgroup = cgroups.make(self.root.name, total_memory_bytes, max_processes)
            if self.cgroup is not None and self.user is not None:
                self.cgroup.allow(self.user.pw_uid, self.user.pw_gid)
        limits = ", cgroup limits" if self.cgroup else ", no cgroup: the grader's watchdog"
        backends.say_once(self.backend, limits)
        # The kernel's ZeroMQ sockets (jupyter's ipc transport): the box has no network.
        self.sockets = self.root / "ipc"
        self.sockets.mkdir(exist_ok=True)
        self.shared: list[Path] = []  # the grader's folders the kernel writes to (:meth:`share`)
        # The monitor's FIFO lives in a folder of the grader's (0700), never in the user's.
        self.private = Path(tempfile.mkdtemp(prefix="cs_loss_monitor_"))
        # The kernels' connection files, written by root, and the kernel's bootstrap:
        # traversable, not listable, and nothing in it the user can replace (a file in the
        # user's HOME could be a symlink).
        self.kernels = Path(tempfile.mkdtemp(prefix="cs_loss_kernels_"))
        os.chmod(self.kernels, 0o711)
        bootstrap = kernel.place_bootstrap(self.kernels)
        if self.cgroup is not None:
            self.cgroup = replace(self.cgroup, joiner=bootstrap.parent / kernel.JOIN.name)
        # The grader's watchdog sums memory by user: only where no cgroup counts it.
        watched = self.user.pw_uid if self.user is not None and self.cgroup is None else None
        channel = self.private / "proc_reads" if self.isolated else None
        self.monitor = Monitor(watched, total_memory_bytes, channel=channel, cgroup=self.cgroup)
        self.slot = slot
        self._record()

    def _record(self) -> None:
        """Note the folders and group made, for a worker killed before :meth:`cleanup`
        (:func:`grading.isolation.cleanup.remove_recorded`)."""
        folders = [self.private, self.kernels, self.root, *self.shared]
        record_sandbox(self.slot, folders, self.cgroup)

    @property
    def isolated(self) -> bool:
        """Whether student code runs in a sandbox (namespaces or users), not as the grader."""
        return self.backend != backends.NONE

    def share(self, folder: str | Path) -> None:
        """Bind ``folder`` (the grader's, e.g. where the kernel exports values) into the
        kernels' box at its path; what the user may do in it is up to its permissions."""
        self.shared.append(Path(folder))
        self._record()

    def give(self) -> None:
        """Hand the private folder to the sandbox user (after the files are in place)."""
        if self.user is None:
            return
        os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.root, 0o700)
        for folder, dirs, files in os.walk(self.root):
            for name in dirs + files:
                path = os.path.join(folder, name)
                if not os.path.islink(path):
                    os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of student code: nothing of the grader's."""
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "TMPDIR": str(self.tmp),
            "LANG": "C.UTF-8",
            "MPLBACKEND": "Agg",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "PYTHONNOUSERSITE": "1",
            "IPYTHONDIR": str(self.home / ".ipython"),
            "MPLCONFIGDIR": str(self.tmp / "mpl"),
        }
        if os.environ.get("LD_LIBRARY_PATH"):  # a Python built with a shared libpython needs it
            env["LD_LIBRARY_PATH"] = os.environ["LD_LIBRARY_PATH"]
        env.update(extra or {})
        return env

    def settings(self) -> dict[str, Any]:
        """What the kernel launcher and :meth:`preexec` need: user, folders, limits, channel."""
        return {
            "uid": self.user.pw_uid if self.user else None,
            "gid": self.user.pw_gid if self.user else None,
            "home": str(self.home),
            "work": str(self.work),
            "env": self.env({"NBGRADER_EXECUTION": "autograde"}),
            "memory_bytes": self.memory_bytes,
            "max_processes": self.max_processes,
            "max_file_bytes": self.max_file_bytes,
            "channel": self.monitor.channel and str(self.monitor.channel),
            "kernels": str(self.kernels),
            "backend": self.backend,
            "root": str(self.root),
            "shared": [str(folder) for folder in self.shared],
            "cgroup": [str(p) for p in self.cgroup.procs] if self.cgroup else [],
        }

    def spec(self) -> str:
        """:meth:`settings` as JSON, for the nbgrader process's environment
        (:data:`grading.isolation.kernel.SPEC_VARIABLE`)."""
        return json.dumps(self.settings())

    def install_kernelspec(self, jupyter_dir: str | Path) -> Path:
        """A ``python3`` kernelspec under ``jupyter_dir`` that starts the kernel in this sandbox."""
        return kernel.install_kernelspec(jupyter_dir, boxed=self.backend == backends.NAMESPACES)

    def connection(self) -> dict[str, str]:
        """The ``KernelManager`` settings of this sandbox's kernels: on the namespace backend,
        ipc sockets in a folder bound into the box (it has no network); else none."""
        if self.backend != backends.NAMESPACES:
            return {}
        return {"transport": "ipc", "ip": str(self.sockets / "kernel")}

    def nbgrader_args(self) -> list[str]:
        """:meth:`connection` as nbgrader's command-line options."""
        return [f"--KernelManager.{key}={value}" for key, value in self.connection().items()]

    def wrap(self, argv: list[str], writable: list[str | os.PathLike]) -> list[str]:
        """``argv`` as this sandbox runs it: see :func:`grading.isolation.wrap_command`."""
        return wrap_command(argv, writable, self.backend, self.cgroup)

    def preexec(self, memory_bytes: int | None = None) -> Callable[[], None]:
        """For ``subprocess``: limits, then drop to the sandbox user."""
        return dropper(self.settings(), memory_bytes)

    def cleanup(self) -> list[str]:
        """Kill the user's processes, stop the monitor, remove the folders; return review flags."""
        flags = []
        if self.backend == backends.USERS:
            alive = kill_user(self.user.pw_uid)
            if alive:
                flags.append(
                    f"review: {alive} process(es) of the submission were still running at the end"
                )
        self.monitor.stop()  # after the kill: nothing writes to its channel any more
        flags += self.monitor.flags()
        if self.backend == backends.USERS:  # a box's /tmp and /dev/shm die with it
            strays = remove_files_of(self.user.pw_uid, keep=self.root)
            if strays:
                flags.append(
                    f"review: wrote {len(strays)} file(s) outside its working folder, e.g. "
                    f"{strays[0][:80]} (removed)"
                )
        shutil.rmtree(self.private, ignore_errors=True)
        shutil.rmtree(self.kernels, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)
        if self.cgroup is not None:
            self.cgroup.remove()
        forget_sandbox(self.slot)
        return flags


def wrap_command(
    argv: list[str],
    writable: list[str | os.PathLike],
    backend: str | None = None,
    cgroup: cgroups.Cgroup | None = None,
) -> list[str]:
    """The command that runs ``argv`` (student code) under ``backend`` (default: the probe's).

    On the namespace backend: in a bubblewrap box where only the ``writable`` folders
    (and the box's private ``/tmp``) can be written, the first of them its working
    folder; with ``cgroup``, first joined to it (a file run before the box, by the
    user the caller's ``preexec_fn`` became). Elsewhere ``argv`` unchanged.
    """
    if (backend or backends.choose()[0]) != backends.NAMESPACES:
        return list(argv)
    boxed = namespaces.bwrap_argv(argv, writable=writable, cwd=writable[0] if writable else None)
    if cgroup is None:
        return boxed
    joiner = cgroup.joiner or kernel.JOIN
    return [sys.executable, "-I", str(joiner), *map(str, cgroup.procs), "--", *boxed]

"""One sandbox per submission: an unprivileged user, a private folder, limits, cleanup."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from . import kernel
from .cleanup import remove_files_of
from .monitor import Monitor
from .users import (
    can_switch_users,
    dropper,
    ensure_user,
    kill_user,
    python_usable,
    warn_not_root,
    warn_python_unusable,
)


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
        Resident memory of all the user's processes together (watched by
        :attr:`monitor`, root only).
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
        self.user = ensure_user(slot) if can_switch_users() else None
        if self.user is not None and not python_usable(self.user):
            warn_python_unusable()
            self.user = None
        elif self.user is None:
            warn_not_root()
        else:
            kill_user(self.user.pw_uid)  # nothing left from an earlier run of this slot
        # The monitor's FIFO lives in a folder of the grader's (0700), never in the user's.
        self.private = Path(tempfile.mkdtemp(prefix="cs_loss_monitor_"))
        # The kernels' connection files, written by root, and the kernel's bootstrap:
        # traversable, not listable, and nothing in it the user can replace (a file in the
        # user's HOME could be a symlink).
        self.kernels = Path(tempfile.mkdtemp(prefix="cs_loss_kernels_"))
        os.chmod(self.kernels, 0o711)
        kernel.place_bootstrap(self.kernels)
        if self.user is None:  # nothing to kill by user, and no kernel launcher to write
            self.monitor = Monitor(None, total_memory_bytes)
        else:
            self.monitor = Monitor(
                self.user.pw_uid, total_memory_bytes, channel=self.private / "proc_reads"
            )

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
        }

    def spec(self) -> str:
        """:meth:`settings` as JSON, for the nbgrader process's environment
        (:data:`grading.isolation.kernel.SPEC_VARIABLE`)."""
        return json.dumps(self.settings())

    def install_kernelspec(self, jupyter_dir: str | Path) -> Path:
        """A ``python3`` kernelspec under ``jupyter_dir`` that starts the kernel in this sandbox."""
        return kernel.install_kernelspec(jupyter_dir)

    def preexec(self, memory_bytes: int | None = None) -> Callable[[], None]:
        """For ``subprocess``: limits, then drop to the sandbox user."""
        return dropper(self.settings(), memory_bytes)

    def cleanup(self) -> list[str]:
        """Kill the user's processes, stop the monitor, remove the folders; return review flags."""
        flags = []
        if self.user is not None:
            alive = kill_user(self.user.pw_uid)
            if alive:
                flags.append(
                    f"review: {alive} process(es) of the submission were still running at the end"
                )
        self.monitor.stop()  # after the kill: nothing writes to its channel any more
        flags += self.monitor.flags()
        if self.user is not None:
            strays = remove_files_of(self.user.pw_uid, keep=self.root)
            if strays:
                flags.append(
                    f"review: wrote {len(strays)} file(s) outside its working folder, e.g. "
                    f"{strays[0][:80]} (removed)"
                )
        shutil.rmtree(self.private, ignore_errors=True)
        shutil.rmtree(self.kernels, ignore_errors=True)
        shutil.rmtree(self.root, ignore_errors=True)
        return flags

"""A control group per submission: the kernel counts every page its processes hold.

Anonymous memory, ``memfd`` buffers and files in a ``tmpfs`` (``/dev/shm``) are all
charged to the group of the process that touched them, so a memory maximum here holds
where the grader's own ``/proc`` sampling could not; ``pids`` caps the processes. One
function per cgroup version: :func:`make_v2` (the unified hierarchy most hosts mount)
and :func:`make_v1` (separate ``memory`` and ``pids`` hierarchies). Either needs a
writable place: root, or a subtree delegated to the grader's user (v2). Where neither
exists :func:`make` returns None and the grader keeps its watchdog.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PARENT = "cs_loss"


@dataclass(frozen=True)
class Cgroup:
    """One submission's group: the folders made, the files a process joins by, the version.

    ``joiner``: a copy of ``cgroup_join.py`` that the user running student code can read
    (the kit's folder is closed to sandbox users), set by whoever placed it.
    """

    version: int
    folders: tuple[Path, ...]
    procs: tuple[Path, ...]
    events: Path
    joiner: Path | None = None

    def join(self, pid: int = 0) -> None:
        """Move ``pid`` (0: this process) into the group; its children follow."""
        for path in self.procs:
            path.write_text(f"{pid or os.getpid()}\n")

    def allow(self, uid: int, gid: int) -> None:
        """Let ``uid`` move its own processes in (v1: a process of the same user may)."""
        for path in self.procs:
            os.chown(path, uid, gid)

    def memory_stops(self) -> int:
        """How many of its processes the kernel killed for memory."""
        try:
            lines = self.events.read_text().splitlines()
        except OSError:
            return 0
        for line in lines:
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def members(self) -> set[int]:
        """The pids of the processes in the group (in any of its folders)."""
        pids: set[int] = set()
        for path in self.procs:
            try:
                pids.update(int(line) for line in path.read_text().split())
            except OSError:  # the group is gone
                continue
        return pids

    def end(self, seconds: float = 10.0) -> int:
        """SIGKILL every process of the group, again until none is left (a fork racing the
        kill is found at the next look; the group's ``pids.max`` bounds them); return how
        many were ended. Gives up after ``seconds`` (a process stuck in the kernel)."""
        ended: set[int] = set()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            pids = self.members()
            if not pids:
                break
            ended |= pids
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:  # already gone
                    pass
            time.sleep(0.02)
        return len(ended)

    def remove(self, seconds: float = 10.0) -> None:
        """End the group's processes (:meth:`end`), then remove its folders once the last of
        them (dying, not yet reaped) has left."""
        self.end(seconds)
        deadline = time.monotonic() + seconds
        for folder in self.folders:
            while True:
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # EBUSY: a killed process not yet reaped
                    if time.monotonic() >= deadline:
                        break
                    time.sleep(0.02)


def _child(parent: Path, name: str) -> Path:
    folder = parent / PARENT / name
    folder.mkdir(parents=True)
    return folder


def make_v2(name: str, memory_bytes: int, max_processes: int, root: Path = ROOT) -> Cgroup:
    """A v2 group ``cs_loss/<name>`` under ``root`` with ``memory.max`` and ``pids.max``."""
    parent = root / PARENT
    parent.mkdir(exist_ok=True)
    for folder in (root, parent):  # the controllers must be enabled on the way down
        (folder / "cgroup.subtree_control").write_text("+memory +pids\n")
    folder = _child(root, name)
    (folder / "memory.max").write_text(f"{memory_bytes}\n")
    (folder / "memory.swap.max").write_text("0\n")
    (folder / "pids.max").write_text(f"{max_processes}\n")
    return Cgroup(2, (folder,), (folder / "cgroup.procs",), folder / "memory.events")


def make_v1(name: str, memory_bytes: int, max_processes: int, root: Path = ROOT) -> Cgroup:
    """A v1 group ``cs_loss/<name>`` in the ``memory`` and ``pids`` hierarchies under ``root``."""
    memory = _child(root / "memory", name)
    pids = _child(root / "pids", name)
    (memory / "memory.limit_in_bytes").write_text(f"{memory_bytes}\n")
    swap = memory / "memory.memsw.limit_in_bytes"  # present with swap accounting: no swap
    if swap.exists():
        swap.write_text(f"{memory_bytes}\n")
    (pids / "pids.max").write_text(f"{max_processes}\n")
    return Cgroup(
        1,
        (memory, pids),
        (memory / "cgroup.procs", pids / "cgroup.procs"),
        memory / "memory.oom_control",
    )


def version(root: Path = ROOT) -> int:
    """2 (unified), 1 (``memory`` and ``pids`` hierarchies) or 0 (neither mounted)."""
    if (root / "cgroup.controllers").exists():
        return 2
    if (root / "memory" / "tasks").exists() and (root / "pids" / "tasks").exists():
        return 1
    return 0


def make(name: str, memory_bytes: int, max_processes: int, root: Path = ROOT) -> Cgroup | None:
    """The submission's group, or None where this process may not make one."""
    maker = {2: make_v2, 1: make_v1}.get(version(root))
    if maker is None:
        return None
    try:
        return maker(name, memory_bytes, max_processes, root)
    except OSError:
        return None

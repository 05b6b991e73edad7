"""The grader's watch over one submission's processes while it is graded.

Two things that no limit per process catches: the resident memory of all the
sandbox user's processes together (above a limit they are all killed, and the
submission is flagged), and the reads of other processes' ``/proc`` entries that
the audit hook in the student's processes (``grading/proc_audit.py``) reports
through a FIFO only the grader can read, or a pipe.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

from .users import processes_of


def resident_bytes(pid: int) -> int:
    """Memory ``pid`` holds, resident or swapped out (VmRSS + VmSwap), in bytes; 0 if gone.

    Not VmSize: numpy and BLAS reserve far more address space than they touch.
    """
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            lines = f.read().splitlines()
    except OSError:
        return 0
    held = 0
    for line in lines:
        if line.startswith((b"VmRSS:", b"VmSwap:")):
            held += int(line.split()[1]) * 1024  # reported in kB
    return held


# What the audit hook's events mean, for the review flags.
PROC_VERBS = {
    "open": "read",
    "os.listdir": "listed",
    "os.scandir": "listed",
    "glob.glob": "listed",
    "os.chdir": "changed into",
    "os.symlink": "linked to",
    "shutil.copyfile": "copied",
    "shutil.copytree": "copied",
    "shutil.copy": "copied",
    "os.system": "ran a command on",
    "subprocess.Popen": "ran a command on",
    "os.exec": "ran a command on",
    "os.posix_spawn": "ran a command on",
    "os.spawn": "ran a command on",
}
MAX_PROC_FLAGS = 5


class Monitor:
    """Watches the processes of one submission from the grader, while it is graded.

    * memory: every ``interval`` seconds a thread sums the resident memory of
      all the processes of ``uid`` (:func:`resident_bytes`); above
      ``limit_bytes`` it kills them all and counts a stop. Off without ``uid``
      (the grader is not root: nothing is enforced then).
    * reads of other processes' ``/proc``: the audit hook in the student's
      processes writes one line per event to a FIFO (``channel``, in a folder
      only the grader can enter; the kernel launcher opens it for writing before
      it drops privileges) or to a pipe (the package tests: whoever runs them is
      handed this monitor and gives it the pipe's lines with
      :meth:`add_records`). What was written cannot be taken back.

    Use as a context manager, or :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        uid: int | None,
        limit_bytes: int = 4 * 2**30,
        interval: float = 0.2,
        channel: str | Path | None = None,
        cgroup: Any = None,
    ) -> None:
        self.uid, self.limit_bytes, self.interval = uid, limit_bytes, interval
        self.channel = Path(channel) if channel else None
        self.cgroup = cgroup  # a Cgroup: the kernel enforces the limit and counts its stops
        self.watchdog_stops = 0
        self.proc_reads: list[tuple[str, str]] = []  # (event, path), distinct, in order reported
        self.leftovers = 0  # processes left running when a kernel's box ended (the most seen)
        self._received = 0
        self._pending = b""
        self._fds: list[int] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def memory_stops(self) -> int:
        """How many times the submission's processes were stopped for memory."""
        return self.watchdog_stops + (self.cgroup.memory_stops() if self.cgroup else 0)

    @property
    def memory_reason(self) -> str:
        """Why the processes were stopped, in the words of the flag and the test outputs."""
        return (
            f"its processes together held more than {self.limit_bytes / 2**30:.1f} GiB "
            "of memory and were stopped"
        )

    def start(self) -> Monitor:
        """Make the channel (when there is one) and start watching; return self."""
        if self.channel is not None and not self._fds:
            os.mkfifo(self.channel, 0o600)
            read_end = os.open(self.channel, os.O_RDONLY | os.O_NONBLOCK)
            # The grader's own writer keeps the FIFO open between kernels (no end of file).
            self._fds = [read_end, os.open(self.channel, os.O_WRONLY | os.O_NONBLOCK)]
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="cs_loss-monitor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching; read what is left in the channel."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._drain()
        for fd in self._fds:
            os.close(fd)
        self._fds = []

    def __enter__(self) -> Monitor:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            self._drain()
            if self.uid is not None:
                try:
                    self.check_memory()
                except OSError:  # /proc changing under the walk: try again next time
                    continue

    def check_memory(self) -> int:
        """Kill every process of ``uid`` if together they hold more than the limit; return the sum.

        One SIGKILL to each process counted, not :func:`~grading.isolation.users.kill_user`'s
        rounds: those go on while the dead wait to be reaped and would kill the kernel
        nbgrader restarts, or the next test process. A fork that raced the kill is seen at
        the next look.
        """
        held = {pid: resident_bytes(pid) for pid in processes_of(self.uid)}
        if sum(held.values()) > self.limit_bytes:
            self.watchdog_stops += 1  # counted first: whoever sees a process die sees the reason
            for pid, size in held.items():
                try:
                    if size:  # a zombie holds nothing and is already dead
                        os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        return sum(held.values())

    def _drain(self) -> None:
        if not self._fds:
            return
        while True:
            try:
                data = os.read(self._fds[0], 65536)
            except (BlockingIOError, OSError):
                return
            if not data:
                return
            self.add_records(data)

    def add_records(self, data: bytes) -> None:
        """Take ``event<TAB>path`` lines from the hook (bytes; a partial last line waits)."""
        if self._received > 2**20:  # a flood is not read: the first records are enough
            return
        self._received += len(data)
        *lines, self._pending = (self._pending + data).split(b"\n")
        for line in lines:
            event, _, path = line.decode("utf-8", "replace").partition("\t")
            if event == "leftover" and path.isdigit():
                self.leftovers = max(self.leftovers, int(path[:6]))
                continue
            path = "".join(c for c in path if c.isprintable())[:120]
            if (
                event in PROC_VERBS
                and path.startswith("/proc")
                and (event, path) not in self.proc_reads
            ):
                self.proc_reads.append((event, path))

    def flags(self) -> list[str]:
        """The review flags of what was seen."""
        flags = []
        if self.leftovers:
            flags.append(
                f"review: {self.leftovers} process(es) were still running when a notebook's "
                "kernel ended (ended with its box at once; no points lost)"
            )
        if self.memory_stops:
            flags.append(f"review: {self.memory_reason} ({self.memory_stops} time(s))")
        for event, path in self.proc_reads[:MAX_PROC_FLAGS]:
            what = "the list of all processes" if path == "/proc" else "another process's /proc"
            flags.append(f"review: {PROC_VERBS[event]} {path} ({what}) at run time")
        if len(self.proc_reads) > MAX_PROC_FLAGS:
            flags.append(
                f"review: {len(self.proc_reads) - MAX_PROC_FLAGS} more read(s) of /proc at run time"
            )
        return flags

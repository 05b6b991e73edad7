"""One sandbox per submission: an unprivileged user, a private folder, limits, cleanup.

When the grader runs as root (a course container, CI, Gradescope), every
worker slot has a user of its own (``cs_loss_w0``, ``cs_loss_w1``..., created on
demand). The student's kernel, everything it starts and the package tests run
as that user, with HOME, TMPDIR and the working folder inside a private folder
that holds only that student's files and the data. The grader's own folders
(the kit, the course copy with its source notebooks, the gradebook, the reports,
other submissions) are owned by root with mode 0700, so the user can neither read
nor write them, and ``/proc/<pid>/cwd`` of the grader's processes is closed to it.
Limits: processes of the user (``RLIMIT_NPROC``), address space per process,
file size, and the worker's wall-clock limit. After the submission every
process of the user is killed and the private folder removed.

While the submission is graded a :class:`Monitor` in the grader watches it:
the resident memory of all the user's processes together (above a limit they
are all killed, and the submission is flagged), and the reads of other
processes' ``/proc`` entries that an audit hook in the student's processes
reports (``proc_audit.watch_proc_reads``) through a FIFO only the grader can
read.

Without root nothing of this can be enforced: the grader says so once, loudly,
and grades anyway (student code then runs with the grader's privileges).

The kernel is started through a kernelspec whose command is this file
(``python -I sandbox.py kernel {connection_file}``): still root, it copies the
connection file into a folder of the grader's that the user can read but not
change (never into the user's HOME, where a symlink could redirect root's
write), opens the monitor's FIFO for writing,
drops to the user, sets the limits and execs a Python that installs the audit
hook and then runs ``ipykernel_launcher`` as ``python -m`` would.
"""

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

USER_PREFIX = "cs_loss_w"
SPEC_VARIABLE = "CS_LOSS_SANDBOX_SPEC"
NOT_ROOT_WARNING = (
    "WARNING: the grader is not running as root, so student code runs as YOUR user, with your "
    "files in reach: no per-submission user, no process cap, no cleanup of stray processes. "
    "Grade untrusted submissions as root in a container (see the README)."
)
_warned = []


def warn_not_root(stream=None):
    """Print :data:`NOT_ROOT_WARNING` once per process; return whether it was printed now."""
    if _warned:
        return False
    _warned.append(True)
    print(NOT_ROOT_WARNING, file=stream or sys.stderr)
    return True


def warn_python_unusable(stream=None):
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


def can_switch_users():
    return hasattr(os, "geteuid") and os.geteuid() == 0


def ensure_user(slot):
    """The pwd entry of the sandbox user for worker ``slot``, created when missing."""
    import pwd

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


def processes_of(uid):
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


def kill_user(uid, rounds=20):
    """Kill every process of ``uid`` (forks racing the kill included); return how many were alive."""
    seen = set()
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


def resident_bytes(pid):
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
_active = []  # the Monitor of the submission this process grades, while it runs


def active_monitor():
    """The running :class:`Monitor` of this process's submission, or None."""
    return _active[-1] if _active else None


class Monitor:
    """Watches the processes of one submission from the grader, while it is graded.

    Two things that no limit per process catches:

    * memory: every ``interval`` seconds a thread sums the resident memory of
      all the processes of ``uid`` (:func:`resident_bytes`); above
      ``limit_bytes`` it kills them all and counts a stop. Off without ``uid``
      (the grader is not root: nothing is enforced then).
    * reads of other processes' ``/proc``: the audit hook in the student's
      processes writes one line per event to a FIFO (``channel``, in a folder
      only the grader can enter; the kernel launcher opens it for writing before
      it drops privileges) or to a pipe (the package tests, see
      :func:`grading.package.run_child`, which hands its lines to
      :meth:`add_records`). What was written cannot be taken back.

    Use as a context manager, or :meth:`start` and :meth:`stop`.
    """

    def __init__(self, uid, limit_bytes=4 * 2**30, interval=0.2, channel=None):
        self.uid, self.limit_bytes, self.interval = uid, limit_bytes, interval
        self.channel = Path(channel) if channel else None
        self.memory_stops = 0
        self.proc_reads = []  # (event, path), distinct, in the order reported
        self._received = 0
        self._pending = b""
        self._fds = []
        self._stop = threading.Event()
        self._thread = None

    @property
    def memory_reason(self):
        """Why the processes were stopped, in the words of the flag and the test outputs."""
        return (
            f"its processes together held more than {self.limit_bytes / 2**30:.1f} GiB "
            "of memory and were stopped"
        )

    def start(self):
        """Make the channel (when there is one) and start watching; return self."""
        if self.channel is not None and not self._fds:
            os.mkfifo(self.channel, 0o600)
            read_end = os.open(self.channel, os.O_RDONLY | os.O_NONBLOCK)
            # The grader's own writer keeps the FIFO open between kernels (no end of file).
            self._fds = [read_end, os.open(self.channel, os.O_WRONLY | os.O_NONBLOCK)]
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="cs_loss-monitor", daemon=True)
        self._thread.start()
        _active.append(self)
        return self

    def stop(self):
        """Stop watching; read what is left in the channel."""
        if self in _active:
            _active.remove(self)
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._drain()
        for fd in self._fds:
            os.close(fd)
        self._fds = []

    __enter__ = start

    def __exit__(self, *exc):
        self.stop()

    def _watch(self):
        while not self._stop.wait(self.interval):
            self._drain()
            if self.uid is not None:
                try:
                    self.check_memory()
                except OSError:  # /proc changing under the walk: try again next time
                    continue

    def check_memory(self):
        """Kill every process of ``uid`` if together they hold more than the limit; return the sum.

        One SIGKILL to each process counted, not :func:`kill_user`'s rounds: those go on
        while the dead wait to be reaped and would kill the kernel nbgrader restarts, or
        the next test process. A fork that raced the kill is seen at the next look.
        """
        held = {pid: resident_bytes(pid) for pid in processes_of(self.uid)}
        if sum(held.values()) > self.limit_bytes:
            self.memory_stops += 1  # counted first: whoever sees a process die sees the reason
            for pid, size in held.items():
                try:
                    if size:  # a zombie holds nothing and is already dead
                        os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        return sum(held.values())

    def _drain(self):
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

    def add_records(self, data):
        """Take ``event<TAB>path`` lines from the hook (bytes; a partial last line waits)."""
        if self._received > 2**20:  # a flood is not read: the first records are enough
            return
        self._received += len(data)
        *lines, self._pending = (self._pending + data).split(b"\n")
        for line in lines:
            event, _, path = line.decode("utf-8", "replace").partition("\t")
            path = "".join(c for c in path if c.isprintable())[:120]
            if (
                event in PROC_VERBS
                and path.startswith("/proc")
                and (event, path) not in self.proc_reads
            ):
                self.proc_reads.append((event, path))

    def flags(self):
        """The review flags of what was seen."""
        flags = []
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


SHARED_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm")


def remove_files_of(uid, keep, roots=SHARED_WRITABLE):
    """Remove what ``uid`` left in the world-writable folders (outside ``keep``); return the paths."""
    found = []
    keep = str(keep)
    for top in roots:
        for folder, dirs, files in os.walk(top, topdown=True, followlinks=False):
            if folder.startswith(keep):
                dirs[:] = []
                continue
            for name in dirs + files:
                path = os.path.join(folder, name)
                try:
                    if os.lstat(path).st_uid == uid and not path.startswith(keep):
                        found.append(path)
                except OSError:
                    continue
            dirs[:] = [d for d in dirs if os.path.join(folder, d) not in found]
    for path in found:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass
    return found


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
        root,
        slot=0,
        memory_bytes=3 * 2**30,
        max_processes=64,
        max_file_bytes=256 * 2**20,
        total_memory_bytes=4 * 2**30,
    ):
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
        # The kernels' connection files, written by root: traversable, not listable, and
        # nothing in it the user can replace (a file in the user's HOME could be a symlink).
        self.kernels = Path(tempfile.mkdtemp(prefix="cs_loss_kernels_"))
        os.chmod(self.kernels, 0o711)
        if self.user is None:  # nothing to kill by user, and no kernel launcher to write
            self.monitor = Monitor(None, total_memory_bytes)
        else:
            self.monitor = Monitor(
                self.user.pw_uid, total_memory_bytes, channel=self.private / "proc_reads"
            )

    def give(self):
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

    def env(self, extra=None):
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

    def spec(self):
        """What the kernel launcher needs, as JSON (in the nbgrader process's environment)."""
        return json.dumps(
            {
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
        )

    def install_kernelspec(self, jupyter_dir):
        """A ``python3`` kernelspec under ``jupyter_dir`` that starts the kernel in this sandbox."""
        folder = Path(jupyter_dir) / "kernels" / "python3"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": [
                        sys.executable,
                        "-I",
                        str(Path(__file__).resolve()),
                        "kernel",
                        "{connection_file}",
                    ],
                    "display_name": "Python 3 (sandbox)",
                    "language": "python",
                }
            )
        )
        return folder

    def preexec(self, memory_bytes=None):
        """For ``subprocess``: limits, then drop to the sandbox user."""
        return _dropper(json.loads(self.spec()), memory_bytes)

    def cleanup(self):
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


_USABLE = {}


PROBED_VARIABLE = "CS_LOSS_SANDBOX_PYTHON"  # set by a grader whose probe passed, for its workers


def python_usable(user):
    """Whether ``user`` can start this Python with ipykernel and numpy.

    The probe (about a second of CPU) runs once per batch: a worker started by a grader
    whose probe passed for this Python finds it in ``CS_LOSS_SANDBOX_PYTHON``.
    """
    if os.environ.get(PROBED_VARIABLE) == sys.executable:
        return True
    if user.pw_uid not in _USABLE:

        def drop():
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


def _dropper(spec, memory_bytes=None):
    def apply():
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


# The kernel's first code: the /proc monitor (its source is inserted above this), then
# ipykernel as `python -m ipykernel_launcher` runs it, with the working folder first on
# sys.path so that `import cs_loss` finds the student's package.
KERNEL_BOOTSTRAP = """
import os, runpy, sys
_fd = int(sys.argv.pop(1))
if _fd >= 0:
    watch_proc_reads(_fd)
del _fd, watch_proc_reads
sys.path[0] = os.getcwd()
runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
"""


def hook_source():
    """The source of ``grading/proc_audit.py``, which defines ``watch_proc_reads``."""
    return (Path(__file__).resolve().parent / "proc_audit.py").read_text()


def _open_channel(path):
    """A write end of the monitor's FIFO, inheritable, or -1 (no channel, or nobody reads it)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except (OSError, TypeError):
        return -1
    os.set_inheritable(fd, True)
    return fd


def _launch_kernel(connection_file):
    """Kernelspec entry point: start ipykernel inside the sandbox described by the environment."""
    spec = json.loads(os.environ[SPEC_VARIABLE])
    # Still root: the copy goes to the grader's folder (never through a path the student
    # controls), readable by the sandbox user's group only.
    handle, conn = tempfile.mkstemp(prefix="kernel-", suffix=".json", dir=spec["kernels"])
    with os.fdopen(handle, "wb") as f:
        if spec["gid"] is not None:
            os.fchown(f.fileno(), -1, spec["gid"])
        os.fchmod(f.fileno(), 0o640)
        f.write(Path(connection_file).read_bytes())
    fd = _open_channel(spec.get("channel"))  # as root: the user cannot open the FIFO itself
    code = hook_source() + "\n" + KERNEL_BOOTSTRAP
    _dropper(spec)()
    os.chdir(spec["work"])
    os.execve(sys.executable, [sys.executable, "-c", code, str(fd), "-f", str(conn)], spec["env"])


if __name__ == "__main__" and sys.argv[1:2] == ["kernel"]:
    _launch_kernel(sys.argv[2])

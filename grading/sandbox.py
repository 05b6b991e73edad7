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

Without root nothing of this can be enforced: the grader says so once, loudly,
and grades anyway (student code then runs with the grader's privileges).

The kernel is started through a kernelspec whose command is this file
(``python -I sandbox.py kernel {connection_file}``): still root, it copies the
connection file into the user's HOME, drops to the user, sets the limits and
execs ``ipykernel``.
"""

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
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
    print(f"WARNING: the sandbox users cannot run {sys.executable} (a folder on its path is closed "
          "to other users, e.g. a Python under /root): student code runs as root, unisolated. "
          "Install Python where other users can read it.", file=stream or sys.stderr)  # fmt: skip
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
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", "--user-group", name],
                       check=False, capture_output=True)  # fmt: skip
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
    """

    def __init__(self, root, slot=0, memory_bytes=3 * 2**30, max_processes=64,
                 max_file_bytes=256 * 2**20):  # fmt: skip
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
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(self.home), "TMPDIR": str(self.tmp),
               "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1",
               "OMP_NUM_THREADS": "1", "PYTHONNOUSERSITE": "1", "IPYTHONDIR": str(self.home / ".ipython"),
               "MPLCONFIGDIR": str(self.tmp / "mpl")}  # fmt: skip
        if os.environ.get("LD_LIBRARY_PATH"):  # a Python built with a shared libpython needs it
            env["LD_LIBRARY_PATH"] = os.environ["LD_LIBRARY_PATH"]
        env.update(extra or {})
        return env

    def spec(self):
        """What the kernel launcher needs, as JSON (in the nbgrader process's environment)."""
        return json.dumps({
            "uid": self.user.pw_uid if self.user else None, "gid": self.user.pw_gid if self.user else None,
            "home": str(self.home), "work": str(self.work), "env": self.env(
                {"NBGRADER_EXECUTION": "autograde"}),
            "memory_bytes": self.memory_bytes, "max_processes": self.max_processes,
            "max_file_bytes": self.max_file_bytes,
        })  # fmt: skip

    def install_kernelspec(self, jupyter_dir):
        """A ``python3`` kernelspec under ``jupyter_dir`` that starts the kernel in this sandbox."""
        folder = Path(jupyter_dir) / "kernels" / "python3"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-I", str(Path(__file__).resolve()), "kernel", "{connection_file}"],
            "display_name": "Python 3 (sandbox)", "language": "python",
        }))  # fmt: skip
        return folder

    def preexec(self, memory_bytes=None):
        """For ``subprocess``: limits, then drop to the sandbox user."""
        return _dropper(json.loads(self.spec()), memory_bytes)

    def cleanup(self):
        """Kill the user's processes and remove the private folder; return review flags."""
        flags = []
        if self.user is not None:
            alive = kill_user(self.user.pw_uid)
            if alive:
                flags.append(f"review: {alive} process(es) of the submission were still running at the end")
            strays = remove_files_of(self.user.pw_uid, keep=self.root)
            if strays:
                flags.append(f"review: wrote {len(strays)} file(s) outside its working folder, e.g. "
                             f"{strays[0][:80]} (removed)")  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)
        return flags


_USABLE = {}


def python_usable(user):
    """Whether ``user`` can start this Python with ipykernel and numpy."""
    if user.pw_uid not in _USABLE:
        def drop():
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)

        try:
            env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
            if os.environ.get("LD_LIBRARY_PATH"):
                env["LD_LIBRARY_PATH"] = os.environ["LD_LIBRARY_PATH"]
            done = subprocess.run([sys.executable, "-I", "-c", "import ipykernel, numpy, nbformat"],
                                  cwd="/", env=env,
                                  preexec_fn=drop, capture_output=True, timeout=60, check=False)  # fmt: skip
            _USABLE[user.pw_uid] = done.returncode == 0
        except (OSError, subprocess.SubprocessError):
            _USABLE[user.pw_uid] = False
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
            resource.setrlimit(resource.RLIMIT_NPROC, (spec["max_processes"], spec["max_processes"]))
            os.setgroups([])
            os.setgid(spec["gid"])
            os.setuid(spec["uid"])

    return apply


def _launch_kernel(connection_file):
    """Kernelspec entry point: start ipykernel inside the sandbox described by the environment."""
    spec = json.loads(os.environ[SPEC_VARIABLE])
    home = Path(spec["home"])
    conn = home / "kernel-connection.json"
    shutil.copyfile(connection_file, conn)
    if spec["uid"] is not None:
        os.chown(conn, spec["uid"], spec["gid"])
    os.chmod(conn, 0o600)
    _dropper(spec)()
    os.chdir(spec["work"])
    os.execve(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", str(conn)], spec["env"])


if __name__ == "__main__" and sys.argv[1:2] == ["kernel"]:
    _launch_kernel(sys.argv[2])

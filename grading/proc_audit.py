"""The /proc audit hook that every process running a student's code installs first.

Stdlib only and self-contained: the hidden-test child (``grading/hidden_tests.py``)
and the sandboxed kernel's bootstrap (``grading/isolation/kernel_bootstrap.py``)
each import it from a copy beside themselves.
"""

from __future__ import annotations  # annotations stay text: nothing below is imported to run

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def watch_proc_reads(
    fd: int, limit: int = 20, install: bool = True
) -> Callable[[str, tuple], None]:
    """Report, on file descriptor ``fd``, reads of other processes' ``/proc`` entries.

    Installs an audit hook (PEP 578) in this process, inherited by its forks.
    An honest submission never opens ``/proc/<pid>/...`` of another process nor
    lists ``/proc``; a hostile one does so to find the grader's files. Each such
    event is written to ``fd`` (a pipe or FIFO whose read end the grader holds)
    as one line ``event<TAB>path``: at most ``limit`` distinct lines, by
    non-blocking writes, so the hook never waits and never raises into the
    student's code. The grader turns the lines into review flags.

    The function is self-contained (it imports inside), and this file imports
    nothing: the hidden-test child and the kernel's bootstrap each import it
    from a copy beside themselves, before the student's code runs. Returns the
    hook (``install=False``: made, not installed, for tests; an audit hook
    cannot be removed).
    """
    import os
    import sys

    # event -> how many of its first arguments are paths (commands are split in words)
    paths = {
        "open": 1,
        "os.listdir": 1,
        "os.scandir": 1,
        "os.chdir": 1,
        "glob.glob": 1,
        "os.symlink": 1,
        "shutil.copyfile": 2,
        "shutil.copytree": 2,
        "shutil.copy": 2,
    }
    commands = {"os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn"}
    watched = frozenset(paths) | frozenset(commands)
    sent, cwd_unknown = set(), [False]
    os.set_blocking(fd, False)

    def foreign(path):
        """The normalised ``path`` if it is another process's /proc entry or /proc itself."""
        if isinstance(path, int):
            return None
        path = os.fsdecode(os.fspath(path))
        if not path.startswith("/"):
            if not cwd_unknown[0]:
                return None
            path = os.path.join(os.getcwd(), path)
        path = os.path.normpath(path)
        if path == "/proc":
            return path
        if path.startswith("/proc/"):
            pid = path[6:].split("/", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid():
                return path
        return None

    def kernel_lists_its_children():
        """Whether ipykernel itself is at work: at shutdown and interrupt it finds the kernel's
        children with psutil, which reads every process's /proc/<pid>/stat."""
        origin = getattr(sys.modules.get("ipykernel.kernelbase"), "__file__", None)
        frame = sys._getframe(1) if origin else None
        while frame is not None:
            if frame.f_code.co_name == "_process_children" and frame.f_code.co_filename == origin:
                return True
            frame = frame.f_back
        return False

    def words_of(args):
        """The words of a command: its program and arguments, each string split at spaces."""
        for arg in args[:2]:
            for part in arg if isinstance(arg, (list, tuple)) else [arg]:
                if isinstance(part, (str, bytes)):
                    yield from part.split()

    def report(event, path):
        if (event, path) in sent or len(sent) >= limit:
            return
        sent.add((event, path))
        line = f"{event}\t{path[:200]}".replace("\n", " ") + "\n"
        try:
            os.write(fd, line.encode("utf-8", "backslashreplace"))
        except OSError:  # full or closed: the record is lost, the student's code goes on
            pass

    def hook(event, args):
        if event not in watched:
            return
        try:
            if event == "os.chdir":  # relative paths are resolved only after a chdir into /proc
                target = args[0]
                cwd_unknown[0] = isinstance(target, int) or os.path.normpath(
                    os.path.join(os.getcwd(), os.fsdecode(target))
                ).startswith("/proc")
            words = words_of(args) if event in commands else args[: paths[event]]
            found = [path for path in map(foreign, words) if path]
            if found and not kernel_lists_its_children():
                for path in found:
                    report(event, path)
        except Exception:  # noqa: BLE001 - a monitor must never break the code it watches
            pass

    if install:
        sys.addaudithook(hook)
    return hook

"""The sandboxed kernel's first code: the /proc audit hook, then ipykernel.

Run as a file, as the sandbox user, by :func:`grading.isolation.kernel.launch_kernel`::

    python kernel_bootstrap.py FD -f CONNECTION_FILE

from a copy in a folder of the grader's that the user can read but not change,
with ``proc_audit.py`` beside it (the kit's ``grading/`` is closed to the user).
``FD`` is the write end of the monitor's FIFO, or -1 when there is no monitor.
Stdlib only, and nothing of it stays in the kernel but the installed hook.
"""

import os
import runpy
import sys


def main() -> None:
    """Install the audit hook on the FIFO, then run ipykernel as ``python -m`` would."""
    fd = int(sys.argv.pop(1))
    # In a namespace box (pid 1 is its init): /proc opened before the audit hook, so that
    # counting what is left at the end is not taken for the student's reading of /proc.
    proc = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY) if fd >= 0 and os.getpid() == 2 else -1
    if fd >= 0:
        from proc_audit import watch_proc_reads  # beside this file: sys.path[0]

        watch_proc_reads(fd)
    sys.modules.pop("proc_audit", None)
    # The working folder first on sys.path, so that `import cs_loss` finds the student's package.
    sys.path[0] = os.getcwd()
    try:
        runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
    finally:
        if proc >= 0:
            report_leftovers(fd, proc)


def report_leftovers(fd: int, proc: int) -> None:
    """Tell the grader (``fd``) how many processes are still running in the box as the kernel
    ends (they end with the box); ``proc`` is an open descriptor of the box's ``/proc``."""
    others = [p for p in os.listdir(proc) if p.isdigit() and int(p) not in (1, os.getpid())]
    if others:
        os.write(fd, f"leftover\t{len(others)}\n".encode())


if __name__ == "__main__":
    main()

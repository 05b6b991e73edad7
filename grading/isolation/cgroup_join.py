"""Join a control group, then run a command: ``python -I cgroup_join.py PROCS... -- ARGV``.

Run by :func:`grading.isolation.wrap_command` before the box, as the user who runs the
student's code (the group's ``cgroup.procs`` files were handed to that user): the
process writes its own pid to each file, so the box and everything in it are counted
from their first page. Stdlib only; nothing of it stays after the exec.
"""

import os
import sys


def main() -> None:
    """Write this pid to each file before ``--``, then exec what follows it."""
    split = sys.argv.index("--")
    for path in sys.argv[1:split]:
        with open(path, "w") as f:
            f.write(f"{os.getpid()}\n")
    argv = sys.argv[split + 1 :]
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()

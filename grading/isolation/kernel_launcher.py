"""The command of the sandbox's kernelspec: ``python -I kernel_launcher.py CONNECTION_FILE``.

jupyter_client runs this file, as root, in nbgrader's process tree. ``-I`` leaves the
kit off ``sys.path``, so the kit's folder (two levels up) goes first, and
:func:`grading.isolation.kernel.launch_kernel` takes over with the spec from the
environment; it execs the kernel, so nothing of this process stays.
"""

import importlib
import sys
from pathlib import Path


def main() -> None:
    """Launch the kernel whose connection file is the first argument."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    kernel = importlib.import_module("grading.isolation.kernel")
    kernel.launch_kernel(sys.argv[1], kernel.read_spec())


if __name__ == "__main__":
    main()

"""The notebooks' shared kernel started early (``execute.start_shared_kernel``, while the
package tests run): the first notebook runs in it, and one that died meanwhile is replaced."""

import os
import signal
import time

import pytest

from grading import execute as execute_module
from grading.execute import shutdown_shared_kernel, start_shared_kernel
from tests.test_execute_limits import errors, execute, text


@pytest.fixture
def early(tmp_path):
    """A kernel started early in ``tmp_path``; its process id."""
    start_shared_kernel(str(tmp_path))
    yield execute_module._SHARED["km"].provisioner.pid
    shutdown_shared_kernel()


def test_the_first_notebook_runs_in_the_kernel_started_early(early, tmp_path):
    cells, flags = execute(tmp_path, ["import os\nprint(os.getpid())"], share_kernel=True)
    assert text(cells[0]) == f"{early}\n"
    assert flags == []


def test_a_kernel_started_early_that_died_meanwhile_is_replaced(early, tmp_path):
    os.kill(early, signal.SIGKILL)  # as a package test that kills its user's processes would
    time.sleep(0.5)
    cells, _ = execute(
        tmp_path, ["import os\nprint(os.getpid())", "print(41 + 1)"], share_kernel=True
    )
    assert not errors(cells[0]) and text(cells[0]) != f"{early}\n"  # a new kernel
    assert text(cells[1]) == "42\n"

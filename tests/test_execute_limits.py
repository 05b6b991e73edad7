"""Time limits of notebook execution (grading.preprocessors.ResilientExecute), on a real kernel.

A cell past its limit is interrupted; a cell that ignores the interrupt gets
its kernel killed and restarted (the earlier cells re-run), so only that cell
is lost; a notebook past its own budget loses its remaining cells, nothing more.
"""

import signal
import time

import nbformat
import pytest

from grading import execute as execute_module
from grading.execute import shutdown_shared_kernel
from grading.nbrecords import read_flags
from grading.preprocessors import ResilientExecute

pytestmark = [pytest.mark.slow, pytest.mark.grading]

IGNORES_SIGINT = (
    "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
)
CATCHES_INTERRUPTS = (
    "import time\nwhile True:\n    try:\n        time.sleep(0.1)\n"
    "    except KeyboardInterrupt:\n        pass"
)


def execute(tmp_path, sources, **traits):
    """Run ``sources`` as code cells; return (the cells, the flags written)."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    flags = tmp_path / "flags.json"
    executor = ResilientExecute(interrupt_on_timeout=True, flag_file=str(flags), **traits)

    def hung(_signum, _frame):  # without the limits, execution would wait forever
        raise TimeoutError("the notebook did not finish within 90 s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(90)
    try:
        executor.preprocess(nb, {"unique_key": "nb", "metadata": {"path": str(tmp_path)}})
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return nb.cells, [flag.message for flag in read_flags(flags) if flag.where == "nb.ipynb"]


def errors(cell):
    return [o for o in cell.outputs if o.output_type == "error"]


def text(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_a_slow_cell_is_interrupted_and_the_kernel_keeps_its_state(tmp_path):
    cells, flags = execute(
        tmp_path,
        ["x = 41", "import time\ntime.sleep(60)", "print(x + 1)"],
        timeout=2,
        interrupt_grace=5,
    )
    assert errors(cells[1])[0].ename == "KeyboardInterrupt"
    assert text(cells[2]) == "42\n" and flags == []


@pytest.mark.parametrize("source", [IGNORES_SIGINT, CATCHES_INTERRUPTS])
def test_a_cell_that_ignores_the_interrupt_costs_only_itself(tmp_path, source):
    cells, flags = execute(
        tmp_path, ["x = 41", source, "print(x + 1)"], timeout=2, interrupt_grace=2
    )
    assert errors(cells[1])[0].ename == "CellTimeout"
    assert "did not stop" in errors(cells[1])[0].evalue
    assert text(cells[2]) == "42\n"  # the kernel was restarted and x = 41 re-run
    assert any("ignored the interrupt" in f for f in flags)


def test_a_notebook_past_its_budget_loses_only_its_remaining_cells(tmp_path):
    cells, flags = execute(
        tmp_path,
        ["x = 1", "import time\ntime.sleep(3)", "print(x)", "print(x)"],
        timeout=60,
        notebook_seconds=2,
    )
    assert errors(cells[1])[0].ename == "KeyboardInterrupt"  # the cell got only what was left
    assert [errors(c)[0].ename for c in cells[2:]] == ["NotRun", "NotRun"]
    assert "time budget of 2 s" in errors(cells[2])[0].evalue
    assert any("used up its time budget" in f for f in flags)


@pytest.fixture
def shared(tmp_path):
    """``execute`` with ``share_kernel``: consecutive notebooks share one kernel."""
    yield lambda sources, **traits: execute(tmp_path, sources, share_kernel=True, **traits)
    shutdown_shared_kernel()


def test_notebooks_share_one_kernel_with_its_namespace_reset(shared):
    first, _ = shared(["import os\nx = 41\nprint(os.getpid())"])
    second, flags = shared(["import os\nprint(os.getpid())", "print(x + 1)"])
    assert text(first[0]) == text(second[0])  # the same kernel process
    assert errors(second[1])[0].ename == "NameError"  # the first notebook's x is gone
    assert flags == []


def test_a_notebook_that_kills_the_shared_kernel_costs_only_itself(shared):
    first, _ = shared(["import os\nprint(os.getpid())", "os._exit(1)"], max_restarts=0)
    second, _ = shared(["import os\nprint(os.getpid())", "print(41 + 1)"])
    assert errors(first[1])[0].ename == "KernelDied"
    assert text(second[0]) != text(first[0])  # a new kernel
    assert text(second[1]) == "42\n"


def test_a_wedged_shared_kernel_is_replaced_for_the_next_notebook(shared, monkeypatch):
    # The first notebook leaves a timer that stops its kernel (SIGSTOP) once it has finished:
    # the kernel is alive but never answers the reset.
    monkeypatch.setattr(execute_module, "RESET_SECONDS", 2.0)
    stop_later = (
        "import os, signal, threading\n"
        "threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGSTOP)).start()"
    )
    first, _ = shared(["import os\nprint(os.getpid())", stop_later])
    time.sleep(1.0)
    second, _ = shared(["import os\nprint(os.getpid())", "print(41 + 1)"])
    assert text(second[0]) != text(first[0])  # a new kernel
    assert text(second[1]) == "42\n"


def test_the_shared_kernel_stops_when_asked(shared):
    shared(["x = 1"])
    km = execute_module._SHARED["km"]
    shutdown_shared_kernel()
    assert "km" not in execute_module._SHARED and not km.has_kernel

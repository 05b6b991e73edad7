"""Time limits of notebook execution (grading.preprocessors.ResilientExecute), on a real kernel.

A cell past its limit is interrupted; a cell that ignores the interrupt gets
its kernel killed and restarted (the earlier cells re-run), so only that cell
is lost; a notebook past its own budget loses its remaining cells, nothing more.
"""

import signal

import nbformat
import pytest

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

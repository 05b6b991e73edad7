"""The vocabulary of an exercise's declaration (``grading/topics/``).

A topic module declares, once, each of its exercises' hidden test cases
(:class:`Case`: its points, the regions it targets, the package modules it needs,
how its inputs are made, the :class:`Call` made on them, the outputs compared and
their tolerance), its known mistakes and its correct
variants (:class:`Variant`). Everything else (the test table the grader scores,
the catalogue, ``expected.npz`` and ``mistakes.npz``) is derived from them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

#: Compared outputs match within (rtol, atol as a share of the largest expected magnitude),
#: by the precision of the student's result; stated to students when a test fails.
TOLERANCE = {"float64": (1e-5, 1e-7), "float32": (1e-4, 1e-5)}


class Output(NamedTuple):
    """One value a call returns, checked in the child before it is saved.

    Attributes
    ----------
    key : str
        The name it is saved (and compared) under: ``"<test>/<key>"``.
    kind : str
        ``"number"`` (a single number), ``"array"`` (a numeric array of ``shape``) or
        ``"labels"`` (integer labels, whole floats accepted, of ``shape``).
    shape : tuple of str
        Per axis, ``"<input>.<axis>"``: the length of that axis of an input (resolved by
        the grader when it writes the plan).
    what : str
        How feedback names the value before its description, e.g. ``"dW as "``.
    description : str
        What was expected, in the student's terms.
    """

    key: str
    kind: str
    shape: tuple[str, ...] = ()
    what: str = ""
    description: str = "an array"


class Step(NamedTuple):
    """Prepares the instance of a method's class: call ``name(*args)``, or with
    ``assign`` set the attribute ``name`` to the one input in ``args``."""

    name: str
    args: tuple[str, ...]
    assign: bool = False


class Call(NamedTuple):
    """One call the child makes on the student's package.

    Attributes
    ----------
    target : str
        ``"function"`` of the package, or ``"Class.method"`` on a fresh ``Class()``.
    args : tuple of str
        The inputs passed positionally, by name (arrays from the grader's ``.npz``,
        numbers from the plan).
    returns : tuple of Output
        One output: the returned value; more: a tuple of that many values.
    text : str
        How feedback names the call, e.g. ``"svm_loss_naive(W, X, y, reg)"``.
    kwargs : tuple of (str, str)
        ``(keyword, input name)`` pairs.
    setup : tuple of Step
        For a method: what is done to the fresh instance first.
    keep_inputs : str
        When set, the call must leave its array arguments unchanged; the message's hint.
    quiet : bool
        Floating-point warnings are off during the call (overflow is a result, not an error).
    record : bool
        For ``train``: the instance's ``loss`` is replaced by the child's recording loss
        (:func:`grading.hidden_tests.recording_loss`), and what ``train`` passed it is
        returned with the history (``batch_X``, ``batch_y``, ``batch_sizes``,
        ``W_before``, ``W_final``, ``history``).
    """

    target: str
    args: tuple[str, ...]
    returns: tuple[Output, ...]
    text: str
    kwargs: tuple[tuple[str, str], ...] = ()
    setup: tuple[Step, ...] = ()
    keep_inputs: str = ""
    quiet: bool = False
    record: bool = False


class Case(NamedTuple):
    """One hidden test case, as the grader scores it.

    Attributes
    ----------
    group : str
        The tests of one topic: when the child of a submission dies, the grader reruns
        the groups one child each (a hang costs only its group).
    name : str
        The test's name in the reports (``cs_loss:<name>``).
    points : int
        What passing it earns: the one place to change them.
    targets : tuple of str
        Region ids or qualnames whose bugs may cost it points.
    modules : tuple of str
        The ``cs_loss`` modules it needs: an import error in one of them fails it.
    inputs : callable
        ``inputs() -> {name: ndarray or number}``, run by the grader, which writes them
        for the child. Deterministic (fixed seeds).
    calls : tuple of Call
        The calls made, in order, on the inputs.
    exports : tuple of str
        The outputs saved for the grader (the others are only checked).
    checks : tuple of str
        The outputs checked in the child besides ``exports``.
    share : str
        Cases with the same ``share`` make their calls once (their loss and gradient
        come from one call); empty: the case's own name.
    compared : bool
        True: the exports are compared with the reference's (``expected.npz``) within
        ``tolerance``; False: :mod:`grading.behaviour` judges them.
    tolerance : dict
        ``{"float64": (rtol, atol), "float32": (rtol, atol)}``, see :data:`TOLERANCE`.
    """

    group: str
    name: str
    points: int
    targets: tuple[str, ...]
    modules: tuple[str, ...]
    inputs: Callable[[], dict[str, Any]] | None = None
    calls: tuple[Call, ...] = ()
    exports: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    share: str = ""
    compared: bool = True
    tolerance: dict[str, tuple[float, float]] = TOLERANCE


class NotebookCheck(NamedTuple):
    """A graded notebook test cell that depends on exercises, as the grader scores it.

    Attributes
    ----------
    grade_id : str
        The cell's nbgrader grade id.
    points : int
        What passing it earns; the notebook's metadata must say the same
        (``tests/test_notebook_declarations.py``).
    targets : tuple of str
        Region ids or qualnames whose bugs may cost it points.
    exports : tuple of str
        The names of the notebook's globals exported as plain data for the check.
    arrays : tuple of (str, str)
        ``(key, expression)`` of the arrays exported, e.g. ``("W", "best_svm.W")``.

    Its trusted check is registered under ``grade_id`` in ``grading/notebook_checks.py``.
    """

    grade_id: str
    points: int
    targets: tuple[str, ...]
    exports: tuple[str, ...]
    arrays: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Variant:
    """A region body as a student would write it: a known mistake or a correct variant."""

    region: str  # region id
    name: str  # snake_case, unique
    code: str  # the region body as a student would write it (column 0)
    diagnosis: str = ""  # mistakes only: the mistake in the student's terms + where to look


def mistake(region: str, name: str, diagnosis: str, code: str) -> Variant:
    """A known mistake of ``region``: its body and its diagnosis."""
    return Variant(region, name, code.strip("\n") + "\n", diagnosis)


def correct(region: str, name: str, code: str) -> Variant:
    """A correct variant of ``region``, which must get full marks."""
    return Variant(region, name, code.strip("\n") + "\n")


# Diagnoses shared by the svm and softmax losses.
REG_GRAD = (
    "the penalty's gradient is reg·W, half of what it should be: the gradient of "
    "reg·ΣW² is 2·reg·W (look at the line that adds it to dW)"
)
NO_MEAN = (
    "the loss and gradient are sums over the examples, N times too large: average "
    "them, dividing by N = X.shape[0] (before adding the penalty)"
)
# Issue 17: the conventions and common real mistakes of the losses' penalty.
REG_GRAD_2W = (
    "the penalty's gradient is 2·W, without reg: the gradient of reg·ΣW² is 2·reg·W "
    "(look at the line that adds it to dW)"
)
REG_IN_LOOP = (
    "the penalty is added once per example, inside the loop over the examples (N times in "
    "all): add reg·ΣW² to the loss and 2·reg·W to dW once, after the loop"
)
HALF_REG = (
    "the penalty is 0.5·reg·ΣW² with gradient reg·W (a consistent convention, but not this "
    "assignment's): the penalty is reg·ΣW², gradient 2·reg·W (look at the lines that add "
    "the regularisation)"
)
NO_REG_LOSS = (
    "the loss has no penalty although dW has its gradient: add reg * np.sum(W * W) to the "
    "loss (look at the line that computes the loss)"
)

"""The vocabulary of an exercise's declaration (``grading/topics/``).

A topic module declares, once, each of its exercises' hidden test cases
(:class:`Case`: the group whose child runs it, its points, the regions it
targets, the package modules it needs), its known mistakes and its correct
variants (:class:`Variant`). Everything else (the test table the grader scores,
the catalogue, ``expected.npz`` and ``mistakes.npz``) is derived from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class Case(NamedTuple):
    """One hidden test case, as the grader scores it.

    Attributes
    ----------
    group : str
        The child process that runs it (one per topic: a hang costs only its group).
    name : str
        The test's name in ``hidden_tests.py`` and in the reports (``cs_loss:<name>``).
    points : int
        What passing it earns: the one place to change them.
    targets : tuple of str
        Region ids or qualnames whose bugs may cost it points.
    modules : tuple of str
        The ``cs_loss`` modules it needs: an import error in one of them fails it.
    """

    group: str
    name: str
    points: int
    targets: tuple[str, ...]
    modules: tuple[str, ...]


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

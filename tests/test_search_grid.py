"""Issue 17: a search that keeps the last classifier, not the best, is caught while grading.

While grading, the notebooks' fixed grid has two settings, the better one first, so a
search cell whose ``if val_accuracy > best_val:`` became ``if True:`` keeps a classifier
that the trusted check (``grading/notebook_checks.py``) rejects.
"""

import itertools
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest

import cs_loss
from grading import notebook_checks

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
GRID_CELLS = {
    "svm": ("svm_cell_21", cs_loss.LinearSVM, "svm_test_search", "best_svm"),
    "softmax": ("softmax_cell_15", cs_loss.Softmax, "softmax_test_search", "best_softmax"),
}
NUM_ITERS = 300  # the notebooks' num_iters while grading


class _Values:
    """Exported values as the check reads them."""

    def __init__(self, plain, W):
        self.plain, self.W = plain, W

    def get(self, name):
        return self.plain[name]

    def number(self, name):
        return float(self.plain[name])

    def array(self, _name, _what):
        return self.W


def _grading_grid(name):
    grade_id = GRID_CELLS[name][0]
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    scope = {"nb": SimpleNamespace(GRADING=True), "ON_CIFAR": False}
    exec(compile(cell.source, f"{name}.ipynb:{grade_id}", "exec"), scope)  # the kit's own cell
    return list(itertools.product(scope["learning_rates"], scope["regularization_strengths"]))


@pytest.mark.parametrize("name", sorted(GRID_CELLS))
def test_a_search_keeping_the_last_classifier_is_caught_while_grading(name):
    _grade_id, classifier, check_id, what = GRID_CELLS[name]
    grid = _grading_grid(name)
    assert len(grid) >= 2
    X_val, y_val = notebook_checks._validation_split()
    data = cs_loss.get_digits_data(seed=0)
    results, models = {}, []
    for lr, reg in grid:
        model = classifier()
        model.train(
            data["X_train"], data["y_train"], learning_rate=lr, reg=reg, num_iters=NUM_ITERS, seed=0
        )
        val = float(np.mean(model.predict(X_val) == y_val))
        results[f"{lr}, {reg}"] = [
            float(np.mean(model.predict(data["X_train"]) == data["y_train"])),
            val,
        ]
        models.append((val, model))
    best_val, best = max(models, key=lambda pair: pair[0])
    check = notebook_checks.CHECKS[check_id]
    right = _Values({"best_val": best_val, "results": results}, best.W)
    assert check(right) == (True, "passed")
    last_val, last = models[-1]
    assert last_val < best_val  # the grid's last setting is not its best
    kept_last = _Values({"best_val": last_val, "results": results}, last.W)  # `if True:`
    assert check(kept_last)[0] is False
    best_val_only = _Values({"best_val": best_val, "results": results}, last.W)
    passed, reason = check(best_val_only)
    assert not passed and "keep the best classifier, not the last one" in reason
    assert what in reason

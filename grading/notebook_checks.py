"""Trusted checks of the notebooks' graded test cells, run in the grader's process.

A graded test cell never decides its own verdict in the student's kernel. At
grading time its source is replaced by an *export snippet*
(:func:`export_source`) that writes the values the check needs as plain data:
``<grade id>.json`` (numbers, strings, booleans, tagged sets, lists) and, for
arrays such as the best classifier's ``W``, ``<grade id>.npz`` (read with
``allow_pickle=False``). After the kernel is gone, :func:`evaluate` reads those
files, validates their types itself and runs the check registered here for
the grade id, recomputing anything it can from the kit's own code and data
(the offline digits that grading always uses). A check returns ``(passed,
reason)``, the reason in the student's terms; known mistakes get a diagnosis.

Student code can shadow ``float``, ``json`` or ``open`` in its kernel: that can
only change the *values* written, never the verdict's logic, and a value that
is not plain data of the expected type fails with a reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from . import notebook_answers
from .notebook_exports import EXPORTS, Exported, Invalid, export_source, kind

__all__ = ["CHECKS", "EXPORTS", "evaluate", "export_source", "foreign_hooks"]

# Fixed by read-only cells of knn.ipynb; the exported values must agree.
K_CHOICES = (1, 3, 5, 8, 10, 12, 15, 20, 50, 100)
NUM_FOLDS = 5
SEARCH_TARGET = 0.85  # validation accuracy on the offline digits (the notebooks' nb.GRADING target)

# grade id -> check(values) -> (passed, reason); the conceptual questions' checks first.
CHECKS: dict[str, Callable] = dict(notebook_answers.CHECKS)


def check(grade_id: str) -> Callable:
    """Register the decorated function as the check of ``grade_id``."""

    def register(function: Callable) -> Callable:
        CHECKS[grade_id] = function
        return function

    return register


# ---- kNN cross-validation: recomputed with the kit's reference kNN on the kit's data ----

_CACHE = {}


def reference_fold_accuracies() -> dict[int, list[float]]:
    """{k: [accuracy per fold]} as knn.ipynb computes it, with the kit's own kNN."""
    if "folds" not in _CACHE:
        from cs_loss import KNearestNeighbor, load_images

        images = load_images("digits")  # grading always runs on the offline digits
        num_training = min(5000, len(images["y_train"]))
        X_train = images["X_train"][:num_training].reshape(num_training, -1).astype(np.float64)
        y_train = images["y_train"][:num_training]
        folds_X, folds_y = np.array_split(X_train, NUM_FOLDS), np.array_split(y_train, NUM_FOLDS)
        table = {k: [] for k in K_CHOICES}
        for fold in range(NUM_FOLDS):
            rest_X = np.concatenate(folds_X[:fold] + folds_X[fold + 1 :])
            rest_y = np.concatenate(folds_y[:fold] + folds_y[fold + 1 :])
            knn = KNearestNeighbor().train(rest_X, rest_y)
            dists = knn.compute_distances_no_loops(folds_X[fold])  # (num_fold, num_rest)
            for k in K_CHOICES:
                table[k].append(float(np.mean(knn.predict_labels(dists, k=k) == folds_y[fold])))
        _CACHE["folds"] = table
    return _CACHE["folds"]


def preset_reference_folds(table: dict[int, list[float]]) -> None:
    """Use ``table``, :func:`reference_fold_accuracies` computed once per batch, from now on."""
    _CACHE["folds"] = {int(k): [float(a) for a in accuracies] for k, accuracies in table.items()}


def _student_accuracies(values):
    table = values.get("k_to_accuracies")
    if type(table) is not dict:
        raise Invalid(
            f"k_to_accuracies must be a dict from k to a list of accuracies, got {kind(table)}"
        )
    out = {}
    for k, accs in table.items():
        if (
            type(k) is not int
            or type(accs) is not list
            or any(type(a) not in (int, float) for a in accs)
        ):
            raise Invalid(
                "k_to_accuracies must map each k (a whole number) to a list of accuracies"
            )
        out[k] = [float(a) for a in accs]
    return out


@check("knn_test_cross_validation")
def _cross_validation(values):
    if values.get("k_choices") != list(K_CHOICES) or values.get("num_folds") != NUM_FOLDS:
        return False, "k_choices and num_folds must stay as given"
    got = _student_accuracies(values)
    reference = reference_fold_accuracies()
    if sorted(got) != sorted(reference):
        return False, "k_to_accuracies needs one entry per k in k_choices"
    for k in K_CHOICES:
        if len(got[k]) != NUM_FOLDS:
            return (
                False,
                f"k = {k} has {len(got[k])} accuracies; expected one per fold ({NUM_FOLDS})",
            )
        if not all(0 <= a <= 1 for a in got[k]):
            return False, f"accuracies for k = {k} must be in [0, 1]"
    if all(np.allclose(got[k], reference[k], rtol=0, atol=1e-9) for k in K_CHOICES):
        return True, "passed"
    if all(np.allclose(sorted(got[k]), sorted(reference[k]), atol=1e-9) for k in K_CHOICES):
        return False, "the accuracies are right but not in fold order: append fold 0's first"
    if all(np.allclose(got[k], [reference[k][-1]] * NUM_FOLDS, atol=1e-9) for k in K_CHOICES):
        return (
            False,
            "every fold got the last fold's accuracy: compute the accuracy inside the fold loop",
        )
    for k in K_CHOICES:
        for fold in range(NUM_FOLDS):
            if abs(got[k][fold] - reference[k][fold]) > 1e-9:
                return False, (
                    f"k = {k}, fold {fold}: expected accuracy {reference[k][fold]:.3f} "
                    f"(train on the other {NUM_FOLDS - 1} folds, test on fold {fold}), "
                    f"got {got[k][fold]:.3f}. {PACKAGE_FIRST} otherwise check which fold is "
                    "held out and which are concatenated for training"
                )
    return False, "k_to_accuracies differs from the cross-validation results"


# The likely cause named first when the accuracies differ (issue 17: one bug, one charge).
PACKAGE_FIRST = (
    "If a package test of compute_distances_no_loops or predict_labels fails, that bug changes "
    "these accuracies: fix it first;"
)


def _best_k_from(table, score):
    return max(K_CHOICES, key=lambda k: (score(table[k]), -k))


@check("knn_test_best_k")
def _best_k(values):
    best_k = values.get("best_k")
    if type(best_k) is not int:
        return False, f"best_k must be a whole number from k_choices, got {kind(best_k)}"
    if best_k not in K_CHOICES:
        return False, f"best_k must be one of k_choices, got {best_k}"
    # Judged on the student's own table (issue 17: one bug, one charge): a package bug that
    # changes the accuracies costs the cross-validation check, not this one as well.
    reference = _own_table(values) or reference_fold_accuracies()
    right = _best_k_from(reference, np.mean)
    if best_k == right:
        return True, "passed"
    if best_k == min(K_CHOICES, key=lambda k: (np.mean(reference[k]), k)):
        return False, f"best_k = {best_k} has the lowest mean accuracy: take the highest"
    if best_k == _best_k_from(reference, lambda accs: accs[-1]):
        return (
            False,
            f"best_k = {best_k} is best on the last fold only: compare the mean over all folds",
        )
    if best_k == _best_k_from(reference, lambda accs: accs[0]):
        return (
            False,
            f"best_k = {best_k} is best on the first fold only: compare the mean over all folds",
        )
    return False, f"k = {right} has a higher mean cross-validation accuracy than best_k = {best_k}"


def _own_table(values):
    """The student's k_to_accuracies when it holds one accuracy in [0, 1] per k and fold."""
    try:
        table = _student_accuracies(values)
    except Invalid:
        return None
    complete = sorted(table) == sorted(K_CHOICES) and all(
        len(table[k]) == NUM_FOLDS and all(0 <= a <= 1 for a in table[k]) for k in K_CHOICES
    )
    return table if complete else None


def _validation_split():
    if "val" not in _CACHE:
        from cs_loss import get_digits_data

        data = get_digits_data(seed=0)  # what nb.load_split() gives while grading
        _CACHE["val"] = data["X_val"], data["y_val"]
    return _CACHE["val"]


def _search(classifier):
    def run(values):
        best_val = values.number("best_val")
        results = values.get("results")
        if type(results) is not dict or not results:
            return False, "the search found no classifier: is results filled in?"
        accuracies = []
        for acc in results.values():
            if acc is None:
                continue
            if (
                type(acc) is not list
                or len(acc) != 2
                or any(type(a) not in (int, float) for a in acc)
            ):
                return (
                    False,
                    "results must map (learning rate, reg) to (train accuracy, val accuracy)",
                )
            accuracies.append(float(acc[1]))
        if not accuracies:
            return False, "the search found no classifier: is results filled in?"
        W = values.array("W", f"{classifier}.W")
        X_val, y_val = _validation_split()
        if W.ndim != 2 or W.shape[0] != X_val.shape[1]:
            return (
                False,
                f"{classifier}.W has shape {W.shape}; expected (D, C) = ({X_val.shape[1]}, C)",
            )
        if not np.isfinite(W).all():
            return False, f"{classifier}.W contains NaN or infinity"
        accuracy = float(
            np.mean(np.argmax(X_val @ W, axis=1) == y_val)
        )  # as LinearClassifier.predict
        if abs(max(accuracies) - best_val) > 1e-9:
            return False, "best_val is not the highest validation accuracy in results"
        if abs(accuracy - best_val) > 1e-9:
            return False, (
                f"{classifier} is not the classifier that reached best_val (its validation "
                f"accuracy is {accuracy:.3f}): keep the best classifier, not the last one"
            )
        if accuracy < SEARCH_TARGET:
            return (
                False,
                f"the best validation accuracy {accuracy:.3f} is below {SEARCH_TARGET}: "
                "widen the search",
            )
        return True, "passed"

    return run


CHECKS["svm_test_search"] = _search("best_svm")
CHECKS["softmax_test_search"] = _search("best_softmax")


TRUSTED_HOOK_MODULES = (
    "IPython.",
    "ipykernel.",
    "matplotlib",
    "matplotlib_inline.",
    "traitlets.",
    "jupyter_client.",
    "comm.",
    "ipywidgets.",
    "tqdm.",
)


def foreign_hooks(export_dir: str | os.PathLike, grade_id: str) -> list[str]:
    """Kernel event callbacks and input transformers not installed by IPython or the libraries."""
    try:
        hooks = Exported(export_dir, grade_id).get("_hooks")
    except Invalid:
        return []
    if type(hooks) is not list:
        return []
    return [h for h in hooks if type(h) is str and not h.startswith(TRUSTED_HOOK_MODULES)]


def evaluate(grade_id: str, export_dir: str | os.PathLike) -> tuple[bool, str]:
    """``(passed, reason)`` for test cell ``grade_id`` from the files its snippet wrote."""
    values = Exported(export_dir, grade_id)
    if not values.ran:
        return (
            False,
            "this check's cell did not run (an earlier cell failed, timed out or killed the "
            "kernel)",
        )
    try:
        return CHECKS[grade_id](values)
    except Invalid as exc:
        return False, str(exc)
    except Exception as exc:  # a malformed value that slipped past validation: no points, no crash
        return False, f"the exported values could not be checked ({type(exc).__name__})"

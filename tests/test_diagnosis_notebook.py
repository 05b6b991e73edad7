"""Issue 17, one bug, one charge: a correct kNN notebook on a buggy package function.

A ``predict_labels`` that breaks ties the wrong way changes the cross-validation accuracies.
The cross-validation check loses its points (its accuracies are the package's) and names the
package functions as the likely cause first; ``best_k`` is judged on the student's own table,
so a notebook that picks the best k of its own accuracies keeps its points.
"""

import numpy as np
import pytest

from cs_loss import KNearestNeighbor, load_images
from grading import notebook_checks


def _export(folder, grade_id, values):
    """What the export snippet writes for ``values`` in a kernel (run here, in-process)."""
    namespace = dict(values)
    exec(notebook_checks.export_source(grade_id, folder), namespace)  # the kit's own snippet


def _cross_validation(knn_class, X_train, y_train):
    """knn.ipynb's cross-validation, written correctly, with ``knn_class``."""
    folds_X = np.array_split(X_train, notebook_checks.NUM_FOLDS)
    folds_y = np.array_split(y_train, notebook_checks.NUM_FOLDS)
    table = {k: [] for k in notebook_checks.K_CHOICES}
    for fold in range(notebook_checks.NUM_FOLDS):
        knn = knn_class().train(
            np.concatenate(folds_X[:fold] + folds_X[fold + 1 :]),
            np.concatenate(folds_y[:fold] + folds_y[fold + 1 :]),
        )
        dists = knn.compute_distances_no_loops(folds_X[fold])
        for k in notebook_checks.K_CHOICES:
            table[k].append(float(np.mean(knn.predict_labels(dists, k=k) == folds_y[fold])))
    return table


class _TiesToLarger(KNearestNeighbor):
    """The package's kNN with a tie going to the larger label (predict_labels_ties_to_larger)."""

    def predict_labels(self, dists, k=1):
        y_pred = np.zeros(dists.shape[0], dtype=np.int64)
        for i in range(dists.shape[0]):
            counts = np.bincount(self.y_train[np.argsort(dists[i])[:k]])
            y_pred[i] = len(counts) - 1 - np.argmax(counts[::-1])
        return y_pred


@pytest.fixture(scope="module")
def buggy_table():
    """The table a correct notebook computes with a package whose ties go to the larger label."""
    images = load_images("digits")
    n = min(5000, len(images["y_train"]))
    X = images["X_train"][:n].reshape(n, -1).astype(np.float64)
    return _cross_validation(_TiesToLarger, X, images["y_train"][:n])


def test_the_buggy_package_changes_the_accuracies(buggy_table):
    assert buggy_table != notebook_checks.reference_fold_accuracies()


def test_cross_validation_names_the_package_functions_first(buggy_table, tmp_path):
    values = {"k_to_accuracies": buggy_table, "k_choices": list(notebook_checks.K_CHOICES)}
    _export(tmp_path, "knn_test_cross_validation", {**values, "num_folds": 5})
    passed, reason = notebook_checks.evaluate("knn_test_cross_validation", tmp_path)
    assert not passed
    assert reason.index("compute_distances_no_loops or predict_labels") < reason.index(
        "which fold is held out"
    )


def test_best_k_of_the_students_own_table_keeps_its_points(buggy_table, tmp_path):
    table = {k: list(accs) for k, accs in buggy_table.items()}
    table[100] = [1.0] * notebook_checks.NUM_FOLDS  # its best k is not the kit's best k
    assert notebook_checks._best_k_from(notebook_checks.reference_fold_accuracies(), np.mean) != 100
    _export(tmp_path, "knn_test_best_k", {"best_k": 100, "k_to_accuracies": table})
    assert notebook_checks.evaluate("knn_test_best_k", tmp_path) == (True, "passed")
    right = notebook_checks._best_k_from(buggy_table, np.mean)
    _export(tmp_path, "knn_test_best_k", {"best_k": right, "k_to_accuracies": buggy_table})
    assert notebook_checks.evaluate("knn_test_best_k", tmp_path) == (True, "passed")


def test_best_k_that_is_not_the_best_of_the_own_table_still_fails(buggy_table, tmp_path):
    worst = min(notebook_checks.K_CHOICES, key=lambda k: (np.mean(buggy_table[k]), k))
    _export(tmp_path, "knn_test_best_k", {"best_k": worst, "k_to_accuracies": buggy_table})
    passed, reason = notebook_checks.evaluate("knn_test_best_k", tmp_path)
    assert not passed and "lowest mean accuracy" in reason

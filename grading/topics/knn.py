"""k-nearest neighbours, declared once: the three distance methods and ``predict_labels``.

Their hidden test cases, known mistakes and correct variants.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from ..declare import Call, Case, NotebookCheck, Output, Step, Variant, correct, mistake
from .knn_inputs import TIES, VOTE_KS, knn_data, knn_rows, predict_inputs

NOTEBOOK = "knn.ipynb"  # where the student meets these regions
# The regions the notebook asks for, in its order.
REGIONS = (
    "KNearestNeighbor.compute_distances_two_loops",
    "KNearestNeighbor.compute_distances_one_loop",
    "KNearestNeighbor.compute_distances_no_loops",
    "KNearestNeighbor.predict_labels",
)
_KNN = ("KNearestNeighbor.compute_distances_no_loops", "KNearestNeighbor.predict_labels")
# The graded notebook tests that depend on these regions: grade id, points, the regions
# whose bugs may cost it points, the values exported for its check (notebook_checks.py).
NOTEBOOK_CHECKS = (
    NotebookCheck(
        "knn_test_cross_validation", 3, _KNN, ("k_to_accuracies", "k_choices", "num_folds")
    ),
    NotebookCheck("knn_test_best_k", 2, _KNN, ("best_k", "k_to_accuracies")),
)
NOTEBOOK_TARGETS = {check.grade_id: check.targets for check in NOTEBOOK_CHECKS}
GROUP = "knn"  # one child per topic
MODULES = ("_validation", "knn")  # an import error there fails its cases


_TRAINED = (Step("train", ("X_train", "y_train")),)


def _distances(
    name: str,
    points: int,
    method: str | None = None,
    inputs: Callable[[], dict[str, Any]] = knn_data,
) -> Case:
    """``compute_distances_<method>(X)`` of a trained kNN, compared with the reference's."""
    method = method or name.removeprefix("knn_distances_")
    target = f"KNearestNeighbor.compute_distances_{method}"
    dists = Output("dists", "array", ("X.0", "X_train.0"), "", "an array of distances")
    call = Call(target, ("X",), (dists,), f"compute_distances_{method}(X)", setup=_TRAINED)
    return Case(GROUP, name, points, (target,), MODULES, inputs, (call,), ("dists",))


def _votes(key: str, dists: str, k: str, shown: int) -> Call:
    labels = Output(key, "labels", (f"{dists}.0",))
    text = f"predict_labels(dists, k={shown})"
    return Call("KNearestNeighbor.predict_labels", (dists,), (labels,), text, (("k", k),), _TRAINED)


def _predict(name: str, points: int) -> Case:
    """``predict_labels`` on a grid of distances (k in VOTE_KS) and on deliberate ties."""
    calls = tuple(_votes(f"k{k}", "dists", f"k{k}", k) for k in VOTE_KS) + tuple(
        _votes(key, f"{key}_dists", f"{key}_k", k) for key, _patterns, k in TIES
    )
    exports = tuple(call.returns[0].key for call in calls)
    target = ("KNearestNeighbor.predict_labels",)
    return Case(GROUP, name, points, target, MODULES, predict_inputs, calls, exports)


# The hidden test cases, in the order the child runs them; points per case.
CASES = (
    _distances("knn_distances_two_loops", 2),
    _distances("knn_distances_one_loop", 2),
    # The formula on well-separated points (2), and robustness (1) where test rows are copies
    # or near copies of training rows: the expanded square then needs a clip at 0.
    _distances("knn_distances_no_loops", 2, inputs=partial(knn_rows, "fresh")),
    _distances("knn_distances_no_loops_robust", 1, "no_loops", partial(knn_rows, "near")),
    _predict("knn_predict_labels", 3),
)


MISTAKES: tuple[Variant, ...] = (
    # distances
    mistake(
        "KNearestNeighbor.compute_distances_two_loops",
        "two_loops_squared",
        "dists are squared distances: take the square root of the sum of squares",
        """
for i in range(num_test):
    for j in range(num_train):
        dists[i, j] = np.sum((X[i] - self.X_train[j]) ** 2)
""",
    ),
    mistake(
        "KNearestNeighbor.compute_distances_two_loops",
        "two_loops_l1",
        "dists are L1 (sum of absolute differences) distances: this assignment uses L2, "
        "the square root of the sum of squared differences",
        """
for i in range(num_test):
    for j in range(num_train):
        dists[i, j] = np.sum(np.abs(X[i] - self.X_train[j]))
""",
    ),
    mistake(
        "KNearestNeighbor.compute_distances_one_loop",
        "one_loop_squared",
        "dists are squared distances: take the square root of the sum of squares",
        """
for i in range(num_test):
    dists[i, :] = np.sum((self.X_train - X[i]) ** 2, axis=1)
""",
    ),
    mistake(
        "KNearestNeighbor.compute_distances_one_loop",
        "one_loop_l1",
        "dists are L1 (sum of absolute differences) distances: this assignment uses L2, "
        "the square root of the sum of squared differences",
        """
for i in range(num_test):
    dists[i, :] = np.sum(np.abs(self.X_train - X[i]), axis=1)
""",
    ),
    mistake(
        "KNearestNeighbor.compute_distances_no_loops",
        "no_loops_no_factor_2",
        "the cross term misses its factor 2: ||x - t||² = ||x||² - 2·x·t + ||t||²",
        """
test_sq = np.sum(X ** 2, axis=1)[:, np.newaxis]
train_sq = np.sum(self.X_train ** 2, axis=1)[np.newaxis, :]
dists = np.sqrt(np.maximum(test_sq - X @ self.X_train.T + train_sq, 0))
""",
    ),
    mistake(
        "KNearestNeighbor.compute_distances_no_loops",
        "no_loops_no_clip",
        "NaN where a test point (nearly) coincides with a training point: rounding makes the "
        "expanded square slightly negative there; clip it at 0 (np.maximum) before np.sqrt",
        """
test_sq = np.sum(X ** 2, axis=1)[:, np.newaxis]
train_sq = np.sum(self.X_train ** 2, axis=1)[np.newaxis, :]
dists = np.sqrt(test_sq - 2 * X @ self.X_train.T + train_sq)
""",
    ),
    mistake(
        "KNearestNeighbor.compute_distances_no_loops",
        "no_loops_squared",
        "dists are squared distances: take the square root of the expanded square",
        """
test_sq = np.sum(X ** 2, axis=1)[:, np.newaxis]
train_sq = np.sum(self.X_train ** 2, axis=1)[np.newaxis, :]
dists = np.maximum(test_sq - 2 * X @ self.X_train.T + train_sq, 0)
""",
    ),
    # predict_labels
    mistake(
        "KNearestNeighbor.predict_labels",
        "predict_labels_ties_to_larger",
        "a tie between labels goes to the larger label: it must go to the smaller one "
        "(np.argmax of the vote counts returns the first, smallest, maximum)",
        """
for i in range(num_test):
    closest_y = self.y_train[np.argsort(dists[i])[:k]]
    counts = np.bincount(closest_y)
    y_pred[i] = len(counts) - 1 - np.argmax(counts[::-1])
""",
    ),
    mistake(
        "KNearestNeighbor.predict_labels",
        "predict_labels_set_order",
        "ties between labels are broken by the iteration order of a set (or dict), which is "
        "not the smaller label: count the votes and take the smallest label among the "
        "most common",
        """
for i in range(num_test):
    closest_y = list(self.y_train[np.argsort(dists[i])[:k]])
    y_pred[i] = max(set(closest_y), key=closest_y.count)
""",
    ),
    mistake(
        "KNearestNeighbor.predict_labels",
        "predict_labels_nearest_wins_tie",
        "a tie between labels goes to the label of the nearest neighbour: it must go to the "
        "smaller label",
        """
from collections import Counter

for i in range(num_test):
    closest_y = self.y_train[np.argsort(dists[i], kind="stable")[:k]]
    y_pred[i] = Counter(closest_y.tolist()).most_common(1)[0][0]
""",
    ),
    mistake(
        "KNearestNeighbor.predict_labels",
        "predict_labels_k_plus_1",
        "k + 1 neighbours vote: take the first k of the sorted distances, [:k]",
        """
for i in range(num_test):
    closest_y = self.y_train[np.argsort(dists[i])[:k + 1]]
    y_pred[i] = np.argmax(np.bincount(closest_y))
""",
    ),
    mistake(
        "KNearestNeighbor.predict_labels",
        "predict_labels_farthest",
        "the k farthest training examples vote: the nearest ones have the smallest distances "
        "(sort ascending and take the first k)",
        """
for i in range(num_test):
    closest_y = self.y_train[np.argsort(dists[i])[-k:]]
    y_pred[i] = np.argmax(np.bincount(closest_y))
""",
    ),
)

CORRECT: tuple[Variant, ...] = (
    # two loops
    correct(
        "KNearestNeighbor.compute_distances_two_loops",
        "two_loops_norm",
        """
for i in range(num_test):
    for j in range(num_train):
        dists[i, j] = np.linalg.norm(X[i] - self.X_train[j])
""",
    ),
    correct(
        "KNearestNeighbor.compute_distances_two_loops",
        "two_loops_math",
        """
import math

for i in range(num_test):
    for j in range(num_train):
        diff = X[i] - self.X_train[j]
        dists[i][j] = math.sqrt(float(np.dot(diff, diff)))
""",
    ),
    correct(
        "KNearestNeighbor.compute_distances_two_loops",
        "two_loops_textbook",
        """
for i in range(num_test):
    for j in range(num_train):
        dists[i, j] = np.sqrt(np.sum(np.square(X[i, :] - self.X_train[j, :])))
""",
    ),
    # one loop
    correct(
        "KNearestNeighbor.compute_distances_one_loop",
        "one_loop_broadcast",
        """
for i in range(num_test):
    dists[i, :] = np.sqrt(np.sum((self.X_train - X[i]) ** 2, axis=1))
""",
    ),
    correct(
        "KNearestNeighbor.compute_distances_one_loop",
        "one_loop_norm",
        """
for i in range(num_test):
    dists[i] = np.linalg.norm(self.X_train - X[i, :], axis=1)
""",
    ),
    correct(
        "KNearestNeighbor.compute_distances_one_loop",
        "one_loop_einsum",
        """
for i in range(num_test):
    d = self.X_train - X[i]
    dists[i, :] = np.sqrt(np.einsum("ij,ij->i", d, d))
""",
    ),
    # no loops
    correct(
        "KNearestNeighbor.compute_distances_no_loops",
        "no_loops_expanded",
        """
test_sq = np.sum(X ** 2, axis=1)[:, np.newaxis]
train_sq = np.sum(self.X_train ** 2, axis=1)[np.newaxis, :]
dists = np.sqrt(np.maximum(test_sq - 2 * X @ self.X_train.T + train_sq, 0))
""",
    ),
    correct(
        "KNearestNeighbor.compute_distances_no_loops",
        "no_loops_einsum_clip",
        """
test_sq = np.einsum("ij,ij->i", X, X)[:, None]
train_sq = np.einsum("ij,ij->i", self.X_train, self.X_train)[None, :]
sq = test_sq + train_sq - 2 * np.dot(X, self.X_train.T)
dists = np.sqrt(np.clip(sq, 0, None))
""",
    ),
    correct(
        "KNearestNeighbor.compute_distances_no_loops",
        "no_loops_broadcast_3d",
        """
diff = X[:, np.newaxis, :] - self.X_train[np.newaxis, :, :]
dists = np.sqrt(np.sum(diff * diff, axis=2))
""",
    ),
    # predict_labels
    correct(
        "KNearestNeighbor.predict_labels",
        "predict_labels_bincount",
        """
for i in range(num_test):
    closest_y = self.y_train[np.argsort(dists[i])[:k]]
    y_pred[i] = np.argmax(np.bincount(closest_y))
""",
    ),
    correct(
        "KNearestNeighbor.predict_labels",
        "predict_labels_counter_smaller",
        """
from collections import Counter

for i in range(num_test):
    votes = Counter(self.y_train[np.argsort(dists[i])[:k]].tolist())
    best = max(votes.values())
    y_pred[i] = min(label for label, count in votes.items() if count == best)
""",
    ),
    correct(
        "KNearestNeighbor.predict_labels",
        "predict_labels_float_array",
        """
y_pred = np.zeros(num_test)  # float, as in older templates: whole numbers are labels too
for i in range(num_test):
    closest_y = self.y_train[np.argsort(dists[i])[:k]]
    y_pred[i] = np.argmax(np.bincount(closest_y))
""",
    ),
    correct(
        "KNearestNeighbor.predict_labels",
        "predict_labels_unique",
        """
nearest = np.argsort(dists, axis=1, kind="stable")[:, :k]
y_pred = np.empty(num_test, dtype=np.int64)
for i, row in enumerate(self.y_train[nearest]):
    labels, counts = np.unique(row, return_counts=True)
    y_pred[i] = labels[np.argmax(counts)]
""",
    ),
)

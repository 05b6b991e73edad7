"""The inputs of the kNN hidden test cases (``grading/topics/knn.py``), made by the grader.

Fixed seeds; the data hold the cases a kNN gets wrong: coincident and nearly
coincident points, and vote ties.
"""

from __future__ import annotations

import numpy as np


def knn_data(seed: int = 0) -> dict[str, np.ndarray]:
    """Float (non-integer) data with 10 classes; the test set holds copies of training
    points (distance exactly 0) and near copies (distance about 1e-6): an unclipped square
    root of the expanded square gives NaN there.

    Returns
    -------
    dict
        ``X_train`` ndarray of shape (40, 12), ``y_train`` ndarray of shape (40,) and
        ``X`` (the test points) ndarray of shape (19, 12).
    """
    rng = np.random.default_rng(seed)
    X_train = rng.uniform(0, 255, size=(40, 12))
    y_train = rng.permutation(np.arange(40) % 10)
    fresh = rng.uniform(0, 255, size=(7, 12))
    copies = X_train[[3, 11, 17, 22, 29, 31, 36, 38]]
    near = X_train[[5, 8, 14, 25]] + rng.uniform(-1e-6, 1e-6, size=(4, 12))
    X_test = np.concatenate([fresh, copies, near])
    return {"X_train": X_train, "y_train": y_train, "X": X_test}


FRESH_ROWS = 7  # the first test rows of knn_data, far from every training point


def knn_rows(rows: str) -> dict[str, np.ndarray]:
    """:func:`knn_data` with only its well-separated test rows (``rows="fresh"``) or only
    its copies and near copies of training points (``rows="near"``)."""
    data = knn_data()
    data["X"] = data["X"][:FRESH_ROWS] if rows == "fresh" else data["X"][FRESH_ROWS:]
    return data


TIE_PAIRS = [(1, 8), (8, 1), (0, 9), (9, 0), (2, 9), (9, 2), (3, 8), (8, 3), (4, 5), (7, 6)]
TIE_TRIPLES = [(9, 1, 8), (8, 9, 0), (0, 8, 9), (2, 9, 8), (9, 8, 3), (5, 7, 6)]
#: predict_labels' calls with deliberate ties: (name, label patterns, k). Two-way (k=2),
#: three-way (k=3) and two pairs beside a single (k=5).
TIES = (
    ("tie2", TIE_PAIRS, 2),
    ("tie3", TIE_TRIPLES, 3),
    ("tie22", [(a, b, b, a, c) for a, b, c in TIE_TRIPLES], 5),
)
VOTE_KS = (1, 2, 4, 7)  # predict_labels' calls on a coarse grid of distances


def tie_dists(y_train: np.ndarray, patterns: list, seed: int) -> np.ndarray:
    """One row per pattern: the nearest training points carry the pattern's labels in the
    pattern's order (each at its own distance), every other point is far."""
    rng = np.random.default_rng(seed)
    dists = rng.uniform(50, 100, size=(len(patterns), y_train.size))
    for row, labels in enumerate(patterns):
        used = set()
        for rank, label in enumerate(labels):
            choices = [j for j in np.flatnonzero(y_train == label) if j not in used]
            j = choices[int(rng.integers(len(choices)))]
            used.add(j)
            dists[row, j] = 1.0 + rank + rng.uniform(0, 0.5)
    return dists


def predict_inputs() -> dict[str, np.ndarray]:
    """The training data, distances on a coarse grid (vote ties are common: they must go
    to the smaller label) and the rows of deliberate ties."""
    data = knn_data()
    rng = np.random.default_rng(5)
    # dists: (25, 40)
    data["dists"] = rng.integers(0, 6, size=(25, 40)).astype(np.float64) + np.arange(40) * 1e-3
    for key, patterns, k in TIES:
        data[f"{key}_dists"] = tie_dists(data["y_train"], patterns, seed=len(key))
        data[f"{key}_k"] = k
    for k in VOTE_KS:
        data[f"k{k}"] = k
    return data

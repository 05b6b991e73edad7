"""The hidden tests of the cs_loss package: fixed inputs, run on a submission.

This file is copied next to a copy of the submission's ``cs_loss``, with
``hidden_support.py``, ``proc_audit.py`` and the grader's plan of the group
(:func:`grading.child.plan_of`), and run there in a child process
(:mod:`grading.child`), so that it imports numpy, those two files and the
student's package, and nothing else of the kit. It
computes each test's outputs and saves them with ``allow_pickle=False``:
only plain numbers reach the grader, which compares them with the expected
values (``expected.npz``, made from the reference solution by
``python -m grading expected``). It never sees the expected values itself.

Most outputs are compared with expected values. The ``linear_train_*`` tests
instead export what the student's ``train`` passed to ``self.loss`` (the
batches, W before each step, the final W and the history; the loss itself is
:func:`reference_svm_loss`, so they depend on ``train`` alone), and the grader
checks the SGD behaviour from those numbers (``grading.behaviour``):
any correct sampling, with ``rng`` or ``np.random``, passes.

Each test: a name and ``run(cs_loss) -> dict of arrays``. Its points, the
regions it targets and the modules it needs are declared in the grader
(``grading/topics/``), which passes the child the plan of the tests to run. Inputs
are made here from fixed seeds; none needs CIFAR-10.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

if __name__ == "__main__":
    # Run with python -I (no PYTHONPATH, no script folder on sys.path): only the folder
    # this file was copied to, which holds hidden_support.py, proc_audit.py and the
    # submission's cs_loss, is added.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import hidden_support as support
else:  # the grader's own import, as grading.hidden_tests
    from . import hidden_support as support

StudentValueError, TimeLimit = support.StudentValueError, support.TimeLimit
IMPORT_SECONDS, TEST_SECONDS = support.IMPORT_SECONDS, support.TEST_SECONDS
as_array, as_labels, as_number = support.as_array, support.as_labels, support.as_number
describe, describe_value, time_limit = support.describe, support.describe_value, support.time_limit
import_package, import_problems = support.import_package, support.import_problems

__all__ = [
    "IMPORT_SECONDS",
    "TEST_SECONDS",
    "StudentValueError",
    "TimeLimit",
    "as_array",
    "as_labels",
    "as_number",
    "describe",
    "describe_value",
    "import_problems",
    "time_limit",
]

Outputs = dict[str, np.ndarray]
Run = Callable[[ModuleType], Outputs]
TESTS: dict[str, Run] = {}  # name -> run(cs_loss) -> dict of arrays


def hidden_test(run: Run) -> Run:
    """Register ``run`` as the hidden test of its name (its points live in the grader)."""
    TESTS[run.__name__] = run
    return run


# ---------------------------------------------------------------- kNN
def _knn_data(seed=0):
    """Float (non-integer) data with 10 classes; the test set holds copies of training
    points (distance exactly 0) and near copies (distance about 1e-6): an unclipped square
    root of the expanded square gives NaN there."""
    rng = np.random.default_rng(seed)
    X_train = rng.uniform(0, 255, size=(40, 12))
    y_train = rng.permutation(np.arange(40) % 10)
    fresh = rng.uniform(0, 255, size=(7, 12))
    copies = X_train[[3, 11, 17, 22, 29, 31, 36, 38]]
    near = X_train[[5, 8, 14, 25]] + rng.uniform(-1e-6, 1e-6, size=(4, 12))
    X_test = np.concatenate([fresh, copies, near])
    return X_train, y_train, X_test


FRESH_ROWS = 7  # the first rows of _knn_data's X_test, far from every training point


def _knn(cs_loss):
    X_train, y_train, X_test = _knn_data()
    return cs_loss.KNearestNeighbor().train(X_train, y_train), X_test


def _distances(cs_loss, method, rows=slice(None)):
    knn, X_test = _knn(cs_loss)
    X_test = X_test[rows]
    call = f"compute_distances_{method}(X)"
    dists = getattr(knn, f"compute_distances_{method}")(X_test)
    shape = (X_test.shape[0], knn.X_train.shape[0])
    return {"dists": as_array(dists, call, "", shape, "biuf", "an array of distances")}


@hidden_test
def knn_distances_two_loops(cs_loss: ModuleType) -> Outputs:
    return _distances(cs_loss, "two_loops")


@hidden_test
def knn_distances_one_loop(cs_loss: ModuleType) -> Outputs:
    return _distances(cs_loss, "one_loop")


@hidden_test
def knn_distances_no_loops(cs_loss: ModuleType) -> Outputs:
    # The formula, on well-separated points; near-identical ones are the robust test's.
    return _distances(cs_loss, "no_loops", slice(0, FRESH_ROWS))


@hidden_test
def knn_distances_no_loops_robust(cs_loss: ModuleType) -> Outputs:
    # Copies and near copies of training points: the expanded square needs a clip at 0.
    return _distances(cs_loss, "no_loops", slice(FRESH_ROWS, None))


TIE_PAIRS = [(1, 8), (8, 1), (0, 9), (9, 0), (2, 9), (9, 2), (3, 8), (8, 3), (4, 5), (7, 6)]
TIE_TRIPLES = [(9, 1, 8), (8, 9, 0), (0, 8, 9), (2, 9, 8), (9, 8, 3), (5, 7, 6)]


def _tie_dists(y_train, patterns, seed):
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


@hidden_test
def knn_predict_labels(cs_loss: ModuleType) -> Outputs:
    X_train, y_train, X_test = _knn_data()
    knn = cs_loss.KNearestNeighbor().train(X_train, y_train)
    rng = np.random.default_rng(5)
    # Distances on a coarse grid make vote ties common: they must go to the smaller label.
    dists = rng.integers(0, 6, size=(25, 40)).astype(np.float64) + np.arange(40) * 1e-3
    out = {}
    for k in (1, 2, 4, 7):
        out[f"k{k}"] = as_labels(
            knn.predict_labels(dists, k=k), f"predict_labels(dists, k={k})", 25
        )
    # Deliberate ties: two-way (k=2), three-way (k=3) and two pairs beside a single (k=5).
    cases = [
        ("tie2", TIE_PAIRS, 2),
        ("tie3", TIE_TRIPLES, 3),
        ("tie22", [(a, b, b, a, c) for a, b, c in TIE_TRIPLES], 5),
    ]
    for key, patterns, k in cases:
        tie_dists = _tie_dists(y_train, patterns, seed=len(key))
        got = knn.predict_labels(tie_dists, k=k)
        out[key] = as_labels(got, f"predict_labels(dists, k={k})", len(patterns))
    return out


# ---------------------------------------------------------------- losses
def _loss_data(seed, N=30, D=16, C=5, dtype=np.float64):
    rng = np.random.default_rng(seed)
    W = (rng.standard_normal((D, C)) * 0.05).astype(dtype)
    X = (rng.standard_normal((N, D)) * 5).astype(dtype)
    y = rng.integers(0, C, size=N)
    return W, X, y


_LOSS_CACHE = {}


def _call_loss(cs_loss, function, case, W, X, y, reg):
    """Call ``function`` once per case (its loss and gradient tests share the call)."""
    if case not in _LOSS_CACHE:
        try:
            originals = {"W": W.copy(), "X": X.copy(), "y": y.copy()}
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                result = getattr(cs_loss, function)(W, X, y, reg)
            call = f"{function}(W, X, y, reg)"
            changed = [
                name
                for name, array in zip("WXy", (W, X, y), strict=True)
                if not np.array_equal(array, originals[name], equal_nan=True)
            ]
            if changed:  # e.g. reg_grad = W; reg_grad *= 2 * reg (training then goes wrong)
                raise StudentValueError(
                    f"{call} changed its input {' and '.join(changed)}: a loss must leave W, X "
                    "and y as they are (an in-place operation such as *= or += on W, or on a "
                    "name bound to W, writes into the caller's array; use 2 * reg * W)"
                )
            if not isinstance(result, tuple) or len(result) != 2:
                raise StudentValueError(
                    f"{call} returned {describe_value(result)}; expected a pair (loss, dW)"
                )
            loss, dW = result
            _LOSS_CACHE[case] = ("ok", (as_number(loss, call), dW, call))
        except BaseException as exc:  # the same error for both tests of the case
            _LOSS_CACHE[case] = ("error", exc)
    kind, value = _LOSS_CACHE[case]
    if kind == "error":
        raise value
    return value


LOSS_CASES = []  # (case, function, reg, data seed, W scale, N)
for _function in ("svm_loss_naive", "svm_loss_vectorized"):
    _short = _function.replace("_loss", "")
    LOSS_CASES.append((f"{_short}_no_reg", _function, 0.0, 11, 1.0, 30))
    LOSS_CASES.append((f"{_short}_reg", _function, 0.3, 11, 1.0, 30))
for _function in ("softmax_loss_naive", "softmax_loss_vectorized"):
    _short = _function.replace("_loss", "")
    LOSS_CASES.append((f"{_short}_no_reg", _function, 0.0, 11, 1.0, 30))
    LOSS_CASES.append((f"{_short}_reg", _function, 0.3, 11, 1.0, 30))
    # Scores in the thousands: exp overflows without the max shift, and -log(p) is
    # infinite where p underflows although the loss is finite.
    LOSS_CASES.append((f"{_short}_huge_scores", _function, 0.0, 12, 2000.0, 30))


def _make_loss_tests(case, function, reg, seed, scale, N):
    def inputs():
        W, X, y = _loss_data(seed=seed, N=N)
        return W * scale, X, y

    def loss_test(cs_loss):
        loss, _dW, _call = _call_loss(cs_loss, function, case, *inputs(), reg)
        return {"loss": loss}

    def grad_test(cs_loss):
        W = inputs()[0]
        _loss, dW, call = _call_loss(cs_loss, function, case, *inputs(), reg)
        return {"dW": as_array(dW, call, "dW as ", W.shape, "biuf", "an array of W's shape")}

    loss_test.__name__ = f"{case}_loss"
    grad_test.__name__ = f"{case}_grad"
    # Loss and gradient earn separate points: an exact gradient keeps its points when
    # the loss is wrong, and the other way round.
    hidden_test(loss_test)
    hidden_test(grad_test)


for _case in LOSS_CASES:
    _make_loss_tests(*_case)


# ---------------------------------------------------------------- SGD
def reference_svm_loss(
    W: np.ndarray, X: np.ndarray, y: np.ndarray, reg: float
) -> tuple[float, np.ndarray]:
    """The multiclass SVM loss, here so that the train tests do not depend on the
    student's loss functions (and so that the grader can recompute every step)."""
    N = X.shape[0]
    rows = np.arange(N)
    scores = X @ W
    margins = np.maximum(0, scores - scores[rows, y][:, None] + 1)
    margins[rows, y] = 0
    dscores = (margins > 0).astype(np.float64)
    dscores[rows, y] = -dscores.sum(axis=1)
    return float(margins.sum() / N + reg * np.sum(W * W)), X.T @ dscores / N + 2 * reg * W


TRAIN = {"learning_rate": 1e-2, "reg": 1e-3, "num_iters": 30, "batch_size": 16}


def train_data() -> tuple[np.ndarray, np.ndarray]:
    """Continuous data (every row distinct, so a batch row names its row of X)."""
    W, X, y = _loss_data(seed=13, N=120)
    return X, y


def toy_data() -> tuple[np.ndarray, np.ndarray]:
    """A linearly separable problem: 3 well separated blobs, with a bias column."""
    rng = np.random.default_rng(21)
    centres = np.array([[6.0, 0.0], [-3.0, 5.0], [-3.0, -5.0]])
    y = np.repeat(np.arange(3), 40)
    X = centres[y] + rng.standard_normal((120, 2))
    return np.hstack([X, np.ones((120, 1))]), y


TOY = {"learning_rate": 0.05, "reg": 1e-4, "num_iters": 200, "batch_size": 20}
TOY_ACCURACY = 0.9


def _record_training(cs_loss, X, y, settings, seed):
    """Train a LinearSVM whose loss records what the student's train passes to it."""
    batches_X, batches_y, W_before = [], [], []

    class RecordingSVM(cs_loss.LinearSVM):
        def loss(self, X_batch, y_batch, reg):
            X_batch = np.array(X_batch)  # recorded at its own precision (float32 rows too)
            if X_batch.dtype.kind != "f":
                X_batch = X_batch.astype(np.float64)
            y_batch = np.array(y_batch)
            W = np.array(self.W, dtype=np.float64)
            batches_X.append(X_batch.reshape(-1, X.shape[1]))
            batches_y.append(y_batch.reshape(-1).astype(np.int64))
            W_before.append(W)
            return reference_svm_loss(W, batches_X[-1].astype(np.float64), batches_y[-1], reg)

    clf = RecordingSVM()
    history = clf.train(X, y, seed=seed, **settings)
    call = "train(X, y, ...)"
    if history is None:
        raise StudentValueError(f"{call} returned None; expected the list of losses")
    return {
        "batch_X": np.concatenate(batches_X) if batches_X else np.zeros((0, X.shape[1])),
        "batch_y": np.concatenate(batches_y) if batches_y else np.zeros(0, dtype=np.int64),
        "batch_sizes": np.array([len(b) for b in batches_y], dtype=np.int64),
        "W_before": np.array(W_before, dtype=np.float64),
        "W_final": np.asarray(clf.W, dtype=np.float64),
        "history": np.asarray(history, dtype=np.float64).reshape(-1),
    }


# The grader checks these outputs itself (grading.behaviour): no expected values.
@hidden_test
def linear_train_batches(cs_loss: ModuleType) -> Outputs:
    X, y = train_data()
    return _record_training(cs_loss, X, y, TRAIN, seed=4)


@hidden_test
def linear_train_update(cs_loss: ModuleType) -> Outputs:
    X, y = train_data()
    return _record_training(cs_loss, X, y, TRAIN, seed=7)


@hidden_test
def linear_train_separable(cs_loss: ModuleType) -> Outputs:
    X, y = toy_data()
    out = _record_training(cs_loss, X, y, TOY, seed=3)
    return {"W_final": out["W_final"]}


@hidden_test
def linear_predict(cs_loss: ModuleType) -> Outputs:
    W, X, y = _loss_data(seed=14, N=50)
    clf = cs_loss.Softmax()
    clf.W = W
    return {"y_pred": as_labels(clf.predict(X), "predict(X)", 50)}


def run_plan(plan: dict[str, Any], out_path: str | Path) -> None:
    """Run the tests the grader planned on the importable cs_loss; save outputs and statuses.

    ``plan`` is ``{"modules": [cs_loss modules in import order], "tests": [{"name": test,
    "modules": [the modules it needs]}]}``, read by the caller before anything of the
    student's is imported.
    """
    arrays, statuses = {}, {}
    cs_loss, import_errors = import_package(plan["modules"])
    for entry in plan["tests"]:
        name = entry["name"]
        try:
            if name not in TESTS:
                raise LookupError(f"the grader asked for an unknown hidden test {name!r}")
            run = TESTS[name]
            problems = import_problems(entry["modules"], import_errors)
            if problems:
                raise ImportError("; ".join(problems))
            with time_limit(TEST_SECONDS, "your code"):
                outputs = run(cs_loss)
            for key, value in outputs.items():
                array = np.asarray(value)
                if array.dtype.kind not in "biuf":
                    raise StudentValueError(f"{name} returned {describe_value(value)} for {key}")
                arrays[f"{name}/{key}"] = array
            statuses[name] = {"ok": True}
        except BaseException as exc:
            statuses[name] = {"ok": False, "error": describe(exc)}
    np.savez(out_path, allow_pickle=False, **arrays)
    with open(str(out_path) + ".json", "w") as f:
        json.dump(statuses, f)


if __name__ == "__main__":
    # python -I hidden_tests.py PLAN OUT [FD]: PLAN is the grader's JSON list of tests
    # to run, read before anything of the student's is imported. The grader passes a pipe
    # as a third argument: the /proc monitor goes in first, too.
    with open(sys.argv[1]) as plan_file:
        planned = json.load(plan_file)
    if len(sys.argv) > 3:
        from proc_audit import watch_proc_reads

        watch_proc_reads(int(sys.argv[3]))
    run_plan(planned, sys.argv[2])

"""The hidden tests of the cs_loss package: fixed inputs, run on a submission.

This file is copied, alone, next to a copy of the submission's ``cs_loss`` and
run there in a child process (``python -I hidden_tests.py GROUP OUT``), so
that it imports numpy and the student's package and nothing of the kit. It
computes each test's outputs and saves them with ``allow_pickle=False``:
only plain numbers reach the grader, which compares them with the expected
values (``expected.npz``, made from the reference solution by
``python -m grading expected``). It never sees the expected values itself.

Each test: a name, its points, the functions it targets (a bug elsewhere must
not cost its points), and ``run(cs_loss) -> dict of arrays``. Inputs are made
here from fixed seeds; none needs CIFAR-10.
"""

import json
import sys
import traceback
from pathlib import Path

import numpy as np

TESTS = []  # (group, name, points, targets, run)


def hidden_test(group, points, targets):
    def register(run):
        TESTS.append((group, run.__name__, points, tuple(targets), run))
        return run

    return register


def _knn_data(seed=0):
    rng = np.random.default_rng(seed)
    X_train = rng.integers(0, 256, size=(40, 12)).astype(np.float64)
    y_train = rng.integers(0, 4, size=40)
    X_test = rng.integers(0, 256, size=(7, 12)).astype(np.float64)
    return X_train, y_train, X_test


def _loss_data(seed, N=30, D=16, C=5, dtype=np.float64):
    rng = np.random.default_rng(seed)
    W = (rng.standard_normal((D, C)) * 0.05).astype(dtype)
    X = (rng.standard_normal((N, D)) * 5).astype(dtype)
    y = rng.integers(0, C, size=N)
    return W, X, y


def _knn(cs_loss):
    X_train, y_train, X_test = _knn_data()
    return cs_loss.KNearestNeighbor().train(X_train, y_train), X_test


@hidden_test("knn", 2, ["KNearestNeighbor.compute_distances_two_loops"])
def knn_distances_two_loops(cs_loss):
    knn, X_test = _knn(cs_loss)
    return {"dists": knn.compute_distances_two_loops(X_test)}


@hidden_test("knn", 2, ["KNearestNeighbor.compute_distances_one_loop"])
def knn_distances_one_loop(cs_loss):
    knn, X_test = _knn(cs_loss)
    return {"dists": knn.compute_distances_one_loop(X_test)}


@hidden_test("knn", 3, ["KNearestNeighbor.compute_distances_no_loops"])
def knn_distances_no_loops(cs_loss):
    knn, X_test = _knn(cs_loss)
    return {"dists": knn.compute_distances_no_loops(X_test)}


@hidden_test("knn", 3, ["KNearestNeighbor.predict_labels"])
def knn_predict_labels(cs_loss):
    X_train, y_train, X_test = _knn_data()
    knn = cs_loss.KNearestNeighbor().train(X_train, y_train)
    rng = np.random.default_rng(5)
    # Distances on a coarse grid make vote ties common: they must go to the smaller label.
    dists = rng.integers(0, 6, size=(25, 40)).astype(np.float64) + np.arange(40) * 1e-3
    return {f"k{k}": knn.predict_labels(dists, k=k) for k in (1, 2, 4, 7)}


for _name, _reg, _group, _target in [
    ("svm_naive_no_reg", 0.0, "svm", "svm_loss_naive"),
    ("svm_naive_reg", 0.3, "svm", "svm_loss_naive"),
    ("svm_vectorized_no_reg", 0.0, "svm", "svm_loss_vectorized"),
    ("svm_vectorized_reg", 0.3, "svm", "svm_loss_vectorized"),
    ("softmax_naive_no_reg", 0.0, "softmax", "softmax_loss_naive"),
    ("softmax_naive_reg", 0.3, "softmax", "softmax_loss_naive"),
    ("softmax_vectorized_no_reg", 0.0, "softmax", "softmax_loss_vectorized"),
    ("softmax_vectorized_reg", 0.3, "softmax", "softmax_loss_vectorized"),
]:

    def _loss_test(cs_loss, _reg=_reg, _target=_target):
        W, X, y = _loss_data(seed=11)
        loss, dW = getattr(cs_loss, _target)(W, X, y, _reg)
        return {"loss": np.float64(loss), "dW": dW}

    _loss_test.__name__ = _name
    hidden_test(_group, 2, [_target])(_loss_test)


@hidden_test("softmax", 2, ["softmax_loss_vectorized"])
def softmax_vectorized_huge_scores(cs_loss):
    W, X, y = _loss_data(seed=12)
    W = W * 2000  # scores in the thousands: exp overflows without the max shift
    with np.errstate(over="ignore", invalid="ignore"):
        loss, dW = cs_loss.softmax_loss_vectorized(W, X, y, 0.0)
    return {"loss": np.float64(loss), "dW": dW}


@hidden_test("softmax", 1, ["softmax_loss_naive"])
def softmax_naive_huge_scores(cs_loss):
    W, X, y = _loss_data(seed=12, N=8)
    W = W * 2000
    with np.errstate(over="ignore", invalid="ignore"):
        loss, dW = cs_loss.softmax_loss_naive(W, X, y, 0.0)
    return {"loss": np.float64(loss), "dW": dW}


@hidden_test("linear", 3, ["LinearClassifier.train", "svm_loss_vectorized"])
def linear_svm_train(cs_loss):
    W, X, y = _loss_data(seed=13, N=120)
    svm = cs_loss.LinearSVM()
    history = svm.train(X, y, learning_rate=1e-2, reg=1e-3, num_iters=30, batch_size=16, seed=4)
    return {"loss_history": np.asarray(history, dtype=np.float64), "W": svm.W}


@hidden_test("linear", 2, ["LinearClassifier.predict"])
def linear_predict(cs_loss):
    W, X, y = _loss_data(seed=14, N=50)
    clf = cs_loss.Softmax()
    clf.W = W
    return {"y_pred": clf.predict(X)}


def _uses_only_good_modules(targets, import_errors):
    """False if a target's module (or one it imports) failed to import."""
    needs = {"svm_loss": "svm", "softmax_loss": "softmax", "KNearestNeighbor": "knn",
             "LinearClassifier": "linear_classifier"}  # fmt: skip
    for target in targets:
        for prefix, module in needs.items():
            if target.startswith(prefix) and (module in import_errors or "_validation" in import_errors):
                return False
    return True


# Modules in import order; each exports its public names onto the package.
MODULES = ("_validation", "_blocks", "gradient_check", "svm", "softmax", "linear_classifier", "knn")


def import_package():
    """``import cs_loss``; if that fails, the modules one by one, so a broken file costs
    only the tests that need it. Returns (package, {module: error})."""
    import importlib
    import types

    try:
        import cs_loss

        return cs_loss, {}
    except BaseException:
        for name in [m for m in sys.modules if m == "cs_loss" or m.startswith("cs_loss.")]:
            del sys.modules[name]
    package = types.ModuleType("cs_loss")
    package.__path__ = [str(Path(__file__).resolve().parent / "cs_loss")]
    sys.modules["cs_loss"] = package
    errors = {}
    for module in MODULES:
        try:
            loaded = importlib.import_module(f"cs_loss.{module}")
        except BaseException as exc:
            errors[module] = f"cs_loss/{module}.py could not be imported: {type(exc).__name__}: {exc}"
            continue
        for attr in dir(loaded):
            if not attr.startswith("_"):
                setattr(package, attr, getattr(loaded, attr))
    return package, errors


def run_group(group, out_path):
    """Run every test of ``group`` on the importable cs_loss; save outputs and statuses."""
    arrays, statuses = {}, {}
    cs_loss, import_errors = import_package()
    for test_group, name, _points, targets, run in TESTS:
        if test_group != group:
            continue
        try:
            if import_errors and not _uses_only_good_modules(targets, import_errors):
                raise ImportError("; ".join(import_errors.values()))
            outputs = run(cs_loss)
            for key, value in outputs.items():
                array = np.asarray(value)
                if array.dtype.kind not in "biuf":
                    raise TypeError(f"{key} is not numeric (got {type(value).__name__})")
                arrays[f"{name}/{key}"] = array
            statuses[name] = {"ok": True}
        except BaseException as exc:
            statuses[name] = {"ok": False, "error": _describe(exc)}
    np.savez(out_path, allow_pickle=False, **arrays)
    with open(str(out_path) + ".json", "w") as f:
        json.dump(statuses, f)


def _describe(exc):
    """``Type: message (file:line)``, the line being the last one in the student's package."""
    frames = traceback.extract_tb(exc.__traceback__)
    student = [f for f in frames if "/cs_loss/" in f.filename.replace("\\", "/")]
    where = ""
    if student:
        where = f" (cs_loss/{Path(student[-1].filename).name}:{student[-1].lineno})"
    return f"{type(exc).__name__}: {exc}"[:300] + where


if __name__ == "__main__":
    # Run with python -I (no PYTHONPATH, no script folder on sys.path): only the folder
    # this file was copied to, which holds the submission's cs_loss, is added.
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    run_group(sys.argv[1], sys.argv[2])

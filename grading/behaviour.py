"""Checks of the SGD behaviour of a student's ``train``, from what the child recorded.

The ``linear_train_*`` hidden tests export what ``train`` passed to ``self.loss`` (the
batches, W before each step, the final W and the history); these checks judge them,
so any correct sampling, with ``rng`` or ``np.random``, passes. No expected values:
the data and settings are the cases' declared inputs (``grading/topics/``), the loss
the child's recording loss (:func:`grading.hidden_tests.recording_loss`).
"""

from __future__ import annotations

import numpy as np

from .hidden_tests import recording_loss
from .plan import BY_NAME, inputs_of, share_of
from .topics.linear_classifier import TOY_ACCURACY

Arrays = dict[str, np.ndarray]


def _inputs(name: str) -> dict:
    """The declared inputs (data and settings) of the training case ``name``."""
    return inputs_of(share_of(BY_NAME[name]))


# Sampling uniformly from all N rows, the batches of the recorded training (num_iters *
# batch_size = 480 draws from 120 rows) reach about 98% of the rows; in 20,000 seeds never
# fewer than 93%. Sampling from a part of X (e.g. rng.choice(num_train // 2, ...)) stays below.
COVERAGE = 0.85


def _batch_rows(arrays: Arrays, name: str, X: np.ndarray, y: np.ndarray) -> tuple:
    """(row indices into X or -1, recorded labels, batch sizes) of a recorded training.

    Rows are matched at the batch's own precision: a float32 batch (``X[idx]`` cast to
    float32) is still made of rows of X.
    """
    batch_X = arrays[f"{name}/batch_X"]
    dtype = batch_X.dtype if batch_X.dtype.kind == "f" else np.dtype(np.float64)
    index = {row.tobytes(): i for i, row in enumerate(np.ascontiguousarray(X, dtype=dtype))}
    rows = np.array(
        [index.get(np.ascontiguousarray(r, dtype=dtype).tobytes(), -1) for r in batch_X],
        dtype=np.int64,
    )
    return rows, arrays[f"{name}/batch_y"], arrays[f"{name}/batch_sizes"]


def check_train_batches(arrays: Arrays, name: str) -> list[tuple[str, str]]:
    """[(code, message)] for the minibatches a student's train passed to self.loss."""
    inputs = _inputs(name)
    X, y = inputs["X"], inputs["y"]
    steps, size = inputs["num_iters"], inputs["batch_size"]
    rows, labels, sizes = _batch_rows(arrays, name, X, y)
    problems = []
    if len(sizes) != steps:
        problems.append(
            (
                "steps",
                f"self.loss was called {len(sizes)} times in {steps} "
                "iterations; expected once per iteration",
            )
        )
    if np.any(sizes != size):
        had = sorted(set(sizes.tolist()))
        problems.append(
            ("batch_size", f"X_batch had {had} rows; expected batch_size={size} rows at every step")
        )
    if len(labels) != len(rows):
        problems.append(("label_count", "y_batch does not have one label per row of X_batch"))
        return problems
    if np.any(rows < 0):
        problems.append(
            (
                "not_rows",
                f"{int(np.sum(rows < 0))} rows of X_batch are not rows of "
                "X: take whole rows of X, X[idx]",
            )
        )
    found = rows >= 0
    if np.any(labels[found] != y[rows[found]]):
        problems.append(
            (
                "labels",
                f"{int(np.sum(labels[found] != y[rows[found]]))} of "
                f"{int(found.sum())} labels in y_batch are not the labels of their rows "
                "of X_batch: index X and y with the same indices",
            )
        )
    if len(sizes) > 1 and found.all() and np.all(sizes == sizes[0]):
        per_step = rows.reshape(len(sizes), -1)
        if all(np.array_equal(np.sort(per_step[0]), np.sort(s)) for s in per_step[1:]):
            problems.append(
                (
                    "same_batch",
                    "every step used the same batch: draw new random indices at every iteration",
                )
            )
        elif len(np.unique(rows)) < COVERAGE * len(X):
            problems.append(
                (
                    "coverage",
                    "the batches used only a small part of X: sample the "
                    "indices from all num_train examples",
                )
            )
    return problems


def check_train_update(arrays: Arrays, name: str) -> list[tuple[str, str]]:
    """[(code, message)] for the SGD steps: W_new = W - learning_rate * grad, and history."""
    settings = _inputs(name)
    lr, reg = settings["learning_rate"], settings["reg"]
    W_before = arrays[f"{name}/W_before"]
    W_final, history = arrays[f"{name}/W_final"], arrays[f"{name}/history"]
    sizes = arrays[f"{name}/batch_sizes"]
    if len(W_before) == 0 or W_final.shape != W_before.shape[1:]:
        return [("no_steps", "train made no step, or changed W's shape")]
    if len(W_before) > settings["num_iters"]:  # issue 17: not "W did not change"
        calls = f"self.loss was called {len(W_before)} times in {settings['num_iters']} iterations"
        return [("loss_calls", f"{calls}: call it once per iteration and step with its grad")]
    W_after = list(W_before[1:]) + [W_final]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    losses, codes = [], []
    for t, W in enumerate(W_before):
        X_b = arrays[f"{name}/batch_X"][starts[t] : starts[t + 1]]
        y_b = arrays[f"{name}/batch_y"][starts[t] : starts[t + 1]]
        if len(y_b) != len(X_b) or len(y_b) == 0:
            codes.append("unknown")
            losses.append(np.nan)
            continue
        loss, grad = recording_loss(W, X_b, y_b, reg)
        losses.append(loss)
        candidates = {
            "ok": W - lr * grad,
            "ascent": W + lr * grad,
            "no_learning_rate": W - grad,
            "not_moved": W,
        }
        matches = [
            c
            for c, want in candidates.items()
            if np.allclose(W_after[t], want, rtol=1e-7, atol=1e-12)
        ]
        codes.append(matches[0] if matches else "unknown")
    problems = []
    bad = [c for c in codes if c != "ok"]
    if bad:
        code = max(set(bad), key=bad.count)
        what = {
            "ascent": "W moved along the gradient (W + learning_rate * grad): SGD steps "
            "against it, W - learning_rate * grad",
            "no_learning_rate": "W moved by the whole gradient: multiply grad by learning_rate",
            "not_moved": "W did not change: W_new must be W - learning_rate * grad",
            "unknown": "the new W is not W - learning_rate * grad of the batch",
        }[code]
        problems.append((code, f"{len(bad)} of {len(codes)} steps are wrong: {what}"))
    if len(history) != len(W_before):
        problems.append(
            (
                "history_length",
                f"the loss history has {len(history)} entries "
                f"for {len(W_before)} steps; expected one per step",
            )
        )
    elif not np.allclose(history, losses, rtol=1e-7, atol=1e-12):
        problems.append(
            (
                "history",
                "the loss history is not the list of the losses self.loss returned, one per step",
            )
        )
    return problems


def check_train_separable(arrays: Arrays, name: str) -> list[tuple[str, str]]:
    """[(code, message)] for training on a linearly separable toy problem."""
    inputs = _inputs(name)
    X, y = inputs["X"], inputs["y"]
    W = arrays[f"{name}/W_final"]
    if W.shape != (X.shape[1], 3):
        return [("shape", f"W has shape {W.shape} after training; expected (D, C)")]
    with np.errstate(all="ignore"):
        accuracy = float(np.mean(np.argmax(X @ W, axis=1) == y)) if np.isfinite(W).all() else 0.0
    if accuracy < TOY_ACCURACY:
        return [
            (
                "accuracy",
                f"on a linearly separable problem training reached an accuracy "
                f"of {accuracy:.2f}; at least {TOY_ACCURACY:.2f} "
                "is expected",
            )
        ]
    return []


# Tests whose outputs the grader checks by behaviour (no expected values).
BEHAVIOUR_CHECKS = {
    "linear_train_batches": check_train_batches,
    "linear_train_update": check_train_update,
    "linear_train_separable": check_train_separable,
}


def behaviour_problems(arrays: Arrays, name: str) -> list[tuple[str, str]]:
    """[(code, message)] from a behaviour check, a missing output being a problem too."""
    try:
        return BEHAVIOUR_CHECKS[name](arrays, name)
    except KeyError as exc:
        return [("missing", f"output {exc} is missing")]
    except (ValueError, IndexError, TypeError) as exc:
        return [("malformed", f"the recorded training could not be checked ({type(exc).__name__})")]

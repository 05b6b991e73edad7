"""What a failing test's numbers show, when no known mistake explains them.

Each relation is exact (within the comparison's tolerance) and involves a quantity the
grader computes from the hidden inputs: the penalty ``reg * sum(W**2)``, its gradient
``2 * reg * W``, the number of examples N, the rows of X of each true class. None is a
relation that any two numbers satisfy (a single number is a multiple of any other),
and none quotes an expected value.
"""

from __future__ import annotations

import numpy as np

from .compare import close
from .topics import CASES

Arrays = dict[str, np.ndarray]

_PENALTY_MISSING = "the loss is exactly reg·ΣW² too low: the penalty reg * np.sum(W * W) is missing"
_PENALTY_HALF = (
    "the loss is exactly 0.5·reg·ΣW² too low: this assignment's penalty is reg·ΣW² (no 0.5)"
)
_PENALTY_N_TIMES = (
    "the penalty reg·ΣW² is counted N times (once per example): add it once, after the loop "
    "over the examples and after dividing by N"
)
_PENALTY_TWICE = "the penalty reg·ΣW² is added twice: add it once"
_LOSS_SUM = (
    "the data loss is a sum over the examples, N times its mean: divide it by N "
    "(before adding the penalty)"
)
_LOSS_ALL_SUM = (
    "the whole loss, penalty included, is N times its right value: the penalty is added once "
    "per example and nothing is divided by N; average the data loss over the N examples, then "
    "add reg·ΣW² once"
)
_TRUE_MARGIN = (
    "the loss is exactly 1 too high (delta once per example): the true class is counted as a "
    "margin of its own; skip j == y[i], or set the true class's margins to 0"
)
_GRAD_MISSING = "dW misses the penalty's gradient 2·reg·W: add it once, after dividing by N"
_GRAD_HALF = "the penalty's gradient in dW is reg·W: the gradient of reg·ΣW² is 2·reg·W"
_GRAD_NO_REG = "the penalty's gradient in dW is 2·W: it is 2·reg·W (multiply by reg)"
_GRAD_N_TIMES = (
    "the penalty's gradient 2·reg·W is added N times (once per example): add it once, "
    "after the loop and after dividing by N"
)
_GRAD_SUM = (
    "dW's data part is a sum over the examples, N times its mean: divide it by N "
    "(before adding the penalty's gradient)"
)
_TRUE_COLUMNS = (
    "dW is wrong only in the true classes' columns (the terms added to dW[:, y[i]] for "
    "each example i): look at the lines for the correct class"
)


def zero_cells(expected: np.ndarray) -> np.ndarray:
    """Cells whose right value is zero to rounding (e.g. the distance of identical rows)."""
    expected = np.asarray(expected, dtype=np.float64)
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    return np.abs(expected) <= 1e-6 * scale


def loss_inputs(test: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, float] | None:
    """``(W, X, y, reg)`` of a loss test (a case whose call is ``f(W, X, y, reg)``), else None."""
    for case in CASES:
        if case.name == test and case.inputs is not None:
            values = case.inputs()
            if {"W", "X", "y", "reg"} <= set(values):
                return values["W"], values["X"], values["y"], float(values["reg"])
    return None


def relations(name: str, got: Arrays, expected: Arrays) -> list[str]:
    """The relations the student's outputs on test ``name`` show with the right values."""
    hints = []
    inputs = loss_inputs(name)
    for key in [k for k in expected if k.startswith(name + "/")]:
        if key not in got:
            continue
        g, e = np.asarray(got[key]), expected[key]
        what = key.split("/", 1)[1]
        if g.shape != e.shape or e.dtype.kind != "f" or g.dtype.kind not in "biuf":
            continue
        g = g.astype(np.float64)
        if not np.isfinite(g).all():
            hints += _non_finite(what, g, e)
            continue
        if inputs is not None and what == "loss":
            candidates = _loss_candidates(e, *inputs)
            if name.startswith("svm_"):
                candidates.append((np.float64(e) + 1, _TRUE_MARGIN))
            hints += _first(g, candidates)
        elif inputs is not None and what == "dW" and e.shape == inputs[0].shape:
            hints += _first(g, _grad_candidates(e, *inputs)) or _columns(g, e, *inputs)
        if what == "dists" and close(g, e**2):
            hints.append("dists are squared distances: take the square root")
        if not hints and g.size > 1:
            hints += _multiple(what, g, e, inputs)
    return hints


def _first(got: np.ndarray, candidates: list[tuple[np.ndarray, str]]) -> list[str]:
    """The message of the first candidate value that ``got`` equals (to tolerance)."""
    for value, message in candidates:
        if close(got, value):
            return [message]
    return []


def _loss_candidates(e, W, X, y, reg):
    N = X.shape[0]
    P = reg * float(np.sum(W * W))
    data = float(e) - P
    candidates = [(np.float64(N * data + P), _LOSS_SUM)]
    if P > 0:
        candidates += [
            (np.float64(data), _PENALTY_MISSING),
            (np.float64(data + 0.5 * P), _PENALTY_HALF),
            (np.float64(data + N * P), _PENALTY_N_TIMES),
            (np.float64(data + 2 * P), _PENALTY_TWICE),
            (np.float64(N * data + N * P), _LOSS_ALL_SUM),
        ]
    return candidates


def _grad_candidates(e, W, X, y, reg):
    N = X.shape[0]
    G = 2 * reg * W
    data = e - G
    candidates = [(N * data + G, _GRAD_SUM)]
    if reg != 1:
        candidates.append((data + 2 * W, _GRAD_NO_REG))
    if reg > 0:
        candidates += [
            (data, _GRAD_MISSING),
            (data + G / 2, _GRAD_HALF),
            (data + N * G, _GRAD_N_TIMES),
            (N * data + N * G, _GRAD_SUM),
        ]
    return candidates


def _columns(g, e, W, X, y, reg):
    """Whether the difference lies only in the true classes' terms, or only outside them."""
    diff = g - e
    scale = max(float(np.max(np.abs(e))), 1e-12)
    if np.max(np.abs(diff)) <= 1e-5 * scale:
        return []
    residual = 0.0
    for c in range(W.shape[1]):
        rows = X[y == c]  # (n_c, D): the examples whose true class is c
        if len(rows) == 0 or len(rows) >= X.shape[1]:
            return []  # too few equations to tell
        m, *_ = np.linalg.lstsq(rows.T, diff[:, c], rcond=None)
        residual = max(residual, float(np.max(np.abs(rows.T @ m - diff[:, c]))))
    if residual <= 1e-6 * max(float(np.max(np.abs(diff))), 1e-12):
        return [_TRUE_COLUMNS]
    return []


def _multiple(what, g, e, inputs):
    """A constant factor shared by every entry of an array (at least two nonzero ones)."""
    nonzero = np.abs(e) > 1e-12
    if nonzero.sum() < 2:
        return []
    ratio = g[nonzero] / e[nonzero]
    r = float(np.median(ratio))
    if r == 1 or not np.allclose(ratio, r, rtol=1e-6):
        return []
    N = inputs[1].shape[0] if inputs is not None else None
    if N and abs(r - N) < 1e-6 * N:
        return [
            f"{what} is exactly N times the right value (N examples): divide the sum over "
            "the examples by N"
        ]
    if N and abs(r * N - 1) < 1e-6:
        return [f"{what} is exactly N times too small: divide by N once"]
    return [f"every entry of {what} is the same multiple of the right value: a wrong factor"]


def _non_finite(what: str, g: np.ndarray, e: np.ndarray) -> list[str]:
    """Where the NaN or infinite values sit and their sign, in the student's terms."""
    odd = ~np.isfinite(g)
    kinds = [
        label
        for label, present in (
            ("NaN", np.isnan(g).any()),
            ("+inf", np.isposinf(g).any()),
            ("-inf", np.isneginf(g).any()),
        )
        if present
    ]
    if what == "dists" and kinds == ["NaN"] and zero_cells(e)[odd].all():
        return [
            "dists is NaN only where a test point (nearly) coincides with a training point: "
            "rounding makes the expanded square slightly negative there; clip it at 0 "
            "(np.maximum) before np.sqrt"
        ]
    if what == "loss" and kinds == ["-inf"]:
        return [
            "the loss is -inf: a log of a sum that underflowed to 0; subtract each row's own "
            "maximum score (axis=1, keepdims=True), not one maximum over the whole array"
        ]
    if what == "loss" and kinds == ["+inf"]:
        return [
            "the loss is +inf: -log of a probability that underflowed to 0; compute the row "
            "loss as log(sum(exp(s - max))) - (s_y - max)"
        ]
    return []

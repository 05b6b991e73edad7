"""The hidden test cases shared by the losses (svm and softmax): inputs and calls.

A loss case calls ``cs_loss.<function>(W, X, y, reg)`` once; its loss and its
gradient earn separate points (two cases sharing the call), so an exact gradient
keeps its points when the loss is wrong, and the other way round.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np

from ..declare import Call, Case, Output

KEEP_INPUTS = (
    "a loss must leave W, X and y as they are (an in-place operation such as *= or += on W, "
    "or on a name bound to W, writes into the caller's array; use 2 * reg * W)"
)


def loss_data(
    seed: int, N: int = 30, D: int = 16, C: int = 5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random weights, data and labels from ``seed``.

    Returns
    -------
    W : ndarray of shape (D, C)
    X : ndarray of shape (N, D)
    y : ndarray of shape (N,)
    """
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((D, C)) * 0.05
    X = rng.standard_normal((N, D)) * 5
    y = rng.integers(0, C, size=N)
    return W, X, y


def loss_inputs(seed: int, reg: float, scale: float = 1.0) -> dict:
    """``W`` (times ``scale``), ``X``, ``y`` from ``seed``, and ``reg``."""
    W, X, y = loss_data(seed)
    return {"W": W * scale, "X": X, "y": y, "reg": reg}


def loss_call(function: str) -> Call:
    """``function(W, X, y, reg)``, returning the pair (loss, dW)."""
    returns = (
        Output("loss", "number"),
        Output("dW", "array", ("W.0", "W.1"), "dW as ", "an array of W's shape"),
    )
    text = f"{function}(W, X, y, reg)"
    return Call(
        function, ("W", "X", "y", "reg"), returns, text, keep_inputs=KEEP_INPUTS, quiet=True
    )


class Setting(NamedTuple):
    """The inputs of a loss case: its name, ``reg``, the data's seed and W's scale."""

    name: str
    reg: float
    seed: int
    scale: float = 1.0


NO_REG = Setting("no_reg", 0.0, 11)
REG = Setting("reg", 0.3, 11)
# Scores in the thousands: exp overflows without the max shift, and -log(p) is infinite
# where p underflows although the loss is finite.
HUGE_SCORES = Setting("huge_scores", 0.0, 12, 2000.0)


def loss_case(
    group: str,
    modules: tuple[str, ...],
    function: str,
    setting: Setting,
    output: str,
    points: int,
) -> Case:
    """The case ``<function>_<setting>_<output>`` (output ``"loss"`` or ``"grad"``) worth
    ``points``: the loss and the gradient cases of one setting share one call."""
    share = f"{function.replace('_loss', '')}_{setting.name}"
    inputs = partial(loss_inputs, setting.seed, setting.reg, setting.scale)
    exports, checks = (("loss",), ()) if output == "loss" else (("dW",), ("loss",))
    name = f"{share}_{output}"
    call = loss_call(function)
    return Case(group, name, points, (function,), modules, inputs, (call,), exports, checks, share)

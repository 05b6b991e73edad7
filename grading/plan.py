"""What the hidden-test child runs: the plan of the declared cases and their inputs.

The grader makes each case's inputs (``Case.inputs`` of ``grading/topics/``) and
writes them for the child: arrays in ``inputs.npz`` (``"<share>/<input>"``), numbers
in the plan, and each call with its output shapes resolved. The child
(``hidden_tests.py``) reads nothing else of the kit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from .declare import Call, Case
from .exercises import GRADED_MODULES
from .topics import CASES

PLAN_FILE, INPUTS_FILE = "plan.json", "inputs.npz"
BY_NAME = {case.name: case for case in CASES}


def share_of(case: Case) -> str:
    """The key under which ``case``'s inputs and calls are shared."""
    return case.share or case.name


@cache
def inputs_of(share: str) -> dict[str, Any]:
    """The inputs of the cases of ``share`` (made once per process; deterministic)."""
    case = next(c for c in CASES if share_of(c) == share)
    return case.inputs() if case.inputs else {}


def _call_plan(call: Call, inputs: dict[str, Any]) -> dict[str, Any]:
    def length(axis: str) -> int:
        name, index = axis.rsplit(".", 1)
        return int(np.shape(inputs[name])[int(index)])

    returns = [
        {**output._asdict(), "shape": [length(axis) for axis in output.shape]}
        for output in call.returns
    ]
    setup = [[step.name, list(step.args), step.assign] for step in call.setup]
    return {
        **call._asdict(),
        "args": list(call.args),
        "kwargs": [list(pair) for pair in call.kwargs],
        "returns": returns,
        "setup": setup,
    }


def plan_of(names: Iterable[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The child's plan of the cases ``names`` and the arrays of their inputs.

    The plan is ``{"modules": [cs_loss modules in import order], "numbers": {share:
    {input: number}}, "tests": [{"name", "modules", "share", "calls", "exports",
    "checks"}]}``; the arrays are keyed ``"<share>/<input>"``.
    """
    tests, numbers, arrays = [], {}, {}
    for name in names:
        case = BY_NAME[name]
        share = share_of(case)
        inputs = inputs_of(share)
        if share not in numbers:
            numbers[share] = {}
            for key, value in inputs.items():
                if isinstance(value, np.ndarray):
                    arrays[f"{share}/{key}"] = value
                else:
                    numbers[share][key] = value
        tests.append(
            {
                "name": case.name,
                "modules": list(case.modules),
                "share": share,
                "calls": [_call_plan(call, inputs) for call in case.calls],
                "exports": list(case.exports),
                "checks": list(case.checks),
            }
        )
    plan = {"modules": list(GRADED_MODULES), "numbers": numbers, "tests": tests}
    return plan, arrays


def write_plan(folder: str | Path, names: Iterable[str]) -> None:
    """Write the plan (``plan.json``) and the inputs (``inputs.npz``) of ``names``."""
    plan, arrays = plan_of(names)
    (Path(folder) / PLAN_FILE).write_text(json.dumps(plan))
    np.savez(Path(folder) / INPUTS_FILE, allow_pickle=False, **arrays)


def examples_of(name: str) -> int | None:
    """N, the number of examples a loss case ``name`` passes (its call is
    ``function(W, X, y, reg)``); None for any other test."""
    case = BY_NAME.get(name)
    if case is None or not case.calls or case.calls[0].args != ("W", "X", "y", "reg"):
        return None
    return int(np.shape(inputs_of(share_of(case))["X"])[0])

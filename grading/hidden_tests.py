"""The hidden-test child: runs the grader's plan on a submission's cs_loss.

This file is copied next to a copy of the submission's ``cs_loss``, with
``hidden_support.py``, ``proc_audit.py``, the grader's plan (``plan.json``) and
the inputs it made (``inputs.npz``), see :mod:`grading.plan`, and run there in a
child process (:mod:`grading.child`): it imports numpy, those two files and the
student's package, and nothing else of the kit. It knows no test: each test of the
plan is a list of calls (a function of the package, or a method on a fresh
instance) on named inputs, and the outputs to check and save. Outputs are saved
with ``allow_pickle=False``: only plain numbers reach the grader, which compares
them with the expected values (``expected.npz``, made by running this same child on
the reference) or judges them (``grading.behaviour``). It never sees the expected
values itself.

A call marked ``record`` (``train``) runs on a subclass whose ``loss`` is
:func:`recording_loss`, a surrogate that is no loss of the course: what ``train``
passed it (the batches, W before each step), the final W and the history are the
outputs, so the train tests depend on ``train`` alone and any correct sampling, with
``rng`` or ``np.random``, passes.
"""

from __future__ import annotations

import json
import sys
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


def recording_loss(
    W: np.ndarray, X_batch: np.ndarray, y_batch: np.ndarray, reg: float
) -> tuple[float, np.ndarray]:
    """The loss the recorded trainings see: minus the mean score of the true classes,
    plus ``reg`` times the sum of squares of W.

    Linear in the scores, so its gradient is simple to recompute from the recorded
    numbers (``grading.behaviour``), and minimising it moves each class's weights
    towards the mean of its examples: on separable blobs the classifier learns.

    Parameters
    ----------
    W : ndarray of shape (D, C)
    X_batch : ndarray of shape (N, D)
    y_batch : ndarray of shape (N,)
    reg : float

    Returns
    -------
    loss : float
    dW : ndarray of shape (D, C)
    """
    N = X_batch.shape[0]
    scores = X_batch @ W  # (N, C)
    true = np.zeros_like(scores)  # (N, C): 1 at each example's class
    true[np.arange(N), y_batch] = 1.0
    loss = -np.sum(scores * true) / max(N, 1) + reg * np.sum(W * W)
    dW = -X_batch.T @ true / max(N, 1) + 2 * reg * W  # (D, C)
    return float(loss), dW


def _record(cls: type, width: int) -> tuple[type, dict[str, list]]:
    """A subclass of ``cls`` whose loss records what it is passed, and the records."""
    records: dict[str, list] = {"batch_X": [], "batch_y": [], "W_before": []}

    class Recording(cls):
        def loss(self, X_batch, y_batch, reg):
            X_batch = np.array(X_batch)  # recorded at its own precision (float32 rows too)
            if X_batch.dtype.kind != "f":
                X_batch = X_batch.astype(np.float64)
            W = np.array(self.W, dtype=np.float64)
            records["batch_X"].append(X_batch.reshape(-1, width))
            records["batch_y"].append(np.array(y_batch).reshape(-1).astype(np.int64))
            records["W_before"].append(W)
            batch = records["batch_X"][-1].astype(np.float64)
            return recording_loss(W, batch, records["batch_y"][-1], reg)

    return Recording, records


def _recorded(clf: Any, history: Any, records: dict[str, list], width: int, call: str) -> dict:
    if history is None:
        raise StudentValueError(f"{call} returned None; expected the list of losses")
    batches_X, batches_y = records["batch_X"], records["batch_y"]
    return {
        "batch_X": np.concatenate(batches_X) if batches_X else np.zeros((0, width)),
        "batch_y": np.concatenate(batches_y) if batches_y else np.zeros(0, dtype=np.int64),
        "batch_sizes": np.array([len(b) for b in batches_y], dtype=np.int64),
        "W_before": np.array(records["W_before"], dtype=np.float64),
        "W_final": np.asarray(clf.W, dtype=np.float64),
        "history": np.asarray(history, dtype=np.float64).reshape(-1),
    }


class Inputs:
    """A test's inputs: fresh copies of the grader's arrays, and its numbers."""

    def __init__(self, saved: Any, numbers: dict[str, Any], share: str) -> None:
        self.saved, self.numbers, self.share = saved, numbers, share

    def __getitem__(self, name: str) -> Any:
        if name in self.numbers:
            return self.numbers[name]
        return np.array(self.saved[f"{self.share}/{name}"])


def _unchanged(call: dict, args: list, originals: list) -> None:
    changed = [
        name
        for name, array, original in zip(call["args"], args, originals, strict=True)
        if original is not None and not np.array_equal(array, original, equal_nan=True)
    ]
    if changed:  # e.g. reg_grad = W; reg_grad *= 2 * reg (training then goes wrong)
        raise StudentValueError(
            f"{call['text']} changed its input {' and '.join(changed)}: {call['keep_inputs']}"
        )


def make_call(cs_loss: ModuleType, call: dict, inputs: Inputs) -> dict[str, Any]:
    """Make one planned call; its raw return values by output key (unchecked)."""
    args = [inputs[name] for name in call["args"]]
    kwargs = {keyword: inputs[name] for keyword, name in call["kwargs"]}
    target, _, method = call["target"].partition(".")
    records: dict[str, list] = {}
    if method:
        cls = getattr(cs_loss, target)
        if call["record"]:
            cls, records = _record(cls, args[0].shape[1])
        instance = cls()
        for name, step_args, assign in call["setup"]:
            values = [inputs[arg] for arg in step_args]
            if assign:
                setattr(instance, name, values[0])
            else:
                getattr(instance, name)(*values)
        function = getattr(instance, method)
    else:
        function = getattr(cs_loss, target)
    originals = [a.copy() if isinstance(a, np.ndarray) else None for a in args]
    if call["quiet"]:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result = function(*args, **kwargs)
    else:
        result = function(*args, **kwargs)
    if call["keep_inputs"]:
        _unchanged(call, args, originals)
    if call["record"]:
        return _recorded(instance, result, records, args[0].shape[1], call["text"])
    keys = [output["key"] for output in call["returns"]]
    if len(keys) == 1:
        return {keys[0]: result}
    if not isinstance(result, tuple) or len(result) != len(keys):
        raise StudentValueError(
            f"{call['text']} returned {describe_value(result)}; expected a pair ({', '.join(keys)})"
            if len(keys) == 2
            else f"{call['text']} returned {describe_value(result)}; expected {len(keys)} values"
        )
    return dict(zip(keys, result, strict=True))


def check_output(value: Any, output: dict, call: str) -> np.ndarray:
    """A returned value as the plan's output says, or a :class:`StudentValueError`."""
    if output["kind"] == "number":
        return as_number(value, call, output["key"])
    if output["kind"] == "labels":
        return as_labels(value, call, output["shape"][0])
    shape = tuple(output["shape"])
    return as_array(value, call, output["what"], shape, "biuf", output["description"])


def run_test(test: dict, cs_loss: ModuleType, inputs: Inputs, made: dict) -> Outputs:
    """One test of the plan: its calls (shared calls made once, through ``made``), its
    outputs checked in call order, its exports returned."""
    wanted = set(test["exports"]) | set(test["checks"])
    out = {}
    for index, call in enumerate(test["calls"]):
        key = (test["share"], index)
        if key not in made:
            try:
                made[key] = ("ok", make_call(cs_loss, call, inputs))
            except BaseException as exc:  # the same error for every test sharing the call
                made[key] = ("error", exc)
        kind, values = made[key]
        if kind == "error":
            raise values
        if call["record"]:
            out.update(values)
            continue
        for output in call["returns"]:
            if output["key"] in wanted:
                out[output["key"]] = check_output(values[output["key"]], output, call["text"])
    return {key: out[key] for key in test["exports"]}


def run_plan(plan: dict[str, Any], inputs_path: str | Path, out_path: str | Path) -> None:
    """Run the tests the grader planned on the importable cs_loss; save outputs and statuses.

    ``plan`` (see :func:`grading.plan.plan_of`) and the inputs at ``inputs_path`` are
    read before anything of the student's is imported.
    """
    arrays, statuses, made = {}, {}, {}
    with np.load(inputs_path, allow_pickle=False) as loaded:
        saved = {key: loaded[key] for key in loaded.files}
    cs_loss, import_errors = import_package(plan["modules"])
    for test in plan["tests"]:
        name = test["name"]
        try:
            problems = import_problems(test["modules"], import_errors)
            if problems:
                raise ImportError("; ".join(problems))
            inputs = Inputs(saved, plan["numbers"].get(test["share"], {}), test["share"])
            with time_limit(TEST_SECONDS, "your code"):
                outputs = run_test(test, cs_loss, inputs, made)
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
    # python -I hidden_tests.py PLAN OUT [FD]: PLAN is the grader's JSON plan of the tests
    # to run, read with the inputs (inputs.npz beside it) before anything of the student's
    # is imported. The grader passes a pipe as a third argument: the /proc monitor goes
    # in first, too.
    with open(sys.argv[1]) as plan_file:
        planned = json.load(plan_file)
    if len(sys.argv) > 3:
        from proc_audit import watch_proc_reads

        watch_proc_reads(int(sys.argv[3]))
    run_plan(planned, Path(sys.argv[1]).with_name("inputs.npz"), sys.argv[2])

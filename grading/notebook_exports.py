"""The values a graded test cell exports from the student's kernel, and their reading.

At grading time a graded test cell's source is replaced by :func:`export_source`:
``kernel_export.py`` (a real file) and one call of its function, which writes the
values the cell's check needs as plain data, ``<grade id>.json`` (numbers, strings,
booleans, tagged sets, lists) and, for arrays such as the best classifier's ``W``,
``<grade id>.npz``. :class:`Exported` reads them back in the grader's process,
never through a symlink, and validates their types itself.
"""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np

from .topics import NOTEBOOK_CHECKS

MAX_EXPORT_BYTES = 4 * 2**20

# grade id -> (names exported as JSON, names exported as arrays {file key: expression}):
# the checks that depend on exercises are declared in grading/topics/ (NOTEBOOK_CHECKS).
EXPORTS = {
    **{c.grade_id: (list(c.exports), dict(c.arrays)) for c in NOTEBOOK_CHECKS},
    "knn_test_inline_q2": (["inline_question_2"], {}),
    "knn_test_inline_q3": (["inline_question_3"], {}),
    "svm_test_q1": (["q1_car_loss_after_small_change"], {}),
    "svm_test_q2": (["q2_min_loss", "q2_max_loss"], {}),
    "svm_test_q3": (["q3_initial_loss"], {}),
    "svm_test_q4": (["q4_change_in_loss"], {}),
    "svm_test_q5": (["q5_mean_instead_of_sum"], {}),
    "svm_test_q6": (["q6_squared_hinge_is_different"], {}),
    "svm_test_q7": (["q7_zero_loss_W_is_unique"], {}),
    "softmax_test_q1": (["q1_min_loss", "q1_max_loss"], {}),
    "softmax_test_q2": (["q2_initial_loss"], {}),
    "softmax_test_q3": (["q3_which_loss_changes"], {}),
    "softmax_test_inline_q2": (["inline_question_2"], {}),
}
# Functions of C are exported as their values at these C.
FUNCTION_POINTS = (3, 10, 7)

EXPORT_CODE = Path(__file__).with_name("kernel_export.py")  # a real file, linted and tested


def export_source(grade_id: str, export_dir: str | os.PathLike) -> str:
    """The code that replaces test cell ``grade_id`` at grading time: ``kernel_export.py``,
    then one call of its function on the notebook's globals."""
    names, arrays = EXPORTS[grade_id]
    export_dir = Path(export_dir)
    json_path = str(export_dir / f"{grade_id}.json")
    npz_path = str(export_dir / f"{grade_id}.npz")
    call = (
        "import builtins as _cs_loss_builtins\n"
        f"_cs_loss_export({names!r}, {arrays!r}, {json_path!r}, {npz_path!r}, "
        f"{FUNCTION_POINTS!r}, _cs_loss_builtins.globals())\n"
        "del _cs_loss_export, _cs_loss_builtins\n"
    )
    return EXPORT_CODE.read_text() + call


def _read_plain_file(path, limit):
    """The bytes of a regular file (never through a symlink, never more than ``limit``), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        return f.read(limit + 1)[:limit]


class Invalid(Exception):
    """An exported value is missing or not plain data of the expected type."""


def _decode(tagged):
    """Plain Python data from the exporter's tagged JSON; Invalid for anything else."""
    if tagged is None or type(tagged) in (bool, str):
        return tagged
    if type(tagged) is not dict or len(tagged) != 1:
        raise Invalid("a value of an unsupported type")
    ((tag, inner),) = tagged.items()
    if tag == "int" and type(inner) is str and len(inner) < 40:
        return int(inner)
    if tag == "float" and type(inner) is str and len(inner) < 40:
        return float(inner)
    if tag in ("list", "set") and type(inner) is list:
        items = [_decode(x) for x in inner]
        if tag == "set":
            if any(type(x) not in (int, str, bool) for x in items):
                raise Invalid("a set holding something other than numbers")
            return frozenset(items)
        return items
    if tag == "dict" and type(inner) is list:
        pairs = [(_decode(k), _decode(v)) for k, v in inner]
        return {(tuple(k) if type(k) is list else k): v for k, v in pairs}
    if tag == "function" and type(inner) is list:
        return {_decode(c) if type(c) is dict else c: _decode(v) for c, v in inner}
    if tag == "unsupported":
        raise Invalid(f"an object of type {str(inner)[:60]}")
    raise Invalid("a value of an unsupported type")


class Exported:
    """The values one test cell exported, read and validated by the grader."""

    def __init__(self, export_dir: str | os.PathLike, grade_id: str) -> None:
        self.grade_id = grade_id
        path = Path(export_dir) / f"{grade_id}.json"
        self.raw, self.arrays = {}, {}
        text = _read_plain_file(path, MAX_EXPORT_BYTES)
        self.ran = text is not None
        if text is not None:
            try:
                raw = json.loads(text.decode("utf-8", "replace"))
                self.raw = raw if type(raw) is dict else {}
            except (ValueError, RecursionError):
                self.raw = {}
        data = _read_plain_file(Path(export_dir) / f"{grade_id}.npz", 64 * MAX_EXPORT_BYTES)
        if data is not None:
            try:
                with np.load(io.BytesIO(data), allow_pickle=False) as saved:
                    self.arrays = {key: saved[key] for key in saved.files}
            except Exception:  # a corrupt or pickled file is no value
                self.arrays = {}

    def get(self, name: str) -> Any:
        """The plain value exported as ``name``; Invalid if missing or not plain data."""
        entry = self.raw.get(name)
        if type(entry) is not dict:
            raise Invalid(f"{name} was not set (this cell did not run, or an earlier cell failed)")
        if "error" in entry:
            raise Invalid(f"{name} could not be read: {str(entry['error'])[:200]}")
        try:
            return _decode(entry.get("value"))
        except (RecursionError, ValueError, TypeError, OverflowError) as exc:
            raise Invalid(f"{name} is not plain data ({type(exc).__name__})") from None
        except Invalid as exc:
            raise Invalid(f"{name} is {exc}") from None

    def number(self, name: str) -> float:
        """The value ``name`` as a float; Invalid unless it is an int or a float."""
        value = self.get(name)
        if type(value) not in (int, float):
            raise Invalid(f"{name} must be a number, got {kind(value)}")
        return float(value)

    def boolean(self, name: str) -> bool:
        """The value ``name``; Invalid unless it is True or False."""
        value = self.get(name)
        if type(value) is not bool:
            raise Invalid(f"{name} must be True or False, got {kind(value)}")
        return value

    def array(self, key: str, what: str) -> np.ndarray:
        """The exported array ``key`` (``what`` names it in a reason); Invalid if unusable."""
        if key not in self.arrays:
            raise Invalid(f"{what} could not be read (is the classifier trained?)")
        value = self.arrays[key]
        if value.dtype.kind not in "fiu":
            raise Invalid(f"{what} must be an array of numbers, got dtype {value.dtype}")
        return value


def kind(value: Any) -> str:
    """How a value's type is named in a reason: "a set", "a number", ..."""
    return {
        frozenset: "a set",
        list: "a list",
        dict: "a dict",
        str: "a string",
        type(None): "None",
        bool: "a bool",
        int: "a number",
        float: "a number",
    }.get(type(value), "another type")

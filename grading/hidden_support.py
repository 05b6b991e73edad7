"""What the hidden-test child needs besides the tests: limits, coercion, imports, errors.

Copied, with ``hidden_tests.py`` and ``proc_audit.py``, next to a copy of the
submission's ``cs_loss``; it imports numpy and the standard library only. A
student's value that a test cannot use becomes a :class:`StudentValueError` whose
message says what was returned and what was expected, in the student's terms.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import traceback
import types
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np


class StudentValueError(TypeError):
    """A student's function returned something the test cannot use; the message says what."""


# Time limits inside the child, so that a hang costs only what depends on it: a module that
# hangs at import costs the tests that need that module, a function that hangs costs its test.
# The reference imports in about 0.1 s and runs each test in well under 0.1 s.
IMPORT_SECONDS = 5
TEST_SECONDS = 5


class TimeLimit(BaseException):
    """An import or a test ran past its limit.

    A ``BaseException``, like ``KeyboardInterrupt``, so that ``except Exception`` in
    the student's code does not swallow it.
    """


@contextlib.contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise :class:`TimeLimit` in the block after ``seconds``, and every second after that."""
    active = [True]

    def stop(_signum, _frame):
        if active[0]:
            raise TimeLimit(
                f"{what} did not finish within {seconds} s (an endless loop, or a wait?)"
            )

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    finally:
        active[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def describe_value(value: Any) -> str:
    if value is None:
        return "None"
    array = np.asarray(value) if not isinstance(value, (str, bytes)) else None
    if array is not None and array.dtype.kind in "biuf":
        return f"an array of shape {array.shape} and dtype {array.dtype}"
    kind = type(value).__name__
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}, which is not numeric"


def as_number(value: Any, call: str, what: str = "loss") -> np.ndarray:
    """``value`` as a 0-d array, accepting what a reader would call a number.

    A Python number, a NumPy scalar or an array of size 1 (any float or int
    dtype) is a number; the dtype is kept, so the grader can allow float32 its
    own tolerance.
    """
    try:
        array = np.asarray(value)
    except Exception:
        array = np.asarray(None)
    if array.dtype.kind not in "biuf" or array.size != 1:
        raise StudentValueError(
            f"{call} returned {what} as {describe_value(value)}; expected a single number"
        )
    return array.reshape(())


def as_array(
    value: Any,
    call: str,
    what: str,
    shape: tuple,
    kinds: str = "biuf",
    description: str = "an array",
) -> np.ndarray:
    """``value`` as an array of ``shape``, or an error in the student's terms."""
    try:
        array = np.asarray(value)
    except Exception:
        array = np.asarray(None)
    if array.dtype.kind not in kinds or array.shape != tuple(shape):
        raise StudentValueError(
            f"{call} returned {what}{describe_value(value)}; expected {description} of shape "
            f"{tuple(shape)}"
        )
    return array


def as_labels(value: Any, call: str, num: int) -> np.ndarray:
    """Labels as integers: whole numbers stored as floats (``np.zeros(N)`` filled with votes)
    are labels too; any other float is named in the student's terms."""
    try:
        array = np.asarray(value)
    except Exception:
        array = None
    if array is not None and array.dtype.kind == "f" and array.shape == (num,):
        if np.all(np.isfinite(array)) and np.all(array == np.round(array)):
            return array.astype(np.int64)
    return as_array(value, call, "", (num,), "biu", "an array of integer labels")


def import_problems(modules: Iterable[str], import_errors: dict[str, str]) -> list[str]:
    """The import errors of ``modules`` (empty if they all imported)."""
    problems = []
    for name in modules:
        if name in import_errors and import_errors[name] not in problems:
            problems.append(import_errors[name])
    return problems


def import_package(modules: Iterable[str]) -> tuple[types.ModuleType, dict[str, str]]:
    """``import cs_loss``; if that fails, ``modules`` one by one (in import order, each
    exporting its public names onto the package), so a broken file costs only the tests
    that need it. Returns (package, {module: error})."""
    import importlib
    import types

    try:
        with time_limit(IMPORT_SECONDS, "import cs_loss"):
            import cs_loss

        return cs_loss, {}
    except BaseException:
        for name in [m for m in sys.modules if m == "cs_loss" or m.startswith("cs_loss.")]:
            del sys.modules[name]
    package = types.ModuleType("cs_loss")
    package.__path__ = [str(Path(__file__).resolve().parent / "cs_loss")]
    sys.modules["cs_loss"] = package
    errors = {}
    for module in modules:
        if not (Path(package.__path__[0]) / f"{module}.py").is_file():
            continue  # a module this version of the kit does not have
        try:
            with time_limit(IMPORT_SECONDS, "importing it"):
                loaded = importlib.import_module(f"cs_loss.{module}")
        except BaseException as exc:
            broken = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
            if broken and broken.startswith("cs_loss.") and broken.split(".")[1] in errors:
                errors[module] = (
                    f"cs_loss/{module}.py could not be imported, because "
                    f"cs_loss/{broken.split('.')[1]}.py could not"
                )
            else:
                errors[module] = (
                    f"cs_loss/{module}.py could not be imported: {type(exc).__name__}: {exc}"
                )
            # An empty stand-in: a module importing this one fails at once ("cannot import
            # name"), instead of running (and maybe hanging in) the broken file again.
            sys.modules[f"cs_loss.{module}"] = types.ModuleType(f"cs_loss.{module}")
            continue
        for attr in dir(loaded):
            if not attr.startswith("_"):
                setattr(package, attr, getattr(loaded, attr))
    return package, errors


def describe(exc: BaseException) -> str:
    """``Type: message (file:line)``, the line being the last one in the student's package."""
    frames = traceback.extract_tb(exc.__traceback__)
    student = [f for f in frames if "/cs_loss/" in f.filename.replace("\\", "/")]
    where = ""
    if student:
        where = f" (cs_loss/{Path(student[-1].filename).name}:{student[-1].lineno})"
    if isinstance(exc, StudentValueError):
        return f"{exc}"[:300] + where
    return f"{type(exc).__name__}: {exc}"[:300] + where

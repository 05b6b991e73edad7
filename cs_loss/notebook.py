"""Helpers for the assignment notebooks: reloading, data with a fallback, checks.

Nothing here prints: each helper returns the text for the notebook to show.

- :func:`enable_autoreload` and :func:`reload` make edits to ``cs_loss/*.py``
  visible without restarting the kernel (autoreload where IPython offers it,
  an explicit reload where it does not);
- :func:`describe` says which ``cs_loss`` is loaded and when it was edited;
- :func:`load_split` and :func:`load_raw` return CIFAR-10 when it is present
  (downloading it once where that is allowed) and the offline digits
  otherwise, with a message saying which;
- :func:`check` and :func:`check_close` turn a wrong result into a short
  ``AssertionError`` that says what is wrong and where to look;
- :func:`progress` is a progress bar on stdout (stderr output fails an
  nbgrader test cell), silent during grading.
"""

import importlib
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from . import data as _data

#: True while nbgrader executes the notebook (autograding): long cells shrink.
GRADING = bool(os.environ.get("NBGRADER_EXECUTION"))

# Reload order: a module after the modules it imports.
_MODULES = (
    "_validation",
    "data",
    "gradient_check",
    "home",
    "knn",
    "notebook",
    "softmax",
    "svm",
    "linear_classifier",
    "vis",
)


def enable_autoreload():
    """Turn on IPython's autoreload (mode 2); return True if it is on."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    try:
        if "autoreload" not in shell.extension_manager.loaded:
            shell.run_line_magic("load_ext", "autoreload")
        shell.run_line_magic("autoreload", "2")
    except Exception:  # an IPython without the extension: reload() still works
        return False
    return True


def configure_plots():
    """Inline plots in Jupyter and Colab; while grading, plots are made but never drawn.

    Drawing the figures is a third of a notebook's time during grading, and no
    grader looks at them.
    """
    import warnings

    import matplotlib

    if GRADING:
        matplotlib.use("agg")
        warnings.filterwarnings("ignore", message=".*non-interactive.*cannot be shown")
        return
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.run_line_magic("matplotlib", "inline")


def reload():
    """Re-import every ``cs_loss`` module from disk; returns :func:`describe`'s text.

    Objects made before the reload (a trained classifier, say) keep the old
    code; make them again after reloading.
    """
    import cs_loss

    for name in _MODULES:
        importlib.reload(
            sys.modules.get(f"cs_loss.{name}") or importlib.import_module(f"cs_loss.{name}")
        )
    importlib.reload(cs_loss)
    return describe()


def describe():
    """``cs_loss loaded from <folder>, last edited <time> (<file>)``."""
    folder = Path(__file__).resolve().parent
    newest = max(folder.glob("*.py"), key=lambda p: p.stat().st_mtime)
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(newest.stat().st_mtime))
    return f"cs_loss loaded from {folder}, last edited {when} ({newest.name})"


def _may_download():
    # Never during grading or CI (no network there); in Colab and local Jupyter, yes.
    return not (GRADING or os.environ.get("CI") or os.environ.get("CS_LOSS_OFFLINE"))


def ensure_cifar10():
    """Make CIFAR-10 available if it can be; return ``(available, message)``.

    While grading, the answer is always no: grading runs on the offline
    digits, which every grader has and which take seconds.
    """
    if GRADING:
        return False, "Grading: using the offline digits dataset."
    if _data.cifar10_available():
        return True, f"CIFAR-10 found in {_data.cifar10_dir()}."
    if not _may_download():
        return False, (
            f"CIFAR-10 not found in {_data.cifar10_dir()} and downloads are off here; "
            "using the offline digits dataset instead (the accuracy targets are for CIFAR-10)."
        )
    script = _data.KIT_DATA_DIR / "get_datasets.py"
    result = subprocess.run(
        [sys.executable, str(script), "--dest", str(_data.cifar10_dir().parent), "--retries", "2"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode == 0 and _data.cifar10_available():
        return True, f"CIFAR-10 downloaded to {_data.cifar10_dir()}."
    reason = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
    return False, (
        f"Could not download CIFAR-10 ({reason}); using the offline digits dataset instead. "
        f"Run `{_data.DOWNLOAD_COMMAND}` to try again."
    )


def load_split(num_training=49000, num_validation=1000, num_test=1000, num_dev=500, seed=0):
    """The standard preprocessed splits and a message saying which dataset.

    On CIFAR-10 the sizes are the standard ones, shrunk to what the copy at
    hand holds (a 10% sample has 5,000 training images: 4,000 train and 1,000
    validation); the offline digits use their own sizes.

    Returns
    -------
    data : dict
        As :func:`cs_loss.get_CIFAR10_data`.
    message : str
    """
    available, message = ensure_cifar10()
    if not available:
        return _data.get_digits_data(seed=seed), message
    data = _data.get_CIFAR10_data(
        num_training, num_validation, num_test, num_dev, seed=seed, fit_to_available=True
    )
    if len(data["y_train"]) < num_training:
        message += (
            f" This copy has {len(data['y_train']) + num_validation} training images, not 50000: "
            f"training on {len(data['y_train'])}, so expect lower accuracies than the full "
            "dataset gives."
        )
    return data, message


def load_raw():
    """Raw images (:func:`cs_loss.load_images`) and a message saying which dataset."""
    available, message = ensure_cifar10()
    return _data.load_images("cifar10" if available else "digits"), message


def check(condition, message):
    """Raise a short AssertionError with ``message`` unless ``condition`` holds."""
    if not condition:
        raise AssertionError(message)


def check_close(got, expected, what, hint="", rtol=1e-6, atol=0.0):
    """Check that ``got`` is close to ``expected`` (elementwise for arrays).

    When it is not, the message names the most likely cause it can see from
    the numbers (:func:`likely_cause`) before ``hint``.

    Parameters
    ----------
    got, expected : float or ndarray
        A single-element array counts as a number when ``expected`` is one.
    what : str
        What is being checked, for the message ("the SVM loss at W = 0").
    hint : str
        Where to look when it is wrong.
    """
    expected_arr = np.asarray(expected, dtype=np.float64)
    try:
        got_arr = np.asarray(got)
        if got_arr.dtype.kind not in "biuf":  # None, strings, objects
            raise TypeError
        got_arr = got_arr.astype(np.float64)
    except (TypeError, ValueError):
        wanted = "a number" if expected_arr.ndim == 0 else f"an array of shape {expected_arr.shape}"
        cause = "Does your function return its result? " if got is None else ""
        raise AssertionError(
            f"{what}: got {_shown_type(got)}, expected {wanted}. {cause}{hint}".strip()
        ) from None
    if expected_arr.ndim == 0 and got_arr.size == 1:
        got_arr = got_arr.reshape(())
    if got_arr.shape != expected_arr.shape:
        raise AssertionError(
            f"{what}: your result has shape {got_arr.shape}, expected shape "
            f"{expected_arr.shape}. {_shape_cause(got_arr.shape, expected_arr.shape)}{hint}".strip()
        )
    if not np.all(np.isfinite(got_arr)):
        raise AssertionError(f"{what}: got NaN or infinity. {hint}".strip())
    if not np.allclose(got_arr, expected_arr, rtol=rtol, atol=atol):
        if got_arr.ndim == 0:
            shown = f"{float(got_arr):.6g} instead of {float(expected_arr):.6g}"
        else:
            shown = f"largest difference {np.max(np.abs(got_arr - expected_arr)):.3g}"
        cause = likely_cause(got_arr, expected_arr)
        raise AssertionError(f"{what}: {shown}. {cause + ' ' if cause else ''}{hint}".strip())


def _shown_type(value):
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype}"
    return "None" if value is None else f"a {type(value).__name__}"


def _shape_cause(got_shape, expected_shape):
    if len(got_shape) == 2 and got_shape == expected_shape[::-1]:
        return "It is the transposed shape: check the order of a product or a missing .T. "
    if len(got_shape) > len(expected_shape) and got_shape[: len(expected_shape)] == expected_shape:
        return "It has an extra axis: a sum or a broadcast over the wrong axis? "
    return ""


def likely_cause(got, expected, rtol=1e-5):
    """A sentence naming the likely cause of ``got`` differing from ``expected``, or "".

    Two patterns are recognised, for arrays of the same shape (numbers too):
    ``got`` is (nearly exactly) an integer N >= 2 times ``expected`` -- the
    mean was not taken, so the sum is N times too large (for N >= 10 within
    0.1%, so that a small penalty term added after the mean does not hide
    it); and ``got`` equals ``expected**2`` -- the square root of a distance
    is missing.

    Parameters
    ----------
    got, expected : float or ndarray
    rtol : float
        How exact the pattern must hold.

    Returns
    -------
    str
    """
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape or not np.all(np.isfinite(got)):
        return ""
    nonzero = np.abs(expected) > 0
    if nonzero.any():
        ratio = float(np.median(got[nonzero] / expected[nonzero]))
        times = round(ratio)
        # A large N survives a small additive term (a penalty reg * sum(W**2), say).
        close = rtol if times < 10 else max(rtol, 1e-3)
        if (
            times >= 2
            and abs(ratio - times) <= close * times
            and np.allclose(got, times * expected, rtol=close, atol=0)
        ):
            if times == 2:
                return (
                    "Your value is 2 times the expected one: is a factor 2 counted twice, "
                    "or a division by N = 2 missing?"
                )
            return (
                f"Your value is {times} times the expected one: did you forget to divide "
                f"by N = {times}?"
            )
    # x**2 == x only for 0 and 1, so the pattern says something only if other values occur.
    informative = (np.abs(expected) > 1e-3) & (np.abs(np.abs(expected) - 1) > 1e-3)
    if informative.any() and np.allclose(got, expected**2, rtol=rtol, atol=0):
        return "Your values are the squares of the expected ones: did you forget the square root?"
    return ""


def progress(iterable, desc=None, total=None):
    """A text progress bar on stdout, or the bare iterable while grading."""
    if GRADING:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, file=sys.stdout, mininterval=1.0, ncols=80)

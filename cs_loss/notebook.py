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
    "_validation", "_blocks", "gradient_check", "svm", "softmax", "linear_classifier",
    "knn", "data", "vis", "notebook",
)  # fmt: skip


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
        importlib.reload(sys.modules.get(f"cs_loss.{name}") or importlib.import_module(f"cs_loss.{name}"))
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
        capture_output=True, text=True, check=False,
    )  # fmt: skip
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
    data = _data.get_CIFAR10_data(num_training, num_validation, num_test, num_dev, seed=seed,
                                  fit_to_available=True)  # fmt: skip
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

    Parameters
    ----------
    got, expected : float or ndarray
    what : str
        What is being checked, for the message ("the SVM loss at W = 0").
    hint : str
        Where to look when it is wrong.
    """
    got_arr = np.asarray(got, dtype=np.float64)
    expected_arr = np.asarray(expected, dtype=np.float64)
    if got_arr.shape != expected_arr.shape:
        raise AssertionError(
            f"{what}: expected shape {expected_arr.shape}, got {got_arr.shape}. {hint}".strip()
        )
    if not np.all(np.isfinite(got_arr)):
        raise AssertionError(f"{what}: got NaN or infinity. {hint}".strip())
    if not np.allclose(got_arr, expected_arr, rtol=rtol, atol=atol):
        worst = np.max(np.abs(got_arr - expected_arr))
        shown = f"{float(got):.6g} instead of {float(expected):.6g}" if got_arr.ndim == 0 else (
            f"largest difference {worst:.3g}"
        )  # fmt: skip
        raise AssertionError(f"{what}: {shown}. {hint}".strip())


def progress(iterable, desc=None, total=None):
    """A text progress bar on stdout, or the bare iterable while grading."""
    if GRADING:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, file=sys.stdout, mininterval=1.0, ncols=80)

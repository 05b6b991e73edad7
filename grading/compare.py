"""Compare a child's outputs with the expected values, within a stated tolerance.

A case's tolerance is declared with it (``Case.tolerance``, by default
:data:`grading.declare.TOLERANCE`): float64 results must match to rtol 1e-5 (plus an
absolute 1e-7 of the largest expected magnitude); float32 results, which carry only
about 7 digits, to rtol 1e-4 (absolute 1e-5 of the largest). The rtol is stated to
students in the feedback of a failing test.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .declare import TOLERANCE

Tolerance = dict[str, tuple[float, float]]


def close(got: ArrayLike, expected: np.ndarray, tolerance: Tolerance = TOLERANCE) -> bool:
    """True if ``got`` matches ``expected`` within the tolerance of got's precision."""
    got = np.asarray(got)
    if got.shape != expected.shape:
        return False
    if expected.dtype.kind in "iub" and got.dtype.kind in "iub":
        return bool(np.array_equal(got, expected))
    rtol, atol = tolerance["float32" if got.dtype == np.float32 else "float64"]
    got = got.astype(np.float64)
    if not np.isfinite(got).all():
        return False
    scale = max(float(np.max(np.abs(expected))), 1e-12) if expected.size else 1.0
    return bool(np.allclose(got, expected, rtol=rtol, atol=atol * scale))


def compare(got: ArrayLike, expected: np.ndarray, tolerance: Tolerance = TOLERANCE) -> str | None:
    """None if ``got`` matches ``expected``, else a reason that reveals no expected value."""
    got = np.asarray(got)
    if got.shape != expected.shape:
        return f"shape {got.shape}, expected {expected.shape}"
    if expected.dtype.kind in "iub":
        if not np.array_equal(got, expected):
            return f"{int(np.sum(got != expected))} of {expected.size} values differ"
        return None
    if got.dtype.kind in "f" and not np.isfinite(got).all():
        bad = "NaN" if np.isnan(got).any() else "infinity"
        return f"contains {bad} ({int(np.sum(~np.isfinite(got)))} of {got.size} values)"
    if not close(got, expected, tolerance):
        rtol = tolerance["float32" if got.dtype == np.float32 else "float64"][0]
        wrong = int(np.sum(~np.isclose(got.astype(np.float64), expected, rtol=rtol, atol=1e-12)))
        return (
            f"differs from the expected value ({max(wrong, 1)} of {expected.size} values, "
            f"beyond a relative tolerance of {rtol:g})"
        )
    return None

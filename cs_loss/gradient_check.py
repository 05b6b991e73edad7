"""Numerical gradients for checking analytic ones.

``f`` is a function of one array ``x`` that returns a scalar. Derivatives are
estimated with centred differences, ``(f(x + h e_i) - f(x - h e_i)) / (2h)``,
whose error shrinks like h**2 for a smooth f. Run checks in float64: in
float32 the rounding error of f is larger than the difference being measured.

A piecewise-linear f such as the hinge loss has kinks. When a kink lies
within h of the checked point, the centred difference averages the two
slopes on either side and disagrees with any analytic (sub)gradient. Such a
coordinate is flagged as a kink instead of being reported as a mismatch.
The test: the gap between the forward and the backward one-sided slopes is
about ``h * f''`` where f is smooth, so it halves when h halves; across a
kink it is the jump in slope, which does not shrink with h.
"""

from dataclasses import dataclass

import numpy as np

from ._validation import as_positive_int


def rel_error(a, b):
    """Largest relative error between two arrays (or scalars).

    ``max |a - b| / max(1e-8, |a| + |b|)``; the floor keeps coordinates where
    both values are (nearly) zero from dominating.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}.")
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def _check_point(x, h):
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            "x must be a floating-point ndarray (it is perturbed in place), got "
            f"{type(x).__name__}{' of dtype ' + str(x.dtype) if isinstance(x, np.ndarray) else ''}."
        )
    if not x.flags.writeable:
        raise ValueError("x must be writeable: it is perturbed in place and restored.")
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"h must be a finite step > 0, got {h}.")


def _one_sided(f, x, ix, h):
    """f at x[ix] - h, x[ix], x[ix] + h, with x[ix] restored afterwards."""
    old = x[ix]
    try:
        x[ix] = old + h
        f_plus = float(f(x))
        x[ix] = old - h
        f_minus = float(f(x))
    finally:
        x[ix] = old
    return f_minus, f_plus


def eval_numerical_gradient(f, x, h=1e-5):
    """Centred-difference gradient of ``f`` at ``x``, every coordinate.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``. It is called 2 * x.size times.
    x : ndarray, dtype=float
        The point; perturbed in place and restored before returning.
    h : float
        The step.

    Returns
    -------
    grad : ndarray of x's shape, dtype=float64
    """
    _check_point(x, h)
    grad = np.zeros(x.shape, dtype=np.float64)
    for ix in np.ndindex(x.shape):
        f_minus, f_plus = _one_sided(f, x, ix, h)
        grad[ix] = (f_plus - f_minus) / (2 * h)
    return grad


@dataclass
class GradCheckResult:
    """What :func:`grad_check_sparse` found.

    Attributes
    ----------
    indices : list of tuple
        The checked coordinates.
    numerical, analytic : ndarray of shape (num_checks,)
        The two derivative estimates at each coordinate.
    rel_errors : ndarray of shape (num_checks,)
        ``|numerical - analytic| / max(1e-8, |numerical| + |analytic|)``.
    kinks : ndarray of shape (num_checks,), dtype=bool
        True where f is not smooth within h of the point (see module
        docstring); those coordinates do not count against ``passed``.
    tol : float
        The largest relative error accepted at a smooth coordinate.
    """

    indices: list
    numerical: np.ndarray
    analytic: np.ndarray
    rel_errors: np.ndarray
    kinks: np.ndarray
    tol: float

    @property
    def passed(self):
        """True when every smooth coordinate has a relative error <= tol."""
        return bool(np.all(self.rel_errors[~self.kinks] <= self.tol))

    @property
    def max_rel_error(self):
        """The largest relative error over the smooth coordinates (0 if none)."""
        smooth = self.rel_errors[~self.kinks]
        return float(smooth.max()) if smooth.size else 0.0

    @property
    def verdict(self):
        """A one-line summary for a notebook."""
        num_kinks = int(self.kinks.sum())
        kinks = f"; {num_kinks} near a kink, not counted" if num_kinks else ""
        word = "PASS" if self.passed else "FAIL"
        return (
            f"{word}: max relative error {self.max_rel_error:.2e} over "
            f"{len(self.indices) - num_kinks} smooth coordinates (tol {self.tol:.0e}){kinks}"
        )

    def __str__(self):
        lines = [f"{'index':>14} {'numerical':>13} {'analytic':>13} {'rel error':>10}"]
        for ix, n, a, e, k in zip(
            self.indices, self.numerical, self.analytic, self.rel_errors, self.kinks
        ):
            note = "  kink within h: not comparable" if k else ""
            lines.append(f"{str(ix):>14} {n:13.6e} {a:13.6e} {e:10.2e}{note}")
        lines.append(self.verdict)
        return "\n".join(lines)


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=0, tol=1e-5):
    """Compare an analytic gradient with centred differences at random coordinates.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``.
    x : ndarray, dtype=float
        The point; perturbed in place and restored.
    analytic_grad : ndarray of x's shape
        The gradient to check.
    num_checks : int
        How many coordinates to sample (without replacement where possible).
    h : float
        The step.
    seed : int or numpy.random.Generator
        Chooses the coordinates; the same seed checks the same ones.
    tol : float
        The largest relative error accepted at a smooth coordinate.

    Returns
    -------
    GradCheckResult
        Per-coordinate values, relative errors, kink flags and a verdict;
        ``print(result)`` shows a table.
    """
    _check_point(x, h)
    analytic_grad = np.asarray(analytic_grad)
    if analytic_grad.shape != x.shape:
        raise ValueError(
            f"analytic_grad must have x's shape {x.shape}, got {analytic_grad.shape}."
        )
    num_checks = as_positive_int(num_checks, "num_checks")
    rng = np.random.default_rng(seed)
    flat = rng.choice(x.size, size=num_checks, replace=num_checks > x.size)
    indices = [tuple(int(i) for i in np.unravel_index(k, x.shape)) for k in flat]

    numerical = np.empty(num_checks)
    kinks = np.zeros(num_checks, dtype=bool)
    f_0 = float(f(x))
    # Slopes differing by less than this are rounding noise of f, not a kink.
    noise = 1e3 * np.finfo(np.float64).eps * max(abs(f_0), 1.0) / h
    for n, ix in enumerate(indices):
        f_minus, f_plus = _one_sided(f, x, ix, h)
        f_half_minus, f_half_plus = _one_sided(f, x, ix, h / 2)
        numerical[n] = (f_plus - f_minus) / (2 * h)
        gap = (f_plus - 2 * f_0 + f_minus) / h  # forward minus backward slope, step h
        gap_half = (f_half_plus - 2 * f_0 + f_half_minus) / (h / 2)  # the same, step h/2
        kinks[n] = abs(gap) > noise and abs(gap - 2 * gap_half) > 0.25 * abs(gap)
    analytic = np.array([float(analytic_grad[ix]) for ix in indices])
    rel_errors = np.abs(numerical - analytic) / np.maximum(
        1e-8, np.abs(numerical) + np.abs(analytic)
    )
    return GradCheckResult(indices, numerical, analytic, rel_errors, kinks, float(tol))

"""Numerical gradients for checking analytic ones.

``f`` is a function of one array ``x`` that returns a scalar. Derivatives are
estimated with centred differences, ``(f(x + h e_i) - f(x - h e_i)) / (2h)``,
whose error shrinks like h**2 for a smooth f. Checks run in float64
(:func:`grad_check_sparse` insists): in float32 the rounding error of f is
larger than the difference being measured.

How :func:`grad_check_sparse` decides, at each checked coordinate i
--------------------------------------------------------------------
It compares the analytic value ``g`` with three numbers measured at a step
``h``: the backward slope ``(f(x) - f(x - h e_i)) / h``, the forward slope
``(f(x + h e_i) - f(x)) / h`` and their mean, the centred difference.

1. **Match.** If the centred difference equals ``g`` within the relative
   tolerance ``tol`` (plus a bound on the rounding error of f, see below),
   the coordinate passes.
2. **Shrink.** Otherwise f may have a kink (the hinge of a margin crossing
   0) within h of the point: the centred difference then averages the slopes
   on both sides of the kink and matches no (sub)gradient. A kink at
   distance d from the point disappears from the step once the step is
   smaller than d, so the check retries with the steps h/10, h/100, ...
   (see "Rounding" for where it stops) and passes if a centred difference
   matches there.
3. **Kink.** If no step matched, the coordinate passes only if ``g`` lies
   between the two one-sided slopes at the smallest step tried (widened by
   the rounding bound and ``tol``): ``g`` is then a valid subgradient of f
   within the step, and the table says "kink within h". Otherwise it fails.

Why this never rejects a correct gradient of the SVM or softmax loss: both
losses (with the ``reg * sum(W**2)`` penalty) are convex in W, and for a
convex f every subgradient at x lies between the backward and the forward
slope, for any step and however many kinks lie within it. So a correct
gradient either matches (1, 2) or is accepted by 3, up to rounding, which
the bound covers.

Why it still catches wrong gradients: where f is smooth the two one-sided
slopes differ only by about ``step * f''`` (curvature, not a kink), so the
interval in 3 is narrow: at the smallest step (typically h/100 or h/1000)
it is 100 to 1000 times narrower than at h. A wrong gradient passes a
coordinate only if its error there is below ``tol`` (1, 2) or inside that
narrow interval (3); the
wrong gradients students write (a penalty term missing or halved, no
division by N, the true-class term missing, the sign flipped) are off by
far more at almost every coordinate. The earlier "does the gap halve when h
halves" test could not tell a kink at distance h/3 from curvature; this rule
needs no such test.

Rounding. f is a sum of many terms; each value carries a rounding error of
a few units of the last place of max|f|. The check allows
``eps_f = 256 * eps * max|f|`` (eps = 2.2e-16 in float64; 20 times the
largest error measured for the naive and vectorized losses on CIFAR-10)
for each value of f, i.e. ``eps_f / step`` on the centred difference. A smaller step
is tried only while this bound stays below ``tol`` times the values being
compared (so no step accepts more than about twice ``tol``), and at most
four times (down to h/10**4). Where the step cannot shrink below the
distance to the kinks (many kinks packed within the smallest step), the
check can only tell a wrong gradient by the interval of rule 3.

CS231n compatibility. ``eval_numerical_gradient(f, x, verbose, h)`` and
``grad_check_sparse(f, x, analytic_grad, num_checks, h)`` take CS231n's
arguments in CS231n's order. cs_loss never prints: with ``verbose=True`` the
per-coordinate lines CS231n prints go to the ``cs_loss.gradient_check``
logger at level INFO (``logging.basicConfig(level=logging.INFO)`` shows
them), and ``GradCheckResult.cs231n_lines()`` returns CS231n's lines
(``numerical: ... analytic: ..., relative error: ...``) as strings.
"""

import logging
from dataclasses import dataclass

import numpy as np

from ._validation import as_positive_int

logger = logging.getLogger(__name__)

#: Each retry divides the step by this; at most MAX_SHRINKS retries.
SHRINK = 10.0
MAX_SHRINKS = 4
#: The rounding error allowed for each value of f, in units of eps * max|f|.
ROUNDING_ULPS = 256.0


def rel_error(a, b):
    """Largest relative error between two arrays (or scalars).

    ``max |a - b| / max(1e-8, |a| + |b|)``; the floor keeps coordinates where
    both values are (nearly) zero from dominating.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}.")
    return float(np.max(_rel_errors(a, b)))


def _rel_errors(a, b):
    return np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))


def _check_point(x, h):
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            "x must be a floating-point ndarray (it is perturbed in place), got "
            f"{type(x).__name__}{' of dtype ' + str(x.dtype) if isinstance(x, np.ndarray) else ''}."
        )
    if not x.flags.writeable:
        raise ValueError("x must be writeable: it is perturbed in place and restored.")
    if isinstance(h, (bool, np.bool_)) or not np.isscalar(h) or not (np.isfinite(h) and h > 0):
        raise ValueError(f"h must be a finite step > 0, got {h!r}.")


def _check_verbose(verbose):
    if not isinstance(verbose, (bool, np.bool_)):
        raise TypeError(
            f"verbose must be True or False, got {type(verbose).__name__} {verbose!r}; "
            "pass the step by name, e.g. h=1e-5."
        )
    return bool(verbose)


def _one_sided(f, x, ix, h):
    """f at x[ix] - h and x[ix] + h, and the steps actually taken.

    ``x[ix] + h`` is rounded to x's dtype, so the step taken can differ from
    h when |x[ix]| is large; the differences divide by the step taken. x[ix]
    is restored afterwards.
    """
    old = x[ix]
    try:
        x[ix] = old + h
        step_plus = float(x[ix]) - float(old)
        f_plus = float(f(x))
        x[ix] = old - h
        step_minus = float(old) - float(x[ix])
        f_minus = float(f(x))
    finally:
        x[ix] = old
    if step_plus <= 0 or step_minus <= 0:
        raise ValueError(
            f"h={h!r} is too small for x{list(ix)} = {float(old)!r}: x + h rounds to x in "
            f"{x.dtype}; use a larger h."
        )
    return f_minus, f_plus, step_minus, step_plus


def eval_numerical_gradient(f, x, verbose=False, h=1e-5):
    """Centred-difference gradient of ``f`` at ``x``, every coordinate.

    Same signature as CS231n's ``eval_numerical_gradient``.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``. It is called 2 * x.size times.
    x : ndarray, dtype=float
        The point; perturbed in place and restored before returning.
    verbose : bool
        If True, log each coordinate and its derivative, as CS231n prints
        them (``(i, j) value``), to the ``cs_loss.gradient_check`` logger at
        level INFO; ``logging.basicConfig(level=logging.INFO)`` shows them.
        cs_loss never prints.
    h : float
        The step.

    Returns
    -------
    grad : ndarray of x's shape, dtype=float64
    """
    _check_point(x, h)
    verbose = _check_verbose(verbose)
    grad = np.zeros(x.shape, dtype=np.float64)
    for ix in np.ndindex(x.shape):
        f_minus, f_plus, step_minus, step_plus = _one_sided(f, x, ix, h)
        grad[ix] = (f_plus - f_minus) / (step_plus + step_minus)
        if verbose:
            logger.info("%s %s", ix, grad[ix])
    return grad


@dataclass
class GradCheckResult:
    """What :func:`grad_check_sparse` found.

    Attributes
    ----------
    indices : list of tuple
        The checked coordinates.
    numerical : ndarray of shape (num_checks,)
        The centred difference at the step that decided each coordinate.
    analytic : ndarray of shape (num_checks,)
        The analytic gradient at each coordinate.
    rel_errors : ndarray of shape (num_checks,)
        ``|numerical - analytic| / max(1e-8, |numerical| + |analytic|)``.
    kinks : ndarray of shape (num_checks,), dtype=bool
        True where no centred difference matched but the analytic value lies
        between the one-sided slopes: f has a kink within the step and the
        analytic value is a valid subgradient (see the module docstring).
        These coordinates pass; their relative error does not count.
    tol : float
        The largest relative error accepted by a centred difference.
    steps : ndarray of shape (num_checks,), optional
        The step that decided each coordinate (h, h/10, h/100, ...).
    slopes : ndarray of shape (num_checks, 2), optional
        The backward and forward slopes at that step.
    ok : ndarray of shape (num_checks,), dtype=bool, optional
        Whether each coordinate passed; by default ``rel_errors <= tol`` or
        a kink.
    h : float, optional
        The first step.
    """

    indices: list
    numerical: np.ndarray
    analytic: np.ndarray
    rel_errors: np.ndarray
    kinks: np.ndarray
    tol: float
    steps: np.ndarray = None
    slopes: np.ndarray = None
    ok: np.ndarray = None
    h: float = None

    def __post_init__(self):
        if self.ok is None:
            self.ok = (self.rel_errors <= self.tol) | self.kinks
        if self.steps is None:
            self.steps = np.full(len(self.indices), np.nan)
        if self.slopes is None:
            self.slopes = np.column_stack([self.numerical, self.numerical])
        if self.h is None:
            self.h = float(np.max(self.steps)) if len(self.steps) else float("nan")

    @property
    def passed(self):
        """True when every checked coordinate passed."""
        return bool(np.all(self.ok))

    @property
    def max_rel_error(self):
        """The largest relative error over the coordinates not accepted as kinks (0 if none)."""
        counted = self.rel_errors[~self.kinks]
        return float(counted.max()) if counted.size else 0.0

    @property
    def verdict(self):
        """A one-line summary for a notebook."""
        num_kinks = int(self.kinks.sum())
        num_failed = int(np.sum(~self.ok))
        counted = len(self.indices) - num_kinks
        kinks = (
            f"; {num_kinks} with a kink within the step, analytic value between the "
            "one-sided slopes"
            if num_kinks
            else ""
        )
        if num_failed:
            return (
                f"FAIL: {num_failed} of {len(self.indices)} coordinates do not match; max "
                f"relative error {self.max_rel_error:.2e} (tol {self.tol:.0e}){kinks}"
            )
        return (
            f"PASS: max relative error {self.max_rel_error:.2e} over {counted} "
            f"coordinates (tol {self.tol:.0e}){kinks}"
        )

    def _note(self, n):
        lo, hi = sorted(self.slopes[n])
        between = f"one-sided slopes [{lo:.6e}, {hi:.6e}]"
        if self.kinks[n]:
            return f"kink within h: analytic value is between the {between}"
        if not self.ok[n]:
            return f"FAIL ({between} at step {self.steps[n]:.0e})"
        if self.steps[n] < self.h:
            return f"no match at step h; matches at the smaller step {self.steps[n]:.0e}"
        return ""

    def cs231n_lines(self):
        """The per-coordinate lines CS231n's ``grad_check_sparse`` prints.

        Returns
        -------
        lines : list of str
            ``"numerical: %f analytic: %f, relative error: %e"`` for each
            checked coordinate; ``print("\\n".join(result.cs231n_lines()))``.
        """
        return [
            f"numerical: {n:f} analytic: {a:f}, relative error: {e:e}"
            for n, a, e in zip(self.numerical, self.analytic, self.rel_errors, strict=False)
        ]

    def __str__(self):
        lines = [f"{'index':>14} {'numerical':>13} {'analytic':>13} {'rel error':>10} {'step':>6}"]
        for n, ix in enumerate(self.indices):
            note = self._note(n)
            lines.append(
                f"{str(ix):>14} {self.numerical[n]:13.6e} {self.analytic[n]:13.6e} "
                f"{self.rel_errors[n]:10.2e} {self.steps[n]:6.0e}" + (f"  {note}" if note else "")
            )
        lines.append(self.verdict)
        return "\n".join(lines)


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=0, tol=1e-5, verbose=False):
    """Compare an analytic gradient with numerical ones at random coordinates.

    At each coordinate: pass if the centred difference matches within
    ``tol``; else retry with the steps h/10, h/100, ... while rounding allows
    (a kink at distance d leaves the step once the step is below d); if
    none matches, pass only
    if the analytic value lies between the backward and forward slopes
    (f has a kink within the step and the value is a valid subgradient),
    else fail. The module docstring explains why a correct gradient of a
    convex loss (SVM, softmax) always passes and a wrong one fails.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``. Called once, then 2 to 6 times per coordinate.
    x : ndarray, dtype=float64
        The point; perturbed in place and restored.
    analytic_grad : ndarray of x's shape
        The gradient to check.
    num_checks : int
        How many coordinates to sample (without replacement where possible).
    h : float
        The first step.
    seed : int or numpy.random.Generator
        Chooses the coordinates; the same seed checks the same ones.
    tol : float
        The largest relative error accepted by a centred difference.
    verbose : bool
        If True, also log CS231n's line for each coordinate
        (``numerical: %f analytic: %f, relative error: %e``) to the
        ``cs_loss.gradient_check`` logger at level INFO.
        ``result.cs231n_lines()`` returns the same lines.

    Returns
    -------
    GradCheckResult
        Per-coordinate values, relative errors, the deciding step, kink flags
        and a verdict; ``print(result)`` shows a table.

    Raises
    ------
    TypeError
        If x is not float64 (or wider), or verbose is not a bool.
    ValueError
        If analytic_grad's shape differs from x's, or h, num_checks or tol
        is out of range.
    """
    _check_point(x, h)
    if np.finfo(x.dtype).eps > np.finfo(np.float64).eps:
        raise TypeError(
            f"x must be float64 for a gradient check, got {x.dtype}: in lower precision the "
            "rounding error of f is larger than the differences measured. Check a float64 "
            "copy, e.g. W.astype(np.float64), with X in float64 too."
        )
    verbose = _check_verbose(verbose)
    analytic_grad = np.asarray(analytic_grad)
    if analytic_grad.shape != x.shape:
        raise ValueError(f"analytic_grad must have x's shape {x.shape}, got {analytic_grad.shape}.")
    num_checks = as_positive_int(num_checks, "num_checks")
    if not (np.isscalar(tol) and np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a finite relative error > 0, got {tol!r}.")
    tol = float(tol)
    rng = np.random.default_rng(seed)
    flat = rng.choice(x.size, size=num_checks, replace=num_checks > x.size)
    indices = [tuple(int(i) for i in np.unravel_index(k, x.shape)) for k in flat]
    eps = float(np.finfo(x.dtype).eps)

    numerical = np.empty(num_checks)
    analytic = np.array([float(analytic_grad[ix]) for ix in indices])
    steps = np.empty(num_checks)
    slopes = np.empty((num_checks, 2))
    ok = np.zeros(num_checks, dtype=bool)
    kinks = np.zeros(num_checks, dtype=bool)
    f_0 = float(f(x))
    for n, ix in enumerate(indices):
        g = analytic[n]
        step = float(h)
        for _ in range(MAX_SHRINKS + 1):
            f_minus, f_plus, step_minus, step_plus = _one_sided(f, x, ix, step)
            # Rounding bound for each value of f (module docstring, "Rounding").
            eps_f = ROUNDING_ULPS * eps * max(abs(f_0), abs(f_minus), abs(f_plus))
            centred = (f_plus - f_minus) / (step_plus + step_minus)
            centred_noise = 2 * eps_f / (step_plus + step_minus)
            numerical[n], steps[n] = centred, step
            slopes[n] = (f_0 - f_minus) / step_minus, (f_plus - f_0) / step_plus
            allowed = tol * (abs(centred) + abs(g))
            if abs(centred - g) <= allowed + centred_noise:
                ok[n] = True
                break
            # A smaller step only while its rounding bound stays within tol.
            if centred_noise * SHRINK > allowed:
                break
            step /= SHRINK
        if not ok[n]:
            # No centred difference matched: a valid subgradient at a kink lies
            # between the one-sided slopes (exactly so for a convex f).
            lo, hi = slopes[n].min(), slopes[n].max()
            margin = 2 * eps_f / min(step_minus, step_plus) + tol * (abs(lo) + abs(hi))
            kinks[n] = ok[n] = lo - margin <= g <= hi + margin
    rel_errors = _rel_errors(numerical, analytic)
    result = GradCheckResult(
        indices, numerical, analytic, rel_errors, kinks, tol, steps, slopes, ok, float(h)
    )
    if verbose:
        for line in result.cs231n_lines():
            logger.info(line)
    return result

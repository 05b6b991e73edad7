"""Does the gradient checker pass every correct gradient and fail every wrong one?

The proof at the end (issue: "a gradient check that never cries wolf") runs
the reference SVM and softmax losses of cs_loss as f over many draws on the
CIFAR-10 sample and on synthetic CIFAR-like data with many margins within
the step of 0: a correct gradient never gets FAIL, and each of five wrong
gradients (written here, as a student would) gets FAIL in every draw.
"""

import logging
import os
import re
from pathlib import Path

import numpy as np
import pytest

import cs_loss
from cs_loss import eval_numerical_gradient, grad_check_sparse, rel_error
from cs_loss.gradient_check import GradCheckResult

H = 1e-5  # the default step


def relu(v):
    return np.maximum(0.0, v)


# --- numerical gradients -------------------------------------------------------


def test_numerical_gradient_of_a_quadratic(rng):
    A = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    grad = eval_numerical_gradient(lambda v: v @ A @ v, x)
    np.testing.assert_allclose(grad, (A + A.T) @ x, rtol=1e-7)


def test_point_is_restored(rng):
    x = rng.standard_normal((3, 2))
    before = x.copy()
    eval_numerical_gradient(lambda v: np.sum(v**3), x)
    grad_check_sparse(lambda v: np.sum(v**3), x, 3 * x**2, num_checks=4)
    grad_check_sparse(lambda v: np.sum(np.abs(v)), x, 3 * x**2, num_checks=4)  # fails, shrinks
    np.testing.assert_array_equal(x, before)


def test_cs231n_signature_and_verbose_logs_each_coordinate(rng, caplog):
    """CS231n calls eval_numerical_gradient(f, x, verbose, h); verbose logs, never prints."""
    x = rng.standard_normal((2, 3))
    with caplog.at_level(logging.INFO, logger="cs_loss.gradient_check"):
        grad = eval_numerical_gradient(lambda v: np.sum(v**2), x, True, 1e-6)
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-8)
    assert len(caplog.records) == x.size
    assert caplog.records[0].getMessage() == f"(0, 0) {grad[0, 0]}"
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="cs_loss.gradient_check"):
        eval_numerical_gradient(lambda v: np.sum(v**2), x, False)
    assert not caplog.records


def test_cs231n_lines_for_each_checked_coordinate(rng, caplog):
    x = rng.standard_normal((5, 3))
    with caplog.at_level(logging.INFO, logger="cs_loss.gradient_check"):
        result = grad_check_sparse(lambda v: np.sum(np.sin(v)), x, np.cos(x), 4, verbose=True)
    lines = result.cs231n_lines()
    assert [r.getMessage() for r in caplog.records] == lines
    pattern = r"numerical: -?\d+\.\d{6} analytic: -?\d+\.\d{6}, relative error: \d\.\d{6}e[-+]\d\d"
    assert len(lines) == 4 and all(re.fullmatch(pattern, line) for line in lines)
    number = float(lines[0].split()[1])
    assert number == pytest.approx(result.numerical[0], abs=1e-6)


# --- the decision rule, one coordinate at a time -------------------------------


def test_correct_gradient_passes_and_wrong_one_fails(rng):
    x = rng.standard_normal((5, 3))
    good = grad_check_sparse(lambda v: np.sum(np.sin(v)), x, np.cos(x), num_checks=8, seed=0)
    bad = grad_check_sparse(lambda v: np.sum(np.sin(v)), x, 1.01 * np.cos(x), num_checks=8, seed=0)
    assert good.passed and good.max_rel_error < 1e-8
    assert not bad.passed and bad.rel_errors.shape == (8,)
    assert "FAIL" in bad.verdict and "PASS" in good.verdict
    assert "FAIL" in str(bad) and not bad.kinks.any()


def test_kink_closer_than_the_smallest_step_passes_as_a_subgradient():
    """|x| checked at 1e-12, closer to its kink at 0 than any step, against its subgradient."""
    x = np.array([1e-12, 2.0, -3.0])
    result = grad_check_sparse(lambda v: np.sum(np.abs(v)), x, np.sign(x), num_checks=3, seed=0)
    by_index = dict(zip([ix[0] for ix in result.indices], result.kinks, strict=False))
    assert by_index == {0: True, 1: False, 2: False}
    assert result.passed
    assert "kink within h: analytic value is between the one-sided slopes" in str(result)
    assert "1 with a kink" in result.verdict


@pytest.mark.parametrize("distance", [H / 3, 0.3 * H, H / 2, 0.9 * H, H / 30])
def test_kink_at_a_fraction_of_h_is_resolved_by_a_smaller_step(distance):
    """The halving test could not see a kink at h/3 (its gap test vanishes there)."""

    def f(v):
        return float(relu(v[0] + distance))  # kink at -distance, slope 1 at 0

    result = grad_check_sparse(f, np.zeros(1), np.ones(1), num_checks=1)
    assert result.passed, str(result)
    assert result.steps[0] < distance and not result.kinks[0]
    assert result.rel_errors[0] < 1e-9
    assert "matches at the smaller step" in str(result)
    wrong = grad_check_sparse(f, np.zeros(1), np.array([0.5]), num_checks=1)
    assert not wrong.passed, str(wrong)


@pytest.mark.parametrize("distance", [H / 3, H / 2, 1e-3 * H, 0.0])
def test_svm_with_a_margin_crossing_0_within_h(rng, distance):
    """The issue's case: a hinge of the reference SVM bends at distance h/3 from W."""
    N, D, C = 4, 6, 3
    X = rng.standard_normal((N, D)) * 50  # (N, D)
    y = np.array([0, 1, 2, 0])
    scores = rng.standard_normal((N, C)) * 0.3  # (N, C), the target X @ W
    # Margin (n=0, j=1) reaches 0 when W[2, 1] grows by `distance`.
    scores[0, 1] = scores[0, 0] - 1 - distance * X[0, 2]
    W = np.linalg.lstsq(X, scores, rcond=None)[0]  # (D, C), X @ W = scores

    def f(w):
        return cs_loss.svm_loss_vectorized(w, X, y, 0.0)[0]

    dW = cs_loss.svm_loss_vectorized(W, X, y, 0.0)[1]
    result = grad_check_sparse(f, W, dW, num_checks=W.size, seed=0)  # every coordinate
    assert result.passed, str(result)
    row = result.indices.index((2, 1))
    assert result.steps[row] < H or result.kinks[row], str(result)
    # The hinge's slope jump is |X[0, 2]| / N. Off W, a fifth of it is wrong; at
    # the kink (distance 0) anything within the jump is a subgradient, beyond is wrong.
    jump = abs(X[0, 2]) / N
    for error in [0.2 * jump, -0.2 * jump] if distance else [1.5 * jump, -1.5 * jump]:
        wrong = dW.copy()
        wrong[2, 1] += error
        result = grad_check_sparse(f, W, wrong, num_checks=W.size, seed=0)
        assert not result.passed and not result.ok[row], str(result)


def test_at_the_kink_every_subgradient_passes_and_nothing_else():
    def f(v):
        return float(np.sum(np.abs(v)))

    for g in [-1.0, -0.3, 0.0, 0.999, 1.0]:
        assert grad_check_sparse(f, np.zeros(1), np.array([g]), num_checks=1).passed
    for g in [-1.01, 1.01, 2.0]:
        result = grad_check_sparse(f, np.zeros(1), np.array([g]), num_checks=1)
        assert not result.passed and not result.kinks.any(), str(result)


def test_many_hinges_crossing_within_the_step(rng):
    """Sum of hinges whose kinks lie at random points within +-h (5 within +-1e-12) of x."""
    offsets = np.concatenate([rng.uniform(-H, H, 40), rng.uniform(-1e-12, 1e-12, 5)])
    weights = rng.uniform(0.1, 2.0, offsets.size)

    def f(v):
        return float(weights @ relu(v[0] - offsets))

    x = np.zeros(1)
    slope_left, slope_right = weights[offsets < 0].sum(), weights[offsets <= 0].sum()
    for g in [slope_left, slope_right, 0.5 * (slope_left + slope_right)]:
        result = grad_check_sparse(f, x, np.array([g]), num_checks=1)
        assert result.passed and result.kinks[0], str(result)
    # The slopes just outside the smallest step bound the values the check may accept.
    outside = offsets < -result.steps[0]
    assert outside.sum() >= 20  # the step shrank below most kinks
    too_small = weights[outside].sum() - 0.01
    assert not grad_check_sparse(f, x, np.array([too_small]), num_checks=1).passed


def test_a_wrong_gradient_cannot_hide_in_the_curvature_of_a_smooth_f():
    """f = a/2 x**2 with a large a: one-sided slopes at step h differ by h*a.

    A wrong value inside that interval (a quarter of the gap off) must fail:
    f is smooth, so the centred difference must match.
    """
    a = 5e4  # the curvature 2 * reg of the penalty at reg = 2.5e4

    def f(v):
        return 0.5 * a * float(v @ v)

    x = np.array([1e-4, -2e-4, 3e-4])
    assert grad_check_sparse(f, x, a * x, num_checks=3).passed
    wrong = a * x + 0.25 * H * a
    result = grad_check_sparse(f, x, wrong, num_checks=3)
    assert not result.passed and not result.kinks.any(), str(result)
    at_h = np.array([(f(x + H * e) - f(x)) / H for e in np.eye(3)])
    assert np.all(np.abs(wrong - a * x) < np.abs(at_h - a * x))  # it was inside the interval


def test_rounding_of_a_large_f_is_not_a_mismatch(rng):
    """f ~ 1e5 (a mean over many rows): its rounding must not count against a correct gradient."""
    A = rng.standard_normal((200, 6)) * 300.0

    def f(v):
        return float(np.mean((A @ v) ** 2) + np.sum(np.abs(v)))

    x = rng.standard_normal(6)
    g = 2 * A.T @ (A @ x) / A.shape[0] + np.sign(x)
    assert f(x) > 1e4
    for seed in range(5):
        result = grad_check_sparse(f, x, g, num_checks=6, seed=seed)
        assert result.passed, str(result)


def test_same_seed_checks_same_coordinates(rng):
    x = rng.standard_normal((6, 6))
    a = grad_check_sparse(np.sum, x, np.ones_like(x), num_checks=5, seed=3)
    b = grad_check_sparse(np.sum, x, np.ones_like(x), num_checks=5, seed=3)
    assert a.indices == b.indices


def test_result_built_from_the_original_fields_still_works():
    result = GradCheckResult(
        [(0,), (1,)],
        np.array([1.0, 2.0]),
        np.array([1.0, 3.0]),
        np.array([0.0, 0.2]),
        np.array([False, False]),
        1e-5,
    )
    assert not result.passed and result.max_rel_error == pytest.approx(0.2)
    assert "FAIL" in str(result)


def test_rel_error():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0
    assert rel_error(1.0, 3.0) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="same shape"):
        rel_error(np.zeros(2), np.zeros(3))


def test_bad_arguments():
    with pytest.raises(TypeError, match="x must be a floating-point ndarray"):
        eval_numerical_gradient(np.sum, [1.0, 2.0])
    with pytest.raises(ValueError, match="analytic_grad must have x's shape"):
        grad_check_sparse(np.sum, np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="h must be a finite step > 0"):
        eval_numerical_gradient(np.sum, np.zeros(3), h=0)
    with pytest.raises(TypeError, match="verbose must be True or False, got float 1e-06"):
        eval_numerical_gradient(np.sum, np.zeros(3), 1e-6)
    with pytest.raises(ValueError, match="tol must be a finite relative error > 0"):
        grad_check_sparse(np.sum, np.zeros(3), np.zeros(3), tol=0)
    with pytest.raises(ValueError, match=r"h=1e-10 is too small for x\[0\] = 1e\+20"):
        eval_numerical_gradient(np.sum, np.array([1e20]), h=1e-10)


# --- the proof on the losses ---------------------------------------------------
#
# f is always a cs_loss reference loss (whatever its implementation); the
# gradients checked against it are the reference's own and the ones below,
# written independently in textbook form, correct or with one mistake.

MISTAKES = ("reg_missing", "reg_halved", "not_averaged", "true_class_missing", "sign_flipped")
REG_MISTAKES = ("reg_missing", "reg_halved")  # only wrong when reg > 0
REGS = (0.0, 5e1, 2.5e4)


def textbook_data_gradient(loss, W, X, y, true_class_term=True):
    """``X.T @ dscores`` of the SVM or softmax loss: dW's data term before averaging, (D, C)."""
    num_train = X.shape[0]
    rows = np.arange(num_train)
    scores = X @ W  # (N, C)
    if loss == "svm":
        margins = scores - scores[rows, y][:, None] + 1  # (N, C)
        margins[rows, y] = 0
        dscores = (margins > 0).astype(np.float64)  # (N, C)
        if true_class_term:
            dscores[rows, y] = -dscores.sum(axis=1)
    else:
        shifted = scores - scores.max(axis=1, keepdims=True)
        dscores = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)  # (N, C)
        if true_class_term:
            dscores[rows, y] -= 1
    return X.T @ dscores  # (D, C)


def textbook_gradient(loss, W, X, y, reg, mistake=None, data_terms=None):
    """dW of the SVM or softmax loss, correct or with one student mistake.

    ``data_terms`` (optional) holds :func:`textbook_data_gradient` at this (loss, W, X, y)
    by ``true_class_term``: the draws of one point share it over regs, seeds and mistakes.
    """
    data_terms = {} if data_terms is None else data_terms
    true_class_term = mistake != "true_class_missing"
    if true_class_term not in data_terms:
        data_terms[true_class_term] = textbook_data_gradient(loss, W, X, y, true_class_term)
    dW = data_terms[true_class_term].copy()  # (D, C)
    if mistake != "not_averaged":
        dW /= X.shape[0]
    dW += {"reg_missing": 0.0, "reg_halved": reg}.get(mistake, 2 * reg) * W
    return -dW if mistake == "sign_flipped" else dW


LOSSES = {
    "svm": (cs_loss.svm_loss_naive, cs_loss.svm_loss_vectorized),
    "softmax": (cs_loss.softmax_loss_naive, cs_loss.softmax_loss_vectorized),
}


class DataLoss:
    """The reference loss at reg = 0 and ``np.sum(w * w)``, remembered by the bytes of w.

    The draws of one data set share W, X and y over the three regs and both
    seeds, and all their checks evaluate f at the same perturbed points, so
    the expensive part (X @ W and the reference's own dW) is computed once
    per point for all of them; so are the textbook gradients' data terms
    (``textbook_terms``). Only the latest point set is kept.
    """

    def __init__(self, loss, W, X, y):
        self.loss, self.W, self.X, self.y, self.values = loss, W, X, y, {}
        self.textbook_terms = {}

    def __call__(self, w):
        key = w.tobytes()
        if key not in self.values:
            self.values[key] = self.loss(w, self.X, self.y, 0.0)[0], np.sum(w * w)
        return self.values[key]


class Memo:
    """f(w) = the reference loss at reg, built from the shared data loss.

    The references return ``data_loss + reg * np.sum(W * W)``, so adding the
    penalty to the value at reg = 0 gives f's value to the last bit:
    :meth:`assert_is_the_reference` checks that at the draw's point, so f
    stays the reference loss itself, rounding included.
    """

    def __init__(self, data_loss, reg):
        self.data_loss, self.reg = data_loss, reg

    def __call__(self, w):
        data_loss, sum_of_squares = self.data_loss(w)
        return float(data_loss + self.reg * sum_of_squares)

    def assert_is_the_reference(self, W, value):
        """``value`` is the reference's own loss at W and this reg."""
        assert self(W) == value, f"composed f {self(W)!r} != reference {value!r}"


def run_draws(draws, num_mistake_draws=None):
    """Check the correct and the wrong gradients over ``draws``.

    Each draw is (name, loss, W, X, y, reg, seed, use_naive). Returns the
    false alarms, the wrong gradients that passed, and totals of how each
    coordinate was decided (so a test can assert the hard cases occurred).
    """
    false_alarms, missed = [], []
    counts = {"draws": 0, "mistake_checks": 0, "kinks": 0, "smaller_step": 0}
    data_losses = {}  # (loss, id(W), id(X), id(y)) -> DataLoss, which holds W, X and y
    for k, (name, loss, W, X, y, reg, seed, use_naive) in enumerate(draws):
        naive, vectorized = LOSSES[loss]
        key = (loss, id(W), id(X), id(y))
        if key not in data_losses:  # a new point: forget the data losses of the last one
            data_losses = {old: d for old, d in data_losses.items() if old[1:] == key[1:]}
            data_losses[key] = DataLoss(vectorized, W, X, y)
        f = Memo(data_losses[key], reg)
        terms = data_losses[key].textbook_terms
        value, reference_dW = vectorized(W, X, y, reg)
        f.assert_is_the_reference(W, value)
        correct = {
            "reference": naive(W, X, y, reg)[1] if use_naive else reference_dW,
            "textbook": textbook_gradient(loss, W, X, y, reg, data_terms=terms),
        }
        for label, dW in correct.items():
            result = grad_check_sparse(f, W, dW, num_checks=10, seed=seed)
            counts["kinks"] += int(result.kinks.sum())
            counts["smaller_step"] += int(np.sum(result.steps < H))
            if not result.passed:
                false_alarms.append(f"{name} {loss} reg={reg} {label}:\n{result}")
        counts["draws"] += 1
        if num_mistake_draws is not None and k >= num_mistake_draws:
            continue
        for mistake in MISTAKES:
            if mistake in REG_MISTAKES and reg == 0:
                continue
            dW = textbook_gradient(loss, W, X, y, reg, mistake, data_terms=terms)
            result = grad_check_sparse(f, W, dW, num_checks=10, seed=seed)
            counts["mistake_checks"] += 1
            if result.passed:
                missed.append(f"{name} {loss} reg={reg} {mistake}:\n{result}")
    return false_alarms, missed, counts


def assert_proof(false_alarms, missed, counts):
    assert not false_alarms, f"{len(false_alarms)} correct gradients failed:\n" + "\n".join(
        false_alarms[:3]
    )
    assert not missed, f"{len(missed)} wrong gradients passed:\n" + "\n".join(missed[:3])


@pytest.fixture(scope="module")
def cifar_rows():
    """CIFAR-10 training images as uint8 rows and labels, with the mean image (float64)."""
    folder = os.environ.get("CIFAR10_DIR")
    if not folder or not (Path(folder) / "data_batch_1").is_file():
        pytest.skip(
            "CIFAR-10 is not available: set CIFAR10_DIR to a cifar-10-batches-py folder "
            "(CI points it at the shared 10% sample)."
        )
    X_train, y_train, _, _ = cs_loss.load_CIFAR10(folder)
    rows = X_train.reshape(X_train.shape[0], -1)  # (num_train, 3072), uint8
    return rows, y_train, rows.mean(axis=0, dtype=np.float64)


def cifar_draws(cifar_rows, num_subsets, checks_per_subset, losses=("svm", "softmax")):
    """Dev subsets of 500 preprocessed rows (float64, mean-subtracted, bias), W = 1e-4 randn."""
    rows, labels, mean_image = cifar_rows
    for subset in range(num_subsets):
        rng = np.random.default_rng(subset)
        idx = rng.choice(rows.shape[0], 500, replace=False)
        X = rows[idx] - mean_image  # (500, 3072)
        X = np.hstack([X, np.ones((X.shape[0], 1))])  # (500, 3073), the bias trick
        y = labels[idx]
        W = 0.0001 * rng.standard_normal((X.shape[1], 10))  # (3073, 10)
        for loss in losses:
            for reg in REGS:
                for seed in range(checks_per_subset):
                    use_naive = seed == 0 and subset % 8 == 0
                    yield f"cifar subset {subset} seed {seed}", loss, W, X, y, reg, seed, use_naive


def synthetic_draws(num_sets, num_points, checks_per_point, losses=("svm", "softmax")):
    """CIFAR-like X (500 x 3072 pixels of std 60, plus the bias) and W placed so that
    a fifth of the margins lie within +-5e-4 of 0: a step of h = 1e-5 in one
    weight moves a score by h * X[n, i], about 6e-4, so about 60 hinges cross
    within h at every coordinate, about 6 within h/10, about 0.6 within h/100
    (CIFAR-10 at W = 1e-4 randn has about 0.1 within h).
    """
    N, D, C = 500, 3073, 10
    for data_seed in range(num_sets):
        rng = np.random.default_rng(1000 + data_seed)
        X = rng.standard_normal((N, D)) * 60.0  # (N, D)
        X[:, -1] = 1.0
        y = rng.integers(0, C, size=N)
        gram = np.linalg.cholesky(X @ X.T)  # (N, N): W = X.T (X X.T)^-1 S gives X W = S
        rows = np.arange(N)
        for point in range(num_points):
            scores = rng.standard_normal((N, C)) * 0.3  # (N, C), the target X @ W
            near = rng.random((N, C)) < 0.2
            near[rows, y] = False
            offsets = rng.uniform(-5e-4, 5e-4, (N, C))
            scores[near] = (scores[rows, y][:, None] - 1 + offsets)[near]
            W = X.T @ np.linalg.solve(gram.T, np.linalg.solve(gram, scores))  # (D, C)
            for loss in losses:
                for reg in REGS:
                    for seed in range(checks_per_point):
                        use_naive = seed == 0 and point == 0
                        name = f"synthetic set {data_seed} point {point} seed {seed}"
                        yield name, loss, W, X, y, reg, seed, use_naive


def test_synthetic_margins_sit_near_zero():
    """The synthetic draws really do put many margins within the step of 0."""
    _, _, W, X, y, _, _, _ = next(synthetic_draws(1, 1, 1))
    scores = X @ W
    margins = scores - scores[np.arange(len(y)), y][:, None] + 1
    assert 0.15 < np.mean(np.abs(margins) < 5e-4) < 0.25
    assert np.mean(np.abs(margins) < 5e-6) > 0.0003  # some within h/100 of the kink


def test_proof_on_synthetic_data_with_margins_near_zero_quick():
    false_alarms, missed, counts = run_draws(synthetic_draws(1, 1, 2))
    assert_proof(false_alarms, missed, counts)
    assert counts["draws"] == 12 and counts["mistake_checks"] == 52
    assert counts["kinks"] > 20 and counts["smaller_step"] > 20


def test_proof_on_cifar_quick(cifar_rows):
    false_alarms, missed, counts = run_draws(cifar_draws(cifar_rows, 2, 1))
    assert_proof(false_alarms, missed, counts)
    assert counts["draws"] == 12


@pytest.mark.slow
def test_proof_on_cifar_over_200_draws_per_loss(cifar_rows):
    """34 dev subsets x 2 seeds x 3 regs = 204 draws per loss; no false alarm, no miss."""
    false_alarms, missed, counts = run_draws(cifar_draws(cifar_rows, 34, 2))
    assert_proof(false_alarms, missed, counts)
    assert counts["draws"] == 2 * 204
    assert counts["smaller_step"] > 0  # kinks within h occurred and were resolved


@pytest.mark.slow
def test_proof_on_synthetic_data_over_200_draws_per_loss():
    """4 data sets x 9 points x 3 regs x 2 seeds = 216 draws per loss."""
    false_alarms, missed, counts = run_draws(synthetic_draws(4, 9, 2))
    assert_proof(false_alarms, missed, counts)
    assert counts["draws"] == 2 * 216
    assert counts["kinks"] > 100 and counts["smaller_step"] > 100

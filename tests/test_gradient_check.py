"""Does the gradient checker catch wrong gradients and recognise kinks?"""

import numpy as np
import pytest

from cs_loss import eval_numerical_gradient, grad_check_sparse, rel_error


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
    np.testing.assert_array_equal(x, before)


def test_correct_gradient_passes_and_wrong_one_fails(rng):
    x = rng.standard_normal((5, 3))
    good = grad_check_sparse(lambda v: np.sum(np.sin(v)), x, np.cos(x), num_checks=8, seed=0)
    bad = grad_check_sparse(lambda v: np.sum(np.sin(v)), x, 1.01 * np.cos(x), num_checks=8, seed=0)
    assert good.passed and good.max_rel_error < 1e-8
    assert not bad.passed and bad.rel_errors.shape == (8,)
    assert "FAIL" in bad.verdict and "PASS" in good.verdict


def test_kink_is_reported_not_counted():
    """|x| checked at 1e-6 (within h of the kink at 0) vs its subgradient."""
    x = np.array([1e-6, 2.0, -3.0])
    result = grad_check_sparse(lambda v: np.sum(np.abs(v)), x, np.sign(x), num_checks=3, seed=0)
    by_index = dict(zip([ix[0] for ix in result.indices], result.kinks))
    assert by_index == {0: True, 1: False, 2: False}
    assert result.passed
    assert "kink" in str(result)


def test_same_seed_checks_same_coordinates(rng):
    x = rng.standard_normal((6, 6))
    a = grad_check_sparse(np.sum, x, np.ones_like(x), num_checks=5, seed=3)
    b = grad_check_sparse(np.sum, x, np.ones_like(x), num_checks=5, seed=3)
    assert a.indices == b.indices


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

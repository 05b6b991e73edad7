"""Does the multiclass SVM loss match the lecture, its closed forms and its gradient?"""

import numpy as np
import pytest
from conftest import make_problem

from cs_loss import grad_check_sparse, svm_loss_naive, svm_loss_vectorized

BOTH = [svm_loss_naive, svm_loss_vectorized]

# The lecture's example: three images (cat, car, frog), rows are their class scores.
LECTURE_SCORES = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
LECTURE_LABELS = np.array([0, 1, 2])


@pytest.mark.parametrize("loss_fn", BOTH)
def test_lecture_example_per_image_losses(loss_fn):
    """With X = scores and W = I, the per-image losses are 2.9, 0 and 12.9."""
    for scores, label, expected in zip(
        LECTURE_SCORES, LECTURE_LABELS, [2.9, 0.0, 12.9], strict=True
    ):
        loss, _ = loss_fn(np.eye(3), scores[None, :], np.array([label]), 0.0)
        assert loss == pytest.approx(expected)


@pytest.mark.parametrize("loss_fn", BOTH)
def test_lecture_example_mean_loss(loss_fn):
    loss, _ = loss_fn(np.eye(3), LECTURE_SCORES, LECTURE_LABELS, 0.0)
    assert loss == pytest.approx((2.9 + 0 + 12.9) / 3)
    assert round(loss, 2) == 5.27


@pytest.mark.parametrize("loss_fn", BOTH)
def test_confident_scores_have_zero_loss(loss_fn):
    """[10, -2, 3], [10, 9, 9], [10, -100, -100] with y = 0 all satisfy the margin."""
    scores = np.array([[10, -2, 3], [10, 9, 9], [10, -100, -100]], dtype=float)
    loss, dW = loss_fn(np.eye(3), scores, np.zeros(3, dtype=int), 0.0)
    assert loss == 0.0
    assert not dW.any()


@pytest.mark.parametrize("loss_fn", BOTH)
@pytest.mark.parametrize("C", [2, 3, 10])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_weights_give_C_minus_one(loss_fn, C, dtype, rng):
    """W = 0 makes every margin exactly 1, so the loss is C - 1 for any data."""
    _, X, y = make_problem(rng, N=17, D=8, C=C, dtype=dtype)
    loss, dW = loss_fn(np.zeros((8, C), dtype=dtype), X, y, 0.3)
    assert type(loss) is float
    assert loss == pytest.approx(C - 1)
    # Every margin is violated: each wrong class gets +mean(X), the true class -(C-1) times it.
    expected = np.stack([X[y != c].sum(0) - (C - 1) * X[y == c].sum(0) for c in range(C)], 1)
    np.testing.assert_allclose(dW, expected / len(y), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reg", [0.0, 0.1])
def test_naive_matches_vectorized(seed, dtype, reg):
    W, X, y = make_problem(np.random.default_rng(seed), dtype=dtype)
    loss_n, dW_n = svm_loss_naive(W, X, y, reg)
    loss_v, dW_v = svm_loss_vectorized(W, X, y, reg)
    tol = 1e-5 if dtype == np.float32 else 1e-10
    assert loss_v == pytest.approx(loss_n, rel=tol)
    assert dW_v.dtype == dtype
    np.testing.assert_allclose(dW_v, dW_n, rtol=tol, atol=tol * np.abs(dW_n).max())


def test_naive_matches_vectorized_on_cifar_sized_rows(rng):
    """700 rows of 3,073 features, 10 classes: the sizes of a CIFAR-10 dev set."""
    W, X, y = make_problem(rng, N=700, D=3073, C=10)
    loss_n, dW_n = svm_loss_naive(W, X, y, 1e-2)
    loss_v, dW_v = svm_loss_vectorized(W, X, y, 1e-2)
    assert loss_v == pytest.approx(loss_n, rel=1e-10)
    np.testing.assert_allclose(dW_v, dW_n, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("loss_fn", BOTH)
@pytest.mark.parametrize("reg", [0.0, 0.5])
def test_gradient_matches_numerical(loss_fn, reg, rng):
    W, X, y = make_problem(rng, N=30, D=12, C=4, scale=30)
    _, dW = loss_fn(W, X, y, reg)
    result = grad_check_sparse(lambda w: loss_fn(w, X, y, reg)[0], W, dW, num_checks=30, seed=0)
    assert result.passed, str(result)
    assert result.kinks.sum() < 30  # most coordinates are smooth for random data


def test_regularisation_adds_reg_sum_of_squares(rng):
    W, X, y = make_problem(rng)
    loss_0, dW_0 = svm_loss_vectorized(W, X, y, 0.0)
    loss_r, dW_r = svm_loss_vectorized(W, X, y, 0.7)
    assert loss_r - loss_0 == pytest.approx(0.7 * np.sum(W**2))
    np.testing.assert_allclose(dW_r - dW_0, 2 * 0.7 * W, atol=1e-12)


@pytest.mark.parametrize("loss_fn", BOTH)
def test_loss_is_nonnegative_and_permutation_invariant(loss_fn, rng):
    W, X, y = make_problem(rng, scale=50)
    loss, dW = loss_fn(W, X, y, 0.0)
    perm = rng.permutation(len(y))
    loss_p, dW_p = loss_fn(W, X[perm], y[perm], 0.0)
    assert loss >= 0
    assert loss_p == pytest.approx(loss)
    np.testing.assert_allclose(dW_p, dW, atol=1e-12)


def test_shifting_all_scores_changes_nothing(rng):
    """Adding c to every class score (through the bias row) keeps every margin."""
    W, X, y = make_problem(rng, scale=50)
    X[:, -1] = 1  # bias column
    W_shifted = W.copy()
    W_shifted[-1, :] += 3.0
    assert svm_loss_vectorized(W_shifted, X, y, 0.0)[0] == pytest.approx(
        svm_loss_vectorized(W, X, y, 0.0)[0]
    )


@pytest.mark.parametrize("loss_fn", BOTH)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_scores_stay_finite(loss_fn, dtype, rng):
    W, X, y = make_problem(rng, dtype=dtype)
    W = (W / np.abs(X @ W).max() * 1e4).astype(dtype)  # scores up to 1e4
    loss, dW = loss_fn(W, X, y, 0.0)
    assert np.isfinite(loss) and np.isfinite(dW).all()

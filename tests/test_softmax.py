"""Does the softmax loss match the lecture, closed forms, scikit-learn and its gradient?"""

import numpy as np
import pytest
from conftest import make_problem
from scipy.special import softmax as scipy_softmax
from sklearn.metrics import log_loss

from cs_loss import (
    grad_check_sparse,
    softmax_loss_naive,
    softmax_loss_vectorized,
    svm_loss_vectorized,
)

BOTH = [softmax_loss_naive, softmax_loss_vectorized]


@pytest.mark.parametrize("loss_fn", BOTH)
def test_lecture_example_cat(loss_fn):
    """Scores cat 3.2, car 5.1, frog -1.7 give P(cat) = 0.13 and loss 2.04."""
    loss, _ = loss_fn(np.eye(3), np.array([[3.2, 5.1, -1.7]]), np.array([0]), 0.0)
    assert np.exp(-loss) == pytest.approx(0.13, abs=0.005)
    assert loss == pytest.approx(2.04, abs=0.005)


@pytest.mark.parametrize("loss_fn", BOTH)
def test_softmax_is_never_satisfied_where_svm_is(loss_fn):
    """The SVM loss of [10, -2, 3] and [10, 9, 9] (y = 0) is 0; softmax's is not."""
    for row in ([10, -2, 3], [10, 9, 9]):
        scores = np.array([row], dtype=float)
        assert svm_loss_vectorized(np.eye(3), scores, np.array([0]), 0.0)[0] == 0.0
        expected = np.log(np.sum(np.exp(scores - 10)))  # the true class scores 10
        assert loss_fn(np.eye(3), scores, np.array([0]), 0.0)[0] == pytest.approx(expected)
        assert expected > 1e-4


@pytest.mark.parametrize("loss_fn", BOTH)
def test_a_loss_below_float64_resolution_rounds_to_zero(loss_fn):
    """[10, -100, -100] with y = 0 has loss log(1 + 2e-110) = 3.4e-48, below 1 ulp of 1.

    float64 cannot tell 1 + 3.4e-48 from 1, so the log-sum-exp form returns 0.0;
    the loss must still be >= 0 and tiny, never negative or large.
    """
    loss, dW = loss_fn(np.eye(3), np.array([[10.0, -100.0, -100.0]]), np.array([0]), 0.0)
    assert 0 <= loss < 1e-40
    assert np.isfinite(dW).all()


@pytest.mark.parametrize("loss_fn", BOTH)
def test_huge_scores_with_an_underflowing_probability_keep_their_loss(loss_fn):
    """Scores [0, 1708.27] with y = 0: p(y) underflows to 0, yet the loss is 1708.27."""
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dW = loss_fn(np.eye(2), np.array([[0.0, 1708.27]]), np.array([0]), 0.0)
    assert loss == pytest.approx(1708.27, rel=1e-12)
    # dL/dscores = p - one_hot(y) = [-1, 1], so dW = outer(x, [-1, 1]).
    np.testing.assert_allclose(dW, [[0.0, 0.0], [-1708.27, 1708.27]], atol=1e-9)


@pytest.mark.parametrize("loss_fn", BOTH)
@pytest.mark.parametrize("C", [2, 3, 10])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_weights_give_log_C(loss_fn, C, dtype, rng):
    """W = 0 makes every probability 1/C: loss log C, dW = mean of X (1/C - one_hot(y))."""
    _, X, y = make_problem(rng, N=17, D=8, C=C, dtype=dtype)
    loss, dW = loss_fn(np.zeros((8, C), dtype=dtype), X, y, 0.3)
    assert type(loss) is float
    assert loss == pytest.approx(np.log(C), rel=1e-6)
    one_hot = np.eye(C)[y]
    expected = X.astype(np.float64).T @ (1 / C - one_hot) / len(y)
    np.testing.assert_allclose(dW, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("loss_fn", BOTH)
def test_matches_sklearn_log_loss(loss_fn, rng):
    W, X, y = make_problem(rng, N=50, D=20, C=6, scale=20)
    probs = scipy_softmax(X @ W, axis=1)
    expected = log_loss(y, probs, labels=np.arange(6))
    assert loss_fn(W, X, y, 0.0)[0] == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reg", [0.0, 0.1])
def test_naive_matches_vectorized(seed, dtype, reg):
    W, X, y = make_problem(np.random.default_rng(seed), dtype=dtype, scale=10)
    loss_n, dW_n = softmax_loss_naive(W, X, y, reg)
    loss_v, dW_v = softmax_loss_vectorized(W, X, y, reg)
    tol = 1e-5 if dtype == np.float32 else 1e-10
    assert loss_v == pytest.approx(loss_n, rel=tol)
    assert dW_v.dtype == dtype
    np.testing.assert_allclose(dW_v, dW_n, rtol=tol, atol=tol * np.abs(dW_n).max())


def test_naive_matches_vectorized_on_cifar_sized_rows(rng):
    """700 rows of 3,073 features, 10 classes: the sizes of a CIFAR-10 dev set."""
    W, X, y = make_problem(rng, N=700, D=3073, C=10)
    loss_n, dW_n = softmax_loss_naive(W, X, y, 1e-2)
    loss_v, dW_v = softmax_loss_vectorized(W, X, y, 1e-2)
    assert loss_v == pytest.approx(loss_n, rel=1e-10)
    np.testing.assert_allclose(dW_v, dW_n, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("loss_fn", BOTH)
@pytest.mark.parametrize("reg", [0.0, 0.5])
def test_gradient_matches_numerical(loss_fn, reg, rng):
    W, X, y = make_problem(rng, N=30, D=12, C=4, scale=30)
    _, dW = loss_fn(W, X, y, reg)
    result = grad_check_sparse(lambda w: loss_fn(w, X, y, reg)[0], W, dW, num_checks=30, seed=1)
    assert result.passed, str(result)
    assert not result.kinks.any()  # softmax is smooth everywhere


@pytest.mark.parametrize("loss_fn", BOTH)
def test_shifting_all_scores_changes_nothing(loss_fn, rng):
    W, X, y = make_problem(rng, scale=50)
    X[:, -1] = 1
    W_shifted = W.copy()
    W_shifted[-1, :] += 1000.0
    loss, dW = loss_fn(W, X, y, 0.0)
    loss_s, dW_s = loss_fn(W_shifted, X, y, 0.0)
    assert loss_s == pytest.approx(loss, rel=1e-9)
    np.testing.assert_allclose(dW_s, dW, atol=1e-9)


@pytest.mark.parametrize("loss_fn", BOTH)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_scores_stay_finite(loss_fn, dtype, rng):
    """Scores of 1e4 overflow a naive exp; a stable softmax stays finite and exact."""
    W, X, y = make_problem(rng, dtype=dtype)
    W = (W / np.abs(X @ W).max() * 1e4).astype(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, dW = loss_fn(W, X, y, 0.0)
    assert np.isfinite(loss) and np.isfinite(dW).all()
    scores = (X @ W).astype(np.float64)
    shifted = scores - scores.max(axis=1, keepdims=True)
    expected = np.mean(np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(len(y)), y])
    assert loss == pytest.approx(expected, rel=1e-3)


@pytest.mark.parametrize("loss_fn", BOTH)
def test_loss_is_nonnegative_and_permutation_invariant(loss_fn, rng):
    W, X, y = make_problem(rng, scale=50)
    perm = rng.permutation(len(y))
    loss, dW = loss_fn(W, X, y, 0.0)
    loss_p, dW_p = loss_fn(W, X[perm], y[perm], 0.0)
    assert loss > 0
    assert loss_p == pytest.approx(loss)
    np.testing.assert_allclose(dW_p, dW, atol=1e-12)

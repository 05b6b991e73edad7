"""Does bad input get a typed error that names the argument, the expected and the received?"""

import numpy as np
import pytest

from cs_loss import softmax_loss_naive, softmax_loss_vectorized, svm_loss_naive, svm_loss_vectorized

LOSSES = [svm_loss_naive, svm_loss_vectorized, softmax_loss_naive, softmax_loss_vectorized]


@pytest.fixture
def good():
    rng = np.random.default_rng(0)
    return rng.standard_normal((3073, 10)) * 1e-3, rng.standard_normal((5, 3073)), np.arange(5)


@pytest.mark.parametrize("loss_fn", LOSSES)
@pytest.mark.parametrize(
    "change, error, message",
    [
        (lambda W, X, y, r: (W, X[:, :-1], y, r), ValueError,
         r"X has 3072 columns but W has 3073 rows: .*did you forget the bias column"),
        (lambda W, X, y, r: (W[:-1], X, y, r), ValueError,
         r"X has 3073 columns but W has 3072 rows"),
        (lambda W, X, y, r: (W, X, y[:4], r), ValueError, "y has 4 labels but X has 5 rows"),
        (lambda W, X, y, r: (W, X, y + 6, r), ValueError,
         r"y holds the label 10 but there are only 10 classes \(labels 0..9\)"),
        (lambda W, X, y, r: (W, X, y - 1, r), ValueError, "y must hold labels >= 0, got the label -1"),
        (lambda W, X, y, r: (W, X, y.astype(float), r), TypeError,
         r"y must hold integer class labels, got dtype float64. Convert it with y.astype\(int\)"),
        (lambda W, X, y, r: (W, X, y[:, None], r), ValueError, r"y must be 1-dimensional"),
        (lambda W, X, y, r: (W, X, y, -1.0), ValueError, "reg must be a finite number >= 0, got -1.0"),
        (lambda W, X, y, r: (W, X, y, "0.1"), TypeError, "reg must be a real number, got str"),
        (lambda W, X, y, r: (W, X, y, np.nan), ValueError, "reg must be a finite number >= 0, got nan"),
        (lambda W, X, y, r: (W * np.nan, X, y, r), ValueError, "W contains NaN or infinity"),
        (lambda W, X, y, r: (W, np.where(X > 2, np.inf, X), y, r), ValueError,
         "X contains NaN or infinity"),
        (lambda W, X, y, r: (W, X.reshape(5, 1, 3073), y, r), ValueError,
         r"X must be 2-dimensional, got an array of shape \(5, 1, 3073\)"),
        (lambda W, X, y, r: (W, X[0], y, r), ValueError, r"For a single example use x.reshape\(1, -1\)"),
        (lambda W, X, y, r: (W, X.astype(str), y, r), TypeError, "X must hold real numbers"),
        (lambda W, X, y, r: (W, X[:0], y[:0], r), ValueError, "X must not be empty"),
    ],
)  # fmt: skip
def test_loss_input_errors(loss_fn, good, change, error, message):
    # Infinity in X is found from the result (see cs_loss._validation), after numpy
    # may have warned about inf - inf on the way; the ValueError is what counts.
    with np.errstate(invalid="ignore"), pytest.raises(error, match=message):
        loss_fn(*change(*good, 0.1))


@pytest.mark.parametrize("loss_fn", LOSSES)
def test_nan_in_X_is_named_even_where_W_is_zero(loss_fn, good):
    W, X, y = good
    X = X.copy()
    X[3, 100] = np.nan
    with np.errstate(invalid="ignore"), pytest.raises(ValueError, match=r"X contains NaN or infinity \(1 entries\)"):
        loss_fn(np.zeros_like(W), X, y, 0.0)


def test_integer_pixels_are_accepted_as_floats(good):
    W, X, y = good
    X_int = np.round(X * 10).astype(np.int16)
    loss_i, _ = svm_loss_vectorized(W, X_int, y, 0.0)
    loss_f, _ = svm_loss_vectorized(W, X_int.astype(float), y, 0.0)
    assert loss_i == loss_f

"""Does bad input get a typed error that names the argument, the expected and the received?"""

import numpy as np
import pytest

from cs_loss import notebook as nb
from cs_loss import softmax_loss_naive, softmax_loss_vectorized, svm_loss_naive, svm_loss_vectorized
from cs_loss._validation import check_loss_result

LOSSES = [svm_loss_naive, svm_loss_vectorized, softmax_loss_naive, softmax_loss_vectorized]


@pytest.fixture
def good():
    rng = np.random.default_rng(0)
    return rng.standard_normal((3073, 10)) * 1e-3, rng.standard_normal((5, 3073)), np.arange(5)


@pytest.mark.parametrize("loss_fn", LOSSES)
@pytest.mark.parametrize(
    "change, error, message",
    [
        (
            lambda W, X, y, r: (W, X[:, :-1], y, r),
            ValueError,
            r"X has 3072 columns but W has 3073 rows: .*did you forget the bias column",
        ),
        (
            lambda W, X, y, r: (W[:-1], X, y, r),
            ValueError,
            r"X has 3073 columns but W has 3072 rows",
        ),
        (lambda W, X, y, r: (W, X, y[:4], r), ValueError, "y has 4 labels but X has 5 rows"),
        (
            lambda W, X, y, r: (W, X, y + 6, r),
            ValueError,
            r"y holds the label 10 but there are only 10 classes \(labels 0..9\)",
        ),
        (
            lambda W, X, y, r: (W, X, y - 1, r),
            ValueError,
            "y must hold labels >= 0, got the label -1",
        ),
        (
            lambda W, X, y, r: (W, X, y.astype(float), r),
            TypeError,
            r"y must hold integer class labels, got dtype float64. Convert it with y.astype\(int\)",
        ),
        (lambda W, X, y, r: (W, X, y[:, None], r), ValueError, r"y must be 1-dimensional"),
        (
            lambda W, X, y, r: (W, X, y, -1.0),
            ValueError,
            "reg must be a finite number >= 0, got -1.0",
        ),
        (lambda W, X, y, r: (W, X, y, "0.1"), TypeError, "reg must be a real number, got str"),
        (
            lambda W, X, y, r: (W, X, y, np.nan),
            ValueError,
            "reg must be a finite number >= 0, got nan",
        ),
        (lambda W, X, y, r: (W * np.nan, X, y, r), ValueError, "W contains NaN or infinity"),
        (
            lambda W, X, y, r: (W, np.where(X > 2, np.inf, X), y, r),
            ValueError,
            "X contains NaN or infinity",
        ),
        (
            lambda W, X, y, r: (W, X.reshape(5, 1, 3073), y, r),
            ValueError,
            r"X must be 2-dimensional, got an array of shape \(5, 1, 3073\)",
        ),
        (
            lambda W, X, y, r: (W, X[0], y, r),
            ValueError,
            r"For a single example use x.reshape\(1, -1\)",
        ),
        (lambda W, X, y, r: (W, X.astype(str), y, r), TypeError, "X must hold real numbers"),
        (lambda W, X, y, r: (W, X[:0], y[:0], r), ValueError, "X must not be empty"),
    ],
)
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
    with (
        np.errstate(invalid="ignore"),
        pytest.raises(ValueError, match=r"X contains NaN or infinity \(1 entries\)"),
    ):
        loss_fn(np.zeros_like(W), X, y, 0.0)


def test_integer_pixels_are_accepted_as_floats(good):
    W, X, y = good
    X_int = np.round(X * 10).astype(np.int16)
    loss_i, _ = svm_loss_vectorized(W, X_int, y, 0.0)
    loss_f, _ = svm_loss_vectorized(W, X_int.astype(float), y, 0.0)
    assert loss_i == loss_f


# --- What a student's loss returned: read as a reader would, or named in their terms ---

W_SHAPE = (7, 3)


@pytest.fixture
def W_X():
    rng = np.random.default_rng(3)
    return rng.standard_normal(W_SHAPE), rng.standard_normal((4, 7))


@pytest.mark.parametrize(
    "loss",
    [
        2.5,
        np.float64(2.5),
        np.float32(2.5),
        np.array(2.5),
        np.array([2.5]),
        np.array([[2.5]]),
        np.array([2.5], dtype=np.float32),
        2,
        np.int64(2),
    ],
    ids=["float", "float64", "float32", "0-d", "(1,)", "(1, 1)", "(1,) float32", "int", "int64"],
)
def test_a_loss_that_reads_as_one_number_is_accepted(W_X, loss):
    W, X = W_X
    got, dW = check_loss_result(loss, np.zeros(W_SHAPE), W, X, "svm_loss_naive")
    assert type(got) is float
    assert got == pytest.approx(float(np.asarray(loss).ravel()[0]))
    assert dW.shape == W_SHAPE and dW.dtype == np.float64


@pytest.mark.parametrize(
    "loss, message",
    [
        (
            None,
            r"softmax_loss_naive returned loss as NoneType None; expected a number .*returns None",
        ),
        ("2.5", r"softmax_loss_naive returned loss as str '2.5'; expected a number"),
        (np.ones(4), r"returned loss as an array of shape \(4,\) .*average them over the N"),
        (np.ones((2, 3)), r"returned loss as an array of shape \(2, 3\).*expected a single number"),
    ],
)
def test_a_loss_that_is_not_one_number_is_named(W_X, loss, message):
    W, X = W_X
    with pytest.raises(TypeError, match=message):
        check_loss_result(loss, np.zeros(W_SHAPE), W, X, "softmax_loss_naive")


@pytest.mark.parametrize(
    "dW, error, message",
    [
        (
            np.zeros((3, 7)),
            ValueError,
            r"svm_loss_vectorized returned dW of shape \(3, 7\); expected W's shape \(7, 3\)\. "
            r"It is transposed",
        ),
        (np.zeros((7, 3, 1)), ValueError, r"returned dW of shape \(7, 3, 1\); expected W's shape"),
        (np.float64(0.0), ValueError, r"returned dW of shape \(\); .*A number, not an array"),
        (None, TypeError, r"svm_loss_vectorized returned dW as NoneType None; expected an array"),
    ],
)
def test_a_gradient_of_the_wrong_shape_is_named(W_X, dW, error, message):
    W, X = W_X
    with pytest.raises(error, match=message):
        check_loss_result(1.0, dW, W, X, "svm_loss_vectorized")


def test_the_gradient_comes_back_in_the_dtype_of_X_at_W(W_X):
    W, X = W_X
    W32, X32 = W.astype(np.float32), X.astype(np.float32)
    _, dW = check_loss_result(1.0, np.ones(W_SHAPE), W32, X32, "svm_loss_naive")
    assert dW.dtype == np.float32
    _, dW = check_loss_result(1.0, np.ones(W_SHAPE, dtype=int), W, X, "svm_loss_naive")
    assert dW.dtype == np.float64 and (dW == 1).all()


STUDENT_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import cs_loss
rng = np.random.default_rng(0)
W, X, y = rng.standard_normal((6, 3)), rng.standard_normal((5, 6)), np.array([0, 1, 2, 0, 1])
loss, dW = cs_loss.svm_loss_naive(W, X, y, 0.1)
assert type(loss) is float, type(loss)
try:
    cs_loss.svm_loss_vectorized(W, X, y, 0.1)
except ValueError as exc:
    print(exc)
"""


def test_student_code_returning_an_array_loss_and_a_transposed_dW(tmp_path):
    """Written as a student would: the naive loss as a (1,) array passes, a dW.T is named."""
    import subprocess
    import sys
    from pathlib import Path

    from grading.markers import write_package

    kit = Path(__file__).resolve().parent.parent / "cs_loss"
    write_package(
        kit,
        tmp_path,
        {
            "svm_loss_naive": "loss = np.array([1.5])\ndW = np.zeros_like(W)\n",
            "svm_loss_vectorized": "loss = 1.0\ndW = np.zeros((W.shape[1], W.shape[0]))\n",
        },
    )
    out = subprocess.run(
        [sys.executable, "-c", STUDENT_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == (
        "svm_loss_vectorized returned dW of shape (3, 6); expected W's shape (6, 3). "
        "It is transposed: (C, D) instead of (D, C); check the order of the product."
    )


# --- The notebooks' self-checks name the likely cause of a wrong result ---


def test_a_loss_n_times_too_large_asks_about_the_division_by_n():
    """The issue's case: a vectorized SVM loss that sums instead of averaging over N = 500."""
    rng = np.random.default_rng(5)
    W = rng.standard_normal((20, 10)) * 1e-3
    X, y = rng.standard_normal((500, 20)) * 50, rng.integers(0, 10, 500)
    expected, _ = svm_loss_naive(W, X, y, 5e-6)
    summed = expected * 500 - 499 * 5e-6 * np.sum(W**2)  # the penalty is added once, after
    with pytest.raises(
        AssertionError,
        match=r"is 500 times the expected one: did you forget to "
        r"divide by N = 500\? Look at the mean",
    ):
        nb.check_close(summed, expected, "the vectorized loss", hint="Look at the mean.")


def test_squared_distances_ask_about_the_square_root(rng):
    expected = rng.uniform(0.5, 40, size=(5, 7))
    expected[0, 0] = 0.0
    message = "squares of the expected ones: did you forget the square root"
    with pytest.raises(AssertionError, match=message):
        nb.check_close(expected**2, expected, "no-loop distances")


def test_a_wrong_shape_shows_both_shapes():
    message = r"dW: your result has shape \(10, 3073\), expected shape \(3073, 10\)\. It is"
    with pytest.raises(AssertionError, match=message):
        nb.check_close(np.zeros((10, 3073)), np.zeros((3073, 10)), "dW")
    message = r"has shape \(4, 1\), expected shape \(4,\)\. It has an extra axis"
    with pytest.raises(AssertionError, match=message):
        nb.check_close(np.zeros((4, 1)), np.zeros(4), "y_pred")


def test_nothing_returned_is_named():
    message = r"the loss: got None, expected a number\. Does your function return"
    with pytest.raises(AssertionError, match=message):
        nb.check_close(None, 2.0, "the loss")


def test_a_number_in_a_one_element_array_passes():
    nb.check_close(np.array([2.0]), 2.0, "the loss")
    nb.check_close(np.float32(2.0), 2.0, "the loss")


@pytest.mark.parametrize(
    "got, expected",
    [(3.3, 2.0), (np.array([1.0, 5.0]), np.array([1.0, 2.5])), (np.array([0.0, 1.0]), [0.0, 1.1])],
)
def test_no_cause_is_claimed_without_the_pattern(got, expected):
    with pytest.raises(AssertionError) as info:
        nb.check_close(got, expected, "x", hint="The hint.")
    assert "times the expected" not in str(info.value) and "square root" not in str(info.value)
    assert str(info.value).endswith("The hint.")
    assert nb.likely_cause(got, expected) == ""

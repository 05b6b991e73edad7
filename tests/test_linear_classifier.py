"""Does SGD training learn, reproduce itself and stop loudly when it diverges?"""

import numpy as np
import pytest

from cs_loss import LinearSVM, NotFittedError, Softmax, TrainingDivergedError, get_digits_data


@pytest.fixture(scope="module")
def digits():
    return get_digits_data()


@pytest.mark.parametrize("cls", [LinearSVM, Softmax])
def test_learns_the_digits(cls, digits):
    clf = cls()
    history = clf.train(digits["X_train"], digits["y_train"], learning_rate=1e-3, reg=1e-3,
                        num_iters=600, batch_size=100)  # fmt: skip
    assert len(history) == 600
    assert np.mean(history[-50:]) < 0.5 * np.mean(history[:5])
    assert np.mean(clf.predict(digits["X_val"]) == digits["y_val"]) > 0.9
    assert clf.W.dtype == np.float32 and clf.W.shape == (65, 10)


def test_initial_softmax_loss_is_near_log_C(digits):
    history = Softmax().train(digits["X_train"], digits["y_train"], num_iters=1, reg=0.0)
    assert history[0] == pytest.approx(np.log(10), abs=0.1)


@pytest.mark.parametrize("cls", [LinearSVM, Softmax])
def test_same_seed_same_run_regardless_of_global_state(cls, digits):
    args = (digits["X_train"], digits["y_train"])
    np.random.seed(1)
    a = cls()
    history_a = a.train(*args, num_iters=50, seed=5)
    np.random.seed(2)
    b = cls()
    history_b = b.train(*args, num_iters=50, seed=5)
    assert history_a == history_b
    np.testing.assert_array_equal(a.W, b.W)
    assert cls().train(*args, num_iters=50, seed=6) != history_a


def test_divergence_raises_a_readable_error(digits):
    clf = Softmax()
    with pytest.raises(TrainingDivergedError, match=r"diverged at iteration \d+.*lower the learning"):
        clf.train(digits["X_train"], digits["y_train"], learning_rate=1e30, reg=1e30, num_iters=50)
    assert np.isfinite(clf.W).all()  # W is the last finite one


def test_predict_before_train():
    with pytest.raises(NotFittedError, match=r"This LinearSVM has no weights yet: call train"):
        LinearSVM().predict(np.zeros((2, 3)))


def test_argument_errors(digits):
    X, y = digits["X_train"], digits["y_train"]
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        LinearSVM().train(X, y, learning_rate=0)
    with pytest.raises(TypeError, match="num_iters must be an integer, got float"):
        LinearSVM().train(X, y, num_iters=10.0)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        LinearSVM().train(X, y, batch_size=0)
    clf = LinearSVM()
    clf.train(X, y, num_iters=2)
    with pytest.raises(ValueError, match="X has 64 columns but W has 65 rows"):
        clf.predict(X[:, :-1])

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
    history = clf.train(
        digits["X_train"],
        digits["y_train"],
        learning_rate=1e-3,
        reg=1e-3,
        num_iters=600,
        batch_size=100,
    )
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
    np.random.seed(1)  # noqa: NPY002 - the global state this test shows is ignored
    a = cls()
    history_a = a.train(*args, num_iters=50, seed=5)
    np.random.seed(2)  # noqa: NPY002 - the global state this test shows is ignored
    b = cls()
    history_b = b.train(*args, num_iters=50, seed=5)
    assert history_a == history_b
    np.testing.assert_array_equal(a.W, b.W)
    assert cls().train(*args, num_iters=50, seed=6) != history_a


def test_divergence_raises_a_readable_error(digits):
    clf = Softmax()
    with pytest.raises(
        TrainingDivergedError, match=r"diverged at iteration \d+.*lower the learning"
    ):
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


def test_each_step_takes_a_sampled_batch_and_moves_against_its_gradient(rng):
    """Every batch is batch_size rows of X with their own labels; each step is W - lr * grad."""
    N, D, C = 50, 6, 3
    X = rng.standard_normal((N, D))
    X[:, 0] = np.arange(N)  # the first column names the row
    y = rng.integers(0, C, size=N)
    steps = []

    class Recording(LinearSVM):
        def loss(self, X_batch, y_batch, reg):
            loss, grad = super().loss(X_batch, y_batch, reg)
            steps.append((X_batch.copy(), y_batch.copy(), self.W.copy(), grad))
            return loss, grad

    clf = Recording()
    history = clf.train(X, y, learning_rate=1e-2, reg=0.1, num_iters=5, batch_size=8, seed=3)
    assert len(history) == len(steps) == 5
    for it, (X_batch, y_batch, W, grad) in enumerate(steps):
        rows = X_batch[:, 0].astype(int)
        assert X_batch.shape == (8, D)
        np.testing.assert_array_equal(X_batch, X[rows])
        np.testing.assert_array_equal(y_batch, y[rows])
        W_next = steps[it + 1][2] if it + 1 < len(steps) else clf.W
        np.testing.assert_allclose(W_next, W - 1e-2 * grad, rtol=1e-12)

"""The linear classifier, declared once: ``train`` (its two regions) and ``predict``.

Their hidden test cases (the ``linear_train_*`` cases are judged by the SGD behaviour
checks of :mod:`grading.behaviour`, not by expected values), known mistakes and
correct variants.
"""

from __future__ import annotations

from ..declare import Case, Variant, correct, mistake

NOTEBOOK = "svm.ipynb"  # met with the SVM: the notebook trains a LinearSVM
REGIONS = ("LinearClassifier.train#1", "LinearClassifier.train#2", "LinearClassifier.predict")
NOTEBOOK_TARGETS: dict[str, tuple[str, ...]] = {}  # the search tests are the losses' topics'
GROUP = "linear"  # one child per topic
MODULES = ("_validation", "linear_classifier")  # an import error there fails its cases


def _case(name: str, points: int, *targets: str) -> Case:
    return Case(GROUP, name, points, targets, MODULES)


# The hidden test cases, in the order the child runs them; points per case.
CASES = (
    _case("linear_train_batches", 2, "LinearClassifier.train"),
    _case("linear_train_update", 2, "LinearClassifier.train"),
    _case("linear_train_separable", 1, "LinearClassifier.train"),
    _case("linear_predict", 2, "LinearClassifier.predict"),
)


MISTAKES: tuple[Variant, ...] = (
    # train: sampling
    mistake(
        "LinearClassifier.train#1",
        "train_labels_not_matched",
        "y_batch holds labels of other examples than X_batch: index X and y with the same "
        "indices (one idx for both)",
        """
X_batch = X[rng.choice(num_train, batch_size)]
y_batch = y[rng.choice(num_train, batch_size)]
""",
    ),
    mistake(
        "LinearClassifier.train#1",
        "train_same_batch",
        "every step uses the same minibatch: draw new indices at every iteration from the "
        "generator rng (do not make a new generator inside the loop)",
        """
idx = np.random.default_rng(0).choice(num_train, batch_size)
X_batch = X[idx]
y_batch = y[idx]
""",
    ),
    mistake(
        "LinearClassifier.train#1",
        "train_first_rows",
        "the minibatch is always the first rows of X: sample random indices with "
        "rng.choice(num_train, batch_size)",
        """
X_batch = X[:batch_size]
y_batch = y[:batch_size]
""",
    ),
    mistake(
        "LinearClassifier.train#1",
        "train_part_of_rows",
        "the minibatches come from only part of X: draw the indices from all num_train "
        "examples, rng.choice(num_train, batch_size)",
        """
idx = rng.choice(num_train // 2, batch_size)
X_batch = X[idx]
y_batch = y[idx]
""",
    ),
    # train: update
    mistake(
        "LinearClassifier.train#2",
        "train_gradient_ascent",
        "W moves along the gradient (W + learning_rate * grad), which increases the loss: "
        "SGD steps against it, W - learning_rate * grad",
        """
W_new = self.W + learning_rate * grad
""",
    ),
    mistake(
        "LinearClassifier.train#2",
        "train_loss_called_twice",
        "self.loss is called twice per iteration: the loss and grad computed above the TODO "
        "are the batch's; use them once, W_new = self.W - learning_rate * grad",
        """
loss, grad = self.loss(X_batch, y_batch, reg)
W_new = self.W - learning_rate * grad
""",
    ),
    mistake(
        "LinearClassifier.train#2",
        "train_no_learning_rate",
        "W moves by the whole gradient: the step is learning_rate * grad",
        """
W_new = self.W - grad
""",
    ),
    # predict
    mistake(
        "LinearClassifier.predict",
        "predict_argmin",
        "the class with the lowest score is predicted: take np.argmax of the scores",
        """
y_pred = np.argmin(X @ self.W, axis=1)
""",
    ),
)

CORRECT: tuple[Variant, ...] = (
    # train: sampling
    correct(
        "LinearClassifier.train#1",
        "train_rng_choice",
        """
idx = rng.choice(num_train, batch_size)
X_batch = X[idx]
y_batch = y[idx]
""",
    ),
    correct(
        "LinearClassifier.train#1",
        "train_rng_integers",
        """
batch = rng.integers(0, num_train, size=batch_size)
X_batch, y_batch = X[batch, :], y[batch]
""",
    ),
    correct(
        "LinearClassifier.train#1",
        "train_np_random_choice",
        """
indices = np.random.choice(num_train, batch_size, replace=True)
X_batch = X[indices]
y_batch = y[indices]
""",
    ),
    correct(
        "LinearClassifier.train#1",
        "train_np_random_randint",
        """
idx = np.random.randint(num_train, size=batch_size)
X_batch = np.take(X, idx, axis=0)
y_batch = np.take(y, idx)
""",
    ),
    correct(
        "LinearClassifier.train#1",
        "train_without_replacement",
        """
idx = rng.choice(num_train, size=batch_size, replace=False)
X_batch = X[idx, :]
y_batch = y[idx]
""",
    ),
    correct(
        "LinearClassifier.train#1",
        "train_float32_batch",
        """
idx = rng.choice(num_train, batch_size)
X_batch = X[idx].astype(np.float32)
y_batch = y[idx]
""",
    ),
    # train: update
    correct(
        "LinearClassifier.train#2",
        "train_update_textbook",
        """
W_new = self.W - learning_rate * grad
""",
    ),
    correct(
        "LinearClassifier.train#2",
        "train_update_copy_inplace",
        """
W_new = self.W.copy()
W_new -= learning_rate * grad
""",
    ),
    correct(
        "LinearClassifier.train#2",
        "train_update_in_place",
        """
self.W -= learning_rate * grad
W_new = self.W
""",
    ),
    correct(
        "LinearClassifier.train#2",
        "train_update_subtract",
        """
W_new = np.subtract(self.W, np.multiply(learning_rate, grad))
""",
    ),
    # predict
    correct(
        "LinearClassifier.predict",
        "predict_argmax",
        """
y_pred = np.argmax(X @ self.W, axis=1)
""",
    ),
    correct(
        "LinearClassifier.predict",
        "predict_loop",
        """
for i in range(X.shape[0]):
    y_pred[i] = np.argmax(X[i].dot(self.W))
""",
    ),
    correct(
        "LinearClassifier.predict",
        "predict_method",
        """
scores = np.dot(X, self.W)
y_pred[:] = scores.argmax(axis=1)
""",
    ),
    correct(
        "LinearClassifier.predict",
        "predict_float_labels",
        """
y_pred = np.zeros(X.shape[0])
y_pred[:] = np.argmax(X @ self.W, axis=1)
""",
    ),
)

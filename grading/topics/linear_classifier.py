"""The linear classifier, declared once: ``train`` (its two regions) and ``predict``.

Their hidden test cases (the ``linear_train_*`` cases are judged by the SGD behaviour
checks of :mod:`grading.behaviour`, not by expected values), known mistakes and
correct variants.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from ..declare import Call, Case, NotebookCheck, Output, Step, Variant, correct, mistake
from .losses import loss_data

NOTEBOOK = "svm.ipynb"  # met with the SVM: the notebook trains a LinearSVM
REGIONS = ("LinearClassifier.train#1", "LinearClassifier.train#2", "LinearClassifier.predict")
NOTEBOOK_CHECKS: tuple[NotebookCheck, ...] = ()  # the search tests are the losses' topics'
NOTEBOOK_TARGETS: dict[str, tuple[str, ...]] = {}
GROUP = "linear"  # one child per topic
MODULES = ("_validation", "linear_classifier")  # an import error there fails its cases


#: The settings of the recorded trainings (keyword arguments of train).
TRAIN = {"learning_rate": 1e-2, "reg": 1e-3, "num_iters": 30, "batch_size": 16}
TOY = {"learning_rate": 0.05, "reg": 1e-4, "num_iters": 200, "batch_size": 20}
TOY_ACCURACY = 0.9  # what training on the separable toy problem must reach
RECORDED = ("batch_X", "batch_y", "batch_sizes", "W_before", "W_final", "history")


def train_inputs(seed: int = 4) -> dict:
    """Continuous data (every row distinct, so a batch row names its row of X), the
    settings of :data:`TRAIN` and the generator's ``seed``."""
    _W, X, y = loss_data(13, N=120)
    return {"X": X, "y": y, "seed": seed, **TRAIN}


def toy_inputs() -> dict:
    """A linearly separable problem: 3 well separated blobs, with a bias column, and the
    settings of :data:`TOY`."""
    rng = np.random.default_rng(21)
    centres = np.array([[6.0, 0.0], [-3.0, 5.0], [-3.0, -5.0]])
    y = np.repeat(np.arange(3), 40)
    X = centres[y] + rng.standard_normal((120, 2))  # (N, 2)
    return {"X": np.hstack([X, np.ones((120, 1))]), "y": y, "seed": 3, **TOY}


def predict_inputs() -> dict:
    """Weights and data for ``predict``."""
    W, X, _y = loss_data(14, N=50)
    return {"W": W, "X": X}


# train(X, y, ...) on a LinearSVM whose loss is the child's recording loss
# (grading.hidden_tests.recording_loss): what train passes it is exported.
_TRAIN = Call(
    "LinearSVM.train",
    ("X", "y"),
    (),
    "train(X, y, ...)",
    tuple((name, name) for name in ("seed", *TRAIN)),
    record=True,
)
_PREDICT = Call(
    "Softmax.predict",
    ("X",),
    (Output("y_pred", "labels", ("X.0",)),),
    "predict(X)",
    setup=(Step("W", ("W",), assign=True),),
)
_TRAIN_TARGETS = ("LinearClassifier.train",)


def _train(name: str, points: int, inputs: Callable[[], dict], exports: tuple[str, ...]) -> Case:
    """A training case, judged by grading.behaviour (no expected values)."""
    return Case(
        GROUP, name, points, _TRAIN_TARGETS, MODULES, inputs, (_TRAIN,), exports, compared=False
    )


# The hidden test cases, in the order the child runs them; points per case.
CASES = (
    _train("linear_train_batches", 2, train_inputs, RECORDED),
    _train("linear_train_update", 2, partial(train_inputs, 7), RECORDED),
    _train("linear_train_separable", 1, toy_inputs, ("W_final",)),
    Case(
        GROUP,
        "linear_predict",
        2,
        ("LinearClassifier.predict",),
        MODULES,
        predict_inputs,
        (_PREDICT,),
        ("y_pred",),
    ),
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

"""Linear classifiers trained with minibatch stochastic gradient descent.

``LinearClassifier`` holds the SGD loop and prediction; ``LinearSVM`` and
``Softmax`` only choose the loss. Randomness (the initial W and the
minibatches) comes from a generator seeded by the ``seed`` argument, never
from numpy's global random state, so a run is reproducible.
"""

import logging

import numpy as np

from ._validation import NotFittedError, as_float_array, as_labels, as_nonnegative, as_positive_int
from .softmax import softmax_loss_vectorized
from .svm import svm_loss_vectorized

logger = logging.getLogger(__name__)


class TrainingDivergedError(FloatingPointError):
    """Raised when SGD produces a NaN or infinite loss or weight.

    Attributes
    ----------
    iteration : int
        The iteration at which it happened.
    loss_history : list of float
        The losses up to that iteration.
    """

    def __init__(self, message, iteration, loss_history):
        super().__init__(message)
        self.iteration = iteration
        self.loss_history = loss_history


class LinearClassifier:
    """A linear classifier ``scores = X @ W``; subclasses choose the loss.

    Attributes
    ----------
    W : ndarray of shape (D, C) or None
        The weights; None until :meth:`train` is called.
    """

    def __init__(self):
        self.W = None

    def train(
        self,
        X,
        y,
        learning_rate=1e-3,
        reg=1e-5,
        num_iters=100,
        batch_size=200,
        verbose=False,
        seed=0,
    ):
        """Train with minibatch SGD, starting from small random weights.

        Parameters
        ----------
        X : ndarray of shape (N, D)
            Training examples, one per row (bias column included if wanted).
        y : ndarray of shape (N,), dtype=int
            Labels in ``[0, C)``; C is ``max(y) + 1`` on the first call.
        learning_rate : float
            The SGD step size, > 0.
        reg : float
            Regularisation strength, >= 0.
        num_iters : int
            The number of SGD steps.
        batch_size : int
            Examples per step, sampled with replacement.
        verbose : bool
            If True, log the loss every 100 iterations (logger ``cs_loss``).
        seed : int or numpy.random.Generator
            Seeds the initial W and the minibatch sampling.

        Returns
        -------
        loss_history : list of float
            The minibatch loss at every iteration.

        Raises
        ------
        TrainingDivergedError
            If the loss or W stops being finite (learning rate or reg too
            large); W is left as it was before the failing step.
        """
        X = as_float_array(X, "X")
        y = as_labels(y, "y", num_samples=X.shape[0])
        learning_rate = as_nonnegative(learning_rate, "learning_rate")
        if learning_rate == 0:
            raise ValueError("learning_rate must be > 0, got 0.0.")
        reg = as_nonnegative(reg, "reg")
        num_iters = as_positive_int(num_iters, "num_iters")
        batch_size = as_positive_int(batch_size, "batch_size")
        num_train, dim = X.shape
        rng = np.random.default_rng(seed)
        if self.W is None:
            num_classes = int(y.max()) + 1
            self.W = (0.001 * rng.standard_normal((dim, num_classes))).astype(X.dtype)
        elif self.W.shape[0] != dim:
            raise ValueError(
                f"X has {dim} columns but the trained W has {self.W.shape[0]} rows: "
                "use the same preprocessing, or a new classifier."
            )
        # Labels are checked against C here, once, rather than in every step.
        as_labels(y, "y", num_classes=self.W.shape[1])

        loss_history = []
        for it in range(num_iters):
            # TODO: Sample batch_size training examples with replacement, with their labels.
            # Set: X_batch, y_batch
            # Hint: draw the indices with the seeded generator rng (rng.choice, not
            # np.random, so that a run can be repeated), then index X and y with them.
            ### BEGIN SOLUTION
            idx = rng.choice(num_train, batch_size)  # (batch_size,)
            X_batch = X[idx]  # (batch_size, D)
            y_batch = y[idx]  # (batch_size,)
            ### END SOLUTION
            # Overflow is detected below and reported once, not warned about at every step.
            with np.errstate(over="ignore", invalid="ignore"):
                loss, grad = self.loss(X_batch, y_batch, reg)
                # TODO: Take one SGD step from self.W against the gradient grad of the batch
                # loss; store the result in W_new (leave self.W alone: it is replaced by
                # W_new below, once W_new is known to be finite).
                # Set: W_new
                # Hint: the step is learning_rate times the gradient.
                ### BEGIN SOLUTION
                W_new = self.W - learning_rate * grad
                ### END SOLUTION
            if not (np.isfinite(loss) and np.isfinite(W_new).all()):
                raise TrainingDivergedError(
                    f"Training diverged at iteration {it} (loss {loss}) with "
                    f"learning_rate={learning_rate:g}, reg={reg:g}: lower the learning "
                    "rate or the regularisation strength.",
                    it,
                    loss_history,
                )
            self.W = W_new
            loss_history.append(loss)
            if verbose and it % 100 == 0:
                logger.info("iteration %d / %d: loss %f", it, num_iters, loss)
        return loss_history

    def predict(self, X):
        """Predict the class with the highest score for each example.

        Parameters
        ----------
        X : ndarray of shape (N, D)

        Returns
        -------
        y_pred : ndarray of shape (N,), dtype=int64
        """
        if self.W is None:
            raise NotFittedError(
                f"This {type(self).__name__} has no weights yet: call train(X, y, ...) first."
            )
        X = as_float_array(X, "X")
        if X.shape[1] != self.W.shape[0]:
            raise ValueError(
                f"X has {X.shape[1]} columns but W has {self.W.shape[0]} rows: "
                "preprocess test data exactly like training data (bias column included)."
            )
        y_pred = np.zeros(X.shape[0], dtype=np.int64)
        # TODO: Predict the class with the highest score for each example; the scores
        # are X @ self.W.
        # Set: y_pred
        # Hint: np.argmax along axis 1 of the (N, C) scores.
        ### BEGIN SOLUTION
        scores = X @ self.W  # (N, C)
        y_pred = np.argmax(scores, axis=1)  # (N,)
        ### END SOLUTION
        return y_pred

    def loss(self, X_batch, y_batch, reg):
        """Loss and gradient on a minibatch; subclasses implement it.

        Parameters
        ----------
        X_batch : ndarray of shape (B, D)
        y_batch : ndarray of shape (B,), dtype=int
        reg : float

        Returns
        -------
        loss : float
        dW : ndarray of shape (D, C)
        """
        raise NotImplementedError(f"{type(self).__name__} does not define a loss.")


class LinearSVM(LinearClassifier):
    """A linear classifier trained with the multiclass SVM (hinge) loss."""

    def loss(self, X_batch, y_batch, reg):
        return svm_loss_vectorized(self.W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    """A linear classifier trained with the softmax (cross-entropy) loss."""

    def loss(self, X_batch, y_batch, reg):
        return softmax_loss_vectorized(self.W, X_batch, y_batch, reg)

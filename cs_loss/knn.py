"""k-nearest-neighbour classifier with L2 distances.

Conventions: distances are Euclidean (L2, not squared), in an array of shape
(num_test, num_train); among the k nearest training examples the most common
label wins, and a tie between labels goes to the smaller label. Integer
inputs (raw uint8 pixels) are converted to float64 first, so that pixel
differences cannot wrap around.
"""

import numpy as np

from ._validation import NotFittedError, as_float_array, as_labels, as_positive_int


class KNearestNeighbor:
    """A kNN classifier with L2 distance.

    Attributes
    ----------
    X_train : ndarray of shape (num_train, D), dtype=float
        The memorised training examples (set by :meth:`train`).
    y_train : ndarray of shape (num_train,), dtype=int64
        Their labels.
    """

    def __init__(self):
        self.X_train = None
        self.y_train = None

    def train(self, X, y):
        """Memorise the training data; kNN has nothing else to learn.

        Parameters
        ----------
        X : ndarray of shape (num_train, D)
            Training examples, one per row.
        y : ndarray of shape (num_train,), dtype=int
            Their labels, integers >= 0.

        Returns
        -------
        self : KNearestNeighbor
        """
        X = as_float_array(X, "X")
        self.y_train = as_labels(y, "y", num_samples=X.shape[0])
        self.X_train = X
        return self

    def _check_test(self, X):
        """Validate test examples against the training data."""
        if self.X_train is None:
            raise NotFittedError(
                "This KNearestNeighbor has no training data yet: call train(X_train, y_train) "
                "before computing distances or predicting."
            )
        X = as_float_array(X, "X")
        if X.shape[1] != self.X_train.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} columns but the training data has {self.X_train.shape[1]}: "
                "preprocess test data exactly like training data."
            )
        return X

    def predict(self, X, k=1, num_loops=0):
        """Predict a label for each test example.

        Parameters
        ----------
        X : ndarray of shape (num_test, D)
            Test examples, one per row.
        k : int
            The number of neighbours that vote, ``1 <= k <= num_train``.
        num_loops : {0, 1, 2}
            Which distance implementation to use.

        Returns
        -------
        y_pred : ndarray of shape (num_test,), dtype=int64
            Predicted labels.
        """
        X = self._check_test(X)
        k = as_positive_int(k, "k", self.X_train.shape[0], "the number of training examples")
        methods = {
            0: self.compute_distances_no_loops,
            1: self.compute_distances_one_loop,
            2: self.compute_distances_two_loops,
        }
        if isinstance(num_loops, bool) or num_loops not in methods:
            raise ValueError(f"num_loops must be 0, 1 or 2, got {num_loops!r}.")
        return self.predict_labels(methods[num_loops](X), k=k)

    def compute_distances_two_loops(self, X):
        """L2 distances with a loop over test and a loop over training examples.

        Parameters
        ----------
        X : ndarray of shape (num_test, D)
            Test examples.

        Returns
        -------
        dists : ndarray of shape (num_test, num_train)
            ``dists[i, j]`` is the Euclidean distance between ``X[i]`` and
            ``X_train[j]``.
        """
        X = self._check_test(X)
        num_test, num_train = X.shape[0], self.X_train.shape[0]
        dists = np.zeros((num_test, num_train), dtype=np.result_type(X, self.X_train))
        ### BEGIN SOLUTION
        for i in range(num_test):
            for j in range(num_train):
                dists[i, j] = np.sqrt(np.sum((X[i] - self.X_train[j]) ** 2))
        ### END SOLUTION
        return dists

    def compute_distances_one_loop(self, X):
        """L2 distances with a single loop over test examples.

        Same inputs and outputs as :meth:`compute_distances_two_loops`.
        """
        X = self._check_test(X)
        num_test, num_train = X.shape[0], self.X_train.shape[0]
        dists = np.zeros((num_test, num_train), dtype=np.result_type(X, self.X_train))
        ### BEGIN SOLUTION
        for i in range(num_test):
            # Broadcasting (num_train, D) - (D,) compares X[i] with every training row.
            dists[i, :] = np.sqrt(np.sum((self.X_train - X[i]) ** 2, axis=1))
        ### END SOLUTION
        return dists

    def compute_distances_no_loops(self, X):
        """L2 distances with no explicit loop, using matrix products.

        Same inputs and outputs as :meth:`compute_distances_two_loops`.
        """
        X = self._check_test(X)
        num_test, num_train = X.shape[0], self.X_train.shape[0]
        dists = np.zeros((num_test, num_train), dtype=np.result_type(X, self.X_train))
        ### BEGIN SOLUTION
        # ||x - t||^2 = ||x||^2 - 2 x.t + ||t||^2, with one matrix product for all x.t.
        # In-place steps keep a single (num_test, num_train) array alive.
        np.matmul(X, self.X_train.T, out=dists)  # (num_test, num_train)
        dists *= -2
        dists += np.einsum("ij,ij->i", X, X)[:, None]  # (num_test, 1)
        dists += np.einsum("ij,ij->i", self.X_train, self.X_train)[None, :]  # (1, num_train)
        # Rounding can make a tiny squared distance negative; clip before the root.
        np.maximum(dists, 0, out=dists)
        np.sqrt(dists, out=dists)
        ### END SOLUTION
        return dists

    def predict_labels(self, dists, k=1):
        """Majority vote of the k nearest training labels for each test example.

        Parameters
        ----------
        dists : ndarray of shape (num_test, num_train)
            Distances between test and training examples.
        k : int
            The number of neighbours that vote.

        Returns
        -------
        y_pred : ndarray of shape (num_test,), dtype=int64
            Predicted labels; a tie between labels goes to the smaller label.
        """
        if self.y_train is None:
            raise NotFittedError(
                "This KNearestNeighbor has no training data yet: call train(X_train, y_train) "
                "before predicting."
            )
        dists = as_float_array(dists, "dists")
        num_train = self.y_train.shape[0]
        if dists.shape[1] != num_train:
            raise ValueError(
                f"dists has {dists.shape[1]} columns but there are {num_train} training "
                "examples: dists must have shape (num_test, num_train)."
            )
        k = as_positive_int(k, "k", num_train, "the number of training examples")
        num_test = dists.shape[0]
        y_pred = np.zeros(num_test, dtype=np.int64)
        ### BEGIN SOLUTION
        num_classes = int(self.y_train.max()) + 1
        # The k smallest distances of each row (in no particular order; order does not
        # matter for a vote). A stable argsort would do the same, more slowly.
        if k < num_train:
            nearest = np.argpartition(dists, k - 1, axis=1)[:, :k]  # (num_test, k)
        else:
            nearest = np.broadcast_to(np.arange(num_train), (num_test, k))
        closest_y = self.y_train[nearest]  # (num_test, k)
        # Count the votes of every row at once: row i's labels go to bins i*C .. i*C + C-1.
        offsets = np.arange(num_test)[:, None] * num_classes  # (num_test, 1)
        votes = np.bincount((closest_y + offsets).ravel(), minlength=num_test * num_classes)
        # argmax returns the first maximum, which is the smaller label on a tie.
        y_pred[:] = votes.reshape(num_test, num_classes).argmax(axis=1)
        ### END SOLUTION
        return y_pred

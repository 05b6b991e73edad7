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
        # TODO: Compute the L2 distance between the i-th test example X[i] and the j-th
        # training example self.X_train[j] for every pair (i, j), and store it in dists[i, j].
        # Set: dists
        # Hint: loop over i and j only; np.sum and np.sqrt handle the D dimensions.
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
        # TODO: Fill dists one row at a time: row i holds the L2 distances from the test
        # example X[i] to every training example.
        # Set: dists
        # Hint: self.X_train - X[i] broadcasts X[i] against every training row; sum the
        # squares along axis=1.
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
        # TODO: Compute every L2 distance at once, with no explicit loop and no array of
        # shape (num_test, num_train, D): expand ||x - t||^2 = ||x||^2 - 2 x.t + ||t||^2.
        # Set: dists
        # Hint: X @ self.X_train.T gives every x.t in one product; add the squared norms by
        # broadcasting, and clip at 0 before np.sqrt (rounding can go slightly below 0).
        ### BEGIN SOLUTION
        # ||x - t||^2 = ||x||^2 - 2 x.t + ||t||^2: one matrix product gives every x.t.
        test_sq = np.sum(X**2, axis=1)[:, np.newaxis]  # (num_test, 1)
        train_sq = np.sum(self.X_train**2, axis=1)[np.newaxis, :]  # (1, num_train)
        cross = X @ self.X_train.T  # (num_test, num_train)
        sq_dists = test_sq - 2 * cross + train_sq  # (num_test, num_train)
        # Rounding can make a squared distance near 0 slightly negative; clip before the root.
        dists = np.sqrt(np.maximum(sq_dists, 0))  # (num_test, num_train)
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
        # TODO: For each test example i, find the labels of its k nearest training examples
        # (row i of dists) and store the most common one in y_pred[i]; a tie goes to the
        # smaller label.
        # Set: y_pred
        # Hint: np.argsort orders a row's distances; np.bincount counts the labels, and
        # np.argmax returns the first of equal counts, which is the smaller label.
        ### BEGIN SOLUTION
        for i in range(num_test):
            # A stable sort keeps equally distant neighbours in training order.
            nearest = np.argsort(dists[i], kind="stable")[:k]  # (k,)
            closest_y = self.y_train[nearest]  # (k,)
            y_pred[i] = np.argmax(np.bincount(closest_y))
        ### END SOLUTION
        return y_pred

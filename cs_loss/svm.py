"""Multiclass SVM (hinge) loss, naive and vectorized.

Conventions, shared with :mod:`cs_loss.softmax`:

- ``W`` has shape (D, C), ``X`` has shape (N, D), ``y`` has shape (N,) with
  labels in ``[0, C)``; D counts the bias column when there is one.
- For example i with scores s = X[i] @ W the loss is
  ``L_i = sum over j != y[i] of max(0, s[j] - s[y[i]] + 1)`` (margin 1).
- The data loss is averaged over the N examples; the penalty
  ``reg * sum(W**2)`` is added once, so its gradient is ``2 * reg * W``.
- The hinge is not differentiable where a margin is exactly 0; we use the
  subgradient 0 there (the margin must be strictly positive to count).
- Both functions return ``(loss, dW)``: ``loss`` a Python float, ``dW`` an
  array of W's shape and of the floating dtype of ``X @ W``.
"""

import numpy as np

from ._validation import check_loss_inputs, check_loss_result


def svm_loss_naive(W, X, y, reg):
    """Multiclass SVM loss and its gradient, computed with explicit loops.

    Parameters
    ----------
    W : ndarray of shape (D, C)
        Weights, one column per class.
    X : ndarray of shape (N, D)
        A minibatch of N examples, one per row.
    y : ndarray of shape (N,), dtype=int
        Labels; ``y[i] = c`` means ``X[i]`` has class c, ``0 <= c < C``.
    reg : float
        Regularisation strength, >= 0.

    Returns
    -------
    loss : float
        Mean hinge loss over the N examples plus ``reg * sum(W**2)``.
    dW : ndarray of shape (D, C)
        Gradient of ``loss`` with respect to ``W``.

    Raises
    ------
    TypeError, ValueError
        If an argument has the wrong type, shape or values (see
        :func:`cs_loss._validation.check_loss_inputs`).
    """
    W, X, y, reg = check_loss_inputs(W, X, y, reg)
    loss = 0.0
    dW = np.zeros(W.shape, dtype=np.result_type(W, X))  # (D, C)
    # TODO: Compute the multiclass SVM loss with loops over the examples and the classes:
    # sum max(0, s[j] - s[y[i]] + 1) over the classes j != y[i], average over the N
    # examples and add reg * sum(W**2). Compute the gradient dW in the same loops.
    # Set: loss, dW
    # Hint: each positive margin adds X[i] to column j of dW and subtracts X[i] from
    # column y[i]; average dW over N too, and the penalty adds 2 * reg * W.
    ### BEGIN SOLUTION
    num_classes = W.shape[1]
    num_train = X.shape[0]
    for i in range(num_train):
        scores = X[i].dot(W)  # (C,)
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1  # note delta = 1
            if margin > 0:
                loss += margin
                # A positive margin pushes class j up and the true class down.
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    ### END SOLUTION
    return check_loss_result(loss, dW, W, X, "svm_loss_naive")


def svm_loss_vectorized(W, X, y, reg):
    """Multiclass SVM loss and its gradient, without loops over examples.

    Same inputs and outputs as :func:`svm_loss_naive`.
    """
    W, X, y, reg = check_loss_inputs(W, X, y, reg, scan_X=False)  # X: see the result check
    loss = 0.0
    dW = np.zeros(W.shape, dtype=np.result_type(W, X))  # (D, C)
    # TODO: Compute the same loss and gradient as svm_loss_naive without any loop over
    # the examples: all scores with one matrix product, then all margins at once.
    # Set: loss, dW
    # Hint: dL/dscores is 1 for each positive margin and minus the number of positive
    # margins at the true class; then dW = X.T @ dscores / N + 2 * reg * W.
    ### BEGIN SOLUTION
    num_train = X.shape[0]
    rows = np.arange(num_train)  # (N,)
    scores = X @ W  # (N, C)
    correct_class_scores = scores[rows, y][:, np.newaxis]  # (N, 1)
    margins = np.maximum(0, scores - correct_class_scores + 1)  # (N, C)
    margins[rows, y] = 0  # the true class is not compared with itself
    loss = np.sum(margins) / num_train + reg * np.sum(W * W)
    dscores = (margins > 0).astype(scores.dtype)  # (N, C)
    dscores[rows, y] = -np.sum(dscores, axis=1)
    dW = X.T @ dscores / num_train + 2 * reg * W  # (D, C)
    ### END SOLUTION
    return check_loss_result(loss, dW, W, X, "svm_loss_vectorized")

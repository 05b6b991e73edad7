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

from ._blocks import row_blocks
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
    dW = np.zeros(W.shape, dtype=np.result_type(W, X))
    ### BEGIN SOLUTION
    num_classes = W.shape[1]
    num_train = X.shape[0]
    for i in range(num_train):
        scores = X[i].dot(W)
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1  # note delta = 1
            if margin > 0:
                loss += margin
                # Each violated margin pushes class j up and the true class down.
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    ### END SOLUTION
    return check_loss_result(loss, dW, X)


def svm_loss_vectorized(W, X, y, reg):
    """Multiclass SVM loss and its gradient, without loops over examples.

    Same inputs and outputs as :func:`svm_loss_naive`.
    """
    W, X, y, reg = check_loss_inputs(W, X, y, reg, scan_X=False)  # X: see the result check
    loss = 0.0
    dW = np.zeros(W.shape, dtype=np.result_type(W, X))
    ### BEGIN SOLUTION
    num_train = X.shape[0]
    dW_T = dW.T  # (C, D) view: dS.T @ X is the faster layout for a skinny product
    for rows in row_blocks(X):
        X_b, y_b = X[rows], y[rows]  # (B, D), (B,)
        idx = np.arange(X_b.shape[0])
        scores = X_b @ W  # (B, C)
        correct = scores[idx, y_b][:, None]  # (B, 1)
        margins = np.maximum(scores - correct + 1, 0)  # (B, C)
        margins[idx, y_b] = 0
        loss += float(margins.sum(dtype=np.float64))
        # dL/dscores: 1 for every violated margin, minus their count on the true class.
        dscores = (margins > 0).astype(dW.dtype)  # (B, C)
        dscores[idx, y_b] = -dscores.sum(axis=1)
        dW_T += dscores.T @ X_b  # (C, D)
    loss = loss / num_train + reg * float(np.sum(W * W))
    dW /= num_train
    dW += 2 * reg * W
    ### END SOLUTION
    return check_loss_result(loss, dW, X)

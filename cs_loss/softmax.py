"""Softmax (cross-entropy) loss, naive and vectorized.

Same conventions as :mod:`cs_loss.svm` (shapes, mean over N,
``reg * sum(W**2)``, ``(loss, dW)`` return). For example i with scores
s = X[i] @ W the loss is ``L_i = -log(exp(s[y[i]]) / sum_j exp(s[j]))``.

Numerical stability: subtracting ``max_j s[j]`` from every score leaves the
probabilities unchanged (it multiplies numerator and denominator by the same
factor) and keeps ``exp`` from overflowing, so both functions return a finite
loss and gradient for any finite scores. The loss of a row is computed as
``log(sum_j exp(s[j] - max)) - (s[y[i]] - max)`` rather than as ``-log(p)``,
which would be ``-log(0) = inf`` once a probability underflows; and the log
of the sum as ``log1p`` of the terms other than the maximum's ``exp(0) = 1``,
so that a confident but not certain prediction keeps a loss above 0.
"""

import numpy as np

from ._blocks import row_blocks
from ._validation import check_loss_inputs, check_loss_result


def softmax_loss_naive(W, X, y, reg):
    """Softmax loss and its gradient, computed with explicit loops.

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
        Mean cross-entropy over the N examples plus ``reg * sum(W**2)``.
    dW : ndarray of shape (D, C)
        Gradient of ``loss`` with respect to ``W``.

    Raises
    ------
    TypeError, ValueError
        If an argument has the wrong type, shape or values.
    """
    W, X, y, reg = check_loss_inputs(W, X, y, reg)
    loss = 0.0
    dW = np.zeros(W.shape, dtype=np.result_type(W, X))
    ### BEGIN SOLUTION
    num_classes = W.shape[1]
    num_train = X.shape[0]
    for i in range(num_train):
        scores = X[i].dot(W)
        top = np.argmax(scores)
        scores = scores - scores[top]  # shift for stability, see module docstring
        exp_scores = np.exp(scores)
        sum_exp = np.sum(exp_scores)
        # log(sum_exp) = log(1 + the other terms); log1p keeps tiny losses above 0.
        loss += np.log1p(np.sum(np.delete(exp_scores, top))) - scores[y[i]]
        for j in range(num_classes):
            p_j = exp_scores[j] / sum_exp
            # dL_i/ds_j = p_j - 1[j == y_i]
            dW[:, j] += (p_j - (j == y[i])) * X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    ### END SOLUTION
    return check_loss_result(loss, dW, X)


def softmax_loss_vectorized(W, X, y, reg):
    """Softmax loss and its gradient, without loops over examples.

    Same inputs and outputs as :func:`softmax_loss_naive`.
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
        top = scores.argmax(axis=1)  # (B,)
        scores -= scores[idx, top][:, None]
        exp_scores = np.exp(scores)  # (B, C), exactly 1 at each row's maximum
        exp_scores[idx, top] = 0
        others = exp_scores.sum(axis=1)  # (B,) sum of the terms besides that 1
        exp_scores[idx, top] = 1
        # log(sum of exp) = log1p(others), which stays above 0 for tiny losses.
        loss += float(np.sum(np.log1p(others) - scores[idx, y_b], dtype=np.float64))
        probs = exp_scores / (1 + others)[:, None]  # (B, C)
        probs[idx, y_b] -= 1  # dL/dscores = probs - one_hot(y)
        dW_T += probs.T @ X_b  # (C, D)
    loss = loss / num_train + reg * float(np.sum(W * W))
    dW /= num_train
    dW += 2 * reg * W
    ### END SOLUTION
    return check_loss_result(loss, dW, X)

"""Softmax (cross-entropy) loss, naive and vectorized.

Same conventions as :mod:`cs_loss.svm` (shapes, mean over N,
``reg * sum(W**2)``, ``(loss, dW)`` return). For example i with scores
s = X[i] @ W the loss is ``L_i = -log(exp(s[y[i]]) / sum_j exp(s[j]))``.

Numerical stability: subtracting ``max_j s[j]`` from every score leaves the
probabilities unchanged (it multiplies numerator and denominator by the same
factor) and keeps ``exp`` from overflowing. With the shifted scores
``f = s - max_j s[j]`` the loss of a row is computed in its log-sum-exp form
``L_i = log(sum_j exp(f[j])) - f[y[i]]`` rather than as ``-log(p)``: a
probability that underflows to 0 would make ``-log(p)`` infinite, while the
log-sum-exp form stays finite (and exact) for any finite scores.

A very confident right prediction has a true loss below the float64 rounding
of 1 (scores [10, -100, -100] with y = 0 give 3.4e-48); ``log`` of a sum that
rounds to exactly 1 returns 0.0 for it, which is the nearest float64 can say.
"""

import numpy as np

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
    dW = np.zeros(W.shape, dtype=np.result_type(W, X))  # (D, C)
    # TODO: Compute the softmax loss -log(exp(s[y[i]]) / sum_j exp(s[j])) of each example
    # with explicit loops, average it over the N examples and add reg * sum(W**2).
    # Compute the gradient dW in the same loops.
    # Set: loss, dW
    # Hint: subtract the row's largest score first (no probability changes, exp cannot
    # overflow) and take the loss as log(sum_j exp(s[j])) - s[y[i]] of the shifted s;
    # dL_i/ds[j] = p[j] - (j == y[i]).
    ### BEGIN SOLUTION
    num_classes = W.shape[1]
    num_train = X.shape[0]
    for i in range(num_train):
        scores = X[i].dot(W)  # (C,)
        scores -= np.max(scores)  # shift for stability, see the module docstring
        exp_scores = np.exp(scores)  # (C,)
        sum_exp = np.sum(exp_scores)
        loss += np.log(sum_exp) - scores[y[i]]
        for j in range(num_classes):
            p_j = exp_scores[j] / sum_exp
            dW[:, j] += (p_j - (j == y[i])) * X[i]
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    ### END SOLUTION
    return check_loss_result(loss, dW, W, X, "softmax_loss_naive")


def softmax_loss_vectorized(W, X, y, reg):
    """Softmax loss and its gradient, without loops over examples.

    Same inputs and outputs as :func:`softmax_loss_naive`.
    """
    W, X, y, reg = check_loss_inputs(W, X, y, reg, scan_X=False)  # X: see the result check
    loss = 0.0
    dW = np.zeros(W.shape, dtype=np.result_type(W, X))  # (D, C)
    # TODO: Compute the same loss and gradient as softmax_loss_naive without any loop:
    # the scores, the probabilities and dW for all examples at once.
    # Set: loss, dW
    # Hint: shift each row by its max and use log(sum exp(shifted)) - shifted[y], not
    # -log(probs), which is inf where a probability underflows to 0;
    # dW = X.T @ (probs - one_hot(y)) / N + 2 * reg * W.
    ### BEGIN SOLUTION
    num_train = X.shape[0]
    rows = np.arange(num_train)  # (N,)
    scores = X @ W  # (N, C)
    shifted = scores - np.max(scores, axis=1, keepdims=True)  # (N, C), row maxima are 0
    exp_scores = np.exp(shifted)  # (N, C)
    sum_exp = np.sum(exp_scores, axis=1)  # (N,)
    loss = np.sum(np.log(sum_exp) - shifted[rows, y]) / num_train + reg * np.sum(W * W)
    probs = exp_scores / sum_exp[:, np.newaxis]  # (N, C)
    dscores = probs.copy()  # (N, C)
    dscores[rows, y] -= 1  # dL/dscores = probs - one_hot(y)
    dW = X.T @ dscores / num_train + 2 * reg * W  # (D, C)
    ### END SOLUTION
    return check_loss_result(loss, dW, W, X, "softmax_loss_vectorized")

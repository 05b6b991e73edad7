"""Straightforward CS231n-style implementations, timed as baselines by bench.py.

They are what a typical finished assignment looks like: correct, vectorized in
the obvious way, float64 where numpy's defaults put it. They are not part of
the kit's API.
"""

import pickle
from pathlib import Path

import numpy as np


def svm_loss_cs231n(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    correct = scores[np.arange(num_train), y][:, np.newaxis]
    margins = np.maximum(0, scores - correct + 1)
    margins[np.arange(num_train), y] = 0
    loss = np.sum(margins) / num_train + reg * np.sum(W * W)
    binary = (margins > 0).astype(float)
    binary[np.arange(num_train), y] = -np.sum(binary, axis=1)
    dW = X.T.dot(binary) / num_train + 2 * reg * W
    return loss, dW


def train_cs231n(X, y, learning_rate, reg, num_iters, batch_size, seed=0):
    """The CS231n LinearClassifier.train loop: choice of batch_size indices, then X[idx].

    CS231n calls ``np.random.choice``; a local generator's ``choice`` draws the
    same kind of indices at the same cost without touching global state.
    """
    rng = np.random.default_rng(seed)
    num_train, dim = X.shape
    num_classes = int(np.max(y)) + 1
    W = 0.001 * rng.standard_normal((dim, num_classes))
    loss_history = []
    for _ in range(num_iters):
        batch_idx = rng.choice(num_train, batch_size, replace=True)
        X_batch = X[batch_idx]
        y_batch = y[batch_idx]
        loss, grad = svm_loss_cs231n(W, X_batch, y_batch, reg)
        loss_history.append(loss)
        W -= learning_rate * grad
    return loss_history


def load_cifar10_cs231n(root):
    """CS231n's data_utils.load_CIFAR10: float64 batches, concatenated."""
    xs, ys = [], []
    for b in range(1, 6):
        with open(Path(root) / f"data_batch_{b}", "rb") as f:
            d = pickle.load(f, encoding="latin1")
        X = d["data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype("float")
        xs.append(X)
        ys.append(np.array(d["labels"]))
    X_train, y_train = np.concatenate(xs), np.concatenate(ys)
    del xs, ys
    with open(Path(root) / "test_batch", "rb") as f:
        d = pickle.load(f, encoding="latin1")
    X_test = d["data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype("float")
    return X_train, y_train, X_test, np.array(d["labels"])


def get_cifar10_data_cs231n(
    root, num_training=49000, num_validation=1000, num_test=1000, num_dev=500
):
    """The SVM notebook's preprocessing: split, flatten, mean image, bias trick (float64)."""
    X_train, y_train, X_test, y_test = load_cifar10_cs231n(root)
    X_val = X_train[num_training : num_training + num_validation]
    X_train = X_train[:num_training]
    mask = np.random.default_rng(0).choice(num_training, num_dev, replace=False)
    X_dev = X_train[mask]
    X_test = X_test[:num_test]
    X_train = np.reshape(X_train, (X_train.shape[0], -1))
    X_val = np.reshape(X_val, (X_val.shape[0], -1))
    X_test = np.reshape(X_test, (X_test.shape[0], -1))
    X_dev = np.reshape(X_dev, (X_dev.shape[0], -1))
    mean_image = np.mean(X_train, axis=0)
    X_train -= mean_image
    X_val -= mean_image
    X_test -= mean_image
    X_dev -= mean_image
    X_train = np.hstack([X_train, np.ones((X_train.shape[0], 1))])
    X_val = np.hstack([X_val, np.ones((X_val.shape[0], 1))])
    X_test = np.hstack([X_test, np.ones((X_test.shape[0], 1))])
    X_dev = np.hstack([X_dev, np.ones((X_dev.shape[0], 1))])
    return X_train, X_val, X_test, X_dev

"""cs_loss: kNN, multiclass SVM and softmax classifiers, for the loss-functions unit.

The names are those of CS231n assignment 1, so course material carries over.
Module map: :mod:`cs_loss.knn`, :mod:`cs_loss.svm`, :mod:`cs_loss.softmax`,
:mod:`cs_loss.linear_classifier`, :mod:`cs_loss.gradient_check`,
:mod:`cs_loss.data` (the only module that reads files) and :mod:`cs_loss.vis`
(matplotlib, imported lazily).
"""

from ._validation import NotFittedError
from .data import (
    get_CIFAR10_data,
    get_data,
    get_digits_data,
    load_CIFAR10,
    load_digits,
    load_images,
)
from .gradient_check import GradCheckResult, eval_numerical_gradient, grad_check_sparse, rel_error
from .knn import KNearestNeighbor
from .linear_classifier import LinearClassifier, LinearSVM, Softmax, TrainingDivergedError
from .softmax import softmax_loss_naive, softmax_loss_vectorized
from .svm import svm_loss_naive, svm_loss_vectorized

__all__ = [
    "GradCheckResult",
    "KNearestNeighbor",
    "LinearClassifier",
    "LinearSVM",
    "NotFittedError",
    "Softmax",
    "TrainingDivergedError",
    "eval_numerical_gradient",
    "get_CIFAR10_data",
    "get_data",
    "get_digits_data",
    "grad_check_sparse",
    "load_CIFAR10",
    "load_digits",
    "load_images",
    "rel_error",
    "softmax_loss_naive",
    "softmax_loss_vectorized",
    "svm_loss_naive",
    "svm_loss_vectorized",
]

"""Every exercise of the package, declared once, one module per topic.

Each topic module (:mod:`.knn`, :mod:`.svm`, :mod:`.softmax`,
:mod:`.linear_classifier`) declares its hidden test cases (``CASES``, with their
points, inputs, calls and tolerance), the notebook checks that depend on its
exercises (``NOTEBOOK_CHECKS``: grade id, points, targets, exported values), its
known mistakes (``MISTAKES``) and its correct variants (``CORRECT``),
see :mod:`grading.declare`. This module only gathers them, in a fixed order: the
order of the reports and of the generated files.
"""

from __future__ import annotations

from ..declare import Case, NotebookCheck, Variant
from . import knn, linear_classifier, softmax, svm

#: The order of the hidden tests (as students meet them): the reports' order.
TEST_ORDER = (knn, svm, softmax, linear_classifier)
#: The catalogue's order (``mistakes.npz``, ``mistakes.json``, the diagnoses of a test).
CATALOGUE_ORDER = (svm, softmax, knn, linear_classifier)

CASES: tuple[Case, ...] = tuple(case for topic in TEST_ORDER for case in topic.CASES)
MISTAKES: tuple[Variant, ...] = tuple(v for topic in CATALOGUE_ORDER for v in topic.MISTAKES)
CORRECT: tuple[Variant, ...] = tuple(v for topic in CATALOGUE_ORDER for v in topic.CORRECT)
#: The graded notebook tests that depend on exercises, in the notebooks' order.
NOTEBOOK_CHECKS: tuple[NotebookCheck, ...] = tuple(
    check for topic in TEST_ORDER for check in topic.NOTEBOOK_CHECKS
)

"""Trusted checks of the notebooks' conceptual questions (answers, sets, formulas).

Each check takes the :class:`~grading.notebook_exports.Exported` values of its
cell and returns ``(passed, reason)``, the reason in the student's terms; a
known wrong answer gets a diagnosis.
"""

from __future__ import annotations

import math

from .notebook_exports import FUNCTION_POINTS, kind

# ---- the checks: each takes the Exported values and returns (passed, reason) ----

CHECKS = {}  # grade id -> check(values) -> (passed, reason)


def _equal_answer(expected, diagnoses=None):
    """A check that one exported answer equals ``expected`` (type checked)."""

    def run(values, name):
        value = values.get(name)
        if type(expected) is bool:
            if type(value) is not bool:
                return False, f"{name} must be True or False, got {kind(value)}"
        elif type(expected) in (int, float):
            if type(value) not in (int, float):
                return False, f"{name} must be a number, got {kind(value)}"
        elif type(expected) is str:
            if type(value) is not str:
                return False, f"{name} must be a string, got {kind(value)}"
        if value == expected and type(value) is not bool or value is expected:
            return True, "passed"
        for wrong, why in (diagnoses or {}).items():
            if value == wrong and type(value) is type(wrong):
                return False, f"{name} = {value!r} is not right: {why}"
        return False, f"{name} = {value!r} is not the right answer; reread the question"

    return run


def _answer_check(grade_id, name, expected, diagnoses=None):
    run = _equal_answer(expected, diagnoses)
    CHECKS[grade_id] = lambda values: run(values, name)


def _set_check(grade_id, name, expected, diagnoses):
    def run(values):
        value = values.get(name)
        if type(value) is not frozenset or not value or not value <= {1, 2, 3, 4, 5}:
            return False, f"{name} must be a non-empty set of numbers from 1 to 5, e.g. {{1, 4}}"
        if any(type(v) is not int for v in value):
            return False, f"{name} must hold whole numbers"
        if value == frozenset(expected):
            return True, "passed"
        for wrong, why in diagnoses.items():
            if value == frozenset(wrong):
                return False, f"{name} = {set(value)} is not right: {why}"
        return False, f"{name} = {set(value)} is not right: reread each statement"

    CHECKS[grade_id] = run


_set_check("knn_test_inline_q2", "inline_question_2", {1, 2, 3}, {})
_set_check("knn_test_inline_q3", "inline_question_3", {2, 4}, {})
_answer_check("svm_test_q1", "q1_car_loss_after_small_change", 0.0)
_answer_check("svm_test_q4", "q4_change_in_loss", 1.0)
_answer_check(
    "svm_test_q5",
    "q5_mean_instead_of_sum",
    1,
    {
        2: "the mean is the sum divided by a constant: the minimiser does not change",
        3: "the mean is the sum divided by a constant: the minimiser does not change",
    },
)
_answer_check(
    "svm_test_q6",
    "q6_squared_hinge_is_different",
    True,
    {False: "squaring penalises large margin violations more: a different loss"},
)
_answer_check(
    "svm_test_q7", "q7_zero_loss_W_is_unique", False, {True: "2 * W has zero loss too when W does"}
)
_answer_check(
    "softmax_test_q3",
    "q3_which_loss_changes",
    "softmax",
    {
        "both": "an SVM loss of 0 stays 0 while every margin holds (each other score at least "
        "1 below the correct one); the softmax loss changes with any score",
        "svm": "an SVM loss of 0 stays 0 while every margin holds (each other score at least "
        "1 below the correct one); the softmax loss changes with any score",
    },
)
_answer_check(
    "softmax_test_inline_q2",
    "inline_question_2",
    True,
    {False: "the softmax loss changes whenever a score changes"},
)


def _min_max(min_name, max_name):
    def run(values):
        low, high = values.number(min_name), values.number(max_name)
        if low == 0.0 and high == math.inf:
            return True, "passed"
        if low == 0.0:
            return False, f"{max_name} = {high!r}: can a loss grow without bound? (float('inf'))"
        return (
            False,
            f"{min_name} = {low!r}: what is the loss when every example is classified with a "
            "wide margin?",
        )

    return run


CHECKS["svm_test_q2"] = _min_max("q2_min_loss", "q2_max_loss")
CHECKS["softmax_test_q1"] = _min_max("q1_min_loss", "q1_max_loss")


def _initial_loss(name, expected, diagnoses):
    def run(values):
        table = values.get(name)
        if type(table) is not dict or set(table) != set(FUNCTION_POINTS):
            return False, f"{name} must be a function of C returning a number"
        got = {c: table[c] for c in FUNCTION_POINTS}
        if any(type(v) not in (int, float) for v in got.values()):
            return False, f"{name}(C) must return a number"
        if all(abs(got[c] - expected(c)) < 1e-9 for c in got):
            return True, "passed"
        for formula, why in diagnoses:
            if all(abs(got[c] - formula(c)) < 1e-9 for c in got):
                return False, f"{name}(C) is not right: {why}"
        return False, f"{name}({FUNCTION_POINTS[0]}) = {got[FUNCTION_POINTS[0]]!r} is not right"

    return run


CHECKS["svm_test_q3"] = _initial_loss(
    "q3_initial_loss",
    lambda c: c - 1.0,
    [
        (lambda c: float(c), "the correct class's own margin is not counted: C - 1 terms"),
    ],
)
CHECKS["softmax_test_q2"] = _initial_loss(
    "q2_initial_loss",
    lambda c: math.log(c),
    [
        (lambda c: c - 1.0, "that is the SVM's initial loss; softmax gives -log(1/C)"),
        (lambda c: 1.0 / c, "that is the probability of the correct class; the loss is -log of it"),
        (lambda c: math.log10(c), "use the natural logarithm, as np.log does"),
    ],
)

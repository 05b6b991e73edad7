"""Name the known mistake behind a failing test, or say what the numbers show, revealing no
expected value.

Every known mistake of the catalogue (:mod:`grading.mistakes`) was run through the
hidden tests when the expected values were built (``mistakes.npz``: its outputs,
``mistakes.json``: its behaviour-check codes). A mistake is named on a failing test
only when it explains the whole region: the student's outputs are the mistake's on
every test of the mistake's region that the mistake changes, and right on every test
of the region that the mistake leaves right. Otherwise the feedback gives the
relations the numbers show (:mod:`grading.relations`), each an exact relation with a
quantity computed from the hidden inputs, never one that any two numbers satisfy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import behaviour, mistakes, relations
from .compare import Tolerance, close
from .declare import TOLERANCE
from .plan import BY_NAME
from .topics import CASES

HERE = Path(__file__).resolve().parent
GENERIC_CHECKS = {"linear_train_separable"}  # no mistake is named from these alone
MISTAKES_NPZ = HERE / "mistakes.npz"  # every known mistake's outputs, by make_expected
MISTAKES_JSON = HERE / "mistakes.json"  # their behaviour-check codes and statuses

Arrays = dict[str, np.ndarray]
Known = dict[str, Any]


def load_mistakes(
    npz_path: str | Path = MISTAKES_NPZ, json_path: str | Path = MISTAKES_JSON
) -> Known:
    """{"arrays": {"mistake/test/output": array}, "codes": {mistake: {test: [codes]}}}."""
    arrays, codes = {}, {}
    if Path(npz_path).is_file():
        with np.load(npz_path, allow_pickle=False) as saved:
            arrays = {key: saved[key] for key in saved.files}
    if Path(json_path).is_file():
        codes = json.loads(Path(json_path).read_text())
    return {"arrays": arrays, "codes": codes}


def diagnose(
    name: str, got: Arrays, expected: Arrays, problem_codes: list[str], known: Known
) -> list[str]:
    """Names and diagnoses of the known mistakes that explain the student's outputs on
    test ``name`` and its region, or the relations the numbers show. Reveals no expected value.

    Returns
    -------
    list of str
        ``known mistake `<id>`: <diagnosis>`` for each of :func:`matched_mistakes`, or,
        when none matches, the relations of :func:`grading.relations.relations`.
    """
    found = matched_mistakes(name, got, expected, problem_codes, known)
    return diagnosis_lines(name, got, expected, found)


def diagnosis_lines(
    name: str, got: Arrays, expected: Arrays, found: list[mistakes.Variant]
) -> list[str]:
    """:func:`diagnose`'s lines for the known mistakes ``found`` on test ``name``."""
    lines = [f"known mistake `{v.name}`: {v.diagnosis}" for v in found]
    if not found:
        lines += relations.relations(name, got, expected)
    return lines


def region_tests(region: str) -> list[str]:
    """The hidden tests that target ``region`` (a region id such as ``Class.method#2``)."""
    function = region.split("#")[0]
    return [case.name for case in CASES if function in case.targets]


def matched_mistakes(
    name: str, got: Arrays, expected: Arrays, problem_codes: list[str], known: Known
) -> list[mistakes.Variant]:
    """The known mistakes (``Variant`` of grading/mistakes.py) that change test ``name``
    and explain every test of their region: the student's ``got`` is the mistake's
    output wherever the mistake's differs from the expected one, and right wherever
    the mistake's is right. In catalogue order."""
    if name in GENERIC_CHECKS:
        return []  # many mistakes fail it alike: the specific checks name them
    own_codes = {name: sorted(problem_codes)} if name in behaviour.BEHAVIOUR_CHECKS else {}
    found = []
    for variant in mistakes.MISTAKES:
        tests = region_tests(variant.region)
        if name not in tests or not _changes(variant.name, name, expected, known):
            continue
        if all(_agrees(variant.name, test, got, expected, known, own_codes) for test in tests):
            found.append(variant)
    return found


def _changes(mistake: str, test: str, expected: Arrays, known: Known) -> bool:
    """Whether the known ``mistake`` changes the outputs of ``test`` (or its behaviour)."""
    if test in behaviour.BEHAVIOUR_CHECKS:
        return bool(known["codes"].get(mistake, {}).get(test))
    keys = _keys(test, expected)
    theirs = [known["arrays"].get(f"{mistake}/{k}") for k in keys]
    if not keys or any(v is None for v in theirs):
        return False
    tolerance = _tolerance(test)
    return not all(close(v, expected[k], tolerance) for v, k in zip(theirs, keys, strict=True))


def _agrees(
    mistake: str,
    test: str,
    got: Arrays,
    expected: Arrays,
    known: Known,
    codes: dict[str, list[str]],
) -> bool:
    """Whether the student's outputs on ``test`` are what the known ``mistake`` gives."""
    if test in behaviour.BEHAVIOUR_CHECKS:
        theirs = known["codes"].get(mistake, {}).get(test)
        if theirs is None:
            return False  # the mistake raised there: no behaviour to compare
        if test not in codes:
            codes[test] = sorted(code for code, _ in behaviour.behaviour_problems(got, test))
        return codes[test] == sorted(theirs)
    keys = _keys(test, expected)
    if not keys:
        return True  # not a compared test: nothing to disagree with
    if any(k not in got or f"{mistake}/{k}" not in known["arrays"] for k in keys):
        return False  # a test that raised (the student's or the mistake's) explains nothing
    tolerance = _tolerance(test)
    return all(
        mistake_match(got[k], known["arrays"][f"{mistake}/{k}"], expected[k], tolerance)
        for k in keys
    )


def _keys(test: str, expected: Arrays) -> list[str]:
    return [k for k in expected if k.startswith(test + "/")]


def _tolerance(test: str) -> Tolerance:
    """The tolerance ``test`` is compared with (its case's; the default for others)."""
    case = BY_NAME.get(test)
    return case.tolerance if case is not None else TOLERANCE


def mistake_match(
    got: ArrayLike, theirs: ArrayLike, expected: ArrayLike, tolerance: Tolerance = TOLERANCE
) -> bool:
    """Whether the student's ``got`` is the known mistake's output ``theirs``.

    Non-finite values must be of the same kinds (NaN, +inf, -inf) as the mistake's, and
    at the same cells, or, where every one of them sits at a cell whose right value is
    zero (to rounding), at any such cells: a root of a difference that cancels, as in
    the no-loop distances of identical rows, is NaN or not depending on the BLAS build's
    rounding. The finite values must be close, within ``tolerance`` (the test's case's).
    """
    got, theirs = np.asarray(got), np.asarray(theirs)
    if got.shape != theirs.shape:
        return False
    if theirs.dtype.kind == "f" and not np.isfinite(theirs).all():
        if got.dtype.kind != "f":
            return False
        got = got.astype(np.float64)
        if _kinds(got) != _kinds(theirs):
            return False
        odd_got, odd_theirs = ~np.isfinite(got), ~np.isfinite(theirs)
        shared = odd_got & odd_theirs
        if not np.array_equal(got[shared], theirs[shared], equal_nan=True):
            return False  # another kind (NaN, +inf, -inf) at the same cell
        if not np.array_equal(odd_got, odd_theirs):
            zero = relations.zero_cells(expected)
            if not (zero[odd_got].all() and zero[odd_theirs].all()):
                return False
        finite = ~odd_got & ~odd_theirs
        return bool(close(got[finite], theirs[finite], tolerance))
    return close(got, theirs, tolerance)


def _kinds(values: np.ndarray) -> tuple[bool, bool, bool]:
    """Which of NaN, +inf and -inf occur in ``values``."""
    return (
        bool(np.isnan(values).any()),
        bool(np.isposinf(values).any()),
        bool(np.isneginf(values).any()),
    )

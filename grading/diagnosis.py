"""Name the known mistake behind a failing test, or give a hint, revealing no expected value.

Every known mistake of the catalogue (:mod:`grading.mistakes`) was run through the
hidden tests when the expected values were built (``mistakes.npz``: its outputs,
``mistakes.json``: its behaviour-check codes); a failing test whose outputs are a
mistake's outputs names it, with its diagnosis.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import behaviour, mistakes, plan
from .compare import close

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
    """Names and diagnoses of the known mistakes whose outputs on test ``name`` are
    the student's, plus cheap relation-based hints. Reveals no expected value.

    Returns
    -------
    list of str
        ``known mistake `<id>`: <diagnosis>`` for each of :func:`matched_mistakes`, or,
        when none matches, the hints.
    """
    found = matched_mistakes(name, got, expected, problem_codes, known)
    return diagnosis_lines(name, got, expected, found)


def diagnosis_lines(
    name: str, got: Arrays, expected: Arrays, found: list[mistakes.Variant]
) -> list[str]:
    """:func:`diagnose`'s lines for the known mistakes ``found`` on test ``name``."""
    lines = [f"known mistake `{v.name}`: {v.diagnosis}" for v in found]
    if not found:
        lines += _relations(name, got, expected)
    return lines


def matched_mistakes(
    name: str, got: Arrays, expected: Arrays, problem_codes: list[str], known: Known
) -> list[mistakes.Variant]:
    """The known mistakes (``Variant`` of grading/mistakes.py) whose outputs on test
    ``name`` are the student's ``got``, in catalogue order."""
    found = []
    for variant in mistakes.MISTAKES:
        mistake = variant.name
        if name in behaviour.BEHAVIOUR_CHECKS:
            if name in GENERIC_CHECKS:
                continue  # many mistakes fail it alike: the specific checks name them
            codes = known["codes"].get(mistake, {}).get(name)
            if codes and problem_codes and sorted(codes) == sorted(problem_codes):
                found.append(variant)
            continue
        keys = [k for k in expected if k.startswith(name + "/")]
        theirs = {k: known["arrays"].get(f"{mistake}/{k}") for k in keys}
        if not keys or any(v is None for v in theirs.values()):
            continue
        if all(close(theirs[k], expected[k]) for k in keys):
            continue  # this mistake does not change this test
        if all(k in got and mistake_match(got[k], theirs[k], expected[k]) for k in keys):
            found.append(variant)
    return found


def mistake_match(got: ArrayLike, theirs: ArrayLike, expected: ArrayLike) -> bool:
    """Whether the student's ``got`` is the known mistake's output ``theirs``.

    Non-finite values must be of the same kinds (NaN, +inf, -inf) as the mistake's, and
    at the same cells, or, where every one of them sits at a cell whose right value is
    zero (to rounding), at any such cells: a root of a difference that cancels, as in
    the no-loop distances of identical rows, is NaN or not depending on the BLAS build's
    rounding. The finite values must be close.
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
        if not np.array_equal(odd_got, odd_theirs):
            expected = np.asarray(expected, dtype=np.float64)
            scale = float(np.max(np.abs(expected))) if expected.size else 0.0
            zero = np.abs(expected) <= 1e-6 * scale
            if not (zero[odd_got].all() and zero[odd_theirs].all()):
                return False
        finite = ~odd_got & ~odd_theirs
        return bool(close(got[finite], theirs[finite]))
    return close(got, theirs)


def _kinds(values):
    """Which of NaN, +inf and -inf occur in ``values``."""
    return (
        bool(np.isnan(values).any()),
        bool(np.isposinf(values).any()),
        bool(np.isneginf(values).any()),
    )


def _relations(name, got, expected):
    """Hints from simple relations between the student's value and the expected one."""
    hints = []
    N = plan.examples_of(name)
    for key in [k for k in expected if k.startswith(name + "/")]:
        if key not in got:
            continue
        g = np.asarray(got[key], dtype=np.float64)
        e = expected[key]
        if g.shape != e.shape or e.dtype.kind not in "f" or not np.isfinite(g).all():
            continue
        what = key.split("/", 1)[1]
        nonzero = np.abs(e) > 1e-12
        if nonzero.any():
            ratio = g[nonzero] / e[nonzero]
            r = float(np.median(ratio))
            if r != 1 and np.allclose(ratio, r, rtol=1e-6):
                if N and abs(r - N) < 1e-6 * N:
                    hints.append(
                        f"{what} is exactly N times the right value (N examples): "
                        "divide the sum over the examples by N"
                    )
                elif N and abs(r * N - 1) < 1e-6:
                    hints.append(f"{what} is exactly N times too small: divide by N once")
                else:
                    hints.append(
                        f"{what} is a constant multiple of the right value: look for a wrong factor"
                    )
        if what == "dists" and close(g, e**2):
            hints.append("dists are squared distances: take the square root")
    return hints

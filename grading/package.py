"""Run the hidden package tests on a submission and score them.

The pipeline of one submission's package tests, each step in its own module:
:mod:`grading.plan` writes the declared cases' plan and inputs; :mod:`grading.child`
runs them in one child process (the student's code runs only there; a group at a
time again if that child dies) and reads the numbers it saved; :mod:`grading.compare`
compares them with the expected values; :mod:`grading.behaviour` checks the SGD
steps of ``train``; :mod:`grading.diagnosis` names a known mistake behind a
failing test. :mod:`grading.build` makes the expected values and proves the
catalogue. Nothing a submission does can change another test's score or the
grader itself.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import hidden_tests
from .behaviour import BEHAVIOUR_CHECKS, behaviour_problems
from .child import Arrays, Statuses, run_child, run_groups
from .compare import compare
from .declare import TOLERANCE, Case
from .diagnosis import Known, diagnosis_lines, load_mistakes, matched_mistakes
from .plan import BY_NAME
from .topics import CASES

HERE = Path(__file__).resolve().parent
KIT_ROOT = HERE.parent
EXPECTED = HERE / "expected.npz"
#: Every hidden test case as declared in ``grading/topics/``, in the reports' order:
#: ``(group, name, points, targets, modules)``.
TESTS: tuple[Case, ...] = CASES
GROUPS = sorted({case.group for case in TESTS})
DEFAULT_MEMORY_BYTES = 4 * 2**30

__all__ = [
    "BEHAVIOUR_CHECKS",
    "EXPECTED",
    "GROUPS",
    "KIT_ROOT",
    "TOLERANCE",
    "TESTS",
    "TestResult",
    "group_timeout",
    "load_expected",
    "run_child",
    "run_package_tests",
    "score",
]


@dataclass
class TestResult:
    """One scored test, as reported per student."""

    name: str
    score: float
    max_score: float
    output: str
    kind: str = "package"  # or "notebook"
    targets: tuple = ()
    # The ids of the known mistakes (grading/mistakes.py) the grader matched, in the order
    # ``output`` names them: the report counts these, never names read out of ``output``,
    # which also quotes the student's own exception messages.
    mistakes: tuple = ()


def group_timeout(group: str | None = None) -> float:
    """The limit of a child running ``group`` (every group when None): two import
    rounds, every test, and a margin."""
    tests = sum(1 for case in TESTS if group is None or case.group == group)
    return 2 * hidden_tests.IMPORT_SECONDS + tests * hidden_tests.TEST_SECONDS + 15


def load_expected(path: str | Path = EXPECTED) -> Arrays:
    """The expected outputs of every compared test, ``{"test/output": array}``."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path} is missing: make it with `python -m grading expected`.")
    with np.load(path, allow_pickle=False) as saved:
        return {key: saved[key] for key in saved.files}


def _problems(name: str, arrays: Arrays, expected: Arrays) -> tuple[list[str], list[str]]:
    """(messages, behaviour codes) of what is wrong with test ``name``'s outputs."""
    if not BY_NAME[name].compared:
        found = behaviour_problems(arrays, name)
        return [message for _, message in found], [code for code, _ in found]
    problems = []
    tolerance = BY_NAME[name].tolerance
    for key in sorted(k for k in expected if k.startswith(name + "/")):
        if key not in arrays:
            problems.append(f"{key.split('/', 1)[1]}: missing")
            continue
        reason = compare(arrays[key], expected[key], tolerance)
        if reason:
            problems.append(f"{key.split('/', 1)[1]}: {reason}")
    return problems, []


def score(
    arrays: Arrays, statuses: Statuses, expected: Arrays, known: Known | None = None
) -> list[TestResult]:
    """Score every hidden test from a child's outputs.

    ``known`` holds the known mistakes' outputs (:func:`load_mistakes`; loaded from
    the files next to this module when None): a failing test whose outputs are a
    known mistake's outputs names that mistake and says where to look.
    """
    if known is None:
        known = load_mistakes()
    results = []
    for case in TESTS:
        name, points, targets = case.name, case.points, case.targets
        status = statuses.get(name)
        if not status or not status.get("ok"):
            reason = (status or {}).get("error", "no result")
            results.append(TestResult(name, 0.0, points, reason, targets=targets))
            continue
        problems, codes = _problems(name, arrays, expected)
        if not problems:
            results.append(TestResult(name, float(points), points, "passed", targets=targets))
            continue
        found = matched_mistakes(name, arrays, expected, codes, known)
        hints = diagnosis_lines(name, arrays, expected, found)
        output = "; ".join(problems)
        if hints:
            output += ". " + " ".join(hints)
        mistakes = tuple(v.name for v in found)
        results.append(TestResult(name, 0.0, points, output, targets=targets, mistakes=mistakes))
    return results


def run_package_tests(
    package_dir: str | os.PathLike,
    *,
    timeout: float | None = None,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
    user: pwd.struct_passwd | None = None,
    monitor: Any = None,
    expected_path: str | Path = EXPECTED,
) -> list[TestResult]:
    """All hidden package tests on ``package_dir`` (a folder holding ``cs_loss/``).

    One child runs every test, limited to ``timeout`` seconds (default: the limit of
    all the tests, :func:`group_timeout`); if it dies or times out as a whole, each
    group runs again in its own child (its own limit), so a crash costs only its
    group. Each test has its own limit inside the child. The child runs
    as ``user`` (when given and this process is root) and reports its ``/proc``
    reads to ``monitor`` (a :class:`grading.isolation.Monitor`), see
    :func:`grading.child.run_child`.
    """
    expected = load_expected(expected_path)
    arrays, statuses = run_groups(
        package_dir,
        GROUPS,
        lambda group: timeout or group_timeout(group),
        memory_bytes,
        user=user,
        monitor=monitor,
        total_timeout=timeout or group_timeout(),
    )
    return score(arrays, statuses, expected)


def run_all_groups(
    package_dir: str | os.PathLike, groups: list[str] | None = None
) -> tuple[Arrays, Statuses]:
    """Every group (or ``groups``) on ``package_dir``, with the builder's generous limits
    (300 s and 8 GiB per child): for the reference and the catalogue, not for students."""
    return run_groups(package_dir, groups or GROUPS, lambda _group: 300, 8 * 2**30)


def groups_of(region: str) -> list[str]:
    """The hidden-test groups whose tests target ``region`` (a region id)."""
    function = region.split("#")[0]
    return sorted({case.group for case in TESTS if function in case.targets})

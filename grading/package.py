"""Run the hidden package tests on a submission and score them.

The student's code runs only in child processes (see ``hidden_tests.py``),
each in a throw-away folder holding a copy of the submission's ``cs_loss``,
with a time and a memory limit; this process only compares the numbers the
child saved with the expected ones. Nothing a submission does can change
another test's score or the grader itself.
"""

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import hidden_tests

HERE = Path(__file__).resolve().parent
KIT_ROOT = HERE.parent
EXPECTED = HERE / "expected.npz"
GROUPS = sorted({group for group, *_ in hidden_tests.TESTS})


@dataclass
class TestResult:
    """One scored test, as reported per student."""

    name: str
    score: float
    max_score: float
    output: str
    kind: str = "package"  # or "notebook"
    targets: tuple = ()


def _limit_memory(limit_bytes, user=None):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
        if user is not None:  # drop root: the student's code runs as an unprivileged user
            resource.setrlimit(resource.RLIMIT_NPROC, (64, 64))
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)

    return apply


def grader_user():
    """The unprivileged user that runs student code, when the grader runs as root.

    Named by ``CS_LOSS_GRADE_USER`` (Gradescope's run_autograder sets ``student``).
    """
    name = os.environ.get("CS_LOSS_GRADE_USER")
    if not name or os.geteuid() != 0:
        return None
    import pwd

    try:
        return pwd.getpwnam(name)
    except KeyError:
        print(f"warning: user {name} does not exist; student code runs as root", file=sys.stderr)
        return None


def _group_failed(group, reason):
    """The status of every test of ``group`` when its whole child process failed."""
    return {name: {"ok": False, "error": reason} for g, name, *_ in hidden_tests.TESTS if g == group}


def run_child(package_dir, group, timeout, memory_bytes):
    """Run one group of hidden tests on ``package_dir/cs_loss``.

    Returns
    -------
    arrays : dict of str to ndarray
        Each test's outputs, keyed ``"test/output"``.
    statuses : dict of str to dict
        ``{"ok": True}`` or ``{"ok": False, "error": reason}`` for every test of
        the group, also when the child timed out or died.
    """
    with tempfile.TemporaryDirectory(prefix="cs_loss_grade_") as tmp:
        tmp = Path(tmp)
        source = Path(package_dir) / "cs_loss"
        if source.is_dir():
            shutil.copytree(source, tmp / "cs_loss", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(HERE / "hidden_tests.py", tmp / "hidden_tests.py")
        out = tmp / "out.npz"
        user = grader_user()
        if user is not None:
            for path in [tmp, *tmp.rglob("*")]:
                os.chown(path, user.pw_uid, user.pw_gid)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp),
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MPLBACKEND": "Agg",
        }
        try:
            done = subprocess.run(
                [sys.executable, "-I", "hidden_tests.py", group, str(out)],
                cwd=tmp, env=env, capture_output=True, text=True, timeout=timeout,
                preexec_fn=_limit_memory(memory_bytes, user), check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return {}, _group_failed(group, f"timed out after {timeout:.0f} s")
        status_file = Path(str(out) + ".json")
        if not status_file.is_file():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            reason = f"the test process died (exit code {done.returncode}): {tail[0][:200]}"
            return {}, _group_failed(group, reason)
        try:  # written by the student's process: anything but plain data is a failure
            raw = json.loads(status_file.read_text(errors="replace")) if status_file.stat().st_size < 2**20 else None
            statuses = _group_failed(group, "no result")
            for name in statuses:
                status = raw.get(name) if type(raw) is dict else None
                if type(status) is dict and status.get("ok") is True:
                    statuses[name] = {"ok": True}
                elif type(status) is dict and type(status.get("error")) is str:
                    statuses[name] = {"ok": False, "error": status["error"][:500]}
            with np.load(out, allow_pickle=False) as saved:
                arrays = {key: saved[key] for key in saved.files}
        except Exception:  # noqa: BLE001 - a malformed result file costs this group only
            return {}, _group_failed(group, "the test process left a malformed result")
        return arrays, statuses


def _compare(got, expected):
    """None if ``got`` matches ``expected``, else a reason that reveals no expected value."""
    got = np.asarray(got)
    if got.shape != expected.shape:
        return f"shape {got.shape}, expected {expected.shape}"
    if expected.dtype.kind in "iub":
        if not np.array_equal(got, expected):
            return f"{int(np.sum(got != expected))} of {expected.size} values differ"
        return None
    got = got.astype(np.float64)
    if not np.isfinite(got).all():
        return "contains NaN or infinity"
    scale = max(float(np.max(np.abs(expected))), 1e-12) if expected.size else 1.0
    if not np.allclose(got, expected, rtol=1e-5, atol=1e-7 * scale):
        worst = float(np.max(np.abs(got - expected)))
        return f"differs from the expected value (largest difference {worst:.3g})"
    return None


def score(arrays, statuses, expected):
    """Score every hidden test from a child's outputs."""
    results = []
    for _group, name, points, targets, _run in hidden_tests.TESTS:
        status = statuses.get(name)
        if not status or not status.get("ok"):
            reason = (status or {}).get("error", "no result")
            results.append(TestResult(name, 0.0, points, reason, targets=targets))
            continue
        keys = sorted(k for k in expected if k.startswith(name + "/"))
        problems = []
        for key in keys:
            if key not in arrays:
                problems.append(f"{key.split('/', 1)[1]}: missing")
                continue
            reason = _compare(arrays[key], expected[key])
            if reason:
                problems.append(f"{key.split('/', 1)[1]}: {reason}")
        if problems:
            results.append(TestResult(name, 0.0, points, "; ".join(problems), targets=targets))
        else:
            results.append(TestResult(name, float(points), points, "passed", targets=targets))
    return results


def run_package_tests(package_dir, timeout=60, memory_bytes=4 * 2**30, expected_path=EXPECTED):
    """All hidden package tests on ``package_dir`` (a folder holding ``cs_loss/``)."""
    if not Path(expected_path).is_file():
        raise FileNotFoundError(
            f"{expected_path} is missing: make it with `python -m grading expected`."
        )
    with np.load(expected_path, allow_pickle=False) as saved:
        expected = {key: saved[key] for key in saved.files}
    arrays, statuses = {}, {}
    for group in GROUPS:
        group_arrays, group_statuses = run_child(package_dir, group, timeout, memory_bytes)
        arrays.update(group_arrays)
        statuses.update(group_statuses)
    return score(arrays, statuses, expected)


def make_expected(reference_dir=KIT_ROOT, path=EXPECTED):
    """Run the hidden tests on the reference solution and save their outputs as the expectation."""
    arrays = {}
    for group in GROUPS:
        group_arrays, statuses = run_child(reference_dir, group, timeout=300, memory_bytes=8 * 2**30)
        failed = {name: status for name, status in statuses.items() if not status["ok"]}
        if failed:
            raise RuntimeError(f"the reference solution fails hidden tests: {failed}")
        arrays.update(group_arrays)
    np.savez(path, **arrays)
    return path


"""One hidden-test child per submission, and the group split kept for a child that dies."""

from pathlib import Path

import pytest

from grading import child, package
from grading.markers import write_package

KIT_CS_LOSS = package.KIT_ROOT / "cs_loss"


@pytest.fixture
def runs(monkeypatch):
    """The test names of every child started, in order."""
    started = []
    real = child._run

    def counting(package_dir, names, *args):
        started.append(list(names))
        return real(package_dir, names, *args)

    monkeypatch.setattr(child, "_run", counting)
    return started


def test_an_honest_submission_runs_in_one_child(tmp_path, runs):
    results = package.run_package_tests(package.KIT_ROOT)
    assert all(r.score == r.max_score for r in results)
    assert len(runs) == 1 and sorted(runs[0]) == sorted(case.name for case in package.TESTS)


def test_a_child_that_dies_costs_only_its_group(tmp_path, runs):
    body = "import os\nos._exit(3)"
    write_package(KIT_CS_LOSS, Path(tmp_path), {"svm_loss_naive": body})
    results = {r.name: r for r in package.run_package_tests(tmp_path)}
    assert len(runs) == 1 + len(package.GROUPS)  # all at once, then a group at a time
    for case in package.TESTS:
        result = results[case.name]
        if case.group == "svm":
            assert result.score == 0 and "died (exit code 3)" in result.output, result.output
        else:
            assert result.score == result.max_score, (case.name, result.output)


@pytest.mark.slow
def test_a_hang_that_defeats_the_test_limit_costs_only_its_group(tmp_path, runs):
    # The student's code turns off the child's alarm: the per-test limit cannot stop it,
    # the whole child times out, and the groups run again one child each.
    body = "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass"
    write_package(KIT_CS_LOSS, Path(tmp_path), {"softmax_loss_vectorized": body})
    # The honest groups take about a second together: 10 s for the whole child and 20 s
    # for each honest group leave them ample room, and the hanging group, which never
    # finishes, is stopped at 5 s rather than waited on for 20.
    arrays, statuses = child.run_groups(
        tmp_path,
        package.GROUPS,
        lambda group: 5 if group == "softmax" else 20,
        2**31,
        total_timeout=10,
    )
    assert len(runs) == 1 + len(package.GROUPS)
    for case in package.TESTS:
        status = statuses[case.name]
        if case.group == "softmax":
            assert not status["ok"] and "timed out" in status["error"]
        else:
            assert status["ok"], (case.name, status)

"""Every benchmark runs: each is started in its quick smoke mode and must finish with its figures.

Benchmarks that nothing runs rot (``bench_grading.py`` once broke silently when the example
submissions changed). No speed target is asserted here: targets are ratios measured in a
full run (see each script's docstring); this only proves that the scripts still work.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def run(script, *args, timeout):
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def test_bench_runs_in_quick_mode_and_reports_every_row(tmp_path):
    """bench.py --quick gives a finite, positive figure and baseline for every measurement."""
    out = tmp_path / "rows.json"
    run("bench.py", "--quick", "--repeats", "1", "--json", str(out), timeout=600)
    rows = json.loads(out.read_text())
    names = " ".join(row[0] for row in rows)
    for what in (
        "distances",
        "svm_loss_vectorized",
        "softmax_loss_vectorized",
        "LinearSVM.train",
        "peak memory",
    ):
        assert what in names, f"no {what!r} row in {names!r}"
    for name, ours, base, _target in rows:
        assert math.isfinite(ours) and ours > 0, name
        # The CS231n memory baseline (about 3 GB) is measured only with --memory-baseline.
        assert (math.isfinite(base) and base > 0) or (math.isnan(base) and "memory" in name), name


@pytest.mark.grading
def test_bench_grading_runs_in_quick_mode(tmp_path):
    """bench_grading.py --quick grades its submissions without errors and reports each figure."""
    out = tmp_path / "figures.json"
    stdout = run("bench_grading.py", "--quick", "--json", str(out), timeout=900)
    figures = json.loads(out.read_text())
    assert figures["errors"] == []
    for key in (
        "single_wall_per_submission",
        "single_cpu_per_submission",
        "batch_wall_per_submission",
        "batch_cpu_per_submission",
        "speedup",
    ):
        assert math.isfinite(figures[key]) and figures[key] > 0, (key, figures)
    assert "speed-up of the batch over one worker" in stdout


@pytest.mark.grading
def test_bench_grading_times_run_autograder_on_one_upload(tmp_path):
    """--gradescope runs run_autograder on the reference upload, which gets every point."""
    out = tmp_path / "gradescope.json"
    stdout = run("bench_grading.py", "--gradescope", "--json", str(out), timeout=900)
    figures = json.loads(out.read_text())
    assert math.isfinite(figures["gradescope_wall"]) and figures["gradescope_wall"] > 0
    assert figures["gradescope_cpu"] > 0
    assert figures["scores"] == figures["full_scores"] and figures["scores"][0] > 0
    assert "run_autograder on one upload" in stdout


@pytest.mark.grading
def test_profile_grading_times_each_step_of_one_submission():
    """profile_grading.py grades the reference in full and reports each step and cell."""
    stdout = run("profile_grading.py", "--cells", "3", timeout=900)
    for step in ("package tests (child)", "pp ResilientExecute", "pp SaveAutoGrades"):
        assert step in stdout
    assert "error None" in stdout and "slowest cells" in stdout


def test_bench_grading_refuses_a_baseline_that_is_not_a_checkout_of_the_kit(tmp_path):
    """--baseline names another checkout of the kit; anything else stops before grading."""
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_grading.py"), "--baseline", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert f"{tmp_path} has no grading/" in done.stderr

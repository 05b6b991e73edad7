"""Findings of the hostile review: each test fails on the reviewed commit and states what
should hold.

The forgery tests need no root: what they show (the grader follows a path the
student's process controls) holds whichever user the student's code runs as.
"""

import json
import resource
import tempfile

import nbformat
import numpy as np
import pytest

from grading import (
    behaviour,
    build,
    course,
    markers,
    mistakes,
    notebook_checks,
    package,
)
from grading.preprocessors import TrustedExport
from grading.topics import linear_classifier

KIT_CS_LOSS = course.KIT_ROOT / "cs_loss"


def _blank_bodies():
    return {rid: 'raise NotImplementedError("blank")' for rid in markers.kit_regions(KIT_CS_LOSS)}


# ---- notebook checks


def test_softmax_q3_states_the_margin_condition_that_makes_softmax_the_answer(tmp_path):
    # The notebook's second example, scores [10, 9, 9] with y = 0, has both SVM margins at
    # exactly 0: with "each score changes by at most 0.5" the SVM loss changes too, so
    # "both" was right and marked wrong. The question now keeps every margin (the correct
    # score stays at least 1 above the others), under which only the softmax loss changes.
    notebook = nbformat.read(course.KIT_ROOT / "notebooks" / "softmax.ipynb", as_version=4)
    text = next(c.source for c in notebook.cells if "**Q3.**" in c.source)
    assert "at least 1 above every other score" in text and "at most 0.5" not in text
    scores = np.array([[10.0, -2.0, 3.0], [10.0, 9.0, 9.0], [10.0, -100.0, -100.0]])
    rng = np.random.default_rng(0)
    for _ in range(1000):  # any change that keeps the margins leaves the SVM loss at 0
        changed = scores + rng.uniform(-0.5, 0.5, size=scores.shape)
        keep = changed[:, 1:].max(axis=1) <= changed[:, 0] - 1
        margins = np.maximum(0, changed[:, 1:] - changed[:, :1] + 1)
        assert np.all(margins[keep] == 0)
    for answer, passes in (("softmax", True), ("both", False), ("svm", False)):
        (tmp_path / "softmax_test_q3.json").write_text(
            json.dumps({"q3_which_loss_changes": {"value": answer}})
        )
        passed, reason = notebook_checks.evaluate("softmax_test_q3", tmp_path)
        assert passed == passes, (answer, reason)


# ---- package tests: forged results


EXPECTED_SYMLINK = """
def _forge():
    import os, sys, json
    if not sys.argv[0].endswith("hidden" + "_tests.py"):
        return
    out = sys.argv[2]
    os.remove(out)
    os.symlink({expected!r}, out)  # the grader, not the student, opens it
    with open(sys.argv[1]) as plan:  # the grader's plan names the tests to forge
        names = [t["name"] for t in json.load(plan)["tests"]]
    with open(out + ".json", "w") as f:
        json.dump({{name: {{"ok": True}} for name in names}}, f)


import atexit as _atexit
_atexit.register(_forge)
"""


@pytest.mark.slow
def test_a_result_file_symlinked_to_the_expected_values_earns_nothing(tmp_path):
    # The child's result file is opened by the grader (root) with np.load, which follows a
    # symlink: pointed at grading/expected.npz it carries exactly the expected outputs. The
    # kit folder need not be readable by the student; the path is on the worker's command
    # line (/proc/<ppid>/cmdline) or fixed (/autograder/source on Gradescope).
    package_dir = markers.write_package(KIT_CS_LOSS, tmp_path, _blank_bodies())
    with open(package_dir / "svm.py", "a") as f:
        f.write(EXPECTED_SYMLINK.format(expected=str(package.EXPECTED)))
    results = package.run_package_tests(tmp_path)
    earned = [r.name for r in results if r.score > 0]
    assert earned == []


def test_the_package_child_has_a_file_size_limit(tmp_path):
    # The kernel runs with RLIMIT_FSIZE (256 MiB per file, README); the package-test child
    # runs student code with none, so it can fill the disk the grader and classmates share.
    body = (
        "import resource\n"
        'raise RuntimeError("FSIZE=%d" % resource.getrlimit(resource.RLIMIT_FSIZE)[0])'
    )
    markers.write_package(
        KIT_CS_LOSS, tmp_path, {"KNearestNeighbor.compute_distances_two_loops": body}
    )
    _arrays, statuses = package.run_child(tmp_path, "knn", 60, 4 * 2**30)
    error = statuses["knn_distances_two_loops"]["error"]
    limit = int(error.split("FSIZE=")[1].split()[0].rstrip(")"))
    assert limit != resource.RLIM_INFINITY and 0 < limit <= 2**30, error


# ---- notebook exports: a student-controlled path followed by root


def test_export_folder_behind_a_symlink_is_not_followed(tmp_path):
    # <sandbox work>/.export is in the student's folder: the student's kernel can replace it
    # by a symlink between two notebooks. TrustedExport (root, in nbgrader) then removes and
    # re-creates, mode 0777, <symlink target>/<notebook>: e.g. a classmate's export folder.
    victim = tmp_path / "classmate" / "work" / ".export"
    (victim / "softmax").mkdir(parents=True)
    exported = victim / "softmax" / "softmax_test_q3.json"
    exported.write_text("{}")
    work = tmp_path / "attacker" / "work"
    work.mkdir(parents=True)
    (work / ".export").symlink_to(victim)
    try:
        TrustedExport(export_dir=str(work / ".export")).preprocess(
            nbformat.v4.new_notebook(), {"unique_key": "softmax"}
        )
    except Exception:  # noqa: BLE001 - refusing is a fine outcome
        pass
    assert exported.is_file(), "the classmate's exported values were deleted"


# ---- train: sampling from a part of the data


def _recorded_batches(rows_from, seed=0):
    inputs = linear_classifier.train_inputs()
    X, y = inputs["X"], inputs["y"]
    steps, size = inputs["num_iters"], inputs["batch_size"]
    rng = np.random.default_rng(seed)
    rows = rng.choice(rows_from, steps * size)
    return {
        "linear_train_batches/batch_X": X[rows],
        "linear_train_batches/batch_y": y[rows],
        "linear_train_batches/batch_sizes": np.full(steps, size, dtype=np.int64),
    }


@pytest.mark.parametrize("rows_from", [60, 100])
def test_sampling_from_part_of_the_rows_is_caught(rows_from):
    # rng.choice(num_train // 2, batch_size) never used half of X and got full marks: the
    # coverage check was "fewer than half of the rows", and 480 draws from 60 rows cover all
    # 60. Uniform sampling with replacement covers about 118 of the 120 rows.
    for seed in range(200):
        problems = behaviour.check_train_batches(
            _recorded_batches(rows_from, seed), "linear_train_batches"
        )
        assert [code for code, _ in problems] == ["coverage"], (seed, problems)


def test_uniform_sampling_passes_for_every_seed():
    for seed in range(500):
        assert (
            behaviour.check_train_batches(_recorded_batches(120, seed), "linear_train_batches")
            == []
        )


# ---- the kernel launcher: a student-controlled path followed by root


def test_kernel_launcher_does_not_write_through_a_symlink_in_home(tmp_path):
    # The launcher runs as root: it copies the connection file to <home>/kernel-connection.json,
    # then chowns it to the sandbox user and chmods it. <home> belongs to the student, whose
    # first kernel can leave a symlink there; the next kernel launch (next notebook, or a
    # restart) then overwrites the symlink's target, makes it the student's and mode 0600:
    # any file on the machine (the kit's grading/notebook_checks.py, say) becomes writable
    # by student code.
    import os
    import subprocess

    from grading import isolation

    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    target = tmp_path / "graders_file.py"
    target.write_text("# the grader's file\n")
    (home / "kernel-connection.json").symlink_to(target)
    connection = tmp_path / "connection.json"
    connection.write_text("not a connection file: the kernel exits at once")
    kernels = tmp_path / "kernels"
    kernels.mkdir()
    spec = {
        "uid": None,
        "gid": None,
        "home": str(home),
        "work": str(work),
        "env": {"PATH": os.environ.get("PATH", "")},
        "memory_bytes": 2**31,
        "max_processes": 64,
        "max_file_bytes": 2**20,
        "kernels": str(kernels),
    }
    try:
        subprocess.run(
            isolation.kernel_argv(str(connection)),
            env={**os.environ, isolation.SPEC_VARIABLE: json.dumps(spec)},
            capture_output=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pass
    assert target.read_text() == "# the grader's file\n"
    written = list(kernels.glob("kernel-*.json"))  # the copy went to the grader's folder
    assert len(written) == 1 and written[0].read_text().startswith("not a connection file")


# ---- losses that change their inputs


REG_ALIAS = """
num_train = X.shape[0]
rows = np.arange(num_train)
scores = X @ W
margins = np.maximum(0, scores - scores[rows, y][:, None] + 1)
margins[rows, y] = 0
loss = np.sum(margins) / num_train + reg * np.sum(W * W)
dscores = (margins > 0).astype(scores.dtype)
dscores[rows, y] = -np.sum(dscores, axis=1)
dW = X.T @ dscores / num_train
reg_grad = W  # an alias, not a copy: the next line scales the caller's W
reg_grad *= 2 * reg
dW += reg_grad
"""


@pytest.mark.slow
def test_a_loss_that_scales_the_callers_W_loses_points():
    # Loss and dW are right, but W itself is multiplied by 2 * reg on every call, which
    # breaks training (LinearSVM.loss passes self.W). The hidden tests make fresh inputs
    # for every call and never look at them afterwards, so this gets 8 / 8.
    variant = mistakes.Variant("svm_loss_vectorized", "svm_vectorized_reg_alias", REG_ALIAS)
    with np.load(package.EXPECTED, allow_pickle=False) as saved:
        expected = {key: saved[key] for key in saved.files}
    with tempfile.TemporaryDirectory() as tmp:
        arrays, statuses = build.run_variant(variant, tmp)
    results = [r for r in package.score(arrays, statuses, expected) if r.name in statuses]
    assert any(r.score < r.max_score for r in results), "a loss that scales W gets full marks"

"""Findings of the hostile review: each test fails on the reviewed commit and states what should hold.

The forgery tests need no root: what they show (the grader follows a path the
student's process controls) holds whichever user the student's code runs as.
"""

import json
import resource
import tempfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grading import course, hidden_tests, markers, notebook_checks, package
from grading.preprocessors import TrustedExport

KIT_CS_LOSS = course.KIT_ROOT / "cs_loss"


def _blank_bodies():
    return {rid: 'raise NotImplementedError("blank")' for rid in markers.kit_regions(KIT_CS_LOSS)}


# ---- notebook checks


def test_softmax_q3_both_is_the_right_answer(tmp_path):
    # The notebook's second example, scores [10, 9, 9] with y = 0, has both SVM margins at
    # exactly 0: lowering the true score by 0.001 already makes the SVM loss 0.002, and the
    # question allows changes up to 0.5 (scores [9.5, 9.5, 9] give an SVM loss of 1.5).
    # So "both" losses change; the check accepts only "softmax".
    (tmp_path / "softmax_test_q3.json").write_text(
        json.dumps({"q3_which_loss_changes": {"value": "both"}}))  # fmt: skip
    passed, reason = notebook_checks.evaluate("softmax_test_q3", tmp_path)
    assert passed, reason


# ---- package tests: forged results


EXPECTED_SYMLINK = '''
def _forge():
    import os, sys, json
    if not sys.argv[0].endswith("hidden" + "_tests.py"):
        return
    out = sys.argv[2]
    os.remove(out)
    os.symlink({expected!r}, out)  # the grader, not the student, opens it
    names = [t[1] for t in sys.modules["__main__"].TESTS if t[0] == sys.argv[1]]
    with open(out + ".json", "w") as f:
        json.dump({{name: {{"ok": True}} for name in names}}, f)


import atexit as _atexit
_atexit.register(_forge)
'''


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
    body = ('import resource\n'
            'raise RuntimeError("FSIZE=%d" % resource.getrlimit(resource.RLIMIT_FSIZE)[0])')  # fmt: skip
    markers.write_package(KIT_CS_LOSS, tmp_path, {"KNearestNeighbor.compute_distances_two_loops": body})
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
            nbformat.v4.new_notebook(), {"unique_key": "softmax"})  # fmt: skip
    except Exception:  # noqa: BLE001 - refusing is a fine outcome
        pass
    assert exported.is_file(), "the classmate's exported values were deleted"


# ---- train: sampling from a part of the data


def _recorded_batches(rows_from, seed=0):
    X, y = hidden_tests.train_data()
    steps, size = hidden_tests.TRAIN["num_iters"], hidden_tests.TRAIN["batch_size"]
    rng = np.random.default_rng(seed)
    rows = rng.choice(rows_from, steps * size)
    return {
        "linear_train_batches/batch_X": X[rows],
        "linear_train_batches/batch_y": y[rows],
        "linear_train_batches/batch_sizes": np.full(steps, size, dtype=np.int64),
    }


def test_sampling_from_half_of_the_rows_is_caught():
    # rng.choice(num_train // 2, batch_size) never uses half of X and gets full marks:
    # the coverage check is "fewer than half of the rows", and 480 draws from 60 rows
    # cover all 60. Uniform sampling with replacement covers about 118 of the 120 rows.
    problems = package.check_train_batches(_recorded_batches(60), "linear_train_batches")
    assert problems, "sampling only the first half of X passed every check"


def test_uniform_sampling_still_passes():
    assert package.check_train_batches(_recorded_batches(120), "linear_train_batches") == []

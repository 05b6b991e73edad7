"""Example submissions made from the kit: the reference, the blank release, and one-bug ones.

Each one-bug submission is the reference with one typical mistake; ``check``
verifies that it loses exactly points of tests that target the buggy
function (and at least one of them), so that the tests are known to tell
these bugs apart.
"""

import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import course


@dataclass(frozen=True)
class Bug:
    name: str
    file: str
    old: str
    new: str
    target: str
    occurrence: int = -1  # which occurrence of ``old`` to replace (-1: the last)


BUGS = (
    Bug("svm_vectorized_without_reg_gradient", "cs_loss/svm.py",
        "    dW += 2 * reg * W\n", "", "svm_loss_vectorized"),
    Bug("no_loop_distances_without_sqrt", "cs_loss/knn.py",
        "        np.sqrt(dists, out=dists)\n", "", "KNearestNeighbor.compute_distances_no_loops"),
    Bug("softmax_without_max_shift", "cs_loss/softmax.py",
        """        top = scores.argmax(axis=1)  # (B,)
        scores -= scores[idx, top][:, None]
        exp_scores = np.exp(scores)  # (B, C), exactly 1 at each row's maximum
        exp_scores[idx, top] = 0
        others = exp_scores.sum(axis=1)  # (B,) sum of the terms besides that 1
        exp_scores[idx, top] = 1
        # log(sum of exp) = log1p(others), which stays above 0 for tiny losses.
        loss += float(np.sum(np.log1p(others) - scores[idx, y_b], dtype=np.float64))
        probs = exp_scores / (1 + others)[:, None]  # (B, C)
""",
        """        exp_scores = np.exp(scores)  # (B, C)
        sum_exp = exp_scores.sum(axis=1)  # (B,)
        loss += float(np.sum(np.log(sum_exp) - scores[idx, y_b], dtype=np.float64))
        probs = exp_scores / sum_exp[:, None]  # (B, C)
""", "softmax_loss_vectorized"),
)  # fmt: skip

# Notebook tests that exercise package functions (besides the student's notebook code).
NOTEBOOK_TARGETS = {
    "knn:knn_test_cross_validation": ("KNearestNeighbor.compute_distances_no_loops",
                                      "KNearestNeighbor.predict_labels"),
    "knn:knn_test_best_k": ("KNearestNeighbor.compute_distances_no_loops",
                            "KNearestNeighbor.predict_labels"),
    "svm:svm_test_search": ("LinearClassifier.train", "LinearClassifier.predict", "svm_loss_vectorized"),
    "softmax:softmax_test_search": ("LinearClassifier.train", "LinearClassifier.predict",
                                    "softmax_loss_vectorized"),
}  # fmt: skip


def write_reference(dest, release_dir):
    """What a perfect student submits: the release with the kit's solutions filled in."""
    dest = Path(dest)
    (dest / "cs_loss").mkdir(parents=True, exist_ok=True)
    for name in course.NOTEBOOKS:
        solved = nbformat.read(course.KIT_ROOT / "notebooks" / name, as_version=4)
        answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solved.cells
                   if c.metadata.get("nbgrader", {}).get("solution")}  # fmt: skip
        notebook = nbformat.read(Path(release_dir) / name, as_version=4)
        for cell in notebook.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid in answers and cell.cell_type == "code":
                cell.source = answers[gid]
        nbformat.write(notebook, dest / name)
    for student_file in course.STUDENT_FILES:
        shutil.copy(course.KIT_ROOT / student_file, dest / student_file)
    return dest


def write_bug(bug, dest, release_dir):
    dest = write_reference(dest, release_dir)
    path = dest / bug.file
    text = path.read_text()
    count = text.count(bug.old)
    if count == 0:
        raise ValueError(f"bug {bug.name}: its text no longer occurs in {bug.file}; update BUGS")
    index = range(count)[bug.occurrence]
    parts = text.split(bug.old)
    text = bug.old.join(parts[: index + 1]) + bug.new + bug.old.join(parts[index + 1 :])
    path.write_text(text)
    return dest


def write_examples(dest, release_dir):
    """All example submissions under ``dest``; returns {name: folder}."""
    dest = Path(dest)
    examples = {"reference": write_reference(dest / "reference", release_dir)}
    blank = dest / "blank_release"
    shutil.copytree(release_dir, blank)
    examples["blank_release"] = blank
    for bug in BUGS:
        examples[bug.name] = write_bug(bug, dest / bug.name, release_dir)
    return examples


def allowed_failures(bug, tests):
    """Names of the tests that a submission with ``bug`` may fail."""
    allowed = set()
    for test in tests:
        targets = test.get("targets") or NOTEBOOK_TARGETS.get(test["name"], ())
        if bug.target in targets:
            allowed.add(test["name"])
    return allowed


def verify(results):
    """Problems with the example submissions' grades (an empty list means all is well)."""
    by_name = {r["student"]: r for r in results}
    problems = []
    reference = by_name["reference"]
    for test in reference["tests"]:
        if test["kind"] != "written" and test["score"] < test["max_score"]:
            problems.append(f"reference loses points on {test['name']}: {test['output']}")
    blank = by_name["blank_release"]
    if blank["error"]:
        problems.append(f"grading the blank release failed: {blank['error']}")
    if blank["auto_score"] != 0:
        earned = [t["name"] for t in blank["tests"] if t["score"] > 0]
        problems.append(f"the blank release earns {blank['auto_score']} points: {earned}")
    for bug in BUGS:
        result = by_name[bug.name]
        failed = {t["name"] for t in result["tests"]
                  if t["kind"] != "written" and t["score"] < t["max_score"]}  # fmt: skip
        allowed = allowed_failures(bug, result["tests"])
        if not failed:
            problems.append(f"{bug.name}: no test catches it")
        if failed - allowed:
            problems.append(f"{bug.name}: also loses {sorted(failed - allowed)}, which do not target "
                            f"{bug.target}")  # fmt: skip
    return problems

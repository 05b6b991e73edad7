"""The notebook checks that depend on exercises are declared once, in grading/topics/."""

import json
import shutil

from grading import exercises, notebook_checks, notebook_exports, topics


def test_every_declared_notebook_check_has_its_check_exports_and_targets():
    for check in topics.NOTEBOOK_CHECKS:
        assert check.grade_id in notebook_checks.CHECKS, check.grade_id
        names, arrays = notebook_exports.EXPORTS[check.grade_id]
        assert names == list(check.exports) and arrays == dict(check.arrays)
        assert check.points > 0 and check.targets
    declared = {check.grade_id for check in topics.NOTEBOOK_CHECKS}
    targeted = {key.split(":", 1)[1] for key in exercises.NOTEBOOK_TARGETS}
    assert targeted == declared  # a test cell with targets is a declared check, and back


def test_the_notebooks_metadata_agrees_with_the_declared_points():
    assert exercises.notebook_check_problems() == []


def test_a_notebook_whose_points_differ_from_the_declaration_is_named(tmp_path):
    shutil.copytree(exercises.KIT_ROOT / "notebooks", tmp_path / "notebooks")
    path = tmp_path / "notebooks" / "svm.ipynb"
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id") == "svm_test_search":
            meta["points"] = 5
    path.write_text(json.dumps(notebook))
    assert exercises.notebook_check_problems(tmp_path / "notebooks") == [
        "svm.ipynb: svm_test_search has 5 points in its metadata; 3 are declared in "
        "grading/topics/svm.py"
    ]

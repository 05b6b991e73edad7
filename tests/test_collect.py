"""collect_submission.py on crafted assignment folders: it refuses only what cannot be graded,
and warns, with the failing checks and their points, about everything else."""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grading import collect_submission as cs

STUB = 'raise NotImplementedError("svm_loss_vectorized: see the TODO above (cs_loss/svm.py)")'
FILES = ("cs_loss/svm.py", "cs_loss/knn.py")


def code_cell(source, count, grade_id=None, error=False, solution=False, points=0):
    cell = {
        "cell_type": "code",
        "source": source,
        "execution_count": count,
        "metadata": {},
        "outputs": [],
    }
    if grade_id:
        cell["metadata"]["nbgrader"] = {
            "grade_id": grade_id,
            "grade": bool(points),
            "solution": solution,
            "points": points,
        }
    if error:
        cell["outputs"] = [
            {
                "output_type": "error",
                "ename": "AssertionError",
                "evalue": "loss is wrong",
                "traceback": [],
            }
        ]
    return cell


def notebook(cells):
    for number, cell in enumerate(cells):
        cell.setdefault("id", f"cell-{number}")
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def good_cells():
    return [
        {"cell_type": "markdown", "source": "# SVM", "metadata": {}},
        code_cell("import numpy as np", 1),
        code_cell("loss = 1.0", 2, grade_id="svm_code", solution=True),
        code_cell("assert loss > 0", 3, grade_id="check_svm_loss", points=3),
        code_cell("assert True", 4, grade_id="check_svm_grad", points=2),
    ]


@pytest.fixture
def folder(tmp_path):
    """A complete, well-run assignment with a contract-format manifest."""
    root = tmp_path / "loss"
    (root / "cs_loss").mkdir(parents=True)
    for name in FILES:
        (root / name).write_text("def f():\n    return 1\n")
    ids = ["svm_code", "check_svm_loss", "check_svm_grad"]
    manifest = {
        "assignment": "loss",
        "notebooks": {"svm.ipynb": ids},
        "points": {"svm.ipynb": {"check_svm_loss": 3, "check_svm_grad": 2}},
        "student_files": list(FILES),
        "stubs": {"cs_loss/svm.py": [STUB]},
        "answers": {"svm.ipynb": ["svm_code"]},
    }
    (root / cs.MANIFEST).write_text(json.dumps(manifest))
    write(root, good_cells())
    return root


def without(cells, grade_id):
    """``cells`` less the one with ``grade_id``, as if the student had deleted it."""
    return [c for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") != grade_id]


def write(root, cells):
    (root / "svm.ipynb").write_text(json.dumps(notebook(cells)))


def collect(folder):
    """``(problems, warnings, written)``: what main() prints, as data."""
    _, warnings = cs.check(folder)
    problems, written = cs.collect(folder)
    return problems, warnings, written


def test_a_complete_run_is_ready_without_warnings(folder):
    problems, warnings, written = collect(folder)
    assert problems == [] and warnings == []
    with zipfile.ZipFile(written[0]) as archive:
        assert sorted(archive.namelist()) == sorted(["svm.ipynb", *FILES])


def test_a_notebook_stopping_at_a_failing_check_is_accepted_with_its_cost(folder):
    cells = good_cells()
    cells[3] = code_cell("assert loss > 0", 3, grade_id="check_svm_loss", points=3, error=True)
    cells[4]["execution_count"] = None  # Restart-and-run-all stopped there
    write(folder, cells)
    problems, warnings, written = collect(folder)
    assert problems == []
    assert (folder / "submission.zip") in written
    failing = [w for w in warnings if "failing checks" in w]
    assert len(failing) == 1
    assert "cell 4 (check_svm_loss, 3 points)" in failing[0]
    assert "up to 3 points" in failing[0]
    assert any("stops at the error in cell 4" in w for w in warnings)
    assert not any("were not run" in w for w in warnings)  # cells after the error are expected


def test_cells_run_past_an_error_are_reported_with_the_failing_check(folder):
    cells = good_cells()
    cells[3] = code_cell("assert loss > 0", 3, grade_id="check_svm_loss", points=3, error=True)
    write(folder, cells)
    problems, warnings, _ = collect(folder)
    assert problems == []
    assert any("check_svm_loss, 3 points" in w for w in warnings)
    assert any("cells after the error in cell 4 were run (cells 5)" in w for w in warnings)


def test_unrun_cells_and_out_of_order_runs_are_warnings(folder):
    cells = good_cells()
    cells[2]["execution_count"] = None
    cells[3]["execution_count"] = 9
    cells[4]["execution_count"] = 5
    write(folder, cells)
    problems, warnings, _ = collect(folder)
    assert problems == []
    assert any("cells 3 were not run" in w for w in warnings)
    assert any("out of order" in w for w in warnings)


def test_a_remaining_stub_is_named_with_file_and_line(folder):
    (folder / "cs_loss/svm.py").write_text(f"def svm_loss_vectorized(W, X, y, reg):\n    {STUB}\n")
    problems, warnings, written = collect(folder)
    assert problems == [] and written
    assert any(w.startswith("cs_loss/svm.py:2: svm_loss_vectorized still raises") for w in warnings)


def test_an_older_stub_format_is_recognised_too(folder):
    (folder / "cs_loss/knn.py").write_text(
        '    raise NotImplementedError("TODO: complete predict_labels")\n'
    )
    _, warnings, _ = collect(folder)
    assert any("cs_loss/knn.py:1: predict_labels" in w for w in warnings)


@pytest.mark.parametrize("what", ["notebook", "student file", "metadata", "json"])
def test_ungradable_submissions_are_refused_and_nothing_is_written(folder, what):
    if what == "notebook":
        (folder / "svm.ipynb").rename(folder / "Copy of svm.ipynb")
        expected = "svm.ipynb is missing (found Copy of svm.ipynb"
    elif what == "student file":
        (folder / "cs_loss/knn.py").unlink()
        expected = "cs_loss/knn.py is missing"
    elif what == "metadata":
        cells = good_cells()
        del cells[2]["metadata"]["nbgrader"]  # the answer cell: the grader could not find it
        write(folder, cells)
        expected = "grading metadata (svm_code)"
    else:
        (folder / "svm.ipynb").write_text("{not json")
        expected = "not a valid notebook file"
    problems, _, written = collect(folder)
    assert written == [] and not (folder / "submission.zip").exists()
    assert any(expected in p for p in problems), problems


def test_a_missing_manifest_falls_back_to_the_usual_files_with_a_warning(folder):
    (folder / cs.MANIFEST).unlink()
    problems, warnings, _ = collect(folder)
    assert any("missing" in w and cs.MANIFEST in w for w in warnings)
    assert any("knn.ipynb is missing" in p for p in problems)  # the default notebook list
    assert any("cs_loss/softmax.py is missing" in p for p in problems)


def test_an_older_manifest_still_gives_the_notebooks(folder):
    (folder / cs.MANIFEST).write_text(json.dumps({"svm.ipynb": ["svm_code", "check_svm_loss"]}))
    problems, _, _ = collect(folder)
    assert not any("svm.ipynb" in p for p in problems)


def test_the_script_checks_its_own_folder_from_any_working_directory(folder, tmp_path):
    shutil.copy(cs.__file__, folder / "collect_submission.py")
    cells = good_cells()
    cells[3] = code_cell("assert loss > 0", 3, grade_id="check_svm_loss", points=3, error=True)
    cells[4]["execution_count"] = None
    write(folder, cells)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [sys.executable, str(folder / "collect_submission.py")],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Ready with warnings" in done.stdout
    assert "check_svm_loss, 3 points" in done.stdout
    assert Path(folder / "submission.zip").is_file()


@pytest.mark.parametrize("deleted", ["check_svm_grad", "check_svm_loss", "svm_intro"])
def test_a_deleted_cell_the_grader_restores_is_a_warning_that_names_it(folder, deleted):
    """Test and read-only cells come from the release when grading, so losing one loses nothing."""
    cells = good_cells()
    cells[0]["metadata"]["nbgrader"] = {"grade_id": "svm_intro", "grade": False, "solution": False}
    manifest = json.loads((folder / cs.MANIFEST).read_text())
    manifest["notebooks"]["svm.ipynb"].insert(0, "svm_intro")
    (folder / cs.MANIFEST).write_text(json.dumps(manifest))
    write(folder, without(cells, deleted))
    problems, warnings, written = collect(folder)
    assert problems == []
    assert (folder / "submission.zip") in written
    (restored,) = [w for w in warnings if "restores" in w]
    assert restored.startswith(
        f"svm.ipynb: 1 cell you cannot edit is missing or lost its grading metadata ({deleted}):"
    )
    assert "the grader restores it from the assignment" in restored


def test_the_script_writes_the_zip_and_prints_the_restored_cells(folder, tmp_path):
    shutil.copy(cs.__file__, folder / "collect_submission.py")
    write(folder, good_cells()[:4])  # check_svm_grad deleted
    done = subprocess.run(
        [sys.executable, str(folder / "collect_submission.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(check_svm_grad)" in done.stdout and "restores" in done.stdout
    assert "Ready with warnings" in done.stdout
    with zipfile.ZipFile(folder / "submission.zip") as archive:
        assert "svm.ipynb" in archive.namelist()


def test_a_deleted_answer_cell_is_refused_by_name(folder):
    write(folder, without(good_cells(), "svm_code"))
    problems, _, written = collect(folder)
    assert written == []
    (problem,) = problems
    assert "svm.ipynb: 1 answer cell is missing or lost its grading metadata (svm_code)" in problem
    assert "copy it back" in problem


def test_without_the_answer_list_a_missing_cell_is_still_refused(folder):
    """An older manifest does not say which cells are answers: a missing cell might be one."""
    manifest = json.loads((folder / cs.MANIFEST).read_text())
    del manifest["answers"]
    (folder / cs.MANIFEST).write_text(json.dumps(manifest))
    write(folder, good_cells()[:4])
    problems, _, written = collect(folder)
    assert written == [] and any("(check_svm_grad)" in p for p in problems)

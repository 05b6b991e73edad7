"""After grading, a graded test cell holds the check the student saw and its trusted verdict, not
the export snippet that ran in its place (both the kit's ``autograde`` and the stock course use
these preprocessors)."""

import copy

import nbformat
import pytest
from nbgrader.preprocessors import ComputeChecksums
from nbgrader.utils import compute_checksum

from grading import course, nbgrader_course
from grading.preprocessors import RELEASE_SOURCE, TrustedExport, TrustedVerdict


def graded_tests(notebook):
    return [
        c
        for c in notebook.cells
        if c.cell_type == "code"
        and c.metadata.get("nbgrader", {}).get("grade")
        and not c.metadata["nbgrader"].get("solution")
    ]


@pytest.mark.parametrize(
    "export, verdict",
    [
        (TrustedExport, TrustedVerdict),  # python -m grading autograde
        (nbgrader_course.CourseTrustedExport, nbgrader_course.CourseTrustedVerdict),  # stock course
    ],
)
def test_the_verdict_puts_back_the_check_the_student_saw(tmp_path, export, verdict):
    notebook = nbformat.read(course.KIT_ROOT / "notebooks" / "svm.ipynb", as_version=4)
    unchecked = copy.deepcopy(graded_tests(notebook)[0])  # a test cell without a trusted check
    unchecked.metadata["nbgrader"]["grade_id"] = unchecked["id"] = "svm_test_unchecked"
    notebook.cells.append(unchecked)
    notebook, _ = ComputeChecksums().preprocess(notebook, {})  # as in the gradebook
    checks = [cell.source for cell in graded_tests(notebook)]
    export_dir = tmp_path / "grader" / "export"
    resources = {"unique_key": "svm"}
    notebook, _ = export(export_dir=str(export_dir)).preprocess(notebook, resources)
    assert all(
        "_cs_loss_export" in c.source or "no trusted check" in c.source
        for c in graded_tests(notebook)
    )  # what the kernel runs
    notebook, _ = verdict(export_dir=str(export_dir)).preprocess(notebook, resources)
    cells = graded_tests(notebook)
    assert [cell.source for cell in cells] == checks
    for cell in cells:
        assert compute_checksum(cell) == cell.metadata["nbgrader"]["checksum"]
        assert RELEASE_SOURCE not in cell.metadata
        (output,) = cell.outputs
        assert output.output_type == "error" and output.ename == "CheckFailed"
    assert "did not run" in cells[0].outputs[0].evalue
    assert cells[-1].outputs[0].evalue == "this test has no trusted check"
    saved = nbformat.writes(notebook)
    assert "_cs_loss_export" not in saved and str(tmp_path) not in saved

"""Stock nbgrader in a course made by ``python -m grading course``: no solution reaches release/,
autograde gives the kit's points (package tests included), and the formgrader, driven by a real
headless browser, grades a written answer into the gradebook."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from grading import autograde as ag
from grading import course, examples, nbgrader_course
from grading.release import find_leaks

pytestmark = [pytest.mark.slow, pytest.mark.grading]
ASSIGNMENT = course.ASSIGNMENT
BUG = examples.BUGS[0]


def totals(root):
    """{student: (score, max score, points of answers awaiting manual grading)} from the gradebook."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for submission in gb.assignment_submissions(ASSIGNMENT):
            out[submission.student_id] = (submission.score, submission.max_score,
                                          submission.needs_manual_grade)  # fmt: skip
    return out


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    """A course with the reference, the blank release and a one-bug submission autograded."""
    root = nbgrader_course.write_course(tmp_path_factory.mktemp("stock") / "course")
    course.nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    release = root / "release" / ASSIGNMENT
    submitted = root / "submitted"
    submissions = {
        "reference": examples.write_reference(submitted / "reference" / ASSIGNMENT, release),
        "blank": Path(shutil.copytree(release, submitted / "blank" / ASSIGNMENT)),
        "bug": examples.write_bug(BUG, submitted / "bug" / ASSIGNMENT, release),
    }
    for folder in submissions.values():  # students hand in the whole release folder
        if not (folder / nbgrader_course.PACKAGE_NOTEBOOK).is_file():
            shutil.copy(release / nbgrader_course.PACKAGE_NOTEBOOK, folder)
    course.nbgrader(root, "autograde", ASSIGNMENT, "--create", "--force")
    return root, submissions


def test_generate_assignment_leaves_no_solution_in_release(graded_course):
    root, _ = graded_course
    assert find_leaks(root / "release") == []
    assert (root / "release" / ASSIGNMENT / "cs_loss" / "svm.py").is_file()


def test_stock_autograde_gives_the_kits_points(graded_course, tmp_path):
    root, submissions = graded_course
    got = totals(root)
    template = ag.all_tests(root)  # the source notebooks and the hidden package tests
    auto_max = sum(t["max_score"] for t in template if t["kind"] != "written")
    written_max = sum(t["max_score"] for t in template if t["kind"] == "written")
    assert got["reference"][:2] == (auto_max, auto_max + written_max)
    assert got["blank"][0] == 0
    kit = ag.autograde([submissions["bug"]], tmp_path / "kit", workers=1, progress=False)[0]
    assert 0 < kit["auto_score"] < auto_max
    assert got["bug"][0] == kit["auto_score"]


def test_the_students_package_is_graded_not_the_stub_or_the_solution(graded_course):
    root, _ = graded_course
    autograded = root / "autograded"
    for student in ("reference", "bug"):
        mine = (root / "submitted" / student / ASSIGNMENT / BUG.file).read_text()
        assert (autograded / student / ASSIGNMENT / BUG.file).read_text() == mine


def test_nbgrader_refuses_a_source_with_solutions(tmp_path):
    root = nbgrader_course.write_course(tmp_path / "course")
    shutil.copy(course.KIT_ROOT / "cs_loss" / "svm.py", root / "source" / ASSIGNMENT / "cs_loss")
    with pytest.raises(course.NbgraderError, match="holds solutions .*python -m grading course"):
        course.nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    assert not (root / "release").exists()


def test_course_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "thesis.tex").write_text("mine")
    with pytest.raises(nbgrader_course.UnsafeCourseError, match="not empty"):
        nbgrader_course.write_course(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.tex"]

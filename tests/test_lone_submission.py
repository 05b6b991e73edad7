"""A lone submission (Gradescope's one upload, ``autograde`` of one) is graded without a fork
server: its worker forks from the grading process, which costs one interpreter and one import
of the grading stack less (benchmarks/bench_grading.py --gradescope measures it). Same
pipeline, same sandbox, same points."""

import shutil

import pytest

from grading import autograde as ag
from grading import course, examples, gradescope, worker

pytestmark = [pytest.mark.slow, pytest.mark.grading]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The template, and the reference submission laid out as a student uploads it."""
    work = tmp_path_factory.mktemp("lone") / "work"
    ag.prepare(work)
    reference = examples.write_reference(
        work.parent / "reference", work / "release" / course.ASSIGNMENT
    )
    return work, reference


@pytest.fixture
def no_fork_server(monkeypatch):
    """Starting the fork server fails the test."""

    def refuse():
        raise AssertionError("a lone submission started the fork server")

    monkeypatch.setattr(worker, "start_workers", refuse)
    monkeypatch.setattr(ag, "start_workers", refuse)


def test_gradescope_grades_one_upload_without_a_fork_server(prepared, tmp_path, no_fork_server):
    work, reference = prepared
    root = tmp_path / "autograder"
    shutil.copytree(reference, root / "submission")
    payload = gradescope.run(root, work, timeout=300)
    assert "could not grade" not in payload.get("output", "")
    assert payload["score"] == sum(t["max_score"] for t in payload["tests"]) > 0


def test_autograde_of_one_submission_forks_its_worker_from_this_process(
    prepared, tmp_path, no_fork_server
):
    work, reference = prepared
    rows = ag.autograde([reference], tmp_path / "out", work_dir=work, progress=False)
    assert [r["error"] for r in rows] == [None]
    assert rows[0]["auto_score"] == rows[0]["auto_max"] > 0  # the reference: every point

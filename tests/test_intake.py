"""Intake without grading: how a class folder is read, which uploads get a row and why,
fingerprints of submissions and of the kit, the rerun decisions, and the untouched and empty
flags. Nothing here runs nbgrader; the wiring of ``autograde`` is checked with a stand-in
worker (the real one is exercised in tests/test_rerun.py)."""

import json
import random
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from grading import autograde as ag
from grading import course, intake
from grading.results import FlagKind, SubmissionResult, TestOutcome

TRUNCATED = (
    "could not read the submission: not a readable zip file (the file is truncated or "
    "damaged): upload it again"
)


def make_zip(path, members=("loss/knn.ipynb",), size=0, seed=0):
    """A zip with ``members`` (stand-ins for notebooks) and ``size`` bytes that do not compress."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in members:
            archive.writestr(name, "{}")
        if size:
            archive.writestr("loss/cs_loss/blob.bin", random.Random(seed).randbytes(size))
    return Path(path)


def class_folder(root):
    """The class of the issue: 6 good zips, a truncated one, a stray HTML file, a folder, junk."""
    root.mkdir()
    for name in ("ada", "bea", "cy", "dan", "eve", "fay"):
        make_zip(root / f"{name}.zip")
    whole = make_zip(root.parent / "whole.zip", size=600_000).read_bytes()
    (root / "gus.zip").write_bytes(whole[:400_000])  # the first 400 kB of a valid zip
    (root / "carl.html").write_text("<html>my answers</html>")
    (root / "erin" / "loss").mkdir(parents=True)
    (root / "erin" / "loss" / "knn.ipynb").write_text("{}")
    (root / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "__MACOSX").mkdir()
    return root


# ---------------------------------------------------------------- reading a class folder


def test_every_entry_of_a_class_folder_is_graded_or_not_graded_with_its_reason(tmp_path):
    root = class_folder(tmp_path / "class")
    found = intake.expand_submissions([root])
    assert found.submissions == (
        *(root / f"{n}.zip" for n in ("ada", "bea", "cy", "dan")),
        root / "erin",
        root / "eve.zip",
        root / "fay.zip",
    )
    assert found.not_graded == (
        intake.Entry(
            root / "carl.html",
            "carl.html is not a submission (a zip or a folder of notebooks): not graded",
        ),
        intake.Entry(root / "gus.zip", TRUNCATED),
    )
    assert [e.path.name for e in found.ignored] == [".DS_Store", "__MACOSX"]
    assert found.notes == (
        f"{root} is a class folder of 9 entries: 7 submissions to grade "
        "(6 zips, 1 folders), 2 not graded (a row each, with the reason), "
        "2 ignored",
    )


def test_a_truncated_zip_is_an_upload_that_failed_not_a_stray_file(tmp_path):
    whole = make_zip(tmp_path / "whole.zip", size=600_000).read_bytes()
    assert not zipfile.is_zipfile(_write(tmp_path / "cut.zip", whole[:400_000]))
    assert not zipfile.is_zipfile(_write(tmp_path / "cut_upload", whole[:400_000]))
    assert intake.looks_like_zip(tmp_path / "cut.zip") and intake.looks_like_zip(
        tmp_path / "cut_upload"
    )
    assert not intake.looks_like_zip(_write(tmp_path / "notes.txt", b"hello"))
    assert intake.zip_problem(tmp_path / "cut_upload") == intake.UNREADABLE_ZIP
    assert intake.zip_problem(tmp_path / "whole.zip") is None
    with pytest.raises(intake.IntakeError, match="not a readable zip file .the file is truncated"):
        intake.intake(tmp_path / "cut_upload", tmp_path / "out", tmp_path)


def _write(path, data):
    Path(path).write_bytes(data)
    return Path(path)


def test_a_stray_notebook_at_the_top_never_turns_a_class_into_one_submission(tmp_path):
    root = class_folder(tmp_path / "class")
    (root / "knn.ipynb").write_text("{}")  # a TA's copy, say
    found = intake.expand_submissions([root])
    assert len(found.submissions) == 7
    stray = [e for e in found.not_graded if e.path.name == "knn.ipynb"]
    assert stray and "not graded" in stray[0].reason and "knn.ipynb" in stray[0].reason


def test_a_student_folder_is_one_submission_even_with_zips_beside_the_notebooks(tmp_path):
    kit = tmp_path / "loss"
    (kit / "cs_loss").mkdir(parents=True)
    make_zip(kit / "submission.zip")  # collect_submission's own output
    make_zip(kit / "loss.zip")  # the release as downloaded
    (kit / "knn.ipynb").write_text("{}")
    assert intake.expand_submissions([kit]).submissions == (kit,)
    unzipped = tmp_path / "unzipped"  # the three notebooks at the top, no cs_loss folder
    unzipped.mkdir()
    for name in ("Copy of knn.ipynb", "svm (1).ipynb", "softmax.ipynb"):
        (unzipped / name).write_text("{}")
    make_zip(unzipped / "submission.zip")
    found = intake.expand_submissions([unzipped])
    assert found.submissions == (unzipped,) and not found.not_graded
    assert "is one submission" in found.notes[0]


def test_one_nested_folder_or_notebooks_alone_are_one_submission(tmp_path):
    (tmp_path / "a" / "loss").mkdir(parents=True)
    (tmp_path / "a" / "loss" / "knn.ipynb").write_text("{}")
    (tmp_path / "a" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "knn.ipynb").write_text("{}")
    found = intake.expand_submissions([tmp_path / "a", tmp_path / "b"])
    assert found.submissions == (tmp_path / "a", tmp_path / "b")
    assert not found.not_graded and not found.ignored


def test_files_given_one_by_one_stay_as_given_and_in_order(tmp_path):
    paths = [make_zip(tmp_path / f"{n}.zip") for n in ("b", "a")]
    paths.append(_write(tmp_path / "cut.zip", b"PK\3\4 and then nothing"))
    found = intake.expand_submissions(paths)
    assert found.submissions == tuple(paths) and not found.not_graded and not found.notes


def test_a_class_folder_rejects_empty_folders_and_symlinks_with_reasons(tmp_path):
    root = tmp_path / "class"
    root.mkdir()
    make_zip(root / "ada.zip")
    (root / "photos").mkdir()
    (root / "photos" / "me.jpg").write_bytes(b"\xff\xd8")
    (root / "link.zip").symlink_to(root / "ada.zip")
    make_zip((root / "bob_1234").mkdir() or root / "bob_1234" / "submission.zip")
    (root / "eve_99").mkdir()
    make_zip(root / "eve_99" / "a.zip")
    make_zip(root / "eve_99" / "b.zip")
    (root / "fay_7").mkdir()
    make_zip(root / "fay_7" / "submission.zip")
    make_zip(root / "fay_7" / "submission_v2.zip")
    found = intake.expand_submissions([root])
    # eve_99 holds two zips with students' names: a section of the class, each zip a student.
    assert found.submissions == (
        root / "ada.zip",
        root / "bob_1234",
        root / "eve_99" / "a.zip",
        root / "eve_99" / "b.zip",
    )
    reasons = {e.path.name: e.reason for e in found.not_graded}
    assert reasons == {
        "fay_7": "fay_7/ holds several zips and no notebook: not graded (keep the one to grade "
        "in fay_7/, or give that zip itself)",
        "link.zip": "link.zip is a symbolic link: not followed, not graded",
        "photos": "photos/ holds no notebook and no cs_loss file: not graded",
    }


# ---------------------------------------------------------------- fingerprints and reruns


def test_a_folders_digest_follows_its_content_not_its_place(tmp_path):
    one = tmp_path / "one"
    (one / "cs_loss").mkdir(parents=True)
    (one / "knn.ipynb").write_text("{}")
    (one / "cs_loss" / "knn.py").write_text("x = 1\n")
    two = tmp_path / "elsewhere" / "two"
    shutil.copytree(one, two)
    assert intake.submission_digest(one) == intake.submission_digest(two)
    (two / "cs_loss" / "knn.py").write_text("x = 2\n")
    changed = intake.submission_digest(two)
    assert changed != intake.submission_digest(one)
    (two / "cs_loss" / "knn.py").write_text("x = 1\n")
    assert intake.submission_digest(two) != intake.submission_digest(one)  # same bytes, new date
    shutil.copystat(one / "cs_loss" / "knn.py", two / "cs_loss" / "knn.py")
    assert intake.submission_digest(two) == intake.submission_digest(one)
    (two / "cs_loss" / "knn.py").rename(two / "cs_loss" / "knn2.py")  # same bytes, another name
    assert intake.submission_digest(two) != intake.submission_digest(one)


def test_a_zips_digest_is_its_bytes(tmp_path):
    a = make_zip(tmp_path / "a.zip")
    b = tmp_path / "b.zip"
    shutil.copy(a, b)
    assert intake.submission_digest(a) == intake.submission_digest(b)
    b.write_bytes(a.read_bytes() + b"\0")
    assert intake.submission_digest(a) != intake.submission_digest(b)
    assert intake.submission_digest(tmp_path / "gone.zip") is None


def test_the_kit_version_is_stable_and_changes_with_a_grading_file(tmp_path):
    kit = tmp_path / "kit"
    for name in (
        "cs_loss/svm.py",
        "notebooks/svm.ipynb",
        "grading/hidden_tests.py",
        "grading/expected.npz",
        "data/get_datasets.py",
        "README.md",
    ):
        (kit / name).parent.mkdir(parents=True, exist_ok=True)
        (kit / name).write_text(name)
    version = intake.kit_version(kit)
    assert intake.kit_version(kit) == version
    (kit / "README.md").write_text("edited")  # not a grading file
    (kit / "cs_loss" / "__pycache__").mkdir()
    (kit / "cs_loss" / "__pycache__" / "svm.py").write_text("cache")
    assert intake.kit_version(kit) == version
    for name in ("grading/expected.npz", "cs_loss/svm.py", "notebooks/svm.ipynb"):
        (kit / name).write_text("changed")
        assert intake.kit_version(kit) != version, name
        version = intake.kit_version(kit)
    assert intake.kit_version() == intake.kit_version(course.KIT_ROOT)


SAVED = {"submission_digest": "sha256:a", "kit_version": "k1"}


@pytest.mark.parametrize(
    "saved, digest, kit, expected",
    [
        (None, "sha256:a", "k1", "new"),
        (
            {"tests": []},
            "sha256:a",
            "k1",
            "its earlier result has no fingerprint (an older grader)",
        ),
        (SAVED, "sha256:a", "k1", None),
        (SAVED, "sha256:b", "k1", "the submission changed"),
        (SAVED, "sha256:a", "k2", "the kit changed"),
        ({"submission_digest": None, "kit_version": "k1"}, None, "k1", "the submission changed"),
    ],
)
def test_a_finished_result_is_reused_only_when_submission_and_kit_are_unchanged(
    saved, digest, kit, expected
):
    assert intake.regrade_reason(saved, digest, kit) == expected


# ---------------------------------------------------------------- untouched and empty


@pytest.fixture
def release(tmp_path):
    """A stand-in release: the three notebooks with one answer cell each, and the stubs."""
    folder = tmp_path / "release"
    (folder / "cs_loss").mkdir(parents=True)
    for name in course.NOTEBOOKS:
        notebook = nbformat.v4.new_notebook()
        stem = Path(name).stem
        notebook.cells = [
            nbformat.v4.new_markdown_cell("Read this."),
            nbformat.v4.new_code_cell(
                "# YOUR CODE HERE\nraise NotImplementedError()",
                metadata={"nbgrader": {"grade_id": f"{stem}_q1", "solution": True, "grade": False}},
            ),
            nbformat.v4.new_markdown_cell(
                "YOUR ANSWER HERE",
                metadata={
                    "nbgrader": {
                        "grade_id": f"{stem}_w1",
                        "solution": True,
                        "grade": True,
                        "points": 1,
                    }
                },
            ),
        ]
        nbformat.write(notebook, folder / name)
    for student_file in course.STUDENT_FILES:
        (folder / student_file).write_text("def f():\n    raise NotImplementedError\n")
    return folder


def flags_of(submission, release, tmp_path):
    return intake.intake(submission, tmp_path / "laid_out" / Path(submission).name, release)


def test_the_release_as_handed_out_is_flagged_untouched_even_after_running_it(release, tmp_path):
    submission = shutil.copytree(release, tmp_path / "did_nothing")
    notebook = nbformat.read(submission / "knn.ipynb", as_version=4)
    notebook.cells[1].outputs = [
        nbformat.v4.new_output("error", ename="NotImplementedError", evalue="", traceback=[])
    ]
    notebook.cells[1].execution_count = 1
    nbformat.write(notebook, submission / "knn.ipynb")
    assert intake.UNTOUCHED_FLAG in flags_of(submission, release, tmp_path)
    assert intake.UNTOUCHED_FLAG.text.startswith("untouched:")
    assert intake.UNTOUCHED_FLAG.kind is FlagKind.UNTOUCHED


@pytest.mark.parametrize("edit", ["code", "written", "package", "corrupt notebook"])
def test_one_changed_answer_is_not_untouched(release, tmp_path, edit):
    submission = shutil.copytree(release, tmp_path / "tried")
    if edit == "package":
        (submission / course.STUDENT_FILES[1]).write_text("def f():\n    return 0\n")
    elif edit == "corrupt notebook":  # graded as the release's, but the student handed in work
        (submission / "svm.ipynb").write_text('{"cells": [')
    else:
        notebook = nbformat.read(submission / "svm.ipynb", as_version=4)
        notebook.cells[1 if edit == "code" else 2].source = "my answer"
        nbformat.write(notebook, submission / "svm.ipynb")
    flags = flags_of(submission, release, tmp_path)
    assert not [f for f in flags if f.kind.not_attempted]


def test_a_submission_with_nothing_to_grade_is_flagged_empty(release, tmp_path):
    submission = tmp_path / "nothing"
    (submission / "photos").mkdir(parents=True)
    (submission / "photos" / "me.jpg").write_bytes(b"\xff\xd8")
    flags = flags_of(submission, release, tmp_path)
    assert intake.EMPTY_FLAG in flags and intake.EMPTY_FLAG.text.startswith("empty:")
    assert intake.UNTOUCHED_FLAG not in flags
    empty_zip = tmp_path / "empty.zip"
    zipfile.ZipFile(empty_zip, "w").close()
    assert intake.EMPTY_FLAG in flags_of(empty_zip, release, tmp_path)


def test_a_file_that_is_not_a_submission_says_what_was_expected(release, tmp_path):
    with pytest.raises(
        intake.IntakeError, match=r"carl.html is not a submission \(a zip or a folder"
    ):
        flags_of(_write(tmp_path / "carl.html", b"<html>"), release, tmp_path)


# ---------------------------------------------------------------- autograde's rows and reruns


@pytest.fixture
def stand_in_grader(release, tmp_path, monkeypatch):
    """``autograde`` with the stand-in release and a worker that scores 1 per answered cell.

    Returns the list of student ids the worker was called for.
    """
    work = tmp_path / "work"
    (work / "course").mkdir(parents=True)
    (work / "course" / "gradebook.db").write_text("")  # a template is there: no prepare
    (work / "release").mkdir()
    shutil.copytree(release, work / "release" / course.ASSIGNMENT)
    test = TestOutcome(name="knn:knn_q1", kind="notebook", score=0.0, max_score=1.0)
    calls = []

    def worker(template, laid_out, sid, out_json, *args):
        calls.append(sid)
        source = nbformat.read(Path(laid_out) / "knn.ipynb", as_version=4).cells[1].source
        answered = "NotImplementedError" not in source
        outcome = replace(test, score=float(answered), output="passed" if answered else "no")
        return SubmissionResult(student=sid, tests=(outcome,))

    monkeypatch.setattr(ag, "all_tests", lambda template: [test])
    monkeypatch.setattr(ag, "run_worker", worker)
    monkeypatch.setattr(ag.sandbox_module, "can_switch_users", lambda: False)
    monkeypatch.setattr(ag.sandbox_module.users, "_warned", [True])  # warned once
    return work, calls


def zip_release(release, zip_path, answer=None):
    """``release`` zipped; with ``answer``, the knn answer cell holds it."""
    with zipfile.ZipFile(zip_path, "w") as archive:
        for path in sorted(Path(release).rglob("*")):
            if path.is_file() and not (answer and path.name == "knn.ipynb"):
                archive.write(path, path.relative_to(release))
        if answer:
            notebook = nbformat.read(Path(release) / "knn.ipynb", as_version=4)
            notebook.cells[1].source = answer
            archive.writestr("knn.ipynb", nbformat.writes(notebook))
    return Path(zip_path)


@pytest.mark.slow  # several autograde runs, each starting its fork server: about 10 s
def test_a_changed_resubmission_is_graded_again_and_an_unchanged_one_reused(
    stand_in_grader, release, tmp_path
):
    work, calls = stand_in_grader
    nina, omar = tmp_path / "nina.zip", tmp_path / "omar.zip"
    zip_release(release, nina, answer="x = 1")
    zip_release(release, omar)
    out = tmp_path / "out"
    first = ag.autograde([nina, omar], out, work_dir=work, progress=False)
    assert [r["auto_score"] for r in first] == [1.0, 0.0]
    assert first.graded == {"nina": "new", "omar": "new"} and first.reused == ()
    saved = json.loads((out / "finished" / "nina.json").read_text())
    assert saved["submission_digest"] == intake.submission_digest(nina)
    assert saved["kit_version"] == intake.kit_version()

    zip_release(release, nina)  # nina replaces her work with the blank release
    second = ag.autograde([nina, omar], out, work_dir=work, progress=False)
    assert [r["auto_score"] for r in second] == [0.0, 0.0]
    assert second.graded == {"nina": "the submission changed"} and second.reused == ("omar",)
    assert any(f.startswith("untouched:") for f in second[0]["flags"])
    assert json.loads((out / "grades.json").read_text())[0]["auto_score"] == 0.0

    third = ag.autograde([nina, omar], out, work_dir=work, progress=False)
    assert third.graded == {} and third.reused == ("nina", "omar")
    assert list(third) == list(second)
    forced = ag.autograde([nina, omar], out, work_dir=work, progress=False, regrade=True)
    assert forced.graded == {"nina": "--regrade", "omar": "--regrade"}
    assert len(calls) == 5 and calls[2] == "nina" and sorted(calls[3:]) == ["nina", "omar"]


@pytest.mark.slow  # several autograde runs, each starting its fork server: about 10 s
def test_the_kit_changing_regrades_everything(stand_in_grader, release, tmp_path, monkeypatch):
    work, calls = stand_in_grader
    nina = zip_release(release, tmp_path / "nina.zip", answer="x = 1")
    ag.autograde([nina], tmp_path / "out", work_dir=work, progress=False)
    monkeypatch.setattr(ag, "kit_version", lambda kit=None: "sha256:a-new-kit")
    again = ag.autograde([nina], tmp_path / "out", work_dir=work, progress=False)
    assert again.graded == {"nina": "the kit changed"} and calls == ["nina", "nina"]


@pytest.mark.slow  # several autograde runs, each starting its fork server: about 10 s
def test_rejected_entries_and_unreadable_uploads_get_a_row_in_every_report(
    stand_in_grader, release, tmp_path
):
    work, calls = stand_in_grader
    root = class_folder(tmp_path / "class")
    for name in ("ada", "bea", "cy", "dan", "eve", "fay"):  # real submissions this time
        zip_release(release, root / f"{name}.zip", answer=f"x = '{name}'")
    shutil.rmtree(root / "erin")
    shutil.copytree(release, root / "erin")
    found = intake.expand_submissions([root])
    out = tmp_path / "out"
    results = ag.autograde(
        found.submissions, out, work_dir=work, progress=False, rejected=found.not_graded
    )
    rows = {r["student"]: r for r in results}
    assert list(rows) == ["ada", "bea", "cy", "dan", "erin", "eve", "fay", "carl_html", "gus"]
    assert results.not_graded == ("carl_html", "gus") and len(calls) == 7
    assert rows["gus"]["error"] == TRUNCATED
    assert rows["carl_html"]["error"].startswith("carl.html is not a submission")
    assert rows["erin"]["auto_score"] == 0 and intake.UNTOUCHED_FLAG.text in rows["erin"]["flags"]
    assert all(rows[s]["tests"] and rows[s]["auto_max"] == 1.0 for s in rows)
    reports = {
        name: (out / name).read_text() for name in ("grades.csv", "totals.csv", "grades.json")
    }
    for sid in rows:
        assert all(sid in text for text in reports.values()), sid
        assert (out / "feedback" / f"{sid}.html").is_file()
    assert "upload it again" in (out / "feedback" / "gus.html").read_text()
    again = ag.autograde(
        found.submissions, out, work_dir=work, progress=False, rejected=found.not_graded
    )
    assert again.reused == ("ada", "bea", "cy", "dan", "erin", "eve", "fay")
    assert [r["student"] for r in again] == list(rows) and len(calls) == 7
    zip_release(release, root / "gus.zip", answer="x = 'gus'")  # gus uploads again, whole
    found = intake.expand_submissions([root])
    fixed = ag.autograde(
        found.submissions, out, work_dir=work, progress=False, rejected=found.not_graded
    )
    assert fixed.graded == {"gus": "the submission changed"} and calls[-1] == "gus"
    assert {r["student"]: r for r in fixed}["gus"]["auto_score"] == 1.0


def test_an_upload_that_cannot_be_read_given_directly_gets_the_same_reason(
    stand_in_grader, tmp_path
):
    work, _calls = stand_in_grader
    whole = make_zip(tmp_path / "whole.zip", size=600_000).read_bytes()
    cut = _write(tmp_path / "gus.zip", whole[:400_000])
    results = ag.autograde([cut], tmp_path / "out", work_dir=work, progress=False)
    assert results[0]["error"] == TRUNCATED


def test_an_lms_class_of_folders_each_holding_a_zip_grades_each_zip_as_its_folder(tmp_path):
    """Moodle-style downloads: one folder per student, each holding only that student's zip."""
    root = tmp_path / "class"
    root.mkdir()
    for student in ("Ada Lovelace_1_assignsubmission_file", "Bob Ross_2_assignsubmission_file"):
        (root / student).mkdir()
        make_zip(
            root / student / "submission.zip", members=("loss/knn.ipynb", "loss/cs_loss/knn.py")
        )
        (root / student / ".DS_Store").write_bytes(b"junk")
    (root / "Cid_3_assignsubmission_file").mkdir()
    _write(root / "Cid_3_assignsubmission_file" / "submission.zip", b"PK\3\4 cut short")
    found = intake.expand_submissions([root])
    assert found.submissions == tuple(sorted(root.glob("[AB]*")))
    assert [e.reason for e in found.not_graded] == [
        "could not read the submission: " + intake.UNREADABLE_ZIP
    ]
    ids, _notes = intake.assign_ids(found.submissions)
    assert ids == ["Ada_Lovelace_1_assignsubmission_file", "Bob_Ross_2_assignsubmission_file"]
    release = tmp_path / "release"
    (release / "cs_loss").mkdir(parents=True)
    for name in course.NOTEBOOKS:
        nbformat.write(nbformat.v4.new_notebook(), release / name)
    flags = intake.intake(found.submissions[0], tmp_path / "laid_out", release)
    assert "graded the zip 'submission.zip' found in the folder" in " ".join(f.text for f in flags)
    assert (tmp_path / "laid_out" / "cs_loss" / "knn.py").read_text() == "{}"

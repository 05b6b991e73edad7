"""The instructor's commands from any working directory, and a class folder graded per student."""

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from grading import course, intake

expand_submissions = intake.expand_submissions

KIT = course.KIT_ROOT


def run(args, cwd, **kwargs):
    """``python KIT/grading ARGS`` in ``cwd``, with no PYTHONPATH to find the kit by."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, str(KIT / "grading"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        **kwargs,
    )


def make_zip(path, names):
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, "{}")
    return path


def test_a_folder_with_the_notebooks_is_one_submission(tmp_path):
    for name in course.NOTEBOOKS:
        (tmp_path / name).write_text("{}")
    make_zip(tmp_path / "submission.zip", ["knn.ipynb"])  # collect_submission's own output
    found = expand_submissions([tmp_path])
    assert found.submissions == (tmp_path,) and not found.not_graded


def test_a_folder_of_zips_and_folders_is_a_class(tmp_path):
    make_zip(tmp_path / "ada.zip", ["loss/knn.ipynb"])
    make_zip(tmp_path / "bob.zip", ["knn.ipynb"])
    (tmp_path / "cy" / "loss").mkdir(parents=True)
    (tmp_path / "cy" / "loss" / "svm.ipynb").write_text("{}")
    (tmp_path / "notes").mkdir()  # no notebooks: not a submission, but a row says so
    (tmp_path / "readme.txt").write_text("grades due Friday")
    found = expand_submissions([tmp_path])
    assert found.submissions == (tmp_path / "ada.zip", tmp_path / "bob.zip", tmp_path / "cy")
    assert [(e.path.name, e.reason) for e in found.not_graded] == [
        ("notes", "notes/ holds no notebook and no cs_loss file: not graded"),
        (
            "readme.txt",
            "readme.txt is not a submission (a zip or a folder of notebooks): not graded",
        ),
    ]
    assert found.notes == (
        f"{tmp_path} is a class folder of 5 entries: 3 submissions to grade "
        "(2 zips, 1 folders), 2 not graded (a row each, with the reason), "
        "0 ignored",
    )


def test_one_nested_folder_is_still_one_submission(tmp_path):
    (tmp_path / "loss" / "cs_loss").mkdir(parents=True)
    (tmp_path / "loss" / "knn.ipynb").write_text("{}")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "knn-checkpoint.ipynb").write_text("{}")
    assert expand_submissions([tmp_path]).submissions == (tmp_path,)


def test_zips_given_one_by_one_stay_as_given(tmp_path):
    paths = [make_zip(tmp_path / f"{n}.zip", ["knn.ipynb"]) for n in ("b", "a")]
    assert expand_submissions(paths) == intake.Expansion(submissions=tuple(paths))


def test_help_works_from_another_directory(tmp_path):
    done = run(["--help"], tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "autograde" in done.stdout


def test_gradescope_writes_under_the_current_directory_and_says_where(tmp_path):
    done = run(["gradescope"], tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    zip_path = tmp_path / "build" / "gradescope" / "autograder.zip"
    assert zip_path.is_file()
    assert f"wrote {zip_path}" in done.stdout


@pytest.mark.slow
@pytest.mark.grading
def test_release_then_autograde_a_class_folder_from_another_directory(tmp_path):
    """The blank release, zipped into a class folder, graded from outside the kit."""
    done = run(["release", "--out", "rel"], tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    assert str(tmp_path / "rel" / "loss") in done.stdout
    class_dir = tmp_path / "class"
    class_dir.mkdir()
    shutil.copy(tmp_path / "rel" / "loss.zip", class_dir / "ada.zip")
    done = run(["autograde", "class", "--out", "grades", "--workers", "1"], tmp_path, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "class is a class folder of 1 entries: 1 submissions to grade (1 zips" in done.stdout
    assert "reused 0 finished results (submission and kit unchanged); graded 1" in done.stdout
    results = json.loads((tmp_path / "grades" / "grades.json").read_text())
    assert [r["student"] for r in results] == ["ada"]
    assert results[0]["auto_score"] == 0
    assert intake.UNTOUCHED_FLAG.text in results[0]["flags"]
    assert (tmp_path / "grades" / "report.html").is_file()
    assert "awaiting manual grading" not in done.stdout  # the blank release answers nothing

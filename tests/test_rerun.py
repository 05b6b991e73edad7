"""``python -m grading autograde`` end to end: a class folder gives every entry a row, and a
rerun into the same ``--out`` regrades a changed submission and reuses an unchanged one.

Each test grades for real (about 15 s of CPU per graded submission), so they are few: the
submissions are the blank release and the reference, zipped."""

import html
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grading import course, examples

KIT = course.KIT_ROOT


def run(args, cwd):
    """``python KIT/grading ARGS`` in ``cwd``, with no PYTHONPATH to find the kit by."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, str(KIT / "grading"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def zip_folder(folder, zip_path):
    """``folder``'s files in a zip, as collect_submission writes it (paths relative to it)."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder))
    return Path(zip_path)


@pytest.fixture(scope="module")
def uploads(tmp_path_factory, prepared_work):
    """``{"blank": zip, "reference": zip}``: the release as handed out, and the solution."""
    root = tmp_path_factory.mktemp("uploads")
    release = prepared_work / "release" / course.ASSIGNMENT
    reference = examples.write_reference(root / "reference", release)
    return {
        "blank": zip_folder(release, root / "blank.zip"),
        "reference": zip_folder(reference, root / "reference.zip"),
    }


def grades(out):
    return {r["student"]: r for r in json.loads((Path(out) / "grades.json").read_text())}


@pytest.mark.slow
@pytest.mark.grading
def test_a_resubmission_is_regraded_and_an_unchanged_one_reused(uploads, tmp_path):
    class_dir = tmp_path / "class"
    class_dir.mkdir()
    shutil.copy(uploads["blank"], class_dir / "nina.zip")
    shutil.copy(uploads["blank"], class_dir / "omar.zip")
    first = run(["autograde", "class", "--out", "out", "--workers", "2"], tmp_path)
    assert grades(tmp_path / "out")["nina"]["auto_score"] == 0

    shutil.copy(uploads["reference"], class_dir / "nina.zip")  # nina uploads her real work
    second = run(["autograde", "class", "--out", "out", "--workers", "1"], tmp_path)
    after = grades(tmp_path / "out")
    assert after["nina"]["auto_score"] == after["nina"]["auto_max"] > 0
    assert after["omar"]["auto_score"] == 0
    assert "reused 0" in first and "graded 2" in first
    assert "reused 1" in second and "graded 1" in second
    assert "nina: the submission changed" in second

    third = run(["autograde", "class", "--out", "out", "--workers", "1"], tmp_path)
    assert "reused 2" in third and "graded 0" in third
    assert grades(tmp_path / "out") == after

    forced = run(["autograde", "class/omar.zip", "--out", "out", "--regrade"], tmp_path)
    assert "reused 0" in forced and "graded 1" in forced and "omar: --regrade" in forced


@pytest.mark.slow
@pytest.mark.grading
def test_every_entry_of_a_class_folder_gets_a_row_and_a_stray_notebook_changes_nothing(
    uploads, tmp_path
):
    class_dir = tmp_path / "class"
    class_dir.mkdir()
    shutil.copy(uploads["blank"], class_dir / "ada.zip")
    data = uploads["reference"].read_bytes()
    (class_dir / "bob.zip").write_bytes(data[: len(data) // 2])  # an upload cut short
    (class_dir / "carl.html").write_text("<html>my answers</html>")
    (class_dir / "notes.ipynb").write_text("{}")  # the TA's own notebook, at the top
    (class_dir / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (class_dir / "__MACOSX").mkdir()
    out = run(["autograde", "class", "--out", "out", "--workers", "1"], tmp_path)
    rows = grades(tmp_path / "out")
    assert sorted(rows) == ["ada", "bob", "carl_html", "notes_ipynb"]
    assert rows["ada"]["auto_max"] > 0 and rows["ada"]["error"] is None
    assert any(f.startswith("untouched:") for f in rows["ada"]["flags"])
    assert rows["bob"]["error"] == (
        "could not read the submission: not a readable zip file (the file is truncated or "
        "damaged): upload it again"
    )
    assert rows["carl_html"]["error"] == (
        "carl.html is not a submission (a zip or a folder of notebooks): not graded"
    )
    assert "notes.ipynb" in rows["notes_ipynb"]["error"]
    for sid, row in rows.items():  # a row in every report, and its own feedback page
        assert row["auto_max"] == rows["ada"]["auto_max"]
        page = (tmp_path / "out" / "feedback" / f"{sid}.html").read_text()
        if row["error"]:
            assert row["error"] in html.unescape(page)
    totals = (tmp_path / "out" / "totals.csv").read_text()
    assert all(sid in totals for sid in rows)
    assert "carl.html is not a submission" in (tmp_path / "out" / "report.html").read_text()
    assert ".DS_Store" in out and "__MACOSX" in out  # ignored, but said so
    assert "bob.zip" in out and "carl.html" in out

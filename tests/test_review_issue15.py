"""Findings of the hostile review of issue 15 (class-folder intake, reruns, class report).

Each test fails on the reviewed commit and states, in its docstring, the scenario and what
should hold. Nothing here runs nbgrader: ``autograde`` runs with the stand-in worker of
tests/test_intake.py.
"""

import json
import os
import shutil
import time

import nbformat
import pytest
import test_intake
from test_intake import make_zip, zip_release

from grading import autograde as ag
from grading import intake, report
from grading.results import SubmissionResult

# The stand-in release and worker of tests/test_intake.py, as fixtures of this module too.
release, stand_in_grader = test_intake.release, test_intake.stand_in_grader


def _answered_folder(release, folder, answer):
    """``release`` copied to ``folder`` with the knn answer cell holding ``answer``."""
    shutil.copytree(release, folder)
    notebook = nbformat.read(folder / "knn.ipynb", as_version=4)
    notebook.cells[1].source = answer
    nbformat.write(notebook, folder / "knn.ipynb")
    return folder


# ---------------------------------------------------------------- promise 1: class folders


def test_two_stray_notebooks_at_the_top_of_a_class_folder_do_not_swallow_the_class(tmp_path):
    """A class folder of 3 students' zips, plus two notebooks at its top (a TA's copies of
    knn.ipynb and svm.ipynb, or a student's loose uploads). Expected: each zip is still one
    student and the notebooks are not-graded rows with a reason ("a stray file never changes
    how the rest are read"). Found: the whole class folder is graded as ONE submission (the
    stray notebooks), and no student's zip gets a row."""
    root = tmp_path / "class"
    root.mkdir()
    for name in ("ada", "bob", "cy"):
        make_zip(root / f"{name}.zip")
    (root / "knn.ipynb").write_text("{}")
    (root / "svm.ipynb").write_text("{}")
    found = intake.expand_submissions([root])
    assert found.submissions == tuple(root / f"{n}.zip" for n in ("ada", "bob", "cy"))
    assert sorted(e.path.name for e in found.not_graded) == ["knn.ipynb", "svm.ipynb"]


def test_a_stray_cs_loss_folder_at_the_top_of_a_class_folder_does_not_swallow_the_class(tmp_path):
    """A class folder of 3 zips and a ``cs_loss/`` folder at its top (the TA unzipped the kit
    there). Expected: the 3 zips are graded, the ``cs_loss`` folder gets a not-graded row.
    Found: the class folder is one submission; the students' zips get no row."""
    root = tmp_path / "class"
    root.mkdir()
    for name in ("ada", "bob", "cy"):
        make_zip(root / f"{name}.zip")
    (root / "cs_loss").mkdir()
    (root / "cs_loss" / "knn.py").write_text("")
    found = intake.expand_submissions([root])
    assert set(found.submissions) == {root / f"{n}.zip" for n in ("ada", "bob", "cy")}


def test_a_folder_of_section_folders_of_zips_is_not_graded_as_one_empty_submission(tmp_path):
    """A TA puts two sections' downloads in one folder: ``class/sec1/{a,b}.zip`` and
    ``class/sec2/{c,d}.zip``, and runs ``autograde class``. Expected: every zip is graded, or
    each section folder gets a row saying why not (e.g. "give each section folder"). Found:
    ``class`` is graded as one submission (it is read as "no zip and at most one folder with
    notebooks"), intake finds nothing in it, and 4 students become one row flagged empty."""
    root = tmp_path / "class"
    for section, names in (("sec1", "ab"), ("sec2", "cd")):
        for name in names:
            (root / section).mkdir(parents=True, exist_ok=True)
            make_zip(root / section / f"{name}.zip")
    found = intake.expand_submissions([root])
    assert root not in found.submissions
    covered = set(found.submissions) | {e.path for e in found.not_graded}
    assert covered and all(p != root for p in covered)


def test_a_folder_of_section_folders_of_student_folders_does_not_grade_a_section_as_one_student(
    tmp_path,
):
    """``class/sec1/{ada,bob}/knn.ipynb`` and ``class/sec2/{cy,dan}/knn.ipynb`` (unzipped
    sections). Expected: no section folder is graded as one student (each student is, or the
    section is a row with the reason). Found: each section is one "submission", so intake picks
    the newest knn.ipynb among its students and grades it under the section's name: two students
    of four are graded, under the wrong names, and two are silently dropped."""
    root = tmp_path / "class"
    for section, names in (("sec1", ("ada", "bob")), ("sec2", ("cy", "dan"))):
        for name in names:
            (root / section / name).mkdir(parents=True)
            (root / section / name / "knn.ipynb").write_text("{}")
    found = intake.expand_submissions([root])
    assert root / "sec1" not in found.submissions and root / "sec2" not in found.submissions


def test_a_stray_office_file_at_the_top_of_a_class_folder_is_not_graded_as_an_empty_submission(
    tmp_path,
):
    """A class folder of zips and the TA's ``roster.xlsx`` (an Office file is a zip inside, and
    starts with ``PK``). Expected: a not-graded row saying it is not a submission. Found: it is
    graded as a student's zip, "roster_xlsx", flagged "empty: holds no notebook" and listed in
    the report among students who did not attempt the assignment."""
    root = tmp_path / "class"
    root.mkdir()
    make_zip(root / "ada.zip")
    make_zip(root / "bob.zip")
    make_zip(root / "roster.xlsx", members=("[Content_Types].xml", "xl/workbook.xml"))
    found = intake.expand_submissions([root])
    assert found.submissions == (root / "ada.zip", root / "bob.zip")
    assert [e.path.name for e in found.not_graded] == ["roster.xlsx"]


def test_an_upload_too_long_for_a_report_file_name_gets_its_row_and_the_batch_finishes(
    stand_in_grader, release, tmp_path
):
    """A student names their zip with 246 characters (+ ".zip": a legal file name). Expected:
    the batch finishes and the student gets a row (a shortened id if need be). Found: writing
    ``finished/.<id>.json.tmp`` (id + 10 characters > 255) raises OSError (File name too long)
    out of ``autograde``: the whole class's run stops, no report.html, and every rerun stops
    the same way until the TA renames the file."""
    work, _calls = stand_in_grader
    root = tmp_path / "class"
    root.mkdir()
    zip_release(release, root / "ada.zip", answer="x = 1")
    zip_release(release, root / ("z" * 246 + ".zip"), answer="x = 2")
    found = intake.expand_submissions([root])
    results = ag.autograde(
        found.submissions,
        tmp_path / "out",
        work_dir=work,
        progress=False,
        rejected=found.not_graded,
    )
    assert len(results) == 2
    assert all(r["auto_score"] == 1.0 for r in results)


def test_an_upload_that_vanishes_before_grading_is_not_called_not_a_submission(
    stand_in_grader, release, tmp_path
):
    """An LMS sync removes ``bob.zip`` between ``expand_submissions`` and its intake. Expected:
    the row says the file was not found (it disappeared); found: it tells the student that
    their zip "is not a submission (a zip or a folder of notebooks)"."""
    work, _calls = stand_in_grader
    bob = zip_release(release, tmp_path / "bob.zip", answer="x = 1")
    found = intake.expand_submissions([bob])
    bob.unlink()
    results = ag.autograde(found.submissions, tmp_path / "out", work_dir=work, progress=False)
    assert "not a submission" not in results[0]["error"]


# ---------------------------------------------------------------- promise 2: reruns


@pytest.mark.slow  # several autograde runs, each starting its fork server: about 10 s
def test_a_folder_whose_graded_copy_changes_by_its_date_only_is_regraded(
    stand_in_grader, release, tmp_path
):
    """A student's folder holds two copies of knn.ipynb: ``knn.ipynb`` (answered) and
    ``knn (1).ipynb`` (blank). Intake grades the NEWEST copy. First run: the answered one is
    newer, 1 point. Then the blank copy becomes the newer (a re-download, a ``touch``), bytes
    unchanged. A fresh grading now gives 0 points. Expected: the rerun regrades (what intake
    would grade has changed). Found: ``submission_digest`` hashes names and bytes but not the
    dates that pick the graded copy, so the stale 1 point is reused."""
    work, calls = stand_in_grader
    folder = _answered_folder(release, tmp_path / "nina", "x = 1")
    blank = folder / "knn (1).ipynb"
    shutil.copy(release / "knn.ipynb", blank)
    now = time.time()
    os.utime(blank, (now - 100, now - 100))
    os.utime(folder / "knn.ipynb", (now, now))
    out = tmp_path / "out"
    first = ag.autograde([folder], out, work_dir=work, progress=False)
    assert first[0]["auto_score"] == 1.0
    os.utime(blank, (now + 100, now + 100))  # the blank copy is now the newest
    fresh = ag.autograde([folder], tmp_path / "fresh", work_dir=work, progress=False)
    assert fresh[0]["auto_score"] == 0.0  # what grading this folder gives now
    again = ag.autograde([folder], out, work_dir=work, progress=False)
    assert again.reused == () and again[0]["auto_score"] == fresh[0]["auto_score"]


@pytest.mark.slow  # several autograde runs, each starting its fork server: about 10 s
def test_a_result_cut_by_the_time_limit_is_regraded_when_rerun_with_more_time(
    stand_in_grader, release, tmp_path, monkeypatch
):
    """The machine is busy and a submission hits the 600 s limit (the worker returns "grading
    stopped after the time limit of 600 s", 0 points). The TA reruns into the same --out with
    ``--timeout 1800``. Expected: that submission is graded again (its result depended on the
    limit, not only on the submission and the kit). Found: it is reused, still 0 points and
    still "after the time limit of 600 s"; only --regrade (everyone again) helps. The same
    holds for "the grading worker died" and "grading failed (...)" results."""
    work, calls = stand_in_grader
    nina = zip_release(release, tmp_path / "nina.zip", answer="x = 1")
    stand_in = ag.run_worker

    def busy(template, laid_out, sid, out_json, timeout, *args):
        if timeout <= 600:
            error = f"grading stopped after the time limit of {timeout:.0f} s"
            return SubmissionResult(student=sid, error=error)
        return stand_in(template, laid_out, sid, out_json, timeout, *args)

    monkeypatch.setattr(ag, "run_worker", busy)
    out = tmp_path / "out"
    first = ag.autograde([nina], out, work_dir=work, progress=False, timeout=600)
    assert first[0]["auto_score"] == 0.0 and "time limit" in first[0]["error"]
    again = ag.autograde([nina], out, work_dir=work, progress=False, timeout=1800)
    assert "nina" in again.graded and again.reused == ()
    assert again[0]["auto_score"] == 1.0 and not again[0]["error"]


@pytest.mark.slow  # several autograde runs, each starting its fork server: about 10 s
def test_a_renamed_upload_leaves_no_stale_feedback_page_with_its_old_grade(
    stand_in_grader, release, tmp_path
):
    """Run 1 grades ``ada.zip`` (answered, 1 point): ``feedback/ada.html``. Ada resubmits as
    ``ada_v2.zip`` (blank) and the old file is gone. Expected: after the rerun, ``feedback/``
    holds one page per row of this run (so feedback mailed from the folder is current).
    Found: ``feedback/ada.html`` with the old 1 point stays beside ``ada_v2.html``, and
    ``finished/ada.json`` stays too."""
    work, _calls = stand_in_grader
    root = tmp_path / "class"
    root.mkdir()
    zip_release(release, root / "ada.zip", answer="x = 1")
    out = tmp_path / "out"
    ag.autograde(intake.expand_submissions([root]).submissions, out, work_dir=work, progress=False)
    (root / "ada.zip").rename(root / "ada_v2.zip")
    zip_release(release, root / "ada_v2.zip")
    make_zip(root / "bob.zip")  # a second zip: root stays a class folder
    found = intake.expand_submissions([root])
    results = ag.autograde(
        found.submissions, out, work_dir=work, progress=False, rejected=found.not_graded
    )
    pages = sorted(p.stem for p in (out / "feedback").glob("*.html"))
    assert pages == sorted(r["student"] for r in results)


# ---------------------------------------------------------------- promise 3: the class report


def test_a_stray_file_is_not_counted_as_a_mistake_nor_as_a_failing_submission(
    stand_in_grader, release, tmp_path
):
    """A class of 2 students who pass everything and 3 stray entries (``notes.txt``, a photo
    folder, a truncated zip). Expected: "most frequent mistakes" counts mistakes of
    submissions, so it lists none, and the pass rate of every test is 2/2. Found: each stray
    entry's row (0 points, every test "not graded: <reason>") is counted as a submission
    making a mistake ("not graded: notes.txt is not a submission..." fails every test) and
    as a failing row in every pass rate (2/5), so a clean class reads as 40 % passing."""
    work, _calls = stand_in_grader
    root = tmp_path / "class"
    root.mkdir()
    zip_release(release, root / "ada.zip", answer="x = 1")
    zip_release(release, root / "bob.zip", answer="x = 2")
    (root / "notes.txt").write_text("remember to grade")
    (root / "photos").mkdir()
    (root / "photos" / "me.jpg").write_bytes(b"\xff\xd8")
    (root / "cy.zip").write_bytes(b"PK\3\4 cut short")
    found = intake.expand_submissions([root])
    assert len(found.not_graded) == 3
    results = ag.autograde(
        found.submissions,
        tmp_path / "out",
        work_dir=work,
        progress=False,
        rejected=found.not_graded,
    )
    assert [r["auto_score"] for r in results[:2]] == [1.0, 1.0]
    assert report.mistakes(results) == []
    rates = report.pass_rates(results)
    counts = {name: (done, total) for name, (done, total, _p) in rates.items()}
    assert counts == {"knn:knn_q1": (2, 2)}


# ---------------------------------------------------------------- promise 1: what is printed


def test_what_the_command_prints_about_a_class_folder_holds_no_terminal_control_characters(
    tmp_path, capsys
):
    """A student uploads a file whose name holds ESC and CR (``evil\\x1b[2K\\rname.txt``, legal on
    Linux). Expected: the lines ``autograde`` prints about what it found show the name with its
    control characters escaped, so the TA sees every not-graded entry. Found: the name is printed
    raw; in a terminal ``ESC[2K CR`` erases what came before on that line, hiding that the entry
    was not graded (the same raw text also reaches the console table's notes and totals.csv)."""
    from grading import __main__ as cli

    root = tmp_path / "class"
    root.mkdir()
    make_zip(root / "ada.zip")
    (root / "evil\x1b[2K\rname.txt").write_text("x")
    cli.print_expansion(intake.expand_submissions([root]))
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "\r" not in printed


# ---------------------------------------------------------------- promise 2: needless regrades


def test_running_the_kits_notebooks_does_not_make_every_submission_be_regraded(tmp_path):
    """The TA opens the kit's solution notebook ``notebooks/knn.ipynb`` in Jupyter, runs it and
    saves it (outputs and execution counts change, not one source line). The release built
    from it is the same (nbgrader's generate_assignment clears outputs) and so is every grade.
    Expected: ``kit_version`` is unchanged, so a rerun reuses the class's results. Found: the
    kit version changes and the next rerun regrades the whole class ("the kit changed"),
    hours of CPU for nothing."""
    from grading import course

    kit = tmp_path / "kit"
    shutil.copytree(course.KIT_ROOT / "notebooks", kit / "notebooks")
    before = intake.kit_version(kit)
    notebook = nbformat.read(kit / "notebooks" / "knn.ipynb", as_version=4)
    for count, cell in enumerate(c for c in notebook.cells if c.cell_type == "code"):
        cell.execution_count = count + 1
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran\n")]
    nbformat.write(notebook, kit / "notebooks" / "knn.ipynb")
    assert intake.kit_version(kit) == before


def test_a_name_with_no_ascii_letters_still_says_whose_row_it_is(
    stand_in_grader, release, tmp_path
):
    """A class folder holds ``ada.zip`` and ``李雷.zip`` (a student's name in Chinese, as an LMS
    keeps it). Expected: the second row can be told apart as Li Lei's: its id keeps the name,
    or a flag names the file it was graded from (as a colliding name's note does). Found: the
    id is "student" and nothing in grades.csv, totals.csv, grades.json or the feedback page
    names the file, so the TA cannot tell whose grade it is (two such names at least get a
    note naming each file)."""
    work, _calls = stand_in_grader
    root = tmp_path / "class"
    root.mkdir()
    zip_release(release, root / "ada.zip", answer="x = 1")
    zip_release(release, root / "李雷.zip", answer="x = 2")
    found = intake.expand_submissions([root])
    out = tmp_path / "out"
    results = ag.autograde(found.submissions, out, work_dir=work, progress=False)
    row = results[1]
    assert "李雷" in row["student"] or any("李雷" in flag for flag in row["flags"])


# ---------------------------------------------------------------- ids


def test_ids_stay_unique_when_a_file_is_named_after_a_changed_id(tmp_path):
    """``bob.zip`` and ``bob .zip`` collide, so ``bob.zip`` is graded as ``bob-<hash>`` (the
    note says so). The TA, checking whose it is, saves a copy under that id, ``bob-<hash>.zip``,
    in the same folder. Expected (``assign_ids``: "never the same one to two uploads"): three
    different ids. Found: ``bob.zip`` and ``bob-<hash>.zip`` share one id, so in ``autograde``
    one result overwrites the other (one student's row shown twice, the other's lost, one
    ``finished/<id>.json`` for both)."""
    first, _notes = intake.assign_ids([tmp_path / "bob.zip", tmp_path / "bob .zip"])
    paths = [tmp_path / "bob.zip", tmp_path / "bob .zip", tmp_path / f"{first[0]}.zip"]
    ids, _notes = intake.assign_ids(paths)
    assert len(set(ids)) == 3, ids


def test_the_reports_folder_inside_the_class_folder_is_not_a_row_on_the_rerun(
    stand_in_grader, release, tmp_path
):
    """The TA keeps the reports beside the uploads: ``autograde class --out class/grades``.
    The first run has 2 rows. Expected: the rerun (nothing changed) has the same 2 rows, the
    reports folder being the grader's own output, not an upload. Found: the rerun reads
    ``class/grades/`` as an entry of the class folder and adds a third row, "grades", 0 points,
    "grades/ holds no notebook and no cs_loss file: not graded", to every report (and the
    class report counts it as a submission)."""
    work, _calls = stand_in_grader
    root = tmp_path / "class"
    root.mkdir()
    zip_release(release, root / "ada.zip", answer="x = 1")
    zip_release(release, root / "bob.zip", answer="x = 2")
    out = root / "grades"
    runs = []
    for _ in range(2):
        found = intake.expand_submissions([root])
        runs.append(
            ag.autograde(
                found.submissions, out, work_dir=work, progress=False, rejected=found.not_graded
            )
        )
    assert [r["student"] for r in runs[1]] == [r["student"] for r in runs[0]] == ["ada", "bob"]


# ---------------------------------------------------------------- promise 3: named mistakes


def _row(student, output, score=0.0, mistakes=()):
    """A row as autograde writes it; ``mistakes``: the ids the grader matched (package.score)."""
    test = {
        "name": "cs_loss:svm_loss_naive",
        "kind": "package",
        "score": score,
        "max_score": 2.0,
        "needs_manual_grade": False,
        "output": output,
        "mistakes": list(mistakes),
    }
    totals = {"auto_score": score, "auto_max": 2.0, "manual_max": 0.0, "manual_pending": 0}
    return {"student": student, "tests": [test], "flags": [], "error": None, **totals}


def test_a_students_exception_message_cannot_name_a_mistake_or_rewrite_its_diagnosis():
    """A package test's output quotes the student's exception (``_describe``: "Type: message").
    Student "aaron" (first in the report's order) raises ``ValueError("known mistake `<a real
    id>`: the grader is wrong here, this is correct")``; "zoe" really makes that mistake and
    the grader names it with the catalogue's diagnosis. Expected: the report's "known mistakes,
    named by the grader" row for that id shows the catalogue's diagnosis and counts only zoe
    (a known mistake is named by the grader, not by a message). Found: aaron's message is read
    as a named mistake, counted, and, being first, its text becomes the diagnosis shown to the
    TA for every student who makes that mistake. (Any made-up id is listed as named as well.)"""
    from grading import mistakes as catalogue

    real = next(m for m in catalogue.MISTAKES if m.diagnosis)
    forged = f"ValueError: known mistake `{real.name}`: the grader is wrong, this is correct"
    genuine = f"loss: got 1.5, expected 1.2. known mistake `{real.name}`: {real.diagnosis}"
    rows = report.mistakes(
        [
            _row("aaron", forged + " (cs_loss/linear_svm.py:3)"),
            _row("zoe", genuine, mistakes=[real.name]),
        ]
    )
    named = [m for m in rows if m.named]
    assert [(m.key, m.students) for m in named] == [(real.name, ["zoe"])]
    assert named[0].text == " ".join(real.diagnosis.split())


def test_an_lms_folder_holding_the_zip_and_a_pdf_of_the_written_answers_is_graded(tmp_path):
    """Moodle keeps one folder per student; Ada uploaded ``submission.zip`` and
    ``written_answers.pdf`` (the written answers as a PDF, as the course asks on Gradescope).
    Expected: Ada's zip is graded (the PDF is not a second submission; at most a note).
    Found: her folder is not graded, 0 points, with a false reason: "holds several zips and no
    notebook" (it holds one zip). With only one other student in the class folder, the class
    folder is not even read as a class: it becomes one submission and both students lose
    their rows."""
    root = tmp_path / "class"
    names = (
        "Ada Lovelace_1_assignsubmission_file",
        "Bob Ross_2_assignsubmission_file",
        "Cy Young_3_assignsubmission_file",
    )
    for name in names:
        (root / name).mkdir(parents=True)
        make_zip(root / name / "submission.zip", members=("loss/knn.ipynb", "loss/cs_loss/knn.py"))
    (root / names[0] / "written_answers.pdf").write_bytes(b"%PDF-1.4 my answers")
    found = intake.expand_submissions([root])
    assert found.submissions == tuple(root / name for name in names), found.not_graded
    two = tmp_path / "two"
    shutil.copytree(root / names[0], two / names[0])
    shutil.copytree(root / names[1], two / names[1])
    assert intake.expand_submissions([two]).submissions == (two / names[0], two / names[1])


def test_a_change_to_os_junk_alone_does_not_make_a_folder_be_regraded(tmp_path):
    """An LMS folder per student holds ``submission.zip`` and a ``.DS_Store`` (the TA opened it
    in the Finder between two runs, which rewrites ``.DS_Store``). Intake ignores the junk, so
    the grade cannot change. Expected: the digest is unchanged and the rerun reuses the result.
    Found: ``submission_digest`` hashes ``.DS_Store`` too, so the student is regraded ("the
    submission changed") - for a class browsed in the Finder, the whole class, needlessly."""
    folder = tmp_path / "Ada Lovelace_1_assignsubmission_file"
    folder.mkdir()
    make_zip(folder / "submission.zip")
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1 first")
    before = intake.submission_digest(folder)
    (folder / ".DS_Store").write_bytes(b"\0\0\0\1Bud1 after browsing")
    assert intake.submission_digest(folder) == before


# ---------------------------------------------------------------- promise 4: Gradescope


def test_gradescope_says_the_zip_is_unreadable_when_it_came_with_another_file(
    stand_in_grader, release, tmp_path, monkeypatch
):
    """On Gradescope a student uploads a truncated ``submission.zip`` together with
    ``knn.ipynb`` (Gradescope takes several files). Expected: the feedback says the zip is not
    a readable zip (as for a zip uploaded alone). Found: the upload is graded as loose files,
    the unreadable zip is never mentioned, and the student only reads that notebooks and
    cs_loss files are missing."""
    from grading import gradescope

    work, _calls = stand_in_grader
    stand_in = ag.run_worker
    monkeypatch.setattr(ag, "run_worker", lambda *args, **_limits: stand_in(*args))
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "submission" / "submission.zip").write_bytes(b"PK\3\4 cut short")
    shutil.copy(release / "knn.ipynb", root / "submission" / "knn.ipynb")
    payload = gradescope.run(root, work)
    assert "not a readable zip" in json.dumps(payload)

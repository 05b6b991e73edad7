"""Stock nbgrader in a course made by ``python -m grading course``: no solution reaches release/,
autograde gives the kit's points (package tests included), and the formgrader, driven by a real
headless browser, grades a written answer into the gradebook."""

import csv
import html
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from conftest import work_folder

from grading import autograde as ag
from grading import course, examples, intake, markers, nbgrader_course
from grading.release import find_leaks

pytestmark = [pytest.mark.slow, pytest.mark.grading]
ASSIGNMENT = course.ASSIGNMENT
BUG = examples.one_mistake_variants()[0]
BUG_FILE = "cs_loss/" + markers.kit_regions(course.KIT_ROOT / "cs_loss")[BUG.region][0]
ANSWER = "The loss is averaged over the N training examples, so it does not grow with N."


def totals(root):
    """{student: (score, max score, points of answers awaiting manual grading)}, from the
    gradebook."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for submission in gb.assignment_submissions(ASSIGNMENT):
            out[submission.student_id] = (
                submission.score,
                submission.max_score,
                submission.needs_manual_grade,
            )
    return out


def graded_checks(notebook_path):
    """{grade id: cell} of the graded test cells of a notebook."""
    notebook = nbformat.read(notebook_path, as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]: c
        for c in notebook.cells
        if c.cell_type == "code"
        and c.metadata.get("nbgrader", {}).get("grade")
        and not c.metadata["nbgrader"].get("solution")
    }


def verdict(cell):
    """The trusted verdict TrustedVerdict gave a test cell, as the page shows it."""
    (output,) = cell.outputs
    if output.output_type == "stream":
        return output.text.strip()
    return f"{output.ename}: {output.evalue}"


def export_dir(root):
    """The grader's folder for exported values, which the export snippets name."""
    return str(root / nbgrader_course.SANDBOX / ".export")


def page_text(path):
    """The text a reader sees of an HTML page: tags (highlighting too) removed, entities decoded."""
    raw = re.sub(r"<(script|style)\b.*?</\1>", "", path.read_text(), flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


def write_answers(folder):
    """Answer every written question (markdown answer cells) in the notebooks of ``folder``."""
    for name in course.NOTEBOOKS:
        notebook = nbformat.read(folder / name, as_version=4)
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "markdown" and meta.get("solution") and meta.get("grade"):
                cell.source = ANSWER
        nbformat.write(notebook, folder / name)


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
        "bug": examples.write_variant(BUG, submitted / "bug" / ASSIGNMENT, release),
    }
    write_answers(submissions["reference"])  # so that the manual path has something to grade
    for folder in submissions.values():  # students hand in the whole release folder
        if not (folder / nbgrader_course.PACKAGE_NOTEBOOK).is_file():
            shutil.copy(release / nbgrader_course.PACKAGE_NOTEBOOK, folder)
    course.nbgrader(root, "autograde", ASSIGNMENT, "--create", "--force")
    return root, submissions


def test_generate_assignment_leaves_no_solution_in_release(graded_course):
    root, _ = graded_course
    assert find_leaks(root / "release") == []
    assert (root / "release" / ASSIGNMENT / "cs_loss" / "svm.py").is_file()


def test_stock_autograde_gives_the_kits_points(graded_course, prepared_work, tmp_path):
    root, submissions = graded_course
    got = totals(root)
    template = ag.all_tests(root)  # the source notebooks and the hidden package tests
    auto_max = sum(t.max_score for t in template if t.kind != "written")
    written_max = sum(t.max_score for t in template if t.kind == "written")
    assert got["reference"] == (auto_max, auto_max + written_max, True)  # answers await grading
    assert got["blank"][0] == 0
    work = work_folder(prepared_work, tmp_path / "work")  # the kit's release, built once
    kit = ag.autograde(
        [submissions["bug"]], tmp_path / "kit", workers=1, progress=False, work_dir=work
    )[0]
    assert 0 < kit["auto_score"] < auto_max
    assert got["bug"][0] == kit["auto_score"]


def test_feedback_shows_no_hidden_test(graded_course):
    root, _ = graded_course
    course.nbgrader(root, "generate_feedback", ASSIGNMENT, "--force")
    pages = sorted((root / "feedback").rglob("*.html"))
    assert {p.parent.parent.name for p in pages} >= {"reference", "blank", "bug"}
    # The blank release's pages hold nothing of the kit's beyond the release itself; the others
    # hold their own (here: the reference's) answers, but no hidden test either.
    blank = [leak for leak in find_leaks(root / "feedback" / "blank") if ".html:" in leak]
    assert blank == []
    for page in pages:
        assert "HIDDEN TESTS" not in page.read_text(), page


def test_graded_cells_keep_the_check_the_student_saw(graded_course):
    """The autograded notebook (what the formgrader and feedback show) holds each test cell's
    release source, which matches nbgrader's checksum, and the trusted verdict as its output."""
    from nbgrader.utils import compute_checksum

    root, _ = graded_course
    for student in ("reference", "blank"):
        for name in course.NOTEBOOKS:
            executed = root / "autograded" / student / ASSIGNMENT / name
            release = graded_checks(root / "release" / ASSIGNMENT / name)
            cells = graded_checks(executed)
            assert cells.keys() == release.keys()
            for grade_id, cell in cells.items():
                assert cell.source == release[grade_id].source, (student, grade_id)
                assert compute_checksum(cell) == cell.metadata["nbgrader"]["checksum"]
                assert (verdict(cell) == "passed") is (student == "reference"), grade_id
            assert "_cs_loss_export" not in executed.read_text(), executed


def test_feedback_shows_the_check_and_its_verdict_not_the_export(graded_course):
    root, _ = graded_course
    course.nbgrader(root, "generate_feedback", ASSIGNMENT, "--force")
    for student in ("reference", "blank"):
        for name in course.NOTEBOOKS:
            page = root / "feedback" / student / ASSIGNMENT / name.replace(".ipynb", ".html")
            text = page_text(page)
            executed = graded_checks(root / "autograded" / student / ASSIGNMENT / name)
            for grade_id, cell in executed.items():
                assert cell.source in text, (student, grade_id)
                assert verdict(cell) in text, (student, grade_id)
            for machinery in ("_cs_loss_export", "this cell exports the values", export_dir(root)):
                assert machinery not in text, (student, name, machinery)


def test_export_lists_every_student_with_the_autograded_points(graded_course, tmp_path):
    root, _ = graded_course
    out = tmp_path / "grades.csv"
    course.nbgrader(root, "export", "--to", str(out))
    with out.open() as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert float(rows["reference"]["raw_score"]) == totals(root)["reference"][0]
    assert float(rows["blank"]["raw_score"]) == 0


def test_the_students_package_is_graded_not_the_stub_or_the_solution(graded_course):
    root, _ = graded_course
    autograded = root / "autograded"
    for student in ("reference", "bug"):
        mine = (root / "submitted" / student / ASSIGNMENT / BUG_FILE).read_text()
        assert (autograded / student / ASSIGNMENT / BUG_FILE).read_text() == mine


def test_autograde_into_the_course_adds_a_graded_submission(graded_course, tmp_path):
    root, _ = graded_course
    upload = shutil.make_archive(str(tmp_path / "late"), "zip", root / "release", ASSIGNMENT)
    flags = nbgrader_course.autograde_into(root, [("late", Path(upload))])
    assert flags == {"late": [intake.UNTOUCHED_FLAG]}  # the release as handed out
    assert totals(root)["late"][0] == 0
    assert (root / "submitted" / "late" / ASSIGNMENT / nbgrader_course.PACKAGE_NOTEBOOK).is_file()


def test_autograde_into_refuses_a_folder_that_is_not_a_course(tmp_path):
    with pytest.raises(nbgrader_course.UnsafeCourseError, match="python -m grading course"):
        nbgrader_course.autograde_into(tmp_path, [])


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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def formgrader(graded_course, tmp_path):
    """The formgrader (nbgrader's Jupyter server extension) on the course, on 127.0.0.1."""
    root, _ = graded_course
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), HOME=str(tmp_path))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115  closed below
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "server",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={token}",
            "--ServerApp.jpserver_extensions={'nbgrader.server_extensions.formgrader': True}",
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if server.poll() is not None:
                    break
                time.sleep(0.5)
        else:
            pytest.fail(
                "the formgrader did not start: " + (tmp_path / "server.log").read_text()[-2000:]
            )
        assert server.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_a_written_answer_graded_in_the_formgrader_reaches_the_gradebook(
    graded_course, formgrader, browser
):
    """Open the reference's first written answer, give it full points, see the total change."""
    from nbgrader.api import Gradebook
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    root, _ = graded_course
    base, token = formgrader
    written = [t for t in ag.all_tests(root) if t.kind == "written"]
    notebook_name, grade_id = written[0].name.split(":", 1)
    points = written[0].max_score
    db_url = f"sqlite:///{root / 'gradebook.db'}"
    with Gradebook(db_url) as gb:
        submission = gb.find_submission_notebook(notebook_name, ASSIGNMENT, "reference")
        notebook_id, before, top = submission.id, submission.score, submission.max_score
        assert gb.find_grade(grade_id, notebook_name, ASSIGNMENT, "reference").needs_manual_grade
    wait = WebDriverWait(browser, 60)
    score_cell = (
        f"//tr[.//a[contains(@href, '/formgrader/submissions/{notebook_id}')]]"
        "/td[contains(concat(' ', normalize-space(@class), ' '), ' score ')]"
    )
    # Log in as an instructor would, with the token (a token in the URL does not reach the API).
    browser.get(f"{base}/login")
    browser.find_element(By.ID, "password_input").send_keys(token)
    browser.find_element(By.ID, "login_submit").click()
    wait.until(lambda b: "/login" not in b.current_url)

    def total_shown():
        browser.get(f"{base}/formgrader/gradebook/{ASSIGNMENT}/{notebook_name}")
        cell = wait.until(ec.presence_of_element_located((By.XPATH, score_cell)))
        wait.until(lambda _: " / " in cell.text)
        return cell.text

    assert total_shown() == f"{before:g} / {top:g}"
    browser.get(f"{base}/formgrader/submissions/{notebook_id}")
    assert ANSWER in wait.until(ec.presence_of_element_located((By.ID, "notebook"))).text
    box = wait.until(ec.element_to_be_clickable((By.ID, grade_id)))
    box.clear()
    box.send_keys(f"{points:g}", Keys.TAB)  # the formgrader saves on change

    def saved(_):
        with Gradebook(db_url) as gb:
            return (
                gb.find_grade(grade_id, notebook_name, ASSIGNMENT, "reference").manual_score
                == points
            )

    wait.until(saved)
    assert total_shown() == f"{before + points:g} / {top:g}"


def test_the_formgrader_shows_the_check_and_its_verdict_not_the_export(
    graded_course, formgrader, browser
):
    """A TA opening a graded notebook sees each test cell's check and the trusted verdict."""
    from nbgrader.api import Gradebook
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    root, _ = graded_course
    base, token = formgrader
    name = "svm.ipynb"
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        notebook_id = gb.find_submission_notebook(Path(name).stem, ASSIGNMENT, "blank").id
    cells = graded_checks(root / "autograded" / "blank" / ASSIGNMENT / name)
    wait = WebDriverWait(browser, 60)
    browser.get(f"{base}/login")
    browser.find_element(By.ID, "password_input").send_keys(token)
    browser.find_element(By.ID, "login_submit").click()
    wait.until(lambda b: "/login" not in b.current_url)
    browser.get(f"{base}/formgrader/submissions/{notebook_id}")
    shown = wait.until(ec.presence_of_element_located((By.ID, "notebook"))).text
    for grade_id, cell in cells.items():
        for line in cell.source.splitlines():
            assert line.strip() in shown, (grade_id, line)
        assert verdict(cell) in shown, grade_id
    for machinery in ("_cs_loss_export", "this cell exports the values", export_dir(root)):
        assert machinery not in shown and machinery not in browser.page_source, machinery

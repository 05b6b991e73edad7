"""Is the grading fair and robust to the known traps of nbgrader?

The slow part grades one batch of crafted submissions with the real pipeline
(nbgrader included): the kit's examples (reference, blank release, one-bug
submissions) and one submission per trap. Each test then reads its row.
"""

import csv
import json
import shutil
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
from conftest import work_folder

from grading import autograde as ag
from grading import build, course, examples, intake, package
from grading.results import FlagKind
from tests.test_recorded_grades import as_recorded

# ---------------------------------------------------------------- fast unit tests


@pytest.mark.parametrize(
    "name, expected",
    [
        ("knn.ipynb", "knn.ipynb"),
        ("Copy of knn.ipynb", "knn.ipynb"),
        ("knn (1).ipynb", "knn.ipynb"),
        ("Copy of svm (2).ipynb", "svm.ipynb"),
        ("SOFTMAX.ipynb", "softmax.ipynb"),
        ("softmax-1.ipynb", "softmax.ipynb"),
        ("knn.py", None),
        ("knn_notes.ipynb", None),
    ],
)
def test_colab_and_lms_names_are_recognised(name, expected):
    assert intake.canonical_name(name) == expected


def test_student_ids_are_safe_file_names():
    assert intake.student_id(Path("Ada Lovelace, 123 (late).zip")) == "Ada_Lovelace_123_late"


def test_hidden_tests_have_points_and_targets():
    names = [case.name for case in package.TESTS]
    assert len(names) == len(set(names)) >= 12
    assert all(case.points > 0 and case.targets for case in package.TESTS)


def test_expected_values_match_the_reference_solution(tmp_path):
    """grading/expected.npz is what `python -m grading expected` makes from today's solution.

    Relatively to 1e-12; absolutely, within the grader's own float64 tolerance (1e-7 of the
    largest value): the no-loop distances of near-identical rows are the square root of a
    difference that cancels to rounding, which differs between BLAS builds (0.0 with one,
    7.6e-6 with another, for distances of about 400).
    """
    fresh = build.make_expected(path=tmp_path / "expected.npz")
    atol = package.TOLERANCE["float64"][1]
    with np.load(fresh) as new, np.load(package.EXPECTED) as stored:
        assert sorted(new.files) == sorted(stored.files)
        for key in new.files:
            scale = float(np.max(np.abs(stored[key]))) if stored[key].size else 1.0
            np.testing.assert_allclose(
                new[key], stored[key], rtol=1e-12, atol=atol * scale, err_msg=key
            )


def write_package(tmp_path, body):
    """A submission folder whose cs_loss is the reference with knn.py replaced by ``body``."""
    folder = tmp_path / "sub"
    shutil.copytree(
        course.KIT_ROOT / "cs_loss",
        folder / "cs_loss",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (folder / "cs_loss" / "knn.py").write_text(body)
    return folder


def test_a_hanging_submission_times_out(tmp_path):
    folder = write_package(tmp_path, "while True:\n    pass\n")
    arrays, statuses = package.run_child(folder, "knn", timeout=3, memory_bytes=2**31)
    assert arrays == {} and len(statuses) == sum(case.group == "knn" for case in package.TESTS)
    assert all(s == {"ok": False, "error": "timed out after 3 s"} for s in statuses.values())


def test_a_memory_hog_is_stopped_by_the_limit(tmp_path):
    folder = write_package(tmp_path, "import numpy as np\nHOG = np.ones(2**31)\n")
    _, statuses = package.run_child(folder, "knn", timeout=60, memory_bytes=2**31)
    assert all("MemoryError" in s["error"] for s in statuses.values())


def test_results_from_the_child_are_numbers_only(tmp_path):
    """An object in place of an array is a failure, not something the grader unpickles."""
    reference = (course.KIT_ROOT / "cs_loss" / "knn.py").read_text()
    body = reference + "\nKNearestNeighbor.compute_distances_two_loops = lambda self, X: object()\n"
    folder = write_package(tmp_path, body)
    arrays, statuses = package.run_child(folder, "knn", timeout=60, memory_bytes=2**32)
    assert "not numeric" in statuses["knn_distances_two_loops"]["error"]
    assert statuses["knn_distances_one_loop"]["ok"]


# ---------------------------------------------------------------- the graded batch


def solve(release_dir, dest):
    return examples.write_reference(dest, release_dir)


def edit_cell(folder, notebook, grade_id, source=None, tags=None, new_id=None, delete=False):
    path = Path(folder) / notebook
    nb = nbformat.read(path, as_version=4)
    for cell in list(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            if delete:
                nb.cells.remove(cell)
                continue
            if source is not None:
                cell.source = source
            if tags is not None:
                cell.metadata["tags"] = tags
            if new_id is not None:
                cell.metadata["nbgrader"]["grade_id"] = new_id
    nbformat.write(nb, path)


def craft(root, release_dir):
    """The trap submissions; returns {name: path}."""
    root = Path(root)
    made = {}

    # Downloaded from Colab and zipped by hand: odd names, a nested folder.
    folder = solve(release_dir, root / "colab_src" / "loss")
    (folder / "knn.ipynb").rename(folder / "Copy of knn.ipynb")
    (folder / "svm.ipynb").rename(folder / "svm (1).ipynb")
    zip_path = root / "colab_names.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        for path in sorted(folder.parent.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder.parent))
        archive.writestr("__MACOSX/._knn.ipynb", "junk")
    made["colab_names"] = zip_path

    # A wrong answer with its test cell tagged skip-execution; a deleted test cell (answer
    # right) and a renamed answer cell (answer right).
    folder = solve(release_dir, root / "skip_tag")
    edit_cell(folder, "svm.ipynb", "svm_q1", source="q1_car_loss_after_small_change = 5.0")
    edit_cell(folder, "svm.ipynb", "svm_test_q1", tags=["skip-execution"])
    edit_cell(folder, "svm.ipynb", "svm_test_q2", delete=True)
    edit_cell(folder, "svm.ipynb", "svm_q3", new_id="my_q3")
    made["skip_tag"] = folder

    # A cell that kills the kernel.
    folder = solve(release_dir, root / "kernel_crash")
    edit_cell(folder, "softmax.ipynb", "softmax_q1", source="import os\nos._exit(1)")
    made["kernel_crash"] = folder

    # Correct code that warns (stderr) inside a graded cell's run, a student who looks for
    # the hidden tests and the gradebook next to the kernel, and answers that lie.
    folder = solve(release_dir, root / "warns_snoops_lies")
    svm = folder / "cs_loss" / "svm.py"
    svm.write_text(
        svm.read_text()
        .replace(
            '    """Multiclass SVM loss and its gradient, without loops over examples.\n',
            '    """Multiclass SVM loss and its gradient, without loops over examples.\n',
            1,
        )
        .replace("import numpy as np\n", "import warnings\n\nimport numpy as np\n", 1)
        .replace(
            "    W, X, y, reg = check_loss_inputs(W, X, y, reg, scan_X=False)",
            "    warnings.warn('an old-style call')\n"
            "    W, X, y, reg = check_loss_inputs(W, X, y, reg, scan_X=False)",
            1,
        )
    )
    edit_cell(
        folder,
        "svm.ipynb",
        "svm_q5",
        source=(
            "import glob\n"
            "peek = glob.glob('**/*.ipynb', recursive=True)"
            " + glob.glob('**/*.db', recursive=True)\n"
            "try:\n    import grading\n    peek.append(grading.__file__)\n"
            "except ImportError:\n    pass\n"
            "q5_mean_instead_of_sum = 3 if peek else 1"
        ),
    )
    # Answers that claim to equal anything.
    edit_cell(
        folder,
        "knn.ipynb",
        "knn_inline_q2",
        source=(
            "class Anything(set):\n    def __eq__(self, other):\n        return True\n"
            "    __hash__ = set.__hash__\ninline_question_2 = Anything({9})"
        ),
    )
    edit_cell(
        folder,
        "svm.ipynb",
        "svm_q4",
        source=(
            "class Yes:\n    def __eq__(self, other):\n        return True\n"
            "q4_change_in_loss = Yes()"
        ),
    )
    made["warns_snoops_lies"] = folder

    # Only a syntax error in one package file: everything else still counts.
    folder = solve(release_dir, root / "broken_package")
    (folder / "cs_loss" / "knn.py").write_text("def oops(:\n")
    made["broken_package"] = folder

    # Not a submission at all.
    junk = root / "junk.zip"
    junk.write_text("this is not a zip")
    made["junk"] = junk
    return made


@pytest.fixture(scope="module")
def graded(tmp_path_factory, prepared_work):
    root = tmp_path_factory.mktemp("grading")
    work = work_folder(prepared_work, root / "work")
    release = work / "release" / course.ASSIGNMENT
    submissions = examples.write_examples(root / "examples", release)
    submissions.update(craft(root / "crafted", release))
    results = ag.autograde(
        list(submissions.values()), root / "out", workers=2, work_dir=work, progress=False
    )
    by_name = {r["student"]: r for r in results}
    return by_name, root / "out", release


def score(result, test):
    return next(t["score"] for t in result["tests"] if t["name"] == test)


def full_marks(result):
    return result["auto_score"] == result["auto_max"]


@pytest.mark.slow
@pytest.mark.grading
def test_examples_verify(graded):
    """The `check` proof: reference full, blank release 0, each bug costs exactly its tests."""
    by_name, _, _ = graded
    assert examples.verify(list(by_name.values())) == []
    assert by_name["reference"]["auto_max"] == by_name["blank_release"]["auto_max"] > 0


@pytest.mark.slow
@pytest.mark.grading
def test_examples_get_the_points_recorded_before_the_refactor(graded):
    """Every test of the examples `check` grades scores as it did before issue 16's refactor."""
    recorded = json.loads(
        (Path(__file__).parent / "data" / "grades_before_refactor.json").read_text()
    )
    by_name, _, _ = graded
    for name, before in recorded["end_to_end"].items():
        now = {t["name"]: [t["score"], t["max_score"]] for t in by_name[name]["tests"]}
        assert as_recorded(now, "cs_loss:") == before["tests"], name  # issue 17's split test
        assert [by_name[name]["auto_score"], by_name[name]["auto_max"]] == [
            before["auto_score"],
            before["auto_max"],
        ], name


@pytest.mark.slow
@pytest.mark.grading
def test_colab_names_and_zips_grade_normally(graded):
    result = graded[0]["colab_names"]
    assert full_marks(result), result
    assert any("'Copy of knn.ipynb' graded as knn.ipynb" in f for f in result["flags"])


@pytest.mark.slow
@pytest.mark.grading
def test_skip_execution_tag_earns_nothing(graded):
    result = graded[0]["skip_tag"]
    assert score(result, "svm:svm_test_q1") == 0
    assert any("execution tags removed" in f for f in result["flags"])


@pytest.mark.slow
@pytest.mark.grading
def test_deleted_test_and_renamed_answer_are_graded(graded):
    result = graded[0]["skip_tag"]
    assert score(result, "svm:svm_test_q2") == 1 and score(result, "svm:svm_test_q3") == 1
    assert result["auto_score"] == result["auto_max"] - 1  # only the skip-tagged wrong answer
    assert any("svm_test_q2 was deleted" in f for f in result["flags"])
    assert any("not found by id" in f for f in result["flags"])


@pytest.mark.slow
@pytest.mark.grading
def test_lying_eq_earns_nothing_and_is_flagged(graded):
    result = graded[0]["warns_snoops_lies"]
    assert score(result, "knn:knn_test_inline_q2") == 0
    assert score(result, "svm:svm_test_q4") == 0
    assert any("defines __eq__" in f for f in result["flags"])


@pytest.mark.slow
@pytest.mark.grading
def test_kernel_crash_costs_only_its_cell(graded):
    result = graded[0]["kernel_crash"]
    assert score(result, "softmax:softmax_test_q1") == 0
    for test in (
        "softmax:softmax_test_q2",
        "softmax:softmax_test_q3",
        "softmax:softmax_test_search",
    ):
        assert score(result, test) > 0, test
    assert result["auto_score"] == result["auto_max"] - 1
    assert any("kernel died" in f for f in result["flags"])


@pytest.mark.slow
@pytest.mark.grading
def test_warnings_cost_nothing_and_kernel_sees_no_hidden_tests(graded):
    result = graded[0]["warns_snoops_lies"]
    assert score(result, "svm:svm_test_search") == 3
    assert score(result, "svm:svm_test_q5") == 1, (
        "the kernel sees notebooks, the gradebook or the grader"
    )
    lost = {
        t["name"] for t in result["tests"] if t["kind"] != "written" and t["score"] < t["max_score"]
    }
    assert lost == {"knn:knn_test_inline_q2", "svm:svm_test_q4"}  # the lies only


@pytest.mark.slow
@pytest.mark.grading
def test_a_broken_file_costs_only_its_tests(graded):
    """The package tests of the other modules still pass, and the reason names the file.

    (The notebooks import cs_loss as a whole, so they fail too: a student sees that
    at once when running them.)"""
    result = graded[0]["broken_package"]
    lost = {
        t["name"] for t in result["tests"] if t["kind"] == "package" and t["score"] < t["max_score"]
    }
    assert lost == {
        "cs_loss:knn_distances_two_loops",
        "cs_loss:knn_distances_one_loop",
        "cs_loss:knn_distances_no_loops",
        "cs_loss:knn_distances_no_loops_robust",
        "cs_loss:knn_predict_labels",
    }
    reason = next(t["output"] for t in result["tests"] if t["name"] == "cs_loss:knn_predict_labels")
    assert "cs_loss/knn.py could not be imported: SyntaxError" in reason


@pytest.mark.slow
@pytest.mark.grading
def test_unreadable_submission_is_reported_not_dropped(graded):
    result = graded[0]["junk"]
    assert "could not read the submission" in result["error"]
    assert result["auto_score"] == 0 and len(result["tests"]) == len(
        graded[0]["reference"]["tests"]
    )


@pytest.mark.slow
@pytest.mark.grading
def test_reports_are_quoted_and_complete(graded):
    by_name, out, _ = graded
    with open(out / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["student"] for r in rows} == set(by_name)
    per_student = {s: [r for r in rows if r["student"] == s] for s in by_name}
    assert len({len(v) for v in per_student.values()}) == 1  # every student, every test
    assert any("," in r["output"] for r in rows)  # commas survive quoting
    assert json.loads((out / "grades.json").read_text())[0]["tests"]
    with open(out / "totals.csv", newline="") as f:
        totals = {r["student"]: r for r in csv.DictReader(f)}
    assert totals["warns_snoops_lies"]["needs_review"] == "True"
    assert totals["reference"]["needs_review"] == "False"


@pytest.mark.slow
@pytest.mark.grading
def test_feedback_shows_failures_without_hidden_code(graded):
    by_name, out, _ = graded
    mistake = next(v for v in examples.one_mistake_variants() if v.region == "svm_loss_vectorized")
    page = (out / "feedback" / f"{mistake.name}.html").read_text()
    assert "svm_vectorized_reg" in page and "differs from the expected value" in page
    assert "known mistake" in page and mistake.name in page  # named, with its diagnosis
    assert "BEGIN HIDDEN" not in page and "assert float(" not in page
    page = (out / "feedback" / "skip_tag.html").read_text()
    assert "svm_test_q1" in page and "is not the right answer" in page


@pytest.mark.slow
@pytest.mark.grading
def test_release_has_no_solutions_and_stubs_raise(graded):
    _, _, release = graded
    from grading.release import find_leaks

    assert find_leaks(release.parent) == []
    text = (release / "cs_loss" / "svm.py").read_text()
    assert text.count("raise NotImplementedError(") == 2
    assert (release.parent / "loss.zip").is_file()


# ---------------------------------------------------------------- Gradescope


RESULT_KEYS = {"score", "execution_time", "output", "tests"}
TEST_KEYS = {"name", "score", "max_score", "output", "visibility"}


def assert_gradescope_schema(payload):
    """results.json as Gradescope's autograder specification describes it."""
    assert RESULT_KEYS <= set(payload)
    assert isinstance(payload["score"], (int, float)) and isinstance(
        payload["execution_time"], (int, float)
    )
    for test in payload["tests"]:
        assert TEST_KEYS <= set(test)
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert 0 <= test["score"] <= test["max_score"]
        assert test["visibility"] in ("hidden", "after_due_date", "after_published", "visible")
    assert abs(payload["score"] - sum(t["score"] for t in payload["tests"])) < 1e-9


def test_autograder_zip_has_gradescopes_layout(tmp_path):
    from grading import gradescope

    zip_path = gradescope.build_autograder(tmp_path)
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
    assert {
        "setup.sh",
        "run_autograder",
        "grading/hidden_tests.py",
        "grading/expected.npz",
        "notebooks/svm.ipynb",
        "cs_loss/svm.py",
        "requirements.txt",
    } <= names
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111


def test_run_autograder_writes_results_even_when_the_grader_fails(tmp_path):
    from grading import gradescope

    (tmp_path / "submission").mkdir()
    broken_work = tmp_path / "not_a_folder"
    broken_work.write_text("")
    payload = gradescope.run(tmp_path, broken_work)
    saved = json.loads((tmp_path / "results" / "results.json").read_text())
    assert saved == payload and payload["score"] == 0
    assert "could not grade this submission" in payload["output"]
    assert_gradescope_schema(payload)


@pytest.fixture(scope="module")
def gradescope_runs(graded, tmp_path_factory):
    """run_autograder on a zip upload, loose files, and an empty upload, laid out like
    /autograder."""
    from concurrent.futures import ThreadPoolExecutor

    from grading import gradescope

    by_name, out, release = graded
    root = tmp_path_factory.mktemp("gradescope")
    work = release.parent.parent  # the prepared work folder of the graded batch
    uploads = {}
    ref = examples.write_reference(root / "src_reference", release)
    uploads["reference"] = root / "reference"
    (uploads["reference"] / "submission").mkdir(parents=True)
    with zipfile.ZipFile(uploads["reference"] / "submission" / "submission.zip", "w") as archive:
        for path in sorted(ref.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(ref))
    bug = examples.one_mistake_variants()[0]
    uploads[bug.name] = root / bug.name
    examples.write_variant(bug, uploads[bug.name] / "submission", release)
    uploads["empty"] = root / "empty"
    (uploads["empty"] / "submission").mkdir(parents=True)

    def real_run_autograder(root):
        """Unzip autograder.zip into root/source and run its run_autograder script."""
        import os
        import subprocess
        import sys

        with zipfile.ZipFile(gradescope.build_autograder(root / "zip")) as archive:
            archive.extractall(root / "source")
        shutil.copytree(work, root / "source" / "build" / "work")  # what setup.sh prepares
        env = dict(
            os.environ,
            AUTOGRADER_ROOT=str(root),
            CS_LOSS_GRADE_USER="",
            PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
        )
        subprocess.run(
            ["bash", str(root / "source" / "run_autograder")],
            env=env,
            check=True,
            capture_output=True,
            timeout=900,
        )
        return json.loads((root / "results" / "results.json").read_text())

    runners = {"reference": real_run_autograder}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            name: pool.submit(runners.get(name, lambda r: gradescope.run(r, work)), root_dir)
            for name, root_dir in uploads.items()
        }
        payloads = {name: future.result() for name, future in futures.items()}
    return payloads, by_name


@pytest.mark.slow
@pytest.mark.grading
def test_gradescope_and_nbgrader_give_the_same_scores(gradescope_runs):
    payloads, by_name = gradescope_runs
    for name in ("reference", examples.one_mistake_variants()[0].name):
        assert_gradescope_schema(payloads[name])
        assert payloads[name]["score"] == by_name[name]["auto_score"], name
        nbgrader_scores = {
            t["name"]: t["score"] for t in by_name[name]["tests"] if t["kind"] != "written"
        }
        assert {t["name"]: t["score"] for t in payloads[name]["tests"]} == nbgrader_scores


@pytest.mark.slow
@pytest.mark.grading
def test_gradescope_grades_an_empty_upload_as_zero_with_reasons(gradescope_runs):
    payloads, by_name = gradescope_runs
    payload = payloads["empty"]
    assert_gradescope_schema(payload)
    assert payload["score"] == 0
    assert len(payload["tests"]) == len(
        [t for t in by_name["reference"]["tests"] if t["kind"] != "written"]
    )
    assert "missing notebook knn.ipynb" in payload["output"]
    assert not any(
        "BEGIN HIDDEN" in t["output"] or "assert " in t["output"] for t in payload["tests"]
    )


# ---------------------------------------------------------------- collect_submission


def executed_reference(release, dest):
    """The reference filled into the release, with execution counts as after 'Run all'."""
    folder = examples.write_reference(dest, release)
    shutil.copy(release / ".assignment_manifest.json", folder)
    for name in course.NOTEBOOKS:
        nb = nbformat.read(folder / name, as_version=4)
        count = 0
        for cell in nb.cells:
            if cell.cell_type == "code":
                count += 1
                cell.execution_count = count
        nbformat.write(nb, folder / name)
    return folder


@pytest.fixture(scope="module")
def small_release(graded):
    """The release folder of the graded batch."""
    return graded[2]


def collect(folder):
    from grading import collect_submission

    return collect_submission.collect(folder)


@pytest.mark.slow
@pytest.mark.grading
def test_collect_bundles_a_complete_submission(small_release, tmp_path):
    folder = executed_reference(small_release, tmp_path / "done")
    problems, written = collect(folder)
    assert problems == []
    with zipfile.ZipFile(folder / "submission.zip") as archive:
        assert sorted(archive.namelist()) == sorted(course.NOTEBOOKS + course.STUDENT_FILES)
    assert (folder / "submission_html" / "svm.html").is_file()
    # What collect writes, autograde reads.
    flags = intake.intake(folder / "submission.zip", tmp_path / "laid_out", small_release)
    assert flags == []


@pytest.mark.slow
@pytest.mark.grading
def test_collect_refuses_with_a_reason_for_each_problem(small_release, tmp_path):
    from grading import collect_submission

    folder = executed_reference(small_release, tmp_path / "bad")
    (folder / "cs_loss" / "softmax.py").write_text(
        (small_release / "cs_loss" / "softmax.py").read_text()
    )
    (folder / "knn.ipynb").rename(folder / "Copy of knn.ipynb")
    nb = nbformat.read(folder / "svm.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    code[5].execution_count, code[6].execution_count = 40, 3  # run out of order
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "svm_q7"]
    nbformat.write(nb, folder / "svm.ipynb")
    problems, written = collect(folder)
    text = "\n".join(problems)
    # Ungradable: refused, with a reason for each problem.
    assert written == [] and not (folder / "submission.zip").exists()
    assert "knn.ipynb is missing (found Copy of knn.ipynb: rename your copy to knn.ipynb)" in text
    assert "svm_q7" in text  # an answer cell: the grader would not find the answer
    # Gradable but unfinished: warnings, so that a student can always submit.
    warnings = "\n".join(collect_submission.check(folder)[1])
    assert "cs_loss/softmax.py:" in warnings and "still raises NotImplementedError" in warnings
    assert "svm.ipynb: cell" in warnings and "run out of order" in warnings
    assert collect_submission.main([str(folder)]) == 1


# ---------------------------------------------------------------- trusted checks, scan, sandbox


def test_the_grader_warns_loudly_once_when_it_cannot_switch_users(capsys, monkeypatch):
    from grading.isolation import users as sandbox

    monkeypatch.setattr(sandbox, "_warned", [])
    monkeypatch.setattr(sandbox.os, "geteuid", lambda: 1000)
    assert not sandbox.can_switch_users()
    assert sandbox.warn_not_root() and not sandbox.warn_not_root()
    err = capsys.readouterr().err
    assert err.count("WARNING") == 1 and "not running as root" in err


@pytest.mark.parametrize(
    "code, expected",
    [
        ("# open('svm.ipynb')\nx = 'svm.ipynb is where the answers go'\n", set()),
        ("import os\nos._exit(1)\n", {"exits the kernel or sends signals"}),
        ("import builtins\nbuiltins.float = lambda x: 0.0\n", {"touches builtins"}),
        ("class A:\n    def __eq__(self, other):\n        return True\n", {"defines __eq__"}),
        ("get_ipython().events.register('post_run_cell', print)\n", {"reaches into IPython"}),
        (
            "ip = get_ipython()\nip.input_transformers_cleanup.append(str)\n",
            {"reaches into IPython"},
        ),
        ("np.mean = lambda *a: 1.0\n", {"rebinds np.mean"}),
        ("%matplotlib inline\nimport grading\n", {"imports the grader"}),
    ],
)
def test_review_flags_come_from_code_not_text(code, expected):
    assert ag.suspicious(code) == expected


def write_export(folder, grade_id, values, arrays=None):
    """What the export snippet would write for ``values`` in a kernel (run here, in-process)."""
    from grading import notebook_checks

    namespace = dict(values)
    exec(notebook_checks.export_source(grade_id, folder), namespace)  # noqa: S102 - test values


@pytest.mark.parametrize(
    "grade_id, values, passed",
    [
        ("svm_test_q1", {"q1_car_loss_after_small_change": 0.0}, True),
        ("svm_test_q1", {"q1_car_loss_after_small_change": 5.0}, False),
        ("svm_test_q6", {"q6_squared_hinge_is_different": 1}, False),  # not a bool
        ("svm_test_q3", {"q3_initial_loss": lambda C: C - 1}, True),
        ("svm_test_q3", {"q3_initial_loss": lambda C: C}, False),
        ("softmax_test_q2", {"q2_initial_loss": lambda C: C - 1}, False),
        ("knn_test_inline_q3", {"inline_question_3": {2, 4}}, True),
        ("knn_test_inline_q3", {"inline_question_3": [2, 4]}, False),
        ("softmax_test_q3", {"q3_which_loss_changes": "softmax"}, True),
    ],
)
def test_trusted_checks_judge_exported_values(tmp_path, grade_id, values, passed):
    from grading import notebook_checks

    write_export(tmp_path, grade_id, values)
    assert notebook_checks.evaluate(grade_id, tmp_path)[0] is passed


def test_shadowed_float_and_lying_eq_cannot_pass_a_trusted_check(tmp_path):
    from grading import notebook_checks

    class Anything(float):
        def __eq__(self, other):
            return True

        __hash__ = float.__hash__

    write_export(
        tmp_path,
        "svm_test_q1",
        {"q1_car_loss_after_small_change": Anything(7.0), "float": lambda *a: 0.0},
    )
    passed, reason = notebook_checks.evaluate("svm_test_q1", tmp_path)
    assert not passed and "7.0" in reason


def test_a_cell_that_did_not_run_fails_with_a_reason(tmp_path):
    from grading import notebook_checks

    passed, reason = notebook_checks.evaluate("knn_test_best_k", tmp_path)
    assert not passed and "did not run" in reason


def test_best_k_mistakes_are_diagnosed(tmp_path):
    from grading import notebook_checks

    table = notebook_checks.reference_fold_accuracies()
    worst = min(notebook_checks.K_CHOICES, key=lambda k: (np.mean(table[k]), k))
    write_export(tmp_path, "knn_test_best_k", {"best_k": worst, "k_to_accuracies": table})
    passed, reason = notebook_checks.evaluate("knn_test_best_k", tmp_path)
    assert not passed and "lowest mean accuracy" in reason


def test_csv_cells_cannot_start_a_formula():
    assert ag.csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert ag.csv_cell("-1") == "'-1" and ag.csv_cell(-1.0) == -1.0
    assert ag.csv_cell("a\udcffb") == "a?b"


def test_colliding_ids_go_to_neither_submission_whatever_the_order(tmp_path):
    alice, other = tmp_path / "alice_smith.zip", tmp_path / "alice smith.zip"
    bob = tmp_path / "bob.zip"
    ids, notes = intake.assign_ids([alice, other, bob])
    ids_reversed, _ = intake.assign_ids([bob, other, alice])
    assert ids[2] == "bob" and notes[2] is None
    assert "alice_smith" not in ids and len(set(ids)) == 3
    assert ids[:2] == [ids_reversed[2], ids_reversed[1]]  # the same ids in any order
    assert "'alice smith.zip'" in notes[0].text and "check which student" in notes[0].text
    assert notes[0].kind is FlagKind.REVIEW
    assert len(set(intake.assign_ids([bob, bob])[0])) == 2

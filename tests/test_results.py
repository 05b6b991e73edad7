"""The typed results: one JSON form that reads back as written, and files of the grader
before flags had kinds still read as they were reported."""

import json

import pytest

from grading import package
from grading.reports import feedback_html
from grading.results import Flag, FlagKind, SubmissionResult, TestOutcome, legacy_flag


def a_result():
    return SubmissionResult(
        student="ada",
        tests=(
            TestOutcome(
                "cs_loss:svm_loss", "package", 0.0, 1.0, "no", targets=("svm",), mistakes=("m",)
            ),
            TestOutcome("knn:knn_q1", "notebook", 1.0, 1.0, "passed"),
            TestOutcome("knn:written", "written", 0.0, 2.0, "answered", needs_manual_grade=True),
        ),
        flags=(
            Flag(FlagKind.REPAIRED, "test cell q2 was deleted: restored", where="svm.ipynb"),
            Flag(FlagKind.NOTE, "missing notebook knn.ipynb: graded as blank"),
        ),
        seconds=3.5,
        submission_digest="sha256:ab",
        kit_version="sha256:cd",
    )


def test_a_result_reads_back_from_its_json_as_it_was_written():
    result = a_result()
    row = json.loads(json.dumps(result.to_dict()))
    assert SubmissionResult.from_dict(row) == result
    assert row["flags"] == ["svm.ipynb: test cell q2 was deleted: restored", result.flags[1].text]
    assert (row["auto_score"], row["auto_max"], row["manual_max"], row["manual_pending"]) == (
        1.0,
        2.0,
        2.0,
        1,
    )
    assert row["tests"][0]["mistakes"] == ["m"] and "mistakes" not in row["tests"][1]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("review: svm.py defines __eq__", FlagKind.REVIEW),
        ("svm.ipynb: read-only cell x was edited: restored", FlagKind.REPAIRED),
        ("knn.ipynb: execution tags removed: ['skip-execution']", FlagKind.REPAIRED),
        ("untouched: the files are the release as handed out", FlagKind.UNTOUCHED),
        ("empty: the submission holds no notebook", FlagKind.EMPTY),
        ("'Copy of knn.ipynb' graded as knn.ipynb", FlagKind.NOTE),
    ],
)
def test_a_flag_of_an_older_grader_gets_the_kind_its_text_was_reported_as(text, kind):
    assert legacy_flag(text) == Flag(kind, text)
    old_row = {"student": "s", "tests": [], "flags": [text], "error": None}  # no flag_details
    assert SubmissionResult.from_dict(old_row).flags == (Flag(kind, text),)


def test_needs_review_follows_the_flags_kinds_not_their_words():
    note = Flag(FlagKind.NOTE, "a file named edited_deleted_tags.py was read")
    assert not SubmissionResult("s", flags=(note,)).needs_review
    assert SubmissionResult("s", flags=(Flag(FlagKind.REVIEW, "review: x"),)).needs_review
    assert SubmissionResult("s", error="stopped").needs_review


def test_a_package_test_result_converts_with_all_its_fields():
    raw = package.TestResult("svm_loss", 0.5, 1, "half", targets=("svm",), mistakes=("m",))
    outcome = TestOutcome.from_package(raw)
    assert outcome == TestOutcome(
        "cs_loss:svm_loss", "package", 0.5, 1.0, "half", targets=("svm",), mistakes=("m",)
    )


def test_gradescope_shows_the_notes_but_not_the_review_flags_nor_written_answers():
    result = a_result().with_flags([Flag(FlagKind.REVIEW, "review: touches builtins")])
    payload = result.gradescope_dict(12.34)
    assert [t["name"] for t in payload["tests"]] == ["cs_loss:svm_loss", "knn:knn_q1"]
    assert payload["score"] == 1.0 and payload["execution_time"] == 12.3
    assert "Note: missing notebook knn.ipynb" in payload["output"]
    assert "touches builtins" not in payload["output"]


def test_the_feedback_page_escapes_what_the_student_wrote():
    result = SubmissionResult(
        "ada", tests=(TestOutcome("cs_loss:x", "package", 0.0, 1.0, "<script>"),)
    )
    page = feedback_html(result)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<tr class='fail'><td>cs_loss:x</td><td>0 / 1</td>" in page


def test_an_unknown_kind_of_test_is_refused_with_the_value():
    with pytest.raises(ValueError, match="kind must be one of .* got 'exam'"):
        TestOutcome("x", "exam", 0.0, 1.0)

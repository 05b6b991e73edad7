"""The class report and the console table: on hand-made results in the grader's own formats,
and on results the grader really produced from known mistakes of the catalogue."""

import base64
from html.parser import HTMLParser

import pytest

from grading import autograde as ag
from grading import course, exercises, markers, mistakes, package, report
from grading.results import SubmissionResult, TestOutcome

CATALOGUE = {variant.name: variant for variant in mistakes.MISTAKES}
NO_MEAN = CATALOGUE["svm_vectorized_no_mean"]
NO_SHIFT = CATALOGUE["softmax_vectorized_no_shift"]
COUNTS_TRUE = CATALOGUE["svm_vectorized_counts_true_class"]


def named(variant):
    """What :func:`grading.package.diagnose` writes for a known mistake."""
    return f"known mistake `{variant.name}`: {variant.diagnosis}"


def failure(*variants, what="dW", largest=80):
    """A failing test's output as :func:`grading.package.score` writes it for ``variants``."""
    hints = " ".join(named(variant) for variant in variants)
    return (
        f"{what}: differs from the expected value ({largest} of 80 values, beyond a relative "
        f"tolerance of 1e-05). {hints}"
    )


def test(name, score, max_score, kind="package", manual=False, output="", mistakes=()):
    """A test's dict as autograde writes it; a package test's ``mistakes`` are the ids of the
    known mistakes the grader matched (:func:`grading.package.score`)."""
    output = output or ("passed" if score >= max_score else "")
    made = {
        "name": name,
        "kind": kind,
        "score": score,
        "max_score": max_score,
        "needs_manual_grade": manual,
        "output": output,
    }
    if kind == "package":
        made["mistakes"] = list(mistakes)
    return made


def mistaken_test(name, max_score, *variants, output=None):
    """A failing package test in which the grader matched ``variants``, named in its output."""
    return test(
        name,
        0,
        max_score,
        output=output or failure(*variants),
        mistakes=[variant.name for variant in variants],
    )


test.__test__ = False  # a factory, not a pytest test


def result(student, tests, flags=(), error=None, seconds=3.0):
    auto = [t for t in tests if t["kind"] != "written"]
    return {
        "student": student,
        "tests": tests,
        "flags": list(flags),
        "error": error,
        "auto_score": sum(t["score"] for t in auto),
        "auto_max": sum(t["max_score"] for t in auto),
        "manual_max": sum(t["max_score"] for t in tests if t["kind"] == "written"),
        "manual_pending": sum(t["needs_manual_grade"] for t in tests),
        "seconds": seconds,
    }


STUB = (
    "NotImplementedError: svm_loss_vectorized: see the TODO above (cs_loss/svm.py) "
    "(cs_loss/svm.py:75)"
)  # as package tests report the release's stub


def class_results():
    unanswered = "no answer given"
    return [
        result(
            "reference",
            [
                test("cs_loss:svm_loss", 4, 4),
                test("svm:check", 2, 2),
                test("svm:q1", 0, 2, kind="written", manual=True),
                test("svm:q2", 0, 3, kind="written", manual=True),
            ],
            seconds=12.5,
        ),
        result(
            "blank",
            [
                test("cs_loss:svm_loss", 0, 4, output=STUB),
                test(
                    "svm:check",
                    0,
                    2,
                    output="CheckFailed: q3_initial_loss could not be read: NotImplementedError: ",
                ),
                test("svm:q1", 0, 2, kind="written", output=unanswered),
                test("svm:q2", 0, 3, kind="written", output=unanswered),
            ],
        ),
        result(
            "bug_a",
            [
                mistaken_test("cs_loss:svm_loss", 4, NO_MEAN, output=failure(NO_MEAN, largest=80)),
                test("svm:check", 2, 2),
                test("svm:q1", 0, 2, kind="written", manual=True),
                test("svm:q2", 0, 3, kind="written", output=unanswered),
            ],
            flags=["review: cs_loss/svm.py defines __eq__"],
        ),
        result(
            "bug_b",
            [
                mistaken_test("cs_loss:svm_loss", 4, NO_MEAN, output=failure(NO_MEAN, largest=79)),
                test("svm:check", 2, 2),
            ],
            error="grading stopped after the time limit",
        ),
    ]


class Row(list):
    """A table row: its cells' text, plus its class, its links and its elements' titles."""

    def __init__(self, cls):
        super().__init__()
        self.cls, self.links, self.titled = cls, [], []


BLOCKS = ("br", "details", "summary", "p", "div")  # a browser shows them apart from what is around


class Page(HTMLParser):
    """The images and tables of a page; every text whitespace-collapsed, as a browser shows it."""

    def __init__(self):
        super().__init__()
        self.images, self.tables, self._table, self._row, self._cell = {}, {}, None, None, None
        self._open = []  # elements with a title, or links, being read: [tag, attrs, text]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images[attrs.get("id")] = attrs["src"]
        elif tag == "table":
            self._table = self.tables.setdefault(attrs.get("id"), [])
        elif tag == "tr" and self._table is not None:
            self._row = Row(attrs.get("class", ""))
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""
        elif tag in BLOCKS and self._cell is not None:
            self._cell += " "
        if self._row is not None and (tag == "a" or "title" in attrs):
            self._open.append([tag, attrs, ""])

    def handle_endtag(self, tag):
        if tag in BLOCKS and self._cell is not None:
            self._cell += " "
        if self._open and self._open[-1][0] == tag:
            _tag, attrs, text = self._open.pop()
            text = " ".join(text.split())
            if tag == "a":
                self._row.links.append((attrs["href"], text))
            if "title" in attrs:
                self._row.titled.append((attrs["title"], text))
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join(self._cell.split()))
            self._cell = None
        elif tag == "table":
            self._table = self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        for element in self._open:
            element[2] += data


def parse(results):
    page = Page()
    page.feed(report.report_html(results))
    return page


def mistake_rows(page, table="mistakes"):
    """The rows of "most frequent mistakes", without the header and the part titles."""
    kinds = ("named", "undiagnosed", "not-attempted")
    return [row for row in page.tables[table] if row.cls in kinds]


# ---- the page


def test_the_report_embeds_three_png_plots():
    page = parse(class_results())
    assert set(page.images) == {"histogram", "pass-rate", "time"}
    for src in page.images.values():
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG")


def test_pass_rates_count_passing_submissions_per_test():
    rows = parse(class_results()).tables["pass-rates"][1:]
    rates = {row[0]: row[1] for row in rows}
    assert rates == {"cs_loss:svm_loss": "1 / 4", "svm:check": "3 / 4"}
    assert not [r for r in rows if r[0].startswith("svm:q")]  # written answers are no pass/fail


def test_the_same_known_mistake_is_grouped_across_students():
    rows = mistake_rows(parse(class_results()))
    assert rows[0].cls == "named"
    assert rows[0][0] == "2"
    assert rows[0][1] == f"{NO_MEAN.name}: {NO_MEAN.diagnosis}"
    assert rows[0][2] == "cs_loss:svm_loss"


def test_flagged_submissions_show_their_reasons():
    rows = parse(class_results()).tables["flagged"][1:]
    assert [row[0] for row in rows] == ["bug_a", "bug_b"]
    assert "defines __eq__" in rows[0][2]
    assert "time limit" in rows[1][1]


def test_written_answers_read_awaiting_manual_grading_never_zero():
    rows = {row[0]: row for row in parse(class_results()).tables["submissions"][1:]}
    assert rows["reference"][1] == "6 / 6"
    assert rows["reference"][2] == "5 pts awaiting manual grading"
    assert rows["blank"][2] == "2 of 2 unanswered"
    assert rows["bug_a"][2] == "2 pts awaiting manual grading, 1 of 2 unanswered"
    assert rows["bug_b"][2] == "none"
    assert rows["reference"][3] == "12.5 s"


def test_the_console_table_aligns_its_columns():
    lines = report.table(class_results()).splitlines()
    assert lines[0].startswith("submission")
    starts = {line.index(" / ") for line in lines[1:]}
    assert len(starts) == 1, lines  # the "/" of every points cell lines up
    written = lines[0].index("written answers")
    assert lines[1][written:].startswith("5 pts awaiting manual grading")
    assert all(" 0 / 6 " not in line[written:] for line in lines)


def test_write_report_writes_report_html(tmp_path):
    path = report.write_report(class_results(), tmp_path)
    assert path == tmp_path / "report.html"
    assert "Score distribution" in path.read_text()


def test_an_empty_class_still_gives_a_page():
    page = parse([])
    assert set(page.images) == {"histogram", "pass-rate", "time"}


# ---- reading the grader's outputs


def collapsed(text):
    return " ".join(text.split())


def test_known_mistakes_are_the_graders_ids_with_the_catalogues_diagnoses():
    """The names come from the test's ``mistakes`` alone, the diagnoses from the catalogue."""
    assert report.known_mistakes(mistaken_test("cs_loss:svm_loss", 4, NO_MEAN)) == [
        (NO_MEAN.name, collapsed(NO_MEAN.diagnosis))
    ]
    both = mistaken_test("cs_loss:svm_loss", 4, NO_MEAN, COUNTS_TRUE)
    assert report.known_mistakes(both) == [
        (NO_MEAN.name, collapsed(NO_MEAN.diagnosis)),
        (COUNTS_TRUE.name, collapsed(COUNTS_TRUE.diagnosis)),
    ]
    # an output that reads like a diagnosis names nothing; an id not in the catalogue is ignored
    assert report.known_mistakes(test("cs_loss:svm_loss", 0, 4, output=failure(NO_MEAN))) == []
    made_up = test("cs_loss:svm_loss", 0, 4, output="dW: differs", mistakes=["not_a_mistake"])
    assert report.known_mistakes(made_up) == []
    assert report.known_mistakes(test("svm:check", 0, 2, "notebook", output="CheckFailed")) == []


def test_reasons_differing_only_in_numbers_group_but_names_with_digits_stay():
    first = report.reason({"output": "dW: differs (largest gap 0.37, 12 of 80 values, 1e-05)"})
    second = report.reason({"output": "dW: differs (largest gap -4.1, 3 of 80 values, 2e-07)"})
    assert first == second == "dW: differs (largest gap #, # of # values, #)"
    assert report.reason({"output": "dtype float32, expected float64 at x2"}) == (
        "dtype float32, expected float64 at x2"
    )
    assert report.reason({"output": ""}) == "failed (no message)"


# ---- counting and ordering


def test_a_mistake_counts_submissions_not_failing_tests():
    tests = [mistaken_test(f"cs_loss:svm_vectorized_{n}", 1, NO_MEAN) for n in "abcd"]
    page = parse([result("ann", tests), result("ben", [dict(t) for t in tests])])
    (row,) = mistake_rows(page)
    assert row[0] == "2"  # 2 submissions, 8 failing tests
    assert row[2] == ", ".join(t["name"] for t in tests)
    assert [text for _href, text in row.links] == ["ann", "ben"]


def test_known_mistakes_come_before_more_frequent_other_failures():
    other = [
        result(s, [test("svm:check", 0, 2, output=f"CheckFailed: got {i}")])
        for i, s in enumerate(["a", "b", "c"])
    ]
    rare = result("d", [mistaken_test("cs_loss:svm_loss", 4, COUNTS_TRUE)])
    common = [result(s, [mistaken_test("cs_loss:svm_loss", 4, NO_MEAN)]) for s in "ef"]
    rows = report.mistakes([*other, rare, *common])
    assert [(row.key, row.count, row.named) for row in rows] == [
        (NO_MEAN.name, 2, True),
        (COUNTS_TRUE.name, 1, True),
        ("CheckFailed: got #", 3, False),
    ]


def test_a_test_naming_two_known_mistakes_counts_under_both_and_under_no_reason():
    both = mistaken_test("cs_loss:svm_loss", 4, NO_MEAN, COUNTS_TRUE)
    rows = report.mistakes([result("ann", [both])])
    assert [(row.key, row.count, row.text) for row in rows] == sorted(
        [
            (NO_MEAN.name, 1, collapsed(NO_MEAN.diagnosis)),
            (COUNTS_TRUE.name, 1, collapsed(COUNTS_TRUE.diagnosis)),
        ]
    )  # equally frequent: by id


def test_more_failure_reasons_than_shown_are_one_click_away_not_lost():
    many = report.SHOWN_REASONS + 4
    reasons = [f"CheckFailed: {'x' * (i + 1)}" for i in range(many)]  # no two alike
    page = parse(
        [
            result(f"s{i}", [test(f"nb:check_{i}", 0, 1, output=text)])
            for i, text in enumerate(reasons)
        ]
    )
    shown, more = mistake_rows(page), mistake_rows(page, "more-mistakes")
    assert len(shown) == report.SHOWN_REASONS and len(more) == 4
    assert {row[1] for row in shown + more} == set(reasons)


# ---- full text, never cut mid-word


@pytest.mark.parametrize("limit", [5, 17, 40, 41, 42, 43, 60, 300])
def test_shorten_cuts_only_at_a_word_boundary(limit):
    text = "the margin of the correct class is counted, so every example adds one " * 3
    short = report.shorten(text.strip(), limit)
    if short != text.strip():
        kept = short.removesuffix(" …")
        assert short.endswith(" …") and len(kept) <= limit
        assert text.startswith(kept + " ")  # whole words only
        assert kept == kept.strip()


def test_shorten_leaves_a_short_text_or_one_long_word_whole():
    assert report.shorten("short enough", 20) == "short enough"
    word = "cs_loss/" + "x" * 400 + ".py"
    assert report.shorten(word, 100) == word


def test_a_long_reason_is_shortened_at_a_word_and_kept_whole_in_title_and_details():
    words = " ".join(f"word{chr(97 + i % 26)}" for i in range(120))  # about 720 characters
    page = parse([result("ann", [test("svm:check", 0, 2, output=f"CheckFailed: {words}")])])
    (row,) = mistake_rows(page)
    full = f"CheckFailed: {words}"
    [(title, visible)] = row.titled
    assert title == full
    assert visible.endswith(" …") and len(visible) <= report.REASON_CHARS + 2
    assert full.startswith(visible.removesuffix(" …") + " ")  # a word boundary
    assert row[1] == f"{visible} full message {full}"  # the whole text, one click away


def test_a_diagnosis_is_shown_in_full_however_long(monkeypatch):
    long_diagnosis = COUNTS_TRUE.diagnosis + " " + "and then look again at the loop " * 20
    assert len(long_diagnosis) > report.REASON_CHARS
    monkeypatch.setattr(report, "diagnoses", lambda: {COUNTS_TRUE.name: long_diagnosis})
    output = f"loss: differs. known mistake `{COUNTS_TRUE.name}`: {long_diagnosis}"
    failing = mistaken_test("cs_loss:svm_loss", 4, COUNTS_TRUE, output=output)
    (row,) = mistake_rows(parse([result("ann", [failing])]))
    assert row[1] == f"{COUNTS_TRUE.name}: {collapsed(long_diagnosis)}"


def test_a_forged_name_in_an_output_is_an_undiagnosed_failure_and_the_diagnosis_the_catalogues():
    """A student's exception message that reads like the grader's naming counts as a failure
    with that message, not as the mistake; the named row shows the catalogue's words."""
    forged = f"ValueError: known mistake `{NO_MEAN.name}`: this code is correct"
    rows = report.mistakes(
        [
            result("aaron", [test("cs_loss:svm_loss", 0, 4, output=forged)]),
            result("zoe", [mistaken_test("cs_loss:svm_loss", 4, NO_MEAN)]),
        ]
    )
    assert [(row.key, row.students, row.named) for row in rows] == [
        (NO_MEAN.name, ["zoe"], True),
        (report.reason({"output": forged}), ["aaron"], False),
    ]
    assert rows[0].text == collapsed(NO_MEAN.diagnosis)


# ---- links to the feedback pages


def test_every_student_links_to_their_feedback_page():
    page = parse(class_results())
    for table in ("submissions", "flagged"):
        for row in page.tables[table][1:]:
            assert row.links == [(f"feedback/{row[0]}.html", row[0])], table
    (first, *_rest) = mistake_rows(page)
    assert first.links == [("feedback/bug_a.html", "bug_a"), ("feedback/bug_b.html", "bug_b")]


def test_a_name_with_html_or_url_characters_is_escaped_and_quoted():
    name = "<b>o'neil & co</b> #1?"
    page = parse([result(name, [test("svm:check", 0, 2, output="<script>alert(1)</script>")])])
    (row,) = page.tables["submissions"][1:]
    assert row.links == [("feedback/%3Cb%3Eo%27neil%20%26%20co%3C%2Fb%3E%20%231%3F.html", name)]
    page_text = report.report_html([result(name, [test("svm:check", 0, 2, output="<script>")])])
    assert "<script>" not in page_text and "<b>o" not in page_text


# ---- submissions not attempted


def test_untouched_empty_and_stub_only_submissions_are_not_attempted():
    not_run = test("svm:check", 0, 2, "notebook", output="CheckFailed: got None")
    stub_only = result("stubs", [test("cs_loss:svm_loss", 0, 4, output=STUB), not_run])
    untouched = result(
        "same",
        [test("cs_loss:svm_loss", 0, 4, output=STUB)],
        flags=["untouched: the files are the release as handed out"],
    )
    empty = result(
        "none",
        [test("cs_loss:svm_loss", 0, 4, output="not graded: nothing to grade")],
        flags=["empty: the submission holds no notebook and no cs_loss file"],
    )
    tried = result("tried", [mistaken_test("cs_loss:svm_loss", 4, NO_MEAN)])
    page_text = report.report_html([stub_only, untouched, empty, tried])
    page = Page()
    page.feed(page_text)
    rows = {row[0]: row for row in page.tables["not-attempted"][1:]}
    assert list(rows) == ["stubs", "same", "none"]
    assert rows["same"][2].startswith("untouched:") and rows["none"][2].startswith("empty:")
    assert "NotImplementedError" in rows["stubs"][2]
    assert rows["stubs"].links == [("feedback/stubs.html", "stubs")]
    *mistake, last = mistake_rows(page)
    assert [row.cls for row in mistake] == ["named"]  # no NotImplementedError, no CheckFailed
    assert last.cls == "not-attempted" and last[0] == "3"  # counted once each
    students = [text for href, text in last.links if href.startswith("feedback/")]
    assert students == ["stubs", "same", "none"]
    assert "0 flagged; 3 not attempted." in " ".join(page_text.split())  # the summary
    assert [r["student"] for r in [stub_only, untouched, empty] if report.not_attempted(r)] == [
        "stubs",
        "same",
        "none",
    ]
    assert "flagged" not in page.tables  # not flagged twice: the page says "None."


def test_a_partly_done_submission_is_attempted_and_its_stubs_are_counted():
    partial = result(
        "half", [test("cs_loss:knn", 2, 2), test("cs_loss:svm_loss", 0, 4, output=STUB)]
    )
    wrong = result("zero", [test("cs_loss:svm_loss", 0, 4, output="dW: differs")])
    assert report.not_attempted(partial) is None and report.not_attempted(wrong) is None
    (row,) = mistake_rows(parse([partial]))
    assert row.cls == "undiagnosed" and row[1] == report.reason({"output": STUB})


# ---- rows not graded


def not_graded(student, reason, tests):
    """A row autograde writes for an entry it did not grade: every test 0 points, with the
    reason, and ``"graded": False``."""
    row = result(
        student,
        [dict(t, score=0, output=f"not graded: {reason}") for t in tests],
        error=reason,
        seconds=0.0,
    )
    return {**row, "graded": False}


def test_rows_not_graded_are_listed_apart_and_counted_nowhere_else(monkeypatch):
    """A stray file and an unreadable zip are no submissions: no mistake, no failing row in a
    pass rate, no bar in the histogram, no share of the median or of the submissions count."""
    tests = [test("cs_loss:svm_loss", 4, 4), test("svm:check", 2, 2)]
    graded = [
        result("ada", tests),
        result("bob", [tests[0], test("svm:check", 0, 2, output="CheckFailed: no")]),
    ]
    stray = [
        not_graded("notes.txt", "notes.txt is not a submission (a stray file)", tests),
        not_graded("cy", "could not read the submission: cy.zip is not a readable zip", tests),
    ]
    figures = []
    real_png = report._png
    monkeypatch.setattr(report, "_png", lambda figure: figures.append(figure) or real_png(figure))
    page_text = report.report_html([graded[0], *stray, graded[1]])
    page = Page()
    page.feed(page_text)

    summary = " ".join(page_text.split())
    assert "2 submissions graded, 2 entries not graded; automatic points: median 6," in summary
    rows = page.tables["not-graded"][1:]
    assert [(row[0], row[1]) for row in rows] == [(r["student"], r["error"]) for r in stray]
    assert [row.links for row in rows] == [
        [("feedback/notes.txt.html", "notes.txt")],
        [("feedback/cy.html", "cy")],
    ]
    assert [row[0] for row in page.tables["submissions"][1:]] == ["ada", "bob"]
    assert [row[0] for row in mistake_rows(page)] == ["1"]  # bob's check, nothing of the stray
    assert {row[0]: row[1] for row in page.tables["pass-rates"][1:]} == {
        "cs_loss:svm_loss": "2 / 2",
        "svm:check": "1 / 2",
    }
    assert "flagged" not in page.tables  # their reason is in "Not graded", not flagged twice
    (histogram,) = [f for f in figures if f.axes[0].get_title() == "Score distribution"]
    assert sum(bar.get_height() for bar in histogram.axes[0].patches) == 2
    assert report.mistakes(stray) == [] and report.pass_rates(stray) == {}


def test_every_entry_graded_says_so():
    page_text = report.report_html(class_results())
    assert "4 submissions graded, 0 entries not graded;" in " ".join(page_text.split())
    page = Page()
    page.feed(page_text)
    assert "not-graded" not in page.tables


# ---- worst tests first


def test_the_worst_test_is_at_the_top_of_the_pass_rate_chart_and_table(monkeypatch):
    results = [
        result(
            s,
            [
                test("a:good", 1, 1),
                test("b:worst", 0, 1, output="x"),
                test("c:middle", int(s == "ann"), 1, output="y"),
            ],
        )
        for s in ("ann", "ben")
    ]
    figures = []
    real_png = report._png
    monkeypatch.setattr(report, "_png", lambda figure: figures.append(figure) or real_png(figure))
    page = parse(results)
    assert [row[0] for row in page.tables["pass-rates"][1:]] == ["b:worst", "c:middle", "a:good"]
    (chart,) = [f for f in figures if f.axes[0].get_title().startswith("Pass rate")]
    ax = chart.axes[0]
    ticks = zip(ax.get_yticks(), ax.get_yticklabels(), strict=True)
    heights = {label.get_text(): ax.transData.transform((0, tick))[1] for tick, label in ticks}
    top_down = sorted(heights, key=heights.get, reverse=True)  # display y grows upwards
    assert top_down == ["b:worst", "c:middle", "a:good"]


# ---- on the grader's real output


KIT_CS_LOSS = course.KIT_ROOT / "cs_loss"


def graded_package(student, bodies, folder):
    """A result as autograde makes it from the package tests alone (no notebooks): the region
    bodies written with ``markers.write_package`` and graded by the hidden tests."""
    markers.write_package(KIT_CS_LOSS, folder / student, bodies)
    tests = tuple(TestOutcome.from_package(r) for r in package.run_package_tests(folder / student))
    result = SubmissionResult(student=student, tests=tests, seconds=1.0)  # as the worker makes it
    return ag.complete(result, []).to_dict()


def stubs():
    """Every region as the release hands it out."""
    return {exercise.id: exercise.stub for exercise in exercises.exercises()}


def mistaken(*variants):
    return {variant.region: variant.code for variant in variants}


@pytest.mark.slow
def test_real_grader_output_ranks_the_known_mistakes_first_counted_in_submissions(tmp_path):
    students = {
        "alice": mistaken(NO_MEAN),
        "bob": mistaken(NO_MEAN, NO_SHIFT),
        "carol": mistaken(NO_SHIFT),
        "dave": mistaken(NO_MEAN),
        "erin": stubs(),  # the release, untouched
    }
    results = [graded_package(student, bodies, tmp_path) for student, bodies in students.items()]
    failing = sum(t["score"] < t["max_score"] for r in results[:4] for t in r["tests"])
    assert failing > 5  # each mistake fails several tests: counting tests would say more than 3
    page = parse(results)
    rows = mistake_rows(page)
    assert [(row.cls, row[0], row[1]) for row in rows[:2]] == [
        ("named", "3", f"{NO_MEAN.name}: {NO_MEAN.diagnosis}"),
        ("named", "2", f"{NO_SHIFT.name}: {NO_SHIFT.diagnosis}"),
    ]
    assert [text for _href, text in rows[0].links] == ["alice", "bob", "dave"]
    assert [text for _href, text in rows[1].links] == ["bob", "carol"]
    assert all("NotImplementedError" not in row[1] for row in rows)
    assert (rows[-1].cls, rows[-1][0]) == ("not-attempted", "1")
    assert [row[0] for row in page.tables["not-attempted"][1:]] == ["erin"]

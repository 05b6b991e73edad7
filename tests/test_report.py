"""The class report and the console table, on hand-made results."""

import base64
from html.parser import HTMLParser

from grading import report


def test(name, score, max_score, kind="package", manual=False, output=""):
    return {"name": name, "kind": kind, "score": score, "max_score": max_score,
            "needs_manual_grade": manual, "output": output or ("passed" if score >= max_score else "")}  # fmt: skip


test.__test__ = False  # a factory, not a pytest test


def result(student, tests, flags=(), error=None, seconds=3.0):
    auto = [t for t in tests if t["kind"] != "written"]
    return {
        "student": student, "tests": tests, "flags": list(flags), "error": error,
        "auto_score": sum(t["score"] for t in auto), "auto_max": sum(t["max_score"] for t in auto),
        "manual_max": sum(t["max_score"] for t in tests if t["kind"] == "written"),
        "manual_pending": sum(t["needs_manual_grade"] for t in tests), "seconds": seconds,
    }  # fmt: skip


MISTAKE = "dW: differs (largest difference 0.37). Diagnosis: the margin of the correct class is counted"


def class_results():
    return [
        result("reference", [test("cs_loss:svm_loss", 4, 4), test("svm:check", 2, 2),
                             test("svm:q1", 0, 2, kind="written", manual=True),
                             test("svm:q2", 0, 3, kind="written", manual=True)], seconds=12.5),  # fmt: skip
        result("blank", [test("cs_loss:svm_loss", 0, 4, output="NotImplementedError: svm_loss_vectorized"),
                         test("svm:check", 0, 2, output="NotImplementedError"),
                         test("svm:q1", 0, 2, kind="written", output="no answer given"),
                         test("svm:q2", 0, 3, kind="written", output="no answer given")]),  # fmt: skip
        result("bug_a", [test("cs_loss:svm_loss", 0, 4, output=MISTAKE),
                         test("svm:check", 2, 2),
                         test("svm:q1", 0, 2, kind="written", manual=True),
                         test("svm:q2", 0, 3, kind="written", output="no answer given")],
               flags=["review: cs_loss/svm.py defines __eq__"]),  # fmt: skip
        result("bug_b", [test("cs_loss:svm_loss", 0, 4, output=MISTAKE.replace("0.37", "0.41")),
                         test("svm:check", 2, 2)], error="grading stopped after the time limit"),  # fmt: skip
    ]


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.tables, self._table, self._row, self._cell = {}, {}, None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images[attrs.get("id")] = attrs["src"]
        elif tag == "table":
            self._table = self.tables.setdefault(attrs.get("id"), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def parse(results):
    page = Page()
    page.feed(report.report_html(results))
    return page


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


def test_the_same_diagnosed_mistake_is_grouped_across_students():
    rows = parse(class_results()).tables["mistakes"][1:]
    assert rows[0][0] == "2"
    assert rows[0][1] == "the margin of the correct class is counted"
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

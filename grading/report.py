"""The class report: ``report.html``, one page a TA reads, and acts on, after every autograde.

It is made from the list of results that :func:`grading.autograde.autograde`
returns (one dict per row: ``student``, ``tests``, ``flags``, ``error``,
``auto_score``, ``auto_max``, ``manual_max``, ``manual_pending``, ``seconds``, and
``"graded": False`` on a row that was never graded: an entry of a class folder that is
not a submission, or an upload intake could not read; a row without the key was graded).
Rows not graded are listed on their own, with their reason, and count nowhere else: not in
the mistakes, the pass rates, the score distribution, the median or the number of
submissions. The page shows, in this order:

- the score distribution (a histogram of the automatic points),
- the most frequent mistakes, counted in submissions: first the known mistakes the grader
  named (the catalogue ids in a failing package test's ``mistakes``, as
  :func:`grading.package.score` records them), by their id, with the catalogue's
  diagnosis in full; then the other failures, grouped by their reason (numbers replaced
  by ``#``); last, once, the submissions not attempted,
- the submissions not attempted: flagged ``untouched:`` or ``empty:`` by intake, or with 0
  automatic points and every failing package test raising the release's
  ``NotImplementedError``. None of their failures counts as a mistake,
- flagged submissions with their reasons,
- the pass rate of every test, worst first,
- every submission's points, the points still to grade by hand, and its time,
- the entries not graded, each with its reason.

Every row is linked to its feedback page, ``feedback/<student>.html`` beside the
report (as :func:`grading.autograde.write_reports` writes it). The page is the template
``templates/report.html.j2`` (Jinja2, autoescaped); plots are drawn with matplotlib (Agg)
and embedded as base64 PNG, so the page is one self-contained file.
"""

import base64
import functools
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from . import exercises
from .results import flags_of

TEMPLATES = Path(__file__).resolve().parent / "templates"

STUB_ERROR = "NotImplementedError"  # what every stub of the release raises
# A number on its own (not part of a name such as float32 or x2): it varies between students
# making the same mistake, so reasons are grouped with "#" in its place.
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?!\w)", re.IGNORECASE)
REASON_CHARS = 300  # a longer reason is cut at a word boundary; its full text stays on the page
SHOWN_REASONS = 15  # undiagnosed reasons shown at once; the others are one click away
SHOWN_NAMES = 8  # tests or students listed in a cell at once; the others are one click away


def graded(result: Mapping[str, Any]) -> bool:
    """Whether ``result`` was graded: False only for a row marked ``"graded": False``."""
    return result.get("graded", True) is not False


def not_graded_reason(result: Mapping[str, Any]) -> str:
    """Why a row was not graded, as intake or autograde recorded it."""
    return result.get("error") or "; ".join(result.get("flags", ())) or "not graded"


def is_written(test: Mapping[str, Any]) -> bool:
    return test["kind"] == "written"


def passed(test: Mapping[str, Any]) -> bool:
    return test["score"] >= test["max_score"] and not test.get("needs_manual_grade")


def manual_pending_points(result: Mapping[str, Any]) -> float:
    """Points of written answers given but not yet graded by hand."""
    return sum(
        t["max_score"] for t in result["tests"] if is_written(t) and t.get("needs_manual_grade")
    )


def manual_status(result: Mapping[str, Any]) -> str:
    """What the by-hand column says: never a bare 0 for answers nobody has graded yet."""
    written = [t for t in result["tests"] if is_written(t)]
    if not written:
        return "none"
    pending = [t for t in written if t.get("needs_manual_grade")]
    graded = [t for t in written if not t.get("needs_manual_grade") and t["score"] > 0]
    unanswered = len(written) - len(pending) - len(graded)
    parts = []
    if pending:
        points = sum(t["max_score"] for t in pending)
        parts.append(f"{points:g} pts awaiting manual grading")
    if graded:
        parts.append(f"{sum(t['score'] for t in graded):g} pts graded")
    if unanswered:
        parts.append(f"{unanswered} of {len(written)} unanswered")
    return ", ".join(parts)


def diagnoses() -> dict[str, str]:
    """``{mistake id: diagnosis}`` of every known mistake of the catalogue (grading/mistakes.py)."""
    known, _correct = exercises.catalogue()
    return {variant.name: variant.diagnosis for variant in known if variant.diagnosis}


def known_mistakes(test: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The known mistakes the grader named for a failing test, in order.

    Read only from the test's ``mistakes`` (the catalogue ids that
    :func:`grading.package.score` matched), never from its ``output``: the output also
    quotes the student's own exception messages, which could forge a name or a diagnosis.

    Returns
    -------
    list of (str, str)
        ``(mistake id, diagnosis)``, the diagnosis the catalogue's, whitespace collapsed;
        an id that is not in the catalogue is left out.
    """
    catalogue = diagnoses()
    return [
        (mistake_id, " ".join(catalogue[mistake_id].split()))
        for mistake_id in dict.fromkeys(test.get("mistakes") or ())
        if isinstance(mistake_id, str) and mistake_id in catalogue
    ]


def reason(test: Mapping[str, Any]) -> str:
    """A failure's reason, normalised so that the same failure groups across students:
    the whole output, numbers replaced by ``#``, whitespace collapsed."""
    text = " ".join(NUMBER.sub("#", test.get("output") or "").split())
    return text or "failed (no message)"


def not_attempted(result: Mapping[str, Any]) -> str | None:
    """Why ``result`` counts as not attempted, or None when it was attempted.

    Not attempted: intake flagged it ``untouched:`` or ``empty:`` (its flag is the reason),
    or it has 0 automatic points and every failing package test raises the release's
    ``NotImplementedError``.
    """
    flags = [flag.text for flag in flags_of(result) if flag.kind.not_attempted]
    if flags:
        return "; ".join(flags)
    package = [t for t in result["tests"] if t["kind"] == "package" and not passed(t)]
    if result["auto_score"] == 0 and package and all(STUB_ERROR in t["output"] for t in package):
        return (
            f"0 automatic points, and every failing package test raises the release's "
            f"{STUB_ERROR}: the stubs are as handed out"
        )
    return None


@dataclass
class Mistake:
    """One row of "most frequent mistakes": a known mistake, or failures with one reason."""

    key: str  # the known mistake's id, or the normalised reason
    text: str  # its diagnosis, or the reason itself
    named: bool  # a known mistake the grader named
    tests: list = field(default_factory=list)  # names of the tests it fails, in first-seen order
    students: list = field(default_factory=list)  # submissions that make it, in report order

    @property
    def count(self) -> int:
        """Submissions (not tests) that make this mistake."""
        return len(self.students)

    def add(self, student: str, test_name: str) -> None:
        """Count ``student`` (once) as making this mistake in ``test_name``."""
        if student not in self.students:
            self.students.append(student)
        if test_name not in self.tests:
            self.tests.append(test_name)


def mistakes(results: Sequence[Mapping[str, Any]]) -> list[Mistake]:
    """The failing automatic tests, counted in submissions.

    Returns
    -------
    list of Mistake
        The known mistakes named by the grader first, then the other failures grouped by
        :func:`reason`; each part most frequent first (then by key). A failing test that
        names known mistakes counts under each of them and under no reason. Submissions
        that :func:`not_attempted` flags are left out: they made no mistake; so are rows
        not :func:`graded`: they are no submission.
    """
    named, other = {}, {}
    for result in results:
        if not graded(result) or not_attempted(result):
            continue
        for test in result["tests"]:
            if is_written(test) or passed(test) or test.get("needs_manual_grade"):
                continue
            found = known_mistakes(test)
            for mistake_id, diagnosis in found:
                row = named.setdefault(mistake_id, Mistake(mistake_id, diagnosis, True))
                row.add(result["student"], test["name"])
            if not found:
                text = reason(test)
                row = other.setdefault(text, Mistake(text, text, False))
                row.add(result["student"], test["name"])
    return _most_frequent_first(named) + _most_frequent_first(other)


def _most_frequent_first(rows):
    return sorted(rows.values(), key=lambda row: (-row.count, row.key))


def shorten(text: str, limit: int = REASON_CHARS) -> str:
    """``text`` cut at the last word boundary within ``limit`` characters, with an ellipsis.

    Never cuts inside a word: ``text`` is returned whole when it fits, or when its first
    word alone is longer than ``limit``.
    """
    if len(text) <= limit:
        return text
    # The last space at or before the limit (a space right after the text kept is a boundary).
    boundary = max((i for i in range(limit + 1) if text[i].isspace()), default=0)
    head = text[:boundary].rstrip()
    return head + " …" if head else text


def feedback_link(student: str) -> str:
    """The relative link from ``report.html`` to a student's feedback page."""
    return f"feedback/{quote(str(student), safe='')}.html"


def pass_rates(results: Sequence[Mapping[str, Any]]) -> dict[str, tuple[int, int, float]]:
    """``{test name: (passed, graded, max points)}`` over the automatically graded tests of
    the rows that were :func:`graded`."""
    rates = {}
    for result in filter(graded, results):
        for test in result["tests"]:
            if is_written(test):
                continue
            done, total, points = rates.get(test["name"], (0, 0, test["max_score"]))
            rates[test["name"]] = (done + passed(test), total + 1, points)
    return rates


def worst_first(rates: Mapping[str, tuple[int, int, float]]) -> list[str]:
    """The test names of :func:`pass_rates`, lowest pass rate first (then by name)."""
    return sorted(rates, key=lambda name: (rates[name][0] / max(rates[name][1], 1), name))


def _png(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figures(results, rates):
    """The three plots, as base64 PNG strings."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # no pyplot: no global figure state

    images = {}
    top = max((r["auto_max"] for r in results), default=1) or 1
    fig = Figure(figsize=(6, 2.8))
    ax = fig.add_subplot()
    ax.hist(
        [r["auto_score"] for r in results],
        bins=min(20, max(5, len(results))),
        range=(0, top),
        color="#4477aa",
        edgecolor="white",
    )
    ax.set_xlabel(f"automatic points (of {top:g})")
    ax.set_ylabel("submissions")
    ax.set_title("Score distribution")
    images["histogram"] = _png(fig)

    names = worst_first(rates)
    fig = Figure(figsize=(6, 0.22 * len(names) + 1))
    ax = fig.add_subplot()
    percent = [100 * rates[n][0] / max(rates[n][1], 1) for n in names]
    ax.barh(range(len(names)), percent, color="#228833")
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.invert_yaxis()  # the first name, the worst test, at the top where the eye starts
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of submissions passing")
    ax.set_title("Pass rate per test (worst first)")
    images["pass_rate"] = _png(fig)

    fig = Figure(figsize=(6, 2.8))
    ax = fig.add_subplot()
    ax.bar(range(len(results)), [r.get("seconds", 0) or 0 for r in results], color="#ccbb44")
    ax.set_xlabel("submission (in the order graded)")
    ax.set_ylabel("seconds")
    ax.set_title("Time per submission")
    images["time"] = _png(fig)
    return images


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of the report and feedback templates (``grading/templates``)."""
    # autoescape on for every template: student names, flags and outputs are untrusted text.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["feedback_link"] = feedback_link
    env.filters["shorten"] = shorten
    env.filters["points"] = "{:g}".format
    return env


def report_html(results: Sequence[Mapping[str, Any]], title: str = "Class report") -> str:
    """The report page as a string."""
    skipped_rows = [r for r in results if not graded(r)]
    results = [r for r in results if graded(r)]  # everything else is about submissions graded
    rates = pass_rates(results)
    scores = sorted(r["auto_score"] for r in results)
    rows = mistakes(results)
    named = [row for row in rows if row.named]
    undiagnosed = [row for row in rows if not row.named]
    skipped = [(r, why) for r in results if (why := not_attempted(r))]
    flagged = [
        r for r in results if r["error"] or any(not flag.kind.not_attempted for flag in flags_of(r))
    ]
    return (
        environment()
        .get_template("report.html.j2")
        .render(
            title=title,
            count=len(results),
            not_graded=[(r, not_graded_reason(r)) for r in skipped_rows],
            median=scores[len(scores) // 2] if scores else 0,
            best=max(scores, default=0),
            top=max((r["auto_max"] for r in results), default=0),
            pending=sum(manual_pending_points(r) for r in results),
            images=_figures(results, rates),
            named=named,
            undiagnosed=undiagnosed[:SHOWN_REASONS],
            more=undiagnosed[SHOWN_REASONS:],
            not_attempted=skipped,
            flagged=flagged,
            rates=[(name, *rates[name]) for name in worst_first(rates)],
            results=results,
            manual_status=manual_status,
            shown=SHOWN_NAMES,
            reason_chars=REASON_CHARS,
        )
    )


def write_report(
    results: Sequence[Mapping[str, Any]], out_dir: str | Path, title: str = "Class report"
) -> Path:
    """Write ``out_dir/report.html``; returns its path.

    Its links to ``feedback/<student>.html`` work where the feedback pages are beside it, as
    :func:`grading.autograde.autograde` writes them into the same folder.
    """
    path = Path(out_dir) / "report.html"
    path.write_text(report_html(results, title), encoding="utf-8")
    return path


def table(results: Sequence[Mapping[str, Any]]) -> str:
    """The console table: aligned columns, points earned and points still to grade by hand."""
    header = ("submission", "auto points", "written answers", "time", "notes")
    rows = []
    for r in results:
        notes = r["error"] or "; ".join(r["flags"][:2])
        rows.append(
            (
                r["student"],
                f"{r['auto_score']:g} / {r['auto_max']:g}",
                manual_status(r),
                f"{r.get('seconds', 0) or 0:.1f}s",
                notes[:70],
            )
        )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lines = []
    for row in [header, *rows]:
        cells = [
            row[0].ljust(widths[0]),
            row[1].rjust(widths[1]),
            row[2].ljust(widths[2]),
            row[3].rjust(widths[3]),
            row[4],
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)

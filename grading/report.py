"""The class report: ``report.html``, one page a TA reads at a glance after every autograde.

It is made from the list of results that :func:`grading.autograde.autograde`
returns (one dict per submission: ``student``, ``tests``, ``flags``, ``error``,
``auto_score``, ``auto_max``, ``manual_max``, ``manual_pending``, ``seconds``)
and shows, in this order:

- the score distribution (a histogram of the automatic points),
- the most frequent diagnosed mistakes (failures grouped by their reason),
- flagged submissions with their reasons,
- the pass rate of every test,
- every submission's points, the points still to grade by hand, and its time.

Plots are drawn with matplotlib (Agg) and embedded as base64 PNG, so the page
is one self-contained file.
"""

import base64
import html
import io
import re
from collections import Counter, defaultdict
from pathlib import Path

# Phrases after which a failing test's output names the mistake in the student's terms.
DIAGNOSIS = re.compile(r"(?:diagnosis|likely mistake|probable mistake|looks like)\s*[:\-]\s*(.+)",
                       re.IGNORECASE | re.DOTALL)  # fmt: skip


def is_written(test):
    return test["kind"] == "written"


def passed(test):
    return test["score"] >= test["max_score"] and not test.get("needs_manual_grade")


def manual_pending_points(result):
    """Points of written answers given but not yet graded by hand."""
    return sum(t["max_score"] for t in result["tests"] if is_written(t) and t.get("needs_manual_grade"))


def manual_status(result):
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


def reason(test):
    """The failure's reason, normalised so that identical mistakes group together."""
    output = (test.get("output") or "").strip()
    match = DIAGNOSIS.search(output)
    text = match.group(1) if match else output
    text = text.strip().splitlines()[0] if text.strip() else "failed (no message)"
    # Numbers vary between students making the same mistake: group them.
    text = re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "#", text)
    return text[:200], bool(match)


def mistakes(results):
    """``[(reason, count, diagnosed, tests)]``, most frequent first, over failing auto tests."""
    counts = Counter()
    tests = defaultdict(set)
    diagnosed = {}
    for result in results:
        for test in result["tests"]:
            if is_written(test) or passed(test) or test.get("needs_manual_grade"):
                continue
            text, has_diagnosis = reason(test)
            counts[text] += 1
            tests[text].add(test["name"])
            diagnosed[text] = diagnosed.get(text, False) or has_diagnosis
    ranked = sorted(counts.items(), key=lambda item: (not diagnosed[item[0]], -item[1], item[0]))
    return [(text, count, diagnosed[text], sorted(tests[text])) for text, count in ranked]


def pass_rates(results):
    """``{test name: (passed, graded, max points)}`` over the automatically graded tests."""
    rates = {}
    for result in results:
        for test in result["tests"]:
            if is_written(test):
                continue
            done, total, points = rates.get(test["name"], (0, 0, test["max_score"]))
            rates[test["name"]] = (done + passed(test), total + 1, points)
    return rates


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
    ax.hist([r["auto_score"] for r in results], bins=min(20, max(5, len(results))), range=(0, top),
            color="#4477aa", edgecolor="white")  # fmt: skip
    ax.set_xlabel(f"automatic points (of {top:g})")
    ax.set_ylabel("submissions")
    ax.set_title("Score distribution")
    images["histogram"] = _png(fig)

    names = sorted(rates, key=lambda n: rates[n][0] / max(rates[n][1], 1))
    fig = Figure(figsize=(6, 0.22 * len(names) + 1))
    ax = fig.add_subplot()
    ax.barh(range(len(names)), [100 * rates[n][0] / max(rates[n][1], 1) for n in names], color="#228833")
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of submissions passing")
    ax.set_title("Pass rate per test")
    images["pass_rate"] = _png(fig)

    fig = Figure(figsize=(6, 2.8))
    ax = fig.add_subplot()
    ax.bar(range(len(results)), [r.get("seconds", 0) or 0 for r in results], color="#ccbb44")
    ax.set_xlabel("submission (in the order graded)")
    ax.set_ylabel("seconds")
    ax.set_title("Time per submission")
    images["time"] = _png(fig)
    return images


def _rows(cells_per_row):
    return "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in cells_per_row)


def report_html(results, title="Class report"):
    """The report page as a string."""
    esc = html.escape
    rates = pass_rates(results)
    images = _figures(results, rates)
    scores = sorted(r["auto_score"] for r in results)
    median = scores[len(scores) // 2] if scores else 0
    pending = sum(manual_pending_points(r) for r in results)
    flagged = [r for r in results if r["flags"] or r["error"]]
    summary = (f"{len(results)} submissions; automatic points: median {median:g}, "
               f"max {max(scores, default=0):g} of {max((r['auto_max'] for r in results), default=0):g}; "
               f"{pending:g} points of written answers awaiting manual grading; "
               f"{len(flagged)} flagged.")  # fmt: skip
    rate_rows = _rows(
        (esc(name), f"{done} / {total}", f"{100 * done / max(total, 1):.0f}%", f"{points:g}")
        for name, (done, total, points) in sorted(rates.items(), key=lambda kv: kv[1][0] / max(kv[1][1], 1))
    )  # fmt: skip
    mistake_rows = _rows(
        (str(count), esc(text) + ("" if diagnosed else " <i>(no diagnosis)</i>"), esc(", ".join(names[:4])))
        for text, count, diagnosed, names in mistakes(results)[:15]
    )  # fmt: skip
    flag_rows = _rows(
        (esc(r["student"]), esc(r["error"] or ""), "<br>".join(esc(f) for f in r["flags"]))
        for r in flagged
    )  # fmt: skip
    student_rows = _rows(
        (esc(r["student"]), f"{r['auto_score']:g} / {r['auto_max']:g}", esc(manual_status(r)),
         f"{r.get('seconds', 0) or 0:.1f} s")
        for r in results
    )  # fmt: skip
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>body{{font-family:sans-serif;max-width:70em;margin:2em auto}}
td,th{{padding:.2em .6em;text-align:left;vertical-align:top;border-bottom:1px solid #ddd}}
table{{border-collapse:collapse;margin-bottom:1.5em}}</style></head><body>
<h1>{esc(title)}</h1>
<p id="summary">{esc(summary)}</p>
<h2>Score distribution</h2>
<img id="histogram" alt="histogram of automatic points" src="data:image/png;base64,{images['histogram']}">
<h2>Most frequent mistakes</h2>
<table id="mistakes"><tr><th>submissions</th><th>reason</th><th>tests</th></tr>
{mistake_rows}
</table>
<h2>Flagged submissions</h2>
<table id="flagged"><tr><th>submission</th><th>grading problem</th><th>flags</th></tr>
{flag_rows}
</table>
<h2>Pass rate per test</h2>
<img id="pass-rate" alt="pass rate per test" src="data:image/png;base64,{images['pass_rate']}">
<details><summary>the numbers</summary>
<table id="pass-rates"><tr><th>test</th><th>passed</th><th>rate</th><th>points</th></tr>
{rate_rows}
</table></details>
<h2>Submissions</h2>
<img id="time" alt="time per submission" src="data:image/png;base64,{images['time']}">
<table id="submissions"><tr><th>submission</th><th>automatic points</th><th>written answers</th>
<th>time</th></tr>
{student_rows}
</table></body></html>
"""


def write_report(results, out_dir, title="Class report"):
    """Write ``out_dir/report.html``; returns its path."""
    path = Path(out_dir) / "report.html"
    path.write_text(report_html(results, title))
    return path


def table(results):
    """The console table: aligned columns, points earned and points still to grade by hand."""
    header = ("submission", "auto points", "written answers", "time", "notes")
    rows = []
    for r in results:
        notes = r["error"] or "; ".join(r["flags"][:2])
        rows.append((r["student"], f"{r['auto_score']:g} / {r['auto_max']:g}", manual_status(r),
                     f"{r.get('seconds', 0) or 0:.1f}s", notes[:70]))  # fmt: skip
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lines = []
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].ljust(widths[2]),
                 row[3].rjust(widths[3]), row[4]]  # fmt: skip
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)

"""The per-run reports, written as each submission finishes: CSV, JSON and feedback pages.

Every text a report shows passes :func:`redact` first (valid UTF-8; a message quoting the
grader's code withheld), every CSV cell :func:`csv_cell` (a spreadsheet shows it as text,
never runs it as a formula), and every file is replaced atomically, so a killed grader
leaves whole files. The rows themselves come from :mod:`grading.results`.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import report
from .release import secret_lines
from .results import GRADES_HEADER, TOTALS_HEADER, SubmissionResult

# Text written to reports: no surrogates, no spreadsheet formulas.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
WITHHELD = "(message withheld: it quoted the grader's code)"
HIDDEN_MARKERS = ("BEGIN HIDDEN", "END HIDDEN", "BEGIN SOLUTION", "END SOLUTION")


def clean_text(text: Any) -> str:
    """``text`` as valid UTF-8 (undecodable characters replaced)."""
    return str(text).encode("utf-8", "replace").decode("utf-8")


def csv_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    if not isinstance(value, str):
        return value
    value = clean_text(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def grader_secrets() -> set[str]:
    """Lines whose appearance in a report would leak: solutions, hidden tests, trusted checks."""
    secrets = {line for line in secret_lines() if len(line) >= 16}
    for name in (
        "hidden_tests.py",
        "hidden_support.py",
        "notebook_checks.py",
        "notebook_answers.py",
        "notebook_exports.py",
        "kernel_export.py",
    ):
        for line in (Path(__file__).parent / name).read_text().splitlines():
            line = line.strip()
            if len(line) >= 24 and not line.startswith(("#", '"', "'", 'f"', "return False")):
                secrets.add(line)
    return secrets


def redact(result: SubmissionResult, secrets: Iterable[str]) -> SubmissionResult:
    """``result`` with every text cleaned and any text quoting the grader's code withheld."""
    secrets = tuple(secrets)

    def safe(text: str) -> str:
        text = clean_text(text)
        if any(marker in text for marker in HIDDEN_MARKERS):
            return WITHHELD
        if any(secret in text for secret in secrets):
            return WITHHELD
        return text

    return replace(
        result,
        student=clean_text(result.student),
        tests=tuple(replace(t, output=safe(t.output)) for t in result.tests),
        flags=tuple(replace(flag, message=safe(flag.text), where=None) for flag in result.flags),
        error=safe(result.error) if result.error else result.error,
    )


def write_atomic(path: str | Path, text: str, newline: str | None = None) -> None:
    """Replace the file ``path`` by ``text`` at once (a reader never sees half of it)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", errors="replace", newline=newline) as f:
        f.write(text)
    os.replace(tmp, path)


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    f = io.StringIO()
    writer = csv.writer(f, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return f.getvalue()


def write_reports(results: Sequence[SubmissionResult], out_dir: str | Path) -> None:
    """grades.csv (one row per student and test), totals.csv, grades.json, feedback/*.html.

    Each file is replaced atomically, so a killed grader leaves whole files.
    """
    out_dir = Path(out_dir)
    grades = (test.csv_row(r.student) for r in results for test in r.tests)
    write_atomic(out_dir / "grades.csv", _csv(GRADES_HEADER, grades), newline="")
    totals = (r.totals_row() for r in results)
    write_atomic(out_dir / "totals.csv", _csv(TOTALS_HEADER, totals), newline="")
    write_atomic(out_dir / "grades.json", json.dumps([r.to_dict() for r in results], indent=1))
    feedback = out_dir / "feedback"
    feedback.mkdir(exist_ok=True)
    for result in results:
        write_atomic(feedback / f"{result.student}.html", feedback_html(result))


def feedback_html(result: SubmissionResult) -> str:
    """A student's feedback page: each check, its points and why it failed; no test code."""
    return report.environment().get_template("feedback.html.j2").render(result=result)

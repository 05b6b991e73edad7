"""What grading produces, as typed values: a test's outcome, a flag, a submission's result.

Every step of the pipeline hands these on; each on-disk form is written and read here only:

- :meth:`SubmissionResult.to_dict` / :meth:`SubmissionResult.from_dict`: the JSON of
  ``finished/<student>.json`` and of each row of ``grades.json`` (the fields instructors'
  scripts read: ``student``, ``tests``, ``flags``, ``error``, the totals...);
- :meth:`TestOutcome.csv_row` and :meth:`SubmissionResult.totals_row`: the rows of
  ``grades.csv`` and ``totals.csv`` (:data:`GRADES_HEADER`, :data:`TOTALS_HEADER`);
- :meth:`SubmissionResult.gradescope_dict`: Gradescope's ``results.json``.

The feedback page is rendered from a result by :func:`grading.reports.feedback_html`.

A flag has a :class:`FlagKind`, given where it is made; its text is what reports show.
The JSON keeps the flags' texts under ``flags`` (as before) and their kinds under
``flag_details``; a file written before kinds existed is read by :func:`legacy_flag`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any


class FlagKind(enum.Enum):
    """What a flag tells the instructor, and whether the submission needs a human look."""

    REVIEW = "review"  # suspicious code or behaviour: look at it (it costs no points)
    REPAIRED = "repaired"  # a test or read-only cell edited, deleted, retagged or renamed
    NOTE = "note"  # how the upload was read or run (renamed file, missing notebook, time out...)
    UNTOUCHED = "untouched"  # the release as handed out: nothing attempted
    EMPTY = "empty"  # no notebook and no cs_loss file: nothing to grade

    @property
    def needs_review(self) -> bool:
        """Whether a flag of this kind marks the submission ``needs_review`` in totals.csv."""
        return self in (FlagKind.REVIEW, FlagKind.REPAIRED)

    @property
    def not_attempted(self) -> bool:
        """Whether a flag of this kind says the submission was not attempted at all."""
        return self in (FlagKind.UNTOUCHED, FlagKind.EMPTY)


@dataclass(frozen=True)
class Flag:
    """A remark on one submission.

    Attributes
    ----------
    kind : FlagKind
    message : str
        What happened, for the instructor and the student.
    where : str or None
        The notebook or file it is about, when the message does not name it.
    """

    kind: FlagKind
    message: str
    where: str | None = None

    @property
    def text(self) -> str:
        """The flag as reports show it: ``"<where>: <message>"``, or the message alone."""
        return f"{self.where}: {self.message}" if self.where else self.message

    def to_dict(self) -> dict[str, Any]:
        """The flag's entry in ``flag_details``."""
        return {"kind": self.kind.value, "where": self.where, "message": self.message}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Flag:
        """The flag written by :meth:`to_dict`."""
        return cls(FlagKind(data["kind"]), str(data["message"]), data.get("where"))


def legacy_flag(text: str) -> Flag:
    """A flag read from a file written before flags had kinds (only its text was saved).

    The kind follows the rule the grader applied to texts then, so a rerun that reuses
    such a result reports it as it was.
    """
    if text.startswith(f"{FlagKind.UNTOUCHED.value}:"):
        return Flag(FlagKind.UNTOUCHED, text)
    if text.startswith(f"{FlagKind.EMPTY.value}:"):
        return Flag(FlagKind.EMPTY, text)
    if text.startswith("review"):
        return Flag(FlagKind.REVIEW, text)
    if any(word in text for word in ("edited", "deleted", "tags", "not found by id")):
        return Flag(FlagKind.REPAIRED, text)
    return Flag(FlagKind.NOTE, text)


def flags_of(row: Mapping[str, Any]) -> list[Flag]:
    """The flags of a result's JSON (``flag_details`` when written, else the legacy texts)."""
    texts = [str(text) for text in row.get("flags") or ()]
    details = row.get("flag_details")
    if isinstance(details, list) and len(details) == len(texts):
        return [Flag.from_dict(detail) for detail in details]
    return [legacy_flag(text) for text in texts]


KINDS = ("package", "notebook", "written")


@dataclass(frozen=True)
class TestOutcome:
    """The outcome of one test (a package test, a notebook check or a written answer).

    Its fields are those of :class:`grading.package.TestResult`, which
    :meth:`from_package` converts, plus ``needs_manual_grade``.

    Attributes
    ----------
    name : str
        ``cs_loss:<test>`` or ``<notebook>:<grade id>``.
    kind : {"package", "notebook", "written"}
    score, max_score : float
    output : str
        The reason shown to the student: ``"passed"``, or why it failed.
    needs_manual_grade : bool
    targets : tuple of str
        The regions of ``cs_loss`` the test depends on (package tests).
    mistakes : tuple of str
        The ids of the known mistakes (``grading/mistakes.py``) diagnosed, in the
        order ``output`` names them; empty when none was recognised.
    """

    __test__ = False  # not a pytest class, whatever its name

    name: str
    kind: str
    score: float
    max_score: float
    output: str = ""
    needs_manual_grade: bool = False
    targets: tuple[str, ...] = ()
    mistakes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")

    @property
    def reason(self) -> str:
        """Why the test has the score it has (the ``output`` column)."""
        return self.output

    @property
    def diagnosis(self) -> str | None:
        """The id of the first known mistake diagnosed, or None."""
        return self.mistakes[0] if self.mistakes else None

    @classmethod
    def from_package(cls, result: Any) -> TestOutcome:
        """A :class:`grading.package.TestResult` (name, score, max_score, output, targets,
        mistakes) as an outcome named ``cs_loss:<name>``."""
        return cls(
            name=f"cs_loss:{result.name}",
            kind="package",
            score=float(result.score),
            max_score=float(result.max_score),
            output=str(result.output),
            targets=tuple(result.targets),
            mistakes=tuple(result.mistakes),
        )

    def to_dict(self) -> dict[str, Any]:
        """The test's entry in the JSON ``tests`` list."""
        data: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "score": self.score,
            "max_score": self.max_score,
            "needs_manual_grade": self.needs_manual_grade,
            "output": self.output,
        }
        if self.kind == "package":
            data["targets"] = list(self.targets)
            data["mistakes"] = list(self.mistakes)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TestOutcome:
        """The outcome written by :meth:`to_dict` (or by the grader before it)."""
        return cls(
            name=str(data["name"]),
            kind=str(data["kind"]),
            score=float(data.get("score") or 0.0),
            max_score=float(data["max_score"]),
            output=str(data.get("output") or ""),
            needs_manual_grade=bool(data.get("needs_manual_grade", False)),
            targets=tuple(data.get("targets") or ()),
            mistakes=tuple(data.get("mistakes") or ()),
        )

    def csv_row(self, student: str) -> list[Any]:
        """Its row of ``grades.csv`` (:data:`GRADES_HEADER`), before spreadsheet escaping."""
        return [
            student,
            self.name,
            self.kind,
            self.score,
            self.max_score,
            self.needs_manual_grade,
            self.output,
        ]


GRADES_HEADER = ("student", "test", "kind", "score", "max_score", "needs_manual_grade", "output")
TOTALS_HEADER = (
    "student",
    "auto_score",
    "auto_max",
    "manual_max",
    "manual_pending",
    "needs_review",
    "flags",
    "error",
    "isolation",
)


@dataclass(frozen=True)
class SubmissionResult:
    """One row of the reports: a submission graded (or the reason it was not).

    Attributes
    ----------
    student : str
    tests : tuple of TestOutcome
    flags : tuple of Flag
    error : str or None
        Why grading did not finish, if it did not.
    graded : bool
        False for an upload that was never graded (not a submission, or unreadable).
    seconds : float or None
        The time the worker took.
    submission_digest, kit_version : str or None
        What the result was graded from (:func:`grading.rerun.regrade_reason`).
    isolation : str or None
        The sandbox that ran the student's code: ``"namespaces"``, ``"users"`` or
        ``"none"`` (:mod:`grading.isolation.backend`); None when no worker ran.
    """

    student: str
    tests: tuple[TestOutcome, ...] = ()
    flags: tuple[Flag, ...] = ()
    error: str | None = None
    graded: bool = True
    seconds: float | None = None
    submission_digest: str | None = None
    kit_version: str | None = None
    isolation: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def auto_score(self) -> float:
        """Points of the automatically graded tests."""
        return sum(t.score for t in self.tests if t.kind != "written")

    @property
    def auto_max(self) -> float:
        """Points the automatically graded tests can give."""
        return sum(t.max_score for t in self.tests if t.kind != "written")

    @property
    def manual_max(self) -> float:
        """Points of the written answers, graded by hand."""
        return sum(t.max_score for t in self.tests if t.kind == "written")

    @property
    def manual_pending(self) -> int:
        """How many tests wait for a manual grade."""
        return sum(1 for t in self.tests if t.needs_manual_grade)

    @property
    def needs_review(self) -> bool:
        """Whether an instructor should look at it: an error, or a flag asking for review."""
        return bool(self.error) or any(flag.kind.needs_review for flag in self.flags)

    def with_flags(self, flags: Iterable[Flag], first: bool = False) -> SubmissionResult:
        """The result with ``flags`` added (before its own when ``first``)."""
        flags = tuple(flags)
        return replace(self, flags=flags + self.flags if first else self.flags + flags)

    def completed(self, all_tests: Sequence[TestOutcome]) -> SubmissionResult:
        """The result with every test of the assignment: one it lacks (grading stopped
        before it) gets 0 points and the reason."""
        have = {t.name for t in self.tests}
        missing = tuple(
            replace(t, score=0.0, output=f"not graded: {self.error}")
            for t in all_tests
            if t.name not in have
        )
        return replace(self, tests=self.tests + missing)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``finished/<student>.json`` and of a row of ``grades.json``."""
        data: dict[str, Any] = {
            "student": self.student,
            "tests": [t.to_dict() for t in self.tests],
            "flags": [flag.text for flag in self.flags],
            "flag_details": [flag.to_dict() for flag in self.flags],
            "error": self.error,
        }
        if self.seconds is not None:
            data["seconds"] = self.seconds
        if self.submission_digest is not None or self.kit_version is not None:
            data["submission_digest"] = self.submission_digest
            data["kit_version"] = self.kit_version
        data.update(
            auto_score=self.auto_score,
            auto_max=self.auto_max,
            manual_max=self.manual_max,
            manual_pending=self.manual_pending,
        )
        if not self.graded:
            data["graded"] = False
        if self.isolation is not None:
            data["isolation"] = self.isolation
        data.update(self.extra)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SubmissionResult:
        """The result written by :meth:`to_dict`, or by the grader before flags had kinds."""
        known = {
            "student",
            "tests",
            "flags",
            "flag_details",
            "error",
            "graded",
            "seconds",
            "submission_digest",
            "kit_version",
            "auto_score",
            "auto_max",
            "manual_max",
            "manual_pending",
            "isolation",
        }
        return cls(
            student=str(data["student"]),
            tests=tuple(TestOutcome.from_dict(t) for t in data.get("tests") or ()),
            flags=tuple(flags_of(data)),
            error=data.get("error") or None,
            graded=data.get("graded", True) is not False,
            seconds=data.get("seconds"),
            submission_digest=data.get("submission_digest"),
            kit_version=data.get("kit_version"),
            isolation=data.get("isolation"),
            extra={k: v for k, v in data.items() if k not in known},
        )

    def totals_row(self) -> list[Any]:
        """Its row of ``totals.csv`` (:data:`TOTALS_HEADER`), before spreadsheet escaping."""
        return [
            self.student,
            self.auto_score,
            self.auto_max,
            self.manual_max,
            self.manual_pending,
            self.needs_review,
            " | ".join(flag.text for flag in self.flags),
            self.error or "",
            self.isolation or "",
        ]

    def gradescope_dict(self, elapsed: float) -> dict[str, Any]:
        """Gradescope's ``results.json`` (written answers left out: they are graded by hand
        from the student's PDF; review flags are the instructor's, not shown)."""
        tests = [
            {
                "name": t.name,
                "score": t.score,
                "max_score": t.max_score,
                "output": t.output,
                "visibility": "visible",
            }
            for t in self.tests
            if t.kind != "written"
        ]
        notes = [f"Grading problem: {self.error}"] if self.error else []
        notes += [f"Note: {flag.text}" for flag in self.flags if flag.kind is not FlagKind.REVIEW]
        notes.append("Written answers are graded by hand from your PDF.")
        return {
            "score": round(sum(t["score"] for t in tests), 4),
            "execution_time": round(elapsed, 1),
            "output": "\n".join(notes),
            "tests": tests,
        }

"""python -m grading COMMAND: build the release, grade submissions, prove the grading right.

Commands
--------
release     build the student release (folder and zip) from the kit
autograde   grade submissions (zips, folders, or a class folder: every entry gets a
            row) into grades.csv, totals.csv, grades.json and feedback/; a rerun
            regrades only what changed (--regrade: all)
check       the assignment's own proof: release, then grade the reference, the
            blank release and one-bug submissions, and verify every grade
demo        the same run as check, printing the grade table
expected    regenerate grading/expected.npz from the reference solution
gradescope  build the Gradescope autograder zip (setup.sh, run_autograder)
course      create or update a persistent nbgrader course directory for stock
            nbgrader and the formgrader (see grading/nbgrader_course.py)

Run it from the kit's folder (``python -m grading ...``), or from anywhere as
``python path/to/kit/grading ...``. Relative ``--out`` folders are under the
current directory; every command prints the absolute path it wrote.
"""

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python path/to/kit/grading`: import the kit beside this folder
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]  # not its modules bare
    sys.path.insert(0, str(here.parent))
    __package__ = "grading"  # noqa: A001

import tempfile  # noqa: E402
import time  # noqa: E402

from grading import autograde as ag  # noqa: E402
from grading import (  # noqa: E402
    build,
    course,
    examples,
    gradescope,
    intake,
    mistakes,
    nbgrader_course,
    report,
)
from grading.classfolder import Expansion  # noqa: E402
from grading.context import WorkerJob  # noqa: E402
from grading.markers import MarkerError  # noqa: E402
from grading.release import ReleaseError, build_release  # noqa: E402


def print_table(results: Sequence[Mapping[str, Any]]) -> None:
    """The console table of :func:`grading.report.table`."""
    print(report.table(results))


def printable(text: object) -> str:
    """``text`` with control characters escaped (``\\x1b``): a file name cannot rewrite the
    terminal's line, hiding what is said of it."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def print_expansion(expansion: Expansion) -> None:
    """How each folder given is read, and what in it is not graded or ignored, and why."""
    for note in expansion.notes:
        print(printable(note))
    for entry in expansion.not_graded:
        print(printable(f"  not graded (a row with the reason): {entry.path.name}: {entry.reason}"))
    for entry in expansion.ignored:
        print(printable(f"  ignored: {entry.path}: {entry.reason}"))


def print_batch(results: ag.GradedBatch, reasons: bool = True) -> None:
    """What this run did: results reused from an earlier run, submissions graded (and why)."""
    line = (
        f"reused {len(results.reused)} finished results (submission and kit unchanged); "
        f"graded {len(results.graded)}"
    )
    if results.not_graded:
        line += f"; {len(results.not_graded)} entries not graded (a row each, with the reason)"
    print(line)
    for sid, why in results.graded.items() if reasons else ():
        if why != "new":
            print(printable(f"  regraded {sid}: {why}"))


def run_examples(out_dir: Path, workers: int) -> tuple[ag.GradedBatch, float]:
    """Grade ``check``'s example submissions into ``out_dir``: the batch and its seconds."""
    with tempfile.TemporaryDirectory(prefix="cs_loss_examples_") as tmp:
        work = Path(tmp) / "work"
        ag.prepare(work)
        release = work / "release" / course.ASSIGNMENT
        submissions = examples.write_examples(Path(tmp) / "submissions", release)
        start = time.perf_counter()
        # A proof grades every time: nothing is reused from an earlier run into the same folder.
        results = ag.autograde(
            list(submissions.values()), out_dir, workers=workers, work_dir=work, regrade=True
        )
        elapsed = time.perf_counter() - start
    print_batch(results, reasons=False)
    return results, elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m grading",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="build the student release")
    p.add_argument("--out", type=Path, default=Path("build/release"))
    p = sub.add_parser("autograde", help="grade submissions")
    p.add_argument("submissions", nargs="+", type=Path, help="submission folders or zips")
    p.add_argument("--out", type=Path, default=Path("build/grades"))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument(
        "--timeout",
        type=float,
        default=600,
        help="seconds per submission (package "
        "tests first, then the notebooks in equal shares of what is left)",
    )
    p.add_argument("--cell-timeout", type=float, default=120, help="seconds per notebook cell")
    p.add_argument("--memory-gb", type=float, default=6, help="memory limit per submission")
    p.add_argument(
        "--course",
        type=Path,
        help="also grade into this nbgrader course (made by "
        "`course`), for the formgrader and nbgrader export",
    )
    p.add_argument(
        "--regrade",
        action="store_true",
        help="grade every submission again, even "
        "one whose content and kit are those of its finished result in --out",
    )
    for name in ("check", "demo"):
        p = sub.add_parser(name, help=f"{name} on the example submissions")
        p.add_argument("--out", type=Path, default=Path(f"build/{name}"))
        p.add_argument("--workers", type=int, default=2)
    p = sub.add_parser("course", help="create or update an nbgrader course directory")
    p.add_argument("dir", type=Path)
    sub.add_parser("expected", help="regenerate grading/expected.npz")
    p = sub.add_parser("gradescope", help="build the Gradescope autograder zip")
    p.add_argument("--out", type=Path, default=Path("build/gradescope"))
    p = sub.add_parser("gradescope-prepare", help="(inside Gradescope) build the template once")
    p.add_argument("--work", type=Path, required=True)
    p = sub.add_parser("gradescope-run", help="(inside Gradescope) grade one upload")
    p.add_argument("--root", type=Path, default=Path("/autograder"))
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--timeout", type=float, default=900)
    p = sub.add_parser("_grade_one")  # internal: one submission, in a worker process
    p.add_argument("job", type=Path, help="the WorkerJob's JSON file (grading.context)")
    args = parser.parse_args(argv)

    try:
        if args.command == "release":
            release = build_release(args.out)
            print(
                f"release: {release.resolve()} and "
                f"{(args.out / (course.ASSIGNMENT + '.zip')).resolve()}"
            )
        elif args.command == "autograde":
            missing = [str(p) for p in args.submissions if not p.exists()]
            if missing:
                print(f"error: no such submission: {', '.join(missing)}", file=sys.stderr)
                return 2
            if args.course:
                nbgrader_course.require_course(args.course)  # before hours of grading, not after
            expansion = intake.expand_submissions(args.submissions)
            print_expansion(expansion)
            submissions = expansion.submissions
            print(f"grading {len(submissions)} submissions into {args.out.resolve()}")
            results = ag.autograde(
                submissions,
                args.out,
                workers=args.workers,
                timeout=args.timeout,
                memory_bytes=int(args.memory_gb * 2**30),
                cell_timeout=args.cell_timeout,
                rejected=expansion.not_graded,
                regrade=args.regrade,
            )
            report.write_report(results, args.out)
            print_table(results)
            print_batch(results)
            print(
                f"reports in {args.out.resolve()}: report.html, grades.csv, totals.csv, "
                "grades.json, feedback/"
            )
            if args.course:
                nbgrader_course.autograde_into(
                    args.course,
                    [
                        (r["student"], s)
                        for r, s in zip(results[: len(submissions)], submissions, strict=True)
                        if not (r["error"] or "").startswith("could not read")
                    ],
                    timeout=args.timeout,
                )
                print(
                    f"graded into the course {args.course.resolve()}: grade the written answers in "
                    "the formgrader, then `nbgrader export` there"
                )
        elif args.command in ("check", "demo"):
            results, elapsed = run_examples(args.out, args.workers)
            report.write_report(results, args.out, title=f"Class report: {args.command} examples")
            print_table(results)
            print(
                f"graded {len(results)} submissions in {elapsed:.0f} s with {args.workers} "
                "workers; "
                f"reports in {args.out.resolve()} (report.html)"
            )
            problems = examples.verify(results)
            # Every mistake of the catalogue, at package level: it loses points and is named;
            # every correct variant gets full marks.
            problems += mistakes.verify_catalogue() + build.prove_catalogue()
            for problem in problems:
                print(f"PROBLEM: {problem}")
            if args.command == "check":
                print(
                    "check: "
                    + (
                        "FAILED"
                        if problems
                        else "passed: reference full marks, blank release 0, "
                        "each known mistake caught by its own tests and named, every "
                        "correct variant full marks, nothing leaked"
                    )
                )
            return 1 if problems else 0
        elif args.command == "course":
            root = nbgrader_course.write_course(args.dir)
            print(
                f"course: {root}\nnext, in that folder: nbgrader generate_assignment "
                f"{course.ASSIGNMENT}; collect submissions into submitted/<student>/"
                f"{course.ASSIGNMENT}/; nbgrader autograde {course.ASSIGNMENT}; grade the written "
                "answers in the formgrader; nbgrader export"
            )
        elif args.command == "expected":
            print(f"wrote {build.make_expected()}")
        elif args.command == "gradescope":
            print(
                f"wrote {gradescope.build_autograder(args.out).resolve()}: upload it to Gradescope "
                "unchanged"
            )
        elif args.command == "gradescope-prepare":
            gradescope.prepare(args.work)
        elif args.command == "gradescope-run":
            payload = gradescope.run(args.root, args.work, timeout=args.timeout)
            print(
                f"score {payload['score']:g}; results in {args.root / 'results' / 'results.json'}"
            )
        elif args.command == "_grade_one":
            ag.grade_one(WorkerJob.read(args.job))
    except (
        MarkerError,
        ReleaseError,
        course.NbgraderError,
        nbgrader_course.UnsafeCourseError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

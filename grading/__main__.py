"""python -m grading COMMAND: build the release, grade submissions, prove the grading right.

Commands
--------
release     build the student release (folder and zip) from the kit
autograde   grade submissions (folders or zips) into grades.csv, totals.csv,
            grades.json and feedback/
check       the assignment's own proof: release, then grade the reference, the
            blank release and one-bug submissions, and verify every grade
demo        the same run as check, printing the grade table
expected    regenerate grading/expected.npz from the reference solution
gradescope  build the Gradescope autograder zip (setup.sh, run_autograder)
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

from . import autograde as ag
from . import course, examples, gradescope, package
from .markers import MarkerError
from .release import build_release


def print_table(results):
    width = max(len(r["student"]) for r in results)
    print(f"{'submission':<{width}}  {'auto points':>12}  {'manual':>6}  {'time':>6}  notes")
    for r in results:
        notes = r["error"] or "; ".join(r["flags"][:2])
        print(f"{r['student']:<{width}}  {r['auto_score']:>5g} / {r['auto_max']:<4g}  "
              f"{r['manual_max']:>6g}  {r.get('seconds', 0):>5.1f}s  {notes[:70]}")  # fmt: skip


def run_examples(out_dir, workers):
    with tempfile.TemporaryDirectory(prefix="cs_loss_examples_") as tmp:
        work = Path(tmp) / "work"
        ag.prepare(work)
        release = work / "release" / course.ASSIGNMENT
        submissions = examples.write_examples(Path(tmp) / "submissions", release)
        start = time.perf_counter()
        results = ag.autograde(list(submissions.values()), out_dir, workers=workers, work_dir=work)
        elapsed = time.perf_counter() - start
    return results, elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m grading", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="build the student release")
    p.add_argument("--out", type=Path, default=Path("build/release"))
    p = sub.add_parser("autograde", help="grade submissions")
    p.add_argument("submissions", nargs="+", type=Path, help="submission folders or zips")
    p.add_argument("--out", type=Path, default=Path("build/grades"))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--timeout", type=float, default=600, help="seconds per submission")
    p.add_argument("--memory-gb", type=float, default=6, help="memory limit per submission")
    for name in ("check", "demo"):
        p = sub.add_parser(name, help=f"{name} on the example submissions")
        p.add_argument("--out", type=Path, default=Path(f"build/{name}"))
        p.add_argument("--workers", type=int, default=2)
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
    p.add_argument("template")
    p.add_argument("submission")
    p.add_argument("student")
    p.add_argument("out_json")
    args = parser.parse_args(argv)

    try:
        if args.command == "release":
            release = build_release(args.out)
            print(f"release: {release} and {args.out / (course.ASSIGNMENT + '.zip')}")
        elif args.command == "autograde":
            missing = [str(p) for p in args.submissions if not p.exists()]
            if missing:
                print(f"error: no such submission: {', '.join(missing)}", file=sys.stderr)
                return 2
            results = ag.autograde(args.submissions, args.out, workers=args.workers,
                                   timeout=args.timeout, memory_bytes=int(args.memory_gb * 2**30))  # fmt: skip
            print_table(results)
            print(f"reports in {args.out}: grades.csv, totals.csv, grades.json, feedback/")
        elif args.command in ("check", "demo"):
            results, elapsed = run_examples(args.out, args.workers)
            print_table(results)
            print(f"graded {len(results)} submissions in {elapsed:.0f} s with {args.workers} workers; "
                  f"reports in {args.out}")  # fmt: skip
            problems = examples.verify(results)
            for problem in problems:
                print(f"PROBLEM: {problem}")
            if args.command == "check":
                print("check: " + ("FAILED" if problems else "passed: reference full marks, blank release 0, "
                                   "each bug caught by exactly its tests, nothing leaked"))  # fmt: skip
            return 1 if problems else 0
        elif args.command == "expected":
            print(f"wrote {package.make_expected()}")
        elif args.command == "gradescope":
            print(f"wrote {gradescope.build_autograder(args.out)}: upload it to Gradescope unchanged")
        elif args.command == "gradescope-prepare":
            gradescope.prepare(args.work)
        elif args.command == "gradescope-run":
            payload = gradescope.run(args.root, args.work, timeout=args.timeout)
            print(f"score {payload['score']:g}; results in {args.root / 'results' / 'results.json'}")
        elif args.command == "_grade_one":
            ag.grade_one(args.template, args.submission, args.student, args.out_json)
    except (MarkerError, course.NbgraderError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

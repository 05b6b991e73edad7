"""Time autograde: per submission with one worker, and a batch with several.

    python benchmarks/bench_grading.py                  # 20 submissions, 2 workers, 4 alone
    python benchmarks/bench_grading.py --batch 6 --single 2
    python benchmarks/bench_grading.py --quick          # smoke run: 2 alone, a batch of 2

Submissions are the kit's examples (the reference and the one-mistake ones
that ``check`` grades end to end), repeated. Both phases grade from the same
prepared template, so the release is built once and timed in neither.

Reported: wall-clock seconds per submission with one worker, and CPU seconds
per submission (the grader's own process plus every process it started and
waited for: workers, nbgrader, kernels, package-test children); the same for
the batch with ``--workers``; and the batch speed-up, the single-worker time
per submission times the batch size over the batch's wall-clock time. These
are ratios and per-submission figures measured in one run, so the machine's
speed cancels out of the speed-up; no target is asserted here.
"""

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grading import autograde as ag  # noqa: E402
from grading import course, examples  # noqa: E402


def cpu_seconds():
    """User + system CPU of this process and of its waited-for descendants, in seconds."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_batch(submissions, out_dir, workers, work_dir):
    """Grade ``submissions``; return ``(results, wall seconds, CPU seconds)``."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    results = ag.autograde(submissions, out_dir, workers=workers, work_dir=work_dir, progress=False)
    return results, time.perf_counter() - wall, cpu_seconds() - cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=20, help="submissions in the batch")
    parser.add_argument("--single", type=int, default=4, help="submissions graded with one worker")
    parser.add_argument("--workers", type=int, default=2, help="workers for the batch")
    parser.add_argument("--quick", action="store_true", help="smoke run: --single 2 --batch 2")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.quick:
        args.single, args.batch = 2, 2
    if min(args.single, args.batch, args.workers) < 1:
        parser.error("--single, --batch and --workers must each be at least 1")
    with tempfile.TemporaryDirectory(prefix="bench_grading_") as tmp:
        tmp = Path(tmp)
        ag.prepare(tmp / "work")
        release = tmp / "work" / "release" / course.ASSIGNMENT
        kinds = [examples.write_reference(tmp / "kinds" / "reference", release)]
        kinds += [
            examples.write_variant(v, tmp / "kinds" / v.name, release)
            for v in examples.one_mistake_variants()
        ]
        subs = []
        for i in range(max(args.batch, args.single)):
            dest = tmp / "subs" / f"student{i:02d}"
            shutil.copytree(kinds[i % len(kinds)], dest)
            subs.append(dest)
        alone, single_wall, single_cpu = timed_batch(
            subs[: args.single], tmp / "out1", 1, tmp / "work"
        )
        batch, batch_wall, batch_cpu = timed_batch(
            subs[: args.batch], tmp / "outN", args.workers, tmp / "work"
        )

    figures = {
        "single_wall_per_submission": single_wall / args.single,
        "single_cpu_per_submission": single_cpu / args.single,
        "batch_wall_per_submission": batch_wall / args.batch,
        "batch_cpu_per_submission": batch_cpu / args.batch,
        "speedup": single_wall / args.single * args.batch / batch_wall,
        "workers": args.workers,
        "errors": sorted({r["student"] for r in alone + batch if r["error"]}),
    }
    worker_times = sorted(r.get("seconds") or 0.0 for r in alone)
    print(
        f"one worker: {args.single} submissions in {single_wall:.1f} s: "
        f"{figures['single_wall_per_submission']:.1f} s wall and "
        f"{figures['single_cpu_per_submission']:.1f} s CPU each "
        f"(inside the worker: {worker_times[0]:.1f} to {worker_times[-1]:.1f} s)"
    )
    print(
        f"{args.workers} workers: {args.batch} submissions in {batch_wall:.1f} s: "
        f"{figures['batch_wall_per_submission']:.1f} s wall and "
        f"{figures['batch_cpu_per_submission']:.1f} s CPU each"
    )
    print(f"speed-up of the batch over one worker: {figures['speedup']:.2f}x")
    print(f"grading errors: {figures['errors'] or 'none'}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 1 if figures["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

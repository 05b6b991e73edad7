"""Time autograde: per submission with one worker, and a batch with several.

    python benchmarks/bench_grading.py                  # 20 submissions, 2 workers, 4 alone
    python benchmarks/bench_grading.py --batch 6 --single 2

Submissions are the kit's examples (reference and one-bug ones) repeated.
The speed-up is the single-worker time per submission times the batch size,
over the batch's wall-clock time with the workers.
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grading import autograde as ag  # noqa: E402
from grading import course, examples  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--single", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_grading_") as tmp:
        tmp = Path(tmp)
        ag.prepare(tmp / "work")
        release = tmp / "work" / "release" / course.ASSIGNMENT
        kinds = [examples.write_reference(tmp / "kinds" / "reference", release)]
        kinds += [examples.write_bug(b, tmp / "kinds" / b.name, release) for b in examples.BUGS]
        subs = []
        for i in range(max(args.batch, args.single)):
            dest = tmp / "subs" / f"student{i:02d}"
            shutil.copytree(kinds[i % len(kinds)], dest)
            subs.append(dest)

        start = time.perf_counter()
        alone = ag.autograde(subs[: args.single], tmp / "out1", workers=1, work_dir=tmp / "work",
                             progress=False)  # fmt: skip
        single_wall = time.perf_counter() - start
        per_submission = single_wall / args.single

        start = time.perf_counter()
        batch = ag.autograde(subs[: args.batch], tmp / "outN", workers=args.workers,
                             work_dir=tmp / "work", progress=False)  # fmt: skip
        batch_wall = time.perf_counter() - start

    worker_times = sorted(r["seconds"] for r in alone)
    print(f"one worker: {args.single} submissions in {single_wall:.1f} s = {per_submission:.1f} s each "
          f"(inside the worker: {worker_times[0]:.1f} to {worker_times[-1]:.1f} s)")  # fmt: skip
    print(f"{args.workers} workers: {args.batch} submissions in {batch_wall:.1f} s = "
          f"{batch_wall / args.batch:.1f} s each")  # fmt: skip
    print(f"speed-up over one worker: {per_submission * args.batch / batch_wall:.2f}x")
    errors = [r["student"] for r in alone + batch if r["error"]]
    print(f"errors: {errors or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Time autograde: per submission with one worker, and a batch with several.

    python benchmarks/bench_grading.py                  # 20 submissions, 2 workers, 4 alone
    python benchmarks/bench_grading.py --batch 6 --single 2
    python benchmarks/bench_grading.py --quick          # smoke run: 2 alone, a batch of 2
    python benchmarks/bench_grading.py --baseline ../base --repeats 3

Submissions are the kit's examples (the reference and the one-mistake ones
that ``check`` grades end to end), repeated. Both phases grade from the same
prepared template, so the release is built once and timed in neither.

Each phase runs in a process of its own, started for it, and is timed from
outside: wall-clock seconds, and CPU seconds of that process and of every
process it started and waited for (workers, nbgrader, kernels, package-test
children). So a batch's fixed costs (the grader's imports, the sandbox probe)
count, as they do for a TA.

Reported: wall and CPU seconds per submission with one worker and with
``--workers``, and the batch speed-up (the single-worker time per submission
times the batch size over the batch's wall-clock time). With ``--baseline DIR``
(another checkout of the kit, e.g. ``git worktree add ../base main``) the same
phases are timed for that checkout in the same run, alternating with this one,
and the ratios baseline / this are reported: the machine's speed and load cancel
out of them. ``--repeats`` times each phase that many times and keeps the
medians. No target is asserted here.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
KIT = HERE.parent.parent
PHASES = ("single", "batch")
FIGURES = (
    "single_wall_per_submission",
    "single_cpu_per_submission",
    "batch_wall_per_submission",
    "batch_cpu_per_submission",
    "speedup",
)


def children_cpu() -> float:
    """User + system CPU of this process's waited-for descendants, in seconds."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def prepare(kit: Path, work: Path, count: int) -> None:
    """In this process: the template under ``work/work``, ``count`` submissions in ``work/subs``."""
    sys.path.insert(0, str(kit))
    from grading import autograde, course, examples

    autograde.prepare(work / "work")
    release = work / "work" / "release" / course.ASSIGNMENT
    kinds = [examples.write_reference(work / "kinds" / "reference", release)]
    kinds += [
        examples.write_variant(v, work / "kinds" / v.name, release)
        for v in examples.one_mistake_variants()
    ]
    for i in range(count):
        shutil.copytree(kinds[i % len(kinds)], work / "subs" / f"student{i:02d}")


def grade(kit: Path, work: Path, count: int, workers: int, out: Path) -> None:
    """In this process: grade the first ``count`` submissions; write the errors to ``out``."""
    sys.path.insert(0, str(kit))
    from grading import autograde

    subs = sorted((work / "subs").iterdir())[:count]
    results = autograde.autograde(
        subs, work / f"out_{out.stem}", workers=workers, work_dir=work / "work", progress=False
    )
    row = {
        "errors": sorted(r["student"] for r in results if r["error"]),
        "worker_seconds": [r.get("seconds") or 0.0 for r in results],
    }
    out.write_text(json.dumps(row))


def run_phase(kit: Path, work: Path, args: list[str], out: Path) -> dict:
    """Run this script's ``args`` phase for ``kit`` in a new process; time it from outside."""
    cmd = [sys.executable, str(HERE), "--kit", str(kit), "--work", str(work), "--out", str(out)]
    load, wall, cpu = os.getloadavg()[0], time.perf_counter(), children_cpu()
    done = subprocess.run(cmd + args, capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - wall, children_cpu() - cpu
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed for {kit}:\n{done.stderr[-3000:]}")
    row = json.loads(out.read_text()) if out.is_file() else {}
    return {**row, "wall": wall, "cpu": cpu, "load": load}


def measure(kits: dict[str, Path], tmp: Path, opts: argparse.Namespace) -> dict[str, dict]:
    """Median figures per kit, its phases alternating with the other kits' in each repeat."""
    count = {"single": opts.single, "batch": opts.batch}
    workers = {"single": 1, "batch": opts.workers}
    runs: dict[str, dict[str, list[dict]]] = {name: {p: [] for p in PHASES} for name in kits}
    for name, kit in kits.items():
        args = ["--phase", "prepare", "--count", str(max(count.values()))]
        run_phase(kit, tmp / name, args, tmp / f"{name}_prepare.json")
    for repeat in range(opts.repeats):
        for phase in PHASES:
            for name, kit in kits.items():
                args = ["--phase", "grade", "--count", str(count[phase])]
                args += ["--workers", str(workers[phase])]
                out = tmp / f"{name}_{phase}_{repeat}.json"
                runs[name][phase].append(run_phase(kit, tmp / name, args, out))
    figures = {}
    for name in kits:
        single, batch = runs[name]["single"], runs[name]["batch"]
        median = statistics.median
        row = {
            "single_wall_per_submission": median(r["wall"] for r in single) / opts.single,
            "single_cpu_per_submission": median(r["cpu"] for r in single) / opts.single,
            "batch_wall_per_submission": median(r["wall"] for r in batch) / opts.batch,
            "batch_cpu_per_submission": median(r["cpu"] for r in batch) / opts.batch,
            "worker_seconds": sorted(s for r in single for s in r["worker_seconds"]),
            "load": [round(r["load"], 2) for r in single + batch],
            "errors": sorted({s for r in single + batch for s in r["errors"]}),
        }
        row["speedup"] = row["single_wall_per_submission"] / row["batch_wall_per_submission"]
        figures[name] = row
    return figures


def describe(name: str, row: dict, opts: argparse.Namespace) -> str:
    seconds = row["worker_seconds"]
    return (
        f"{name}: one worker: {row['single_wall_per_submission']:.1f} s wall and "
        f"{row['single_cpu_per_submission']:.1f} s CPU per submission (inside the worker: "
        f"{seconds[0]:.1f} to {seconds[-1]:.1f} s); {opts.workers} workers, batch of "
        f"{opts.batch}: {row['batch_wall_per_submission']:.1f} s wall and "
        f"{row['batch_cpu_per_submission']:.1f} s CPU per submission; load averages "
        f"{row['load']}\n"
        f"speed-up of the batch over one worker: {row['speedup']:.2f}x\n"
        f"grading errors: {row['errors'] or 'none'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=20, help="submissions in the batch")
    parser.add_argument("--single", type=int, default=4, help="submissions graded with one worker")
    parser.add_argument("--workers", type=int, default=2, help="workers for the batch")
    parser.add_argument("--repeats", type=int, default=1, help="times each phase; medians kept")
    parser.add_argument("--quick", action="store_true", help="smoke run: --single 2 --batch 2")
    parser.add_argument("--baseline", type=Path, help="another checkout of the kit to compare")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    # One phase in a process of its own (what the parent starts):
    parser.add_argument("--phase", choices=("prepare", "grade"), help=argparse.SUPPRESS)
    parser.add_argument("--kit", type=Path, default=KIT, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=1, help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.phase == "prepare":
        prepare(opts.kit.resolve(), opts.work, opts.count)
        return 0
    if opts.phase == "grade":
        grade(opts.kit.resolve(), opts.work, opts.count, opts.workers, opts.out)
        return 0
    if opts.quick:
        opts.single, opts.batch = 2, 2
    if min(opts.single, opts.batch, opts.workers, opts.repeats) < 1:
        parser.error("--single, --batch, --workers and --repeats must each be at least 1")
    if opts.baseline is not None and not (opts.baseline / "grading" / "autograde.py").is_file():
        parser.error(f"--baseline must be a checkout of the kit; {opts.baseline} has no grading/")
    kits = {"this": KIT}
    if opts.baseline is not None:
        kits = {"baseline": opts.baseline.resolve(), "this": KIT}
    with tempfile.TemporaryDirectory(prefix="bench_grading_") as tmp:
        figures = measure(kits, Path(tmp), opts)
    result = dict(figures["this"])
    for name, row in figures.items():
        print(describe(name, row, opts))
    if "baseline" in figures:
        base, this = figures["baseline"], figures["this"]
        result["baseline"] = base
        result["cpu_ratio"] = base["single_cpu_per_submission"] / this["single_cpu_per_submission"]
        result["batch_ratio"] = (
            base["batch_wall_per_submission"] / this["batch_wall_per_submission"]
        )
        print(
            f"baseline / this: CPU per submission {result['cpu_ratio']:.2f}x, "
            f"batch of {opts.batch} with {opts.workers} workers {result['batch_ratio']:.2f}x"
        )
    result["workers"] = opts.workers
    if opts.json:
        opts.json.write_text(json.dumps(result, indent=1))
    return 1 if any(row["errors"] for row in figures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

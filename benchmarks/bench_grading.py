"""Time autograde: per submission with one worker, and a batch with several.

    python benchmarks/bench_grading.py                  # 20 submissions, 2 workers, 4 alone
    python benchmarks/bench_grading.py --batch 6 --single 2
    python benchmarks/bench_grading.py --quick          # smoke run: 2 alone, a batch of 2
    python benchmarks/bench_grading.py --baseline ../base --repeats 3
    python benchmarks/bench_grading.py --gradescope --baseline ../base --repeats 3

The figure of record (issue 19), as root on two cores, against landed main's code
(``git worktree add ../base a376755``, then ``chmod -R go-rwx cs_loss notebooks grading``
in it as CI does), in one run::

    python benchmarks/bench_grading.py --baseline ../base --json speed.json
    python benchmarks/bench_grading.py --gradescope --baseline ../base --repeats 3

Submissions are the kit's examples (the reference and the one-mistake ones
that ``check`` grades end to end), repeated. Both phases grade from the same
prepared template, so the release is built once and timed in neither.

Each phase runs in a process of its own, started for it, and is timed from
outside: wall-clock seconds, and CPU seconds of every process of the phase
(workers, the fork server, kernels, package-test children), counted by a cgroup
``cpuacct`` group when this runs as root on a host that has one (a kernel killed
at the end is never waited for, so the rusage of waited-for processes misses it;
that figure is reported too, as ``cpu_waited``). So a batch's fixed costs (the
grader's imports, the sandbox probe) count, as they do for a TA.

Reported: wall and CPU seconds per submission with one worker and with
``--workers``, and the batch speed-up (the single-worker time per submission
times the batch size over the batch's wall-clock time). With ``--baseline DIR``
(another checkout of the kit, e.g. ``git worktree add ../base main``) the same
phases are timed for that checkout in the same run, alternating with this one,
and the ratios baseline / this are reported: the machine's speed and load cancel
out of them. ``--repeats`` times each phase that many times and keeps the
medians. No target is asserted here.

``--gradescope``: instead, Gradescope's ``run_autograder`` on one upload (the
reference), run as ``tests/test_gradescope.py`` runs it, in an autograder root made
for each kit (a copy of the kit with its template built, as setup.sh leaves it).
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


# What a kit copy for Gradescope leaves out (setup.sh's zip holds the kit's sources only).
NOT_SHIPPED = (".git", ".venv", "build", "__pycache__", ".pytest_cache", ".ruff_cache")


def gradescope_root(kit: Path, work: Path) -> Path:
    """An autograder root for ``kit`` as setup.sh leaves it, with the reference as the upload.

    ``source`` is a copy of the kit with its template built (``gradescope-prepare``), closed
    to others as CI closes it; ``venv/bin/python`` runs this Python; ``submission`` holds the
    reference's notebooks and ``cs_loss`` files, as a student uploads them.
    """
    root = work / "gradescope"
    shutil.copytree(kit, root / "source", ignore=shutil.ignore_patterns(*NOT_SHIPPED))
    for name in ("cs_loss", "notebooks", "grading"):
        subprocess.run(["chmod", "-R", "go-rwx", str(root / "source" / name)], check=True)
    python = root / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    prepare = [str(python), "-m", "grading", "gradescope-prepare"]
    prepare += ["--work", str(root / "source" / "build" / "work")]
    subprocess.run(prepare, cwd=root / "source", env=env, check=True, capture_output=True)
    shutil.copytree(work / "kinds" / "reference", root / "submission")
    return root


def run_gradescope(root: Path) -> dict:
    """``run_autograder`` on the upload in ``root``, run as tests/test_gradescope.py runs it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(AUTOGRADER_ROOT=str(root))
    script = root / "source" / "grading" / "gradescope_files" / "run_autograder"
    group = CpuGroup() if CpuGroup.usable() else None
    join = group.join if group is not None else None
    load, wall, cpu = os.getloadavg()[0], time.perf_counter(), children_cpu()
    subprocess.run([str(script)], env=env, capture_output=True, check=True, preexec_fn=join)
    wall, cpu = time.perf_counter() - wall, children_cpu() - cpu
    if group is not None:
        time.sleep(0.5)  # processes still dying (a killed box) finish being charged
        cpu = group.seconds()
        group.remove()
    results = json.loads((root / "results" / "results.json").read_text())
    full = sum(test.get("max_score", 0) for test in results.get("tests", []))
    return {"wall": wall, "cpu": cpu, "load": load, "score": results.get("score"), "full": full}


def measure_gradescope(kits: dict[str, Path], tmp: Path, repeats: int) -> dict[str, dict]:
    """Median wall and CPU of ``run_autograder`` on one upload per kit, alternating kits."""
    roots = {}
    for name, kit in kits.items():
        args = ["--phase", "prepare", "--count", "1"]
        run_phase(kit, tmp / name, args, tmp / f"{name}_prepare.json")
        roots[name] = gradescope_root(kit, tmp / name)
    runs: dict[str, list[dict]] = {name: [] for name in kits}
    for _ in range(repeats):
        for name in kits:
            runs[name].append(run_gradescope(roots[name]))
    return {
        name: {
            "gradescope_wall": statistics.median(r["wall"] for r in rows),
            "gradescope_cpu": statistics.median(r["cpu"] for r in rows),
            "scores": sorted({r["score"] for r in rows}),
            "full_scores": sorted({r["full"] for r in rows}),
            "load": [round(r["load"], 2) for r in rows],
        }
        for name, rows in runs.items()
    }


class CpuGroup:
    """A cgroup v1 ``cpuacct`` group for one phase: the CPU of every process started in it.

    A killed kernel is not waited for by whoever started it, so its CPU never reaches
    ``RUSAGE_CHILDREN``; the group counts it. The kit's per-submission groups are made in the
    ``memory`` and ``pids`` hierarchies only, so the kernels stay in this one. Needs root
    and a ``cpuacct`` hierarchy (``usable``); elsewhere the waited-for CPU is reported.
    """

    ROOT = Path("/sys/fs/cgroup/cpuacct")

    def __init__(self) -> None:
        self.folder = self.ROOT / f"bench_grading_{os.getpid()}_{time.monotonic_ns()}"
        self.folder.mkdir()

    @classmethod
    def usable(cls) -> bool:
        return os.geteuid() == 0 and (cls.ROOT / "cpuacct.usage").is_file()

    def join(self) -> None:
        """Move the calling process in (a ``preexec_fn``: the phase and all it starts)."""
        (self.folder / "cgroup.procs").write_text(f"{os.getpid()}\n")

    def seconds(self) -> float:
        return int((self.folder / "cpuacct.usage").read_text()) / 1e9

    def remove(self) -> None:
        """Remove the group once its last process (a dying kernel) has left."""
        for _ in range(500):
            try:
                self.folder.rmdir()
                return
            except OSError:
                time.sleep(0.02)


def run_phase(kit: Path, work: Path, args: list[str], out: Path) -> dict:
    """Run this script's ``args`` phase for ``kit`` in a new process; time it from outside.

    ``cpu``: CPU seconds of every process of the phase (a :class:`CpuGroup`'s, when usable;
    else those of the processes waited for, ``cpu_waited``, which misses killed kernels).
    """
    cmd = [sys.executable, str(HERE), "--kit", str(kit), "--work", str(work), "--out", str(out)]
    group = CpuGroup() if CpuGroup.usable() else None
    load, wall, cpu = os.getloadavg()[0], time.perf_counter(), children_cpu()
    join = group.join if group is not None else None
    done = subprocess.run(cmd + args, capture_output=True, text=True, check=False, preexec_fn=join)
    wall, cpu = time.perf_counter() - wall, children_cpu() - cpu
    waited = cpu
    if group is not None:
        time.sleep(0.5)  # processes still dying (a killed box) finish being charged
        cpu = group.seconds()
        group.remove()
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed for {kit}:\n{done.stderr[-3000:]}")
    row = json.loads(out.read_text()) if out.is_file() else {}
    return {**row, "wall": wall, "cpu": cpu, "cpu_waited": waited, "load": load}


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
            "batch_cpu_waited_per_submission": median(r["cpu_waited"] for r in batch) / opts.batch,
            "cpu_counted": "cgroup" if CpuGroup.usable() else "waited-for processes",
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
    parser.add_argument(
        "--gradescope",
        action="store_true",
        help="time Gradescope's run_autograder on one upload instead of autograde",
    )
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
    if opts.gradescope:
        return gradescope_main(kits, opts)
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


def gradescope_main(kits: dict[str, Path], opts: argparse.Namespace) -> int:
    """``--gradescope``: print (and write with ``--json``) run_autograder's figures."""
    with tempfile.TemporaryDirectory(prefix="bench_gradescope_") as tmp:
        figures = measure_gradescope(kits, Path(tmp), opts.repeats)
    for name, row in figures.items():
        print(
            f"{name}: run_autograder on one upload: {row['gradescope_wall']:.1f} s wall, "
            f"{row['gradescope_cpu']:.1f} s CPU; scores {row['scores']}; load averages "
            f"{row['load']}"
        )
    result = dict(figures["this"])
    if "baseline" in figures:
        result["baseline"] = figures["baseline"]
        result["gradescope_ratio"] = (
            figures["baseline"]["gradescope_wall"] / figures["this"]["gradescope_wall"]
        )
        print(f"baseline / this: run_autograder wall {result['gradescope_ratio']:.2f}x")
    if opts.json:
        opts.json.write_text(json.dumps(result, indent=1))
    scores = {s for row in figures.values() for s in row["scores"]}
    return 0 if len(scores) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())

"""Speed and memory of cs_loss against baselines timed in the same run.

    python benchmarks/bench.py            # full sizes (a few minutes on 2 cores, ~3 GB)
    python benchmarks/bench.py --quick    # a tenth of the rows, for a smoke run

The targets are for the full sizes; ``--quick`` figures are a smoke test (at a
tenth of the rows, fixed costs such as the training norms of the no-loop
distances weigh more, and the memory row is measured at full size anyway).

Every speed figure is a ratio to a baseline measured in this process (this
machine's speed and load cancel out); each timing is the median of
``--repeats`` interleaved runs. The reference solutions are the textbook
forms students learn from; these targets check that the textbook form costs
nothing that matters, not that it wins a race:

- kNN no-loop distances, 500 x 5000 x 3072, vs scikit-learn's
  ``euclidean_distances`` on the same arrays (target <= 1.2), and vs the
  two-loop version (a speed-up, shown for the lesson, no target);
- each vectorized loss + gradient on 49000 x 3073 vs the plain pair of
  products ``X @ W`` and ``X.T @ dS`` a vectorized loss cannot avoid
  (target <= 1.3: no redundant pass over X), in float32 and float64;
- ``LinearSVM.train``, 1500 iterations of batch 200, vs a plain CS231n loop
  (``choice`` + ``X[idx]`` + the CS231n vectorized loss) (target <= 1.0), in
  float32 and float64;
- peak memory (VmHWM of a fresh child process) of ``get_CIFAR10_data()``
  with the standard 49000/1000/1000/500 split (target <= 1.0 GB). A
  full-size synthetic CIFAR-10 in the original format is written to a
  temporary folder for this, so the figure does not depend on having the real
  dataset. ``--memory-baseline`` also measures the CS231n float64 pipeline
  (about 3 GB, so it is off by default).
"""

import argparse
import json
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from baselines import train_cs231n  # noqa: E402
from sklearn.metrics.pairwise import euclidean_distances  # noqa: E402

from cs_loss import KNearestNeighbor, LinearSVM, softmax_loss_vectorized, svm_loss_vectorized  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(candidate, baseline, repeats):
    """Median times of candidate and baseline, run alternately after one warm-up each."""
    candidate(), baseline()
    c, b = [], []
    for _ in range(repeats):
        c.append(timed(candidate))
        b.append(timed(baseline))
    return statistics.median(c), statistics.median(b)


def bench_distances(rng, repeats, quick):
    num_test, num_train, dim = (100, 1000, 3072) if quick else (500, 5000, 3072)
    X_train = rng.integers(0, 256, size=(num_train, dim)).astype(np.float64)
    X_test = rng.integers(0, 256, size=(num_test, dim)).astype(np.float64)
    knn = KNearestNeighbor().train(X_train, np.zeros(num_train, dtype=int))
    ours, sk = compare(
        lambda: knn.compute_distances_no_loops(X_test),
        lambda: euclidean_distances(X_test, X_train),
        repeats,
    )
    rows = [(f"no-loop distances {num_test}x{num_train}x{dim} vs sklearn", ours, sk, "<= 1.2")]
    # The two-loop version takes long; one run of it is plenty against a large ratio.
    two = timed(lambda: knn.compute_distances_two_loops(X_test))
    rows.append(
        ("no-loop vs two-loop distances (speed-up, higher is better)", ours, two, "(lesson)")
    )
    return rows


def bench_losses(rng, repeats, quick, dtype):
    N, D, C = (4900, 3073, 10) if quick else (49000, 3073, 10)
    X = (rng.standard_normal((N, D)) * 60).astype(dtype)
    W = (rng.standard_normal((D, C)) * 1e-4).astype(dtype)
    y = rng.integers(0, C, size=N)
    dS = rng.standard_normal((N, C)).astype(dtype)

    def products():
        X @ W
        X.T @ dS

    rows = []
    name = np.dtype(dtype).name
    for loss_fn in (svm_loss_vectorized, softmax_loss_vectorized):
        ours, base = compare(lambda f=loss_fn: f(W, X, y, 1e3), products, repeats)
        rows.append((f"{loss_fn.__name__} {N}x{D} {name} vs X@W + X.T@dS", ours, base, "<= 1.3"))
    return rows


def bench_sgd(rng, repeats, quick, dtype):
    N, D = (4900, 3073) if quick else (49000, 3073)
    X = (rng.standard_normal((N, D)) * 60).astype(dtype)
    y = rng.integers(0, 10, size=N)
    args = dict(learning_rate=1e-7, reg=2.5e4, num_iters=300 if quick else 1500, batch_size=200)
    ours, base = compare(
        lambda: LinearSVM().train(X, y, **args), lambda: train_cs231n(X, y, **args), repeats
    )
    name = np.dtype(dtype).name
    return [
        (
            f"LinearSVM.train {args['num_iters']} iters, batch 200, {N}x{D} {name} vs CS231n loop",
            ours,
            base,
            "<= 1.0",
        )
    ]


PEAK_SCRIPT = """
import json, sys
sys.path[:0] = {paths!r}
root = {root!r}
if {ours!r}:
    from cs_loss import get_CIFAR10_data
    data = get_CIFAR10_data(root=root)
    shapes = [data[k].shape for k in ("X_train", "X_val", "X_test", "X_dev")]
else:
    from baselines import get_cifar10_data_cs231n
    shapes = [a.shape for a in get_cifar10_data_cs231n(root)]
# VmHWM is this process's own peak resident memory; ru_maxrss would include the
# parent's peak, which is inherited across fork and exec.
with open("/proc/self/status") as f:
    peak = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
print(json.dumps({{"peak": peak, "shapes": shapes}}))
"""


def write_synthetic_cifar(folder, rng, per_batch=10000):
    """A full-size CIFAR-10 in the original pickle format (random pixels)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in [f"data_batch_{b}" for b in range(1, 6)] + ["test_batch"]:
        batch = {
            "data": rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8),
            "labels": rng.integers(0, 10, size=per_batch).tolist(),
        }
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f, protocol=4)
    return folder


def peak_memory(root, ours):
    paths = [str(ROOT), str(Path(__file__).resolve().parent)]
    code = PEAK_SCRIPT.format(paths=paths, root=str(root), ours=ours)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["peak"]


def bench_memory(rng, with_baseline):
    with tempfile.TemporaryDirectory() as tmp:
        root = write_synthetic_cifar(Path(tmp) / "cifar-10-batches-py", rng)
        ours = peak_memory(root, ours=True)
        base = peak_memory(root, ours=False) if with_baseline else float("nan")
    return [
        (
            "peak memory of get_CIFAR10_data(), 49000/1000/1000/500 (GB) vs CS231n",
            ours / 1e9,
            base / 1e9,
            "<= 1.0 GB",
        )
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description="cs_loss benchmarks")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=["distances", "losses", "sgd", "memory"])
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument(
        "--memory-baseline",
        action="store_true",
        help="also measure the CS231n float64 pipeline's peak (about 3 GB)",
    )
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)

    rows = []
    if args.only in (None, "distances"):
        rows += bench_distances(rng, args.repeats, args.quick)
    if args.only in (None, "losses"):
        rows += bench_losses(rng, args.repeats, args.quick, np.float32)
        rows += bench_losses(rng, args.repeats, args.quick, np.float64)
    if args.only in (None, "sgd"):
        rows += bench_sgd(rng, args.repeats, args.quick, np.float32)
        rows += bench_sgd(rng, args.repeats, args.quick, np.float64)
    if args.only in (None, "memory"):
        rows += bench_memory(rng, args.memory_baseline)

    print(f"{'measurement':<84} {'ours':>9} {'baseline':>9} {'ratio':>8}  target")
    for name, ours, base, target in rows:
        ratio = f"{base / ours:7.0f}x" if "speed-up" in name else f"{ours / base:8.2f}"
        unit = "" if "GB" in name else "s"
        print(f"{name:<84} {ours:8.3f}{unit:1} {base:8.3f}{unit:1} {ratio}  {target}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

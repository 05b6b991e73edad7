"""``python -m cs_loss``: train kNN, a linear SVM and a softmax classifier and report accuracy.

Runs on the embedded offline digits by default, so it needs no download;
``--dataset cifar10`` (or ``auto``) uses CIFAR-10 where it is present.
"""

import argparse
import sys
import time

import numpy as np

from . import KNearestNeighbor, LinearSVM, Softmax, TrainingDivergedError, get_data, load_images

# Small grids: the point is a working end-to-end run in seconds, not a tuned model.
GRIDS = {
    "digits": {"learning_rates": [1e-4, 1e-3], "regs": [1e-3, 1e-1]},
    "cifar10": {"learning_rates": [1e-7, 5e-7], "regs": [1e3, 2.5e4]},
}


def accuracy(y_pred, y):
    return float(np.mean(y_pred == y))


def best_linear(cls, data, learning_rates, regs, num_iters, seed):
    """Grid search on the validation split; returns (val_acc, lr, reg, classifier)."""
    best = None
    for lr in learning_rates:
        for reg in regs:
            clf = cls()
            try:
                clf.train(
                    data["X_train"],
                    data["y_train"],
                    learning_rate=lr,
                    reg=reg,
                    num_iters=num_iters,
                    seed=seed,
                )
            except TrainingDivergedError:
                continue
            val = accuracy(clf.predict(data["X_val"]), data["y_val"])
            if best is None or val > best[0]:
                best = (val, lr, reg, clf)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cs_loss", description=__doc__)
    parser.add_argument("--dataset", choices=["digits", "cifar10", "auto"], default="digits")
    parser.add_argument("--num-iters", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    split = (
        {}
        if args.dataset != "cifar10"
        else {"num_training": 4000, "num_validation": 500, "num_test": 500}
    )
    data = get_data(args.dataset, seed=args.seed, **split)
    grid = GRIDS["cifar10" if data["name"] == "CIFAR-10" else "digits"]
    print(
        f"dataset: {data['name']}, train {data['X_train'].shape}, val {data['X_val'].shape}, "
        f"test {data['X_test'].shape}"
    )

    images = load_images("cifar10" if data["name"] == "CIFAR-10" else "digits")
    num_knn_train = min(5000, len(images["y_train"]))
    knn = KNearestNeighbor().train(
        images["X_train"][:num_knn_train].reshape(num_knn_train, -1),
        images["y_train"][:num_knn_train],
    )
    X_test_img = images["X_test"][:500].reshape(min(500, len(images["y_test"])), -1)
    dists = knn.compute_distances_no_loops(X_test_img)
    rows = []
    for k in (1, 5):
        acc = accuracy(knn.predict_labels(dists, k=k), images["y_test"][:500])
        rows.append((f"kNN (k={k})", "-", acc))

    for cls in (LinearSVM, Softmax):
        best = best_linear(cls, data, **grid, num_iters=args.num_iters, seed=args.seed)
        if best is None:
            rows.append((cls.__name__, "every setting diverged", float("nan")))
            continue
        val, lr, reg, clf = best
        test = accuracy(clf.predict(data["X_test"]), data["y_test"])
        rows.append((cls.__name__, f"lr={lr:g} reg={reg:g} val={val:.3f}", test))

    print(f"{'classifier':<12} {'chosen on validation':<32} {'test accuracy':>13}")
    for name, chosen, acc in rows:
        print(f"{name:<12} {chosen:<32} {acc:>13.3f}")
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

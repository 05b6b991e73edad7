"""Plots for the notebooks. Each draws on an ``ax`` the caller may pass and
returns it; matplotlib is imported only inside these functions, so the rest of
``cs_loss`` runs without it.
"""

import numpy as np


def _axes(ax, figsize=(6, 4)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _as_display_image(image):
    """An (H, W, channels) array as something imshow draws: RGB or grayscale in [0, 1]."""
    image = np.asarray(image, dtype=np.float64)
    low, high = image.min(), image.max()
    image = (image - low) / (high - low) if high > low else np.zeros_like(image)
    return image[..., 0] if image.shape[-1] == 1 else image


def plot_class_samples(X, y, class_names, samples_per_class=7, seed=0, fig=None):
    """A grid of random training images, one column per class.

    Parameters
    ----------
    X : ndarray of shape (N, H, W, channels)
        Images (uint8 or float; each is scaled to [0, 1] for display).
    y : ndarray of shape (N,), dtype=int
    class_names : sequence of str
        One name per class; their number sets the number of columns.
    samples_per_class : int
    seed : int
        Chooses the images.
    fig : matplotlib.figure.Figure, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    num_classes = len(class_names)
    if fig is None:
        fig = plt.figure(figsize=(1.1 * num_classes, 1.1 * samples_per_class))
    for c, name in enumerate(class_names):
        members = np.flatnonzero(y == c)
        chosen = rng.choice(members, min(samples_per_class, len(members)), replace=False)
        for row, i in enumerate(chosen):
            ax = fig.add_subplot(samples_per_class, num_classes, row * num_classes + c + 1)
            ax.imshow(_as_display_image(X[i]), cmap="gray")
            ax.axis("off")
            if row == 0:
                ax.set_title(name)
    return fig


def plot_distances(dists, ax=None):
    """The (num_test, num_train) distance matrix as an image (dark = close)."""
    ax = _axes(ax)
    im = ax.imshow(dists, interpolation="none", aspect="auto", cmap="gray")
    ax.set_xlabel("training example")
    ax.set_ylabel("test example")
    ax.figure.colorbar(im, ax=ax, label="L2 distance")
    return ax


def plot_cross_validation(k_to_accuracies, ax=None):
    """Fold accuracies for each k, with the mean +- standard deviation as error bars.

    Parameters
    ----------
    k_to_accuracies : dict of int to sequence of float
        For each k, the accuracy on every fold.
    """
    ax = _axes(ax)
    ks = sorted(k_to_accuracies)
    for k in ks:
        accs = k_to_accuracies[k]
        ax.scatter([k] * len(accs), accs, color="tab:blue", s=12)
    means = [np.mean(k_to_accuracies[k]) for k in ks]
    stds = [np.std(k_to_accuracies[k]) for k in ks]
    ax.errorbar(ks, means, yerr=stds, color="tab:orange", capsize=3)
    ax.set_xlabel("k")
    ax.set_ylabel("cross-validation accuracy")
    ax.set_title("Cross-validation on k")
    return ax


def plot_loss_history(loss_history, ax=None, label=None):
    """The minibatch loss against the SGD iteration."""
    ax = _axes(ax)
    ax.plot(loss_history, label=label, linewidth=0.8)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    if label is not None:
        ax.legend()
    return ax


def plot_hyperparameter_map(results, ax=None, which="val"):
    """Accuracy over the (learning rate, regularisation) grid, on log axes.

    Parameters
    ----------
    results : dict of (float, float) to (float, float)
        ``(learning_rate, reg) -> (train_accuracy, val_accuracy)``; a value of
        None marks a run that diverged (drawn as an x).
    which : {"train", "val"}
    """
    ax = _axes(ax)
    ax.set_xscale("log")
    ax.set_yscale("log")
    column = {"train": 0, "val": 1}[which]
    ok = {key: acc for key, acc in results.items() if acc is not None}
    failed = [key for key, acc in results.items() if acc is None]
    if ok:
        lr, reg = np.array(list(ok)).T
        accs = np.array([acc[column] for acc in ok.values()])
        points = ax.scatter(lr, reg, c=accs, s=120, cmap="viridis", marker="s")
        ax.figure.colorbar(points, ax=ax, label=f"{which} accuracy")
        for x, y, acc in zip(lr, reg, accs, strict=True):
            ax.annotate(
                f"{acc:.3f}",
                (x, y),
                textcoords="offset points",
                xytext=(0, 9),
                ha="center",
                fontsize=8,
            )
    if failed:
        lr, reg = np.array(failed).T
        ax.scatter(lr, reg, marker="x", color="red", label="diverged")
        ax.legend()
    ax.set_xlabel("learning rate")
    ax.set_ylabel("regularisation strength")
    ax.set_title(f"{which} accuracy")
    return ax


def weight_templates(W, image_shape):
    """The weights of each class as an image, scaled to [0, 1].

    The bias row (if W has one more row than pixels) is dropped. All classes
    share one scale, ``(w - min(W)) / (max(W) - min(W))`` over every class,
    so brightness can be compared between templates.

    Parameters
    ----------
    W : ndarray of shape (D, C)
    image_shape : tuple of int
        (H, W, channels).

    Returns
    -------
    templates : ndarray of shape (C, H, W, channels), values in [0, 1]
    """
    W = np.asarray(W, dtype=np.float64)
    pixels = int(np.prod(image_shape))
    if W.shape[0] not in (pixels, pixels + 1):
        raise ValueError(
            f"W has {W.shape[0]} rows but images of shape {tuple(image_shape)} have "
            f"{pixels} pixels (+1 with the bias)."
        )
    W = W[:pixels]  # (pixels, C)
    low, high = W.min(), W.max()
    scaled = (W - low) / (high - low) if high > low else np.zeros_like(W)
    return scaled.T.reshape((W.shape[1],) + tuple(image_shape))


def plot_weight_templates(W, image_shape, class_names, fig=None):
    """The learned weights as one template image per class (see :func:`weight_templates`)."""
    import matplotlib.pyplot as plt

    templates = weight_templates(W, image_shape)
    if fig is None:
        fig = plt.figure(figsize=(1.4 * len(class_names), 1.8))
    for c, name in enumerate(class_names):
        ax = fig.add_subplot(1, len(class_names), c + 1)
        image = templates[c][..., 0] if templates.shape[-1] == 1 else templates[c]
        ax.imshow(image, cmap="gray", vmin=0, vmax=1)
        ax.axis("off")
        ax.set_title(name)
    return fig


def confusion_matrix(y_true, y_pred, num_classes):
    """Counts ``M[i, j]`` of examples of class i predicted as class j.

    Returns
    -------
    ndarray of shape (num_classes, num_classes), dtype=int64
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    counts = np.bincount(y_true * num_classes + y_pred, minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes)


def plot_confusion_matrix(y_true, y_pred, class_names, ax=None):
    """The confusion matrix, rows normalised to fractions of each true class."""
    ax = _axes(ax, figsize=(6, 5))
    counts = confusion_matrix(y_true, y_pred, len(class_names))
    fractions = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    im = ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45)
    ax.set_yticks(ticks, class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.figure.colorbar(im, ax=ax, label="fraction of the true class")
    return ax


def plot_decision_regions(classifier_predict, X, y, ax=None, resolution=200, title=None):
    """Colour a 2-D plane by a classifier's prediction, with the training points on top.

    Parameters
    ----------
    classifier_predict : callable
        ``(M, 2) array -> (M,) labels``.
    X : ndarray of shape (N, 2)
    y : ndarray of shape (N,), dtype=int
    """
    ax = _axes(ax, figsize=(4, 4))
    pad = 0.1 * (X.max(axis=0) - X.min(axis=0))
    low, high = X.min(axis=0) - pad, X.max(axis=0) + pad
    gx, gy = np.meshgrid(
        np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    )
    grid = np.column_stack([gx.ravel(), gy.ravel()])  # (resolution**2, 2)
    regions = classifier_predict(grid).reshape(gx.shape)
    ax.contourf(
        gx, gy, regions, alpha=0.3, cmap="tab10", vmin=0, vmax=9, levels=np.arange(-0.5, 10)
    )
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="tab10", vmin=0, vmax=9, edgecolor="k", s=20)
    if title:
        ax.set_title(title)
    return ax

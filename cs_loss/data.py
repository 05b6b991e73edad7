"""Datasets: CIFAR-10 from its python-pickle batches, and an offline fallback.

This is the only module of ``cs_loss`` that reads files.

Where CIFAR-10 is looked for, in order: the ``root`` argument, the
environment variable ``CIFAR10_DIR``, then ``data/cifar-10-batches-py`` inside
the kit (where ``python data/get_datasets.py`` puts it).

The offline fallback is scikit-learn's bundled handwritten digits (1,797 real
8x8 grayscale scans, 10 classes), served through the same functions and the
same dictionary of arrays, so code written for one runs on the other. Code
must therefore take image shapes and class counts from the data
(``data["image_shape"]``, ``len(data["class_names"])``), never from constants.

Images come as uint8 arrays of shape (N, H, W, channels), as stored, unless
``load_CIFAR10(dtype=...)`` asks for floats; the preprocessed splits of
:func:`get_CIFAR10_data` are float32 rows.

Coming from CS231n: its ``load_CIFAR10`` returns float64 images, so code such
as ``X_train -= mean_image`` works on them. Here the default is the stored
uint8 (a quarter of float32's memory, an eighth of float64's), on which that
line fails with a casting error; ``load_CIFAR10(root, dtype=np.float64)``
returns what CS231n's loader does.
"""

import importlib.util
import os
import pickle
from pathlib import Path

import numpy as np

from ._validation import as_positive_int

KIT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DOWNLOAD_COMMAND = "python data/get_datasets.py"
CIFAR10_CLASSES = (
    "plane",
    "car",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
CIFAR10_FILES = tuple(f"data_batch_{b}" for b in range(1, 6)) + ("test_batch",)


def cifar10_dir(root=None):
    """The folder CIFAR-10 is read from (see the module docstring).

    Parameters
    ----------
    root : str or os.PathLike, optional
        An explicit folder; wins over everything else.

    Returns
    -------
    pathlib.Path
    """
    if root is not None:
        return Path(root)
    if os.environ.get("CIFAR10_DIR"):
        return Path(os.environ["CIFAR10_DIR"])
    return KIT_DATA_DIR / "cifar-10-batches-py"


def cifar10_available(root=None):
    """True if every CIFAR-10 batch file is present in :func:`cifar10_dir`."""
    folder = cifar10_dir(root)
    return all((folder / name).is_file() for name in CIFAR10_FILES)


def load_CIFAR_batch(filename):
    """Load one CIFAR-10 batch file.

    Parameters
    ----------
    filename : str or os.PathLike
        A file such as ``data_batch_1``.

    Returns
    -------
    X : ndarray of shape (N, 32, 32, 3), dtype=uint8
    y : ndarray of shape (N,), dtype=int64
    """
    with open(filename, "rb") as f:
        batch = pickle.load(f, encoding="latin1")
    try:
        data, labels = batch["data"], batch["labels"]
    except (TypeError, KeyError) as exc:
        raise ValueError(
            f"{filename} is not a CIFAR-10 python batch (expected a dict with 'data' and "
            f"'labels'); re-download it with `{DOWNLOAD_COMMAND}`."
        ) from exc
    data = np.asarray(data, dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or data.shape[0] != len(labels):
        raise ValueError(
            f"{filename}: expected 'data' of shape (N, 3072) with N labels, got "
            f"{data.shape} and {len(labels)} labels."
        )
    # Rows are channel-major (all red, then green, then blue); images are (H, W, channels).
    X = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # (N, 32, 32, 3)
    return np.ascontiguousarray(X), np.asarray(labels, dtype=np.int64)


def load_CIFAR10(root=None, dtype=np.uint8):
    """Load all of CIFAR-10.

    Parameters
    ----------
    root : str or os.PathLike, optional
        The ``cifar-10-batches-py`` folder; see :func:`cifar10_dir`.
    dtype : numpy dtype, default np.uint8
        The dtype of the images: ``np.uint8`` (pixels 0..255 as stored) or a
        floating dtype. CS231n's loader returns float64; pass
        ``dtype=np.float64`` for the same (50,000 float64 images take 1.2 GB,
        the uint8 ones 150 MB). Arithmetic such as ``X_train -= mean_image``
        needs floats: on uint8 it raises a casting error (or, for ``X - m``
        with an integer m, wraps around).

    Returns
    -------
    X_train : ndarray of shape (num_train, 32, 32, 3), dtype=uint8 or ``dtype``
    y_train : ndarray of shape (num_train,), dtype=int64
    X_test : ndarray of shape (num_test, 32, 32, 3), dtype=uint8 or ``dtype``
    y_test : ndarray of shape (num_test,), dtype=int64

    Raises
    ------
    FileNotFoundError
        If a batch file is missing; the message says how to fetch it.
    TypeError
        If ``dtype`` is neither uint8 nor a floating dtype.
    """
    dtype = _image_dtype(dtype)
    folder = cifar10_dir(root)
    missing = [name for name in CIFAR10_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"CIFAR-10 not found in {folder} (missing: {', '.join(missing)}). Fetch it with "
            f"`{DOWNLOAD_COMMAND}`, or set CIFAR10_DIR to a folder holding data_batch_1..5 "
            "and test_batch."
        )
    parts = [load_CIFAR_batch(folder / name) for name in CIFAR10_FILES[:5]]
    # One preallocated array instead of concatenating copies keeps the peak low.
    num_train = sum(len(y) for _, y in parts)
    X_train = np.empty((num_train,) + parts[0][0].shape[1:], dtype=dtype)
    y_train = np.empty(num_train, dtype=np.int64)
    start = 0
    while parts:
        X_b, y_b = parts.pop(0)
        X_train[start : start + len(y_b)] = X_b
        y_train[start : start + len(y_b)] = y_b
        start += len(y_b)
    X_test, y_test = load_CIFAR_batch(folder / "test_batch")
    return X_train, y_train, X_test.astype(dtype, copy=False), y_test


def _image_dtype(dtype):
    """``dtype`` as a numpy dtype, if it is one images can be returned in."""
    try:
        dtype = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be a numpy dtype such as np.float64, got {dtype!r}.") from exc
    if dtype != np.uint8 and dtype.kind != "f":
        raise TypeError(
            f"dtype must be np.uint8 (the stored pixels) or a floating dtype such as "
            f"np.float64, got {dtype}."
        )
    return dtype


def load_CIFAR10_class_names(root=None):
    """The class names from ``batches.meta``, or the standard ones if it is absent."""
    meta = cifar10_dir(root) / "batches.meta"
    if meta.is_file():
        with open(meta, "rb") as f:
            return list(pickle.load(f, encoding="latin1")["label_names"])
    return list(CIFAR10_CLASSES)


def load_digits(seed=0, num_test=297):
    """scikit-learn's handwritten digits, shaped like :func:`load_CIFAR10`.

    The 1,797 images are shuffled with ``seed`` and the last ``num_test`` kept
    as the test set.

    Returns
    -------
    X_train : ndarray of shape (num_train, 8, 8, 1), dtype=uint8
        Pixel values 0..16, as scanned.
    y_train : ndarray of shape (num_train,), dtype=int64
    X_test : ndarray of shape (num_test, 8, 8, 1), dtype=uint8
    y_test : ndarray of shape (num_test,), dtype=int64
    """
    pixels, labels = _digits_arrays()
    X = pixels.reshape(-1, 8, 8).astype(np.uint8)[..., None]  # (1797, 8, 8, 1)
    y = labels.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    num_test = as_positive_int(num_test, "num_test", len(y) - 1, "the number of digits - 1")
    train, test = order[:-num_test], order[-num_test:]
    return X[train], y[train], X[test], y[test]


def _digits_arrays():
    """The digits as (1797, 64) pixels and (1797,) labels.

    Read straight from the file scikit-learn ships, which takes milliseconds
    where importing ``sklearn.datasets`` takes a second or two (it counts in
    every graded notebook); through scikit-learn if that file is not where it
    used to be.
    """
    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec else None
    if path is not None and path.is_file():
        table = np.loadtxt(path, delimiter=",")  # (1797, 65): pixels, then the label
        if table.shape == (1797, 65):
            return table[:, :-1], table[:, -1]
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    return digits.data, digits.target


def preprocess_splits(
    X_train_all,
    y_train_all,
    X_test_all,
    y_test_all,
    num_training,
    num_validation,
    num_test,
    num_dev,
    subtract_mean=True,
    add_bias=True,
    dtype=np.float32,
    seed=0,
):
    """The standard split and preprocessing, shared by every dataset.

    Training examples are the first ``num_training`` images, validation the
    next ``num_validation``, test the first ``num_test`` test images, and dev a
    seeded random subset of ``num_dev`` training examples. Each image is
    flattened to a row; the mean training image is subtracted from every split
    and a column of ones (the bias trick) is appended.

    Returns
    -------
    data : dict
        ``X_train`` (num_training, D), ``y_train``, ``X_val``, ``y_val``,
        ``X_test``, ``y_test``, ``X_dev``, ``y_dev`` (X as ``dtype``, y as
        int64, D = H * W * channels + 1 with the bias); ``mean_image`` of shape
        (H, W, channels); ``image_shape`` (H, W, channels).
    """
    available = X_train_all.shape[0]
    num_training = as_positive_int(num_training, "num_training", available, "the training images")
    num_validation = as_positive_int(
        num_validation,
        "num_validation",
        available - num_training,
        f"the training images left after num_training={num_training}",
    )
    num_test = as_positive_int(num_test, "num_test", X_test_all.shape[0], "the test images")
    num_dev = as_positive_int(num_dev, "num_dev", num_training, "num_training")
    image_shape = tuple(X_train_all.shape[1:])
    pixels = int(np.prod(image_shape))

    def rows(images):
        # Build each split straight into its final float array: no float64 copy of
        # the whole dataset ever exists.
        out = np.empty((images.shape[0], pixels + int(add_bias)), dtype=dtype)  # (n, D)
        out[:, :pixels] = images.reshape(images.shape[0], pixels)
        if add_bias:
            out[:, pixels] = 1
        return out

    X_train = rows(X_train_all[:num_training])
    mean = X_train[:, :pixels].mean(axis=0, dtype=np.float64).astype(dtype)  # (pixels,)
    data = {
        "X_train": X_train,
        "y_train": y_train_all[:num_training].copy(),
        "X_val": rows(X_train_all[num_training : num_training + num_validation]),
        "y_val": y_train_all[num_training : num_training + num_validation].copy(),
        "X_test": rows(X_test_all[:num_test]),
        "y_test": y_test_all[:num_test].copy(),
    }
    if subtract_mean:
        for key in ("X_train", "X_val", "X_test"):
            data[key][:, :pixels] -= mean
    dev = np.random.default_rng(seed).choice(num_training, num_dev, replace=False)
    data["X_dev"], data["y_dev"] = X_train[dev], data["y_train"][dev]
    data["mean_image"] = mean.reshape(image_shape)
    data["image_shape"] = image_shape
    return data


def get_CIFAR10_data(
    num_training=49000,
    num_validation=1000,
    num_test=1000,
    num_dev=500,
    root=None,
    subtract_mean=True,
    add_bias=True,
    dtype=np.float32,
    seed=0,
    fit_to_available=False,
):
    """CIFAR-10, split and preprocessed for the linear classifiers.

    Parameters
    ----------
    num_training, num_validation, num_test, num_dev : int
        Split sizes (see :func:`preprocess_splits`).
    root : str or os.PathLike, optional
        See :func:`cifar10_dir`.
    subtract_mean, add_bias : bool
        Preprocessing steps.
    dtype : numpy dtype
        The dtype of the X arrays; float32 halves memory and time.
    seed : int
        Chooses the dev subset.
    fit_to_available : bool
        If the copy at hand holds fewer images than the sizes ask for (a 10%
        sample has 5,000 training and 1,000 test images), shrink
        ``num_training`` and ``num_test`` to fit instead of raising.

    Returns
    -------
    data : dict
        As :func:`preprocess_splits`, plus ``class_names`` and ``name``.
    """
    X_train, y_train, X_test, y_test = load_CIFAR10(root)
    if fit_to_available:
        num_training = min(num_training, X_train.shape[0] - num_validation)
        num_test = min(num_test, X_test.shape[0])
    data = preprocess_splits(
        X_train,
        y_train,
        X_test,
        y_test,
        num_training,
        num_validation,
        num_test,
        num_dev,
        subtract_mean=subtract_mean,
        add_bias=add_bias,
        dtype=dtype,
        seed=seed,
    )
    data["class_names"] = load_CIFAR10_class_names(root)
    data["name"] = "CIFAR-10"
    return data


def get_digits_data(
    num_training=1200,
    num_validation=300,
    num_test=297,
    num_dev=100,
    subtract_mean=True,
    add_bias=True,
    dtype=np.float32,
    seed=0,
):
    """The offline digits dataset, split and preprocessed like CIFAR-10.

    Same outputs as :func:`get_CIFAR10_data`, with 8x8x1 images (D = 65 with
    the bias) and class names "0".."9".
    """
    X_train, y_train, X_test, y_test = load_digits(seed=seed)
    data = preprocess_splits(
        X_train,
        y_train,
        X_test,
        y_test,
        num_training,
        num_validation,
        num_test,
        num_dev,
        subtract_mean=subtract_mean,
        add_bias=add_bias,
        dtype=dtype,
        seed=seed,
    )
    data["class_names"] = [str(c) for c in range(10)]
    data["name"] = "digits (offline)"
    return data


def load_images(dataset="auto", root=None):
    """Raw images of CIFAR-10 or the offline digits, whichever is wanted or available.

    Parameters
    ----------
    dataset : {"auto", "cifar10", "digits"}
        "auto" takes CIFAR-10 when its files are present, else the digits.
    root : str or os.PathLike, optional
        See :func:`cifar10_dir`.

    Returns
    -------
    images : dict
        ``X_train``, ``y_train``, ``X_test``, ``y_test`` as :func:`load_CIFAR10`,
        ``class_names``, and ``name``.
    """
    dataset = _choose(dataset, root)
    if dataset == "cifar10":
        X_train, y_train, X_test, y_test = load_CIFAR10(root)
        names, title = load_CIFAR10_class_names(root), "CIFAR-10"
    else:
        X_train, y_train, X_test, y_test = load_digits()
        names, title = [str(c) for c in range(10)], "digits (offline)"
    return {
        "X_train": X_train,
        "y_train": y_train,
        "X_test": X_test,
        "y_test": y_test,
        "class_names": names,
        "name": title,
    }


def get_data(dataset="auto", root=None, **split):
    """:func:`get_CIFAR10_data` or :func:`get_digits_data`, by name or availability.

    Parameters
    ----------
    dataset : {"auto", "cifar10", "digits"}
        "auto" takes CIFAR-10 when its files are present, else the digits.
    root : str or os.PathLike, optional
        See :func:`cifar10_dir`.
    **split
        Passed on (split sizes, dtype, seed, ...). With "auto", sizes meant
        for CIFAR-10 would not fit the digits, so they apply to CIFAR-10 only.
    """
    chosen = _choose(dataset, root)
    if chosen == "cifar10":
        return get_CIFAR10_data(root=root, **split)
    if dataset == "auto":
        split = {k: v for k, v in split.items() if not k.startswith("num_")}
    return get_digits_data(**split)


def _choose(dataset, root):
    if dataset not in ("auto", "cifar10", "digits"):
        raise ValueError(f"dataset must be 'auto', 'cifar10' or 'digits', got {dataset!r}.")
    if dataset == "auto":
        return "cifar10" if cifar10_available(root) else "digits"
    return dataset

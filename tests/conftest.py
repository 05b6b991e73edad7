"""Shared fixtures: seeded generators, small problems, and CIFAR-10 locations."""

import contextlib
import os
import pickle
import shutil
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")


@pytest.fixture
def rng():
    """A generator seeded per test, so tests do not depend on each other's draws."""
    return np.random.default_rng(1234)


def make_problem(rng, N=40, D=30, C=5, dtype=np.float64, scale=1.0):
    """Random (W, X, y) for a loss with N examples, D features and C classes."""
    W = (rng.standard_normal((D, C)) * 0.01 * scale).astype(dtype)
    X = (rng.standard_normal((N, D)) * 10).astype(dtype)
    y = rng.integers(0, C, size=N)
    return W, X, y


@pytest.fixture
def cifar_sample_dir():
    """The real CIFAR-10 sample named by CIFAR10_DIR; the test is skipped without it."""
    folder = os.environ.get("CIFAR10_DIR")
    if not folder or not (Path(folder) / "data_batch_1").is_file():
        pytest.skip(
            "CIFAR-10 is not available: set CIFAR10_DIR to a cifar-10-batches-py folder "
            "(CI points it at the shared 10% sample)."
        )
    return Path(folder)


def write_cifar_fixture(folder, images_per_batch=6, seed=0):
    """Write a tiny CIFAR-10 in the original python-pickle layout; return its arrays.

    Returns
    -------
    (X_train, y_train, X_test, y_test) with images of shape (N, 32, 32, 3), uint8,
    built independently of the loader (channel-major rows are made here by hand).
    """
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for name in [f"data_batch_{b}" for b in range(1, 6)] + ["test_batch"]:
        images = rng.integers(0, 256, size=(images_per_batch, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, 10, size=images_per_batch).tolist()
        rows = np.stack(
            [np.concatenate([img[:, :, ch].ravel() for ch in range(3)]) for img in images]
        )
        with open(folder / name, "wb") as f:
            pickle.dump({"data": rows, "labels": labels, "batch_label": name}, f)
        arrays[name] = (images, np.array(labels))
    with open(folder / "batches.meta", "wb") as f:
        names = [
            "airplane",
            "automobile",
            "bird",
            "cat",
            "deer",
            "dog",
            "frog",
            "horse",
            "ship",
            "truck",
        ]
        pickle.dump({"label_names": names, "num_vis": 3072}, f)
    X_train = np.concatenate([arrays[f"data_batch_{b}"][0] for b in range(1, 6)])
    y_train = np.concatenate([arrays[f"data_batch_{b}"][1] for b in range(1, 6)])
    return X_train, y_train, arrays["test_batch"][0], arrays["test_batch"][1]


@pytest.fixture(scope="session")
def prepared_work(tmp_path_factory):
    """The grader's release and template course (``autograde.prepare``), built once per run.

    Several modules grade against the same release; building it takes ten seconds or more
    of CPU each time. Read it only: :func:`work_folder` gives a test a work folder of its
    own (autograde writes its intake folders into the work folder it is given).
    """
    from grading import autograde as ag

    work = tmp_path_factory.mktemp("prepared") / "work"
    ag.prepare(work)
    return work


def work_folder(prepared, dest):
    """A new work folder ``dest`` whose release and template course are ``prepared``'s.

    What ``autograde.autograde(..., work_dir=dest)`` then writes (intake folders, results)
    lands in ``dest``; the shared release and template are only read.
    """
    dest = Path(dest)
    dest.mkdir(parents=True)
    for name in ("release", "course"):
        (dest / name).symlink_to(Path(prepared) / name, target_is_directory=True)
    return dest


@pytest.fixture
def browser():
    """Headless Chromium from the distribution, driven by its own chromedriver (no download).

    Skips, saying why, where they are absent (.ci/run installs them as root).
    """
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip(
            "no Chromium and chromedriver on PATH (Debian/Ubuntu: apt-get install chromium "
            "chromium-driver); the browser tests need them"
        )
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    try:
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    except Exception as exc:  # a browser that cannot start here (no /dev/shm, a broken install)
        pytest.skip(f"Chromium did not start: {str(exc).splitlines()[0][:200]}")
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


@contextlib.contextmanager
def forced_backend(name):
    """Grade on isolation backend ``name``, forced through its variable (so the workers use it
    too) and restored after; a backend that cannot start here skips with the reason."""
    from grading import isolation

    old = os.environ.get(isolation.FORCE_VARIABLE)
    os.environ[isolation.FORCE_VARIABLE] = name
    try:
        try:
            isolation.choose()
        except isolation.BackendUnavailableError as exc:
            pytest.skip(str(exc))
        yield
    finally:
        if old is None:
            os.environ.pop(isolation.FORCE_VARIABLE, None)
        else:
            os.environ[isolation.FORCE_VARIABLE] = old

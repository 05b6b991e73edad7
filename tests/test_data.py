"""Do the loaders read the CIFAR-10 format right and split it as documented?"""

import numpy as np
import pytest
from conftest import write_cifar_fixture

from cs_loss import get_CIFAR10_data, get_data, get_digits_data, load_CIFAR10, load_digits
from cs_loss.data import cifar10_dir, load_CIFAR10_class_names

SPLIT_KEYS = {"X_train", "y_train", "X_val", "y_val", "X_test", "y_test", "X_dev", "y_dev"}


@pytest.fixture
def fixture_dir(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    return folder, write_cifar_fixture(folder)


def test_loader_restores_images_and_labels(fixture_dir):
    folder, (X_train, y_train, X_test, y_test) = fixture_dir
    loaded = load_CIFAR10(folder)
    assert loaded[0].shape == (30, 32, 32, 3) and loaded[0].dtype == np.uint8
    for got, expected in zip(loaded, (X_train, y_train, X_test, y_test), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_class_names_come_from_batches_meta(fixture_dir):
    folder, _ = fixture_dir
    assert load_CIFAR10_class_names(folder)[1] == "automobile"


def test_location_comes_from_argument_then_environment(fixture_dir, monkeypatch, tmp_path):
    folder, _ = fixture_dir
    monkeypatch.setenv("CIFAR10_DIR", str(folder))
    assert cifar10_dir() == folder
    assert cifar10_dir(tmp_path) == tmp_path
    monkeypatch.delenv("CIFAR10_DIR")
    assert cifar10_dir().parts[-2:] == ("data", "cifar-10-batches-py")


def test_missing_dataset_says_how_to_fetch_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"python data/get_datasets.py.*CIFAR10_DIR"):
        load_CIFAR10(tmp_path)


def test_corrupt_batch_is_reported(fixture_dir):
    folder, _ = fixture_dir
    import pickle

    with open(folder / "data_batch_3", "wb") as f:
        pickle.dump([1, 2, 3], f)
    with pytest.raises(ValueError, match="data_batch_3 is not a CIFAR-10 python batch"):
        load_CIFAR10(folder)


def test_split_sizes_mean_and_bias(fixture_dir):
    folder, (X_train, y_train, X_test, y_test) = fixture_dir
    data = get_CIFAR10_data(20, 5, 4, 3, root=folder)
    assert SPLIT_KEYS <= set(data)
    assert data["X_train"].shape == (20, 3073) and data["X_train"].dtype == np.float32
    assert data["X_val"].shape == (5, 3073) and data["X_test"].shape == (4, 3073)
    assert data["X_dev"].shape == (3, 3073)
    np.testing.assert_array_equal(data["y_val"], y_train[20:25])
    np.testing.assert_array_equal(data["y_test"], y_test[:4])
    for key in ("X_train", "X_val", "X_test", "X_dev"):
        assert (data[key][:, -1] == 1).all()  # the bias column
    mean = X_train[:20].reshape(20, -1).astype(np.float64).mean(axis=0)
    np.testing.assert_allclose(data["mean_image"].ravel(), mean, rtol=1e-6)
    np.testing.assert_allclose(
        data["X_val"][:, :-1], X_train[20:25].reshape(5, -1) - mean, atol=1e-3
    )
    np.testing.assert_allclose(data["X_train"][:, :-1].mean(axis=0), 0, atol=1e-3)
    assert data["image_shape"] == (32, 32, 3)


def test_dev_subset_is_seeded_and_drawn_from_training(fixture_dir):
    folder, _ = fixture_dir
    a = get_CIFAR10_data(20, 5, 4, 6, root=folder, seed=7)
    b = get_CIFAR10_data(20, 5, 4, 6, root=folder, seed=7)
    np.testing.assert_array_equal(a["X_dev"], b["X_dev"])
    rows = {row.tobytes() for row in a["X_train"]}
    assert all(row.tobytes() in rows for row in a["X_dev"])


def test_split_sizes_are_validated(fixture_dir):
    folder, _ = fixture_dir
    with pytest.raises(
        ValueError, match=r"num_training=31 is larger than the training images \(30\)"
    ):
        get_CIFAR10_data(31, 5, 4, 3, root=folder)
    with pytest.raises(
        ValueError, match="num_validation=11 is larger than the training images left"
    ):
        get_CIFAR10_data(20, 11, 4, 3, root=folder)
    with pytest.raises(ValueError, match=r"num_dev=21 is larger than num_training \(20\)"):
        get_CIFAR10_data(20, 5, 4, 21, root=folder)


def test_digits_are_served_like_cifar():
    X_train, y_train, X_test, y_test = load_digits()
    assert X_train.shape[1:] == (8, 8, 1) and X_train.dtype == np.uint8
    assert len(X_train) + len(X_test) == 1797 and X_test.shape[0] == 297
    assert set(np.unique(y_train)) == set(range(10))
    data = get_digits_data()
    assert SPLIT_KEYS <= set(data)
    assert data["X_train"].shape == (1200, 65)
    assert data["image_shape"] == (8, 8, 1) and len(data["class_names"]) == 10


def test_auto_falls_back_to_digits_without_cifar(monkeypatch, tmp_path):
    monkeypatch.setenv("CIFAR10_DIR", str(tmp_path))
    data = get_data("auto", num_training=49000, num_validation=1000)
    assert data["name"].startswith("digits")


def test_auto_prefers_cifar(fixture_dir):
    folder, _ = fixture_dir
    data = get_data("auto", root=folder, num_training=20, num_validation=5, num_test=4, num_dev=2)
    assert data["name"] == "CIFAR-10"


def test_unknown_dataset_name():
    with pytest.raises(
        ValueError, match="dataset must be 'auto', 'cifar10' or 'digits', got 'mnist'"
    ):
        get_data("mnist")


@pytest.mark.cifar
def test_real_cifar_sample(cifar_sample_dir):
    X_train, y_train, X_test, y_test = load_CIFAR10(cifar_sample_dir)
    assert X_train.shape == (5000, 32, 32, 3) and X_test.shape == (1000, 32, 32, 3)
    assert set(np.unique(y_train)) == set(range(10))
    # Real photographs: bright skies and dark shadows, not noise.
    assert 80 < X_train.mean() < 180 and X_train.std() > 40
    data = get_CIFAR10_data(4000, 1000, 1000, 500, root=cifar_sample_dir)
    assert data["X_train"].shape == (4000, 3073)
    assert data["class_names"][0] == "airplane"


def test_sizes_shrink_to_a_partial_copy_when_asked(fixture_dir):
    folder, _ = fixture_dir
    data = get_CIFAR10_data(49000, 5, 1000, 3, root=folder, fit_to_available=True)
    assert data["X_train"].shape[0] == 25 and data["X_val"].shape[0] == 5
    assert data["X_test"].shape[0] == 6


def test_digits_fast_path_equals_scikit_learn():
    from sklearn.datasets import load_digits as sklearn_digits

    from cs_loss.data import _digits_arrays

    pixels, labels = _digits_arrays()
    digits = sklearn_digits()
    np.testing.assert_array_equal(pixels, digits.data)
    np.testing.assert_array_equal(labels, digits.target)


def test_images_are_uint8_unless_a_float_dtype_is_asked_for(fixture_dir):
    """CS231n's loader returns float64; dtype=np.float64 gives the same, uint8 is the default."""
    folder, (X_train, _, X_test, _) = fixture_dir
    raw = load_CIFAR10(folder)
    assert raw[0].dtype == np.uint8 and raw[2].dtype == np.uint8
    X_train_f, y_train_f, X_test_f, _ = load_CIFAR10(folder, dtype=np.float64)
    assert X_train_f.dtype == np.float64 and X_test_f.dtype == np.float64
    np.testing.assert_array_equal(X_train_f, X_train.astype(np.float64))
    np.testing.assert_array_equal(X_test_f, X_test.astype(np.float64))
    assert y_train_f.dtype == np.int64
    # The CS231n preprocessing line works on floats, and fails loudly on uint8.
    mean_image = np.mean(X_train_f, axis=0)
    X_train_f -= mean_image
    np.testing.assert_allclose(X_train_f.mean(axis=0), 0, atol=1e-9)
    with pytest.raises(TypeError, match="Cannot cast"):  # numpy's UFuncTypeError
        raw[0].__isub__(mean_image)
    assert load_CIFAR10(folder, dtype="float32")[0].dtype == np.float32


@pytest.mark.parametrize("dtype", [np.int64, bool, "pixels"])
def test_image_dtype_must_be_uint8_or_floating(fixture_dir, dtype):
    folder, _ = fixture_dir
    with pytest.raises(TypeError, match="dtype must be"):
        load_CIFAR10(folder, dtype=dtype)

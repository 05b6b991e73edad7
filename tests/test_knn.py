"""Do the kNN distances and votes agree with each other, with scikit-learn and with CIFAR-10?"""

import numpy as np
import pytest
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.neighbors import KNeighborsClassifier

from cs_loss import KNearestNeighbor, NotFittedError, load_CIFAR10


@pytest.fixture
def fitted(rng):
    X_train = rng.standard_normal((60, 20))
    y_train = rng.integers(0, 4, size=60)
    X_test = rng.standard_normal((15, 20))
    return KNearestNeighbor().train(X_train, y_train), X_train, y_train, X_test


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_three_distance_functions_agree_with_sklearn(dtype, rng):
    X_train = (rng.standard_normal((50, 30)) * 20).astype(dtype)
    X_test = (rng.standard_normal((12, 30)) * 20).astype(dtype)
    knn = KNearestNeighbor().train(X_train, rng.integers(0, 3, size=50))
    expected = euclidean_distances(X_test.astype(np.float64), X_train.astype(np.float64))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    for method in (
        knn.compute_distances_two_loops,
        knn.compute_distances_one_loop,
        knn.compute_distances_no_loops,
    ):
        dists = method(X_test)
        assert dists.shape == (12, 50)
        np.testing.assert_allclose(dists, expected, rtol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coincident_and_near_coincident_points_give_no_nan(dtype, seed):
    """Rounding in ||x||^2 - 2x.t + ||t||^2 can go below 0: sqrt must never see it.

    Training points are test points, or test points moved by 1e-6 (about the
    size of the expansion's rounding, so their squared distances can round
    either way). Distances of 0 must come out tiny: the expansion cannot
    resolve distances below about sqrt(eps) * ||x||, so that is the bound.
    """
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((8, 3072)) * 100).astype(dtype)  # non-integer pixels
    near = (X + rng.standard_normal(X.shape) * 1e-6).astype(dtype)
    X_train = np.concatenate([X, near])  # (16, 3072)
    knn = KNearestNeighbor().train(X_train, np.arange(16))
    dists = knn.compute_distances_no_loops(X)  # (8, 16)
    assert np.isfinite(dists).all() and (dists >= 0).all()
    norms = np.linalg.norm(X.astype(np.float64), axis=1)
    resolution = 4 * np.sqrt(np.finfo(dtype).eps) * norms  # (8,)
    assert (np.diag(dists[:, :8]) <= resolution).all()
    assert (np.diag(dists[:, 8:]) <= resolution + 1e-3).all()


def test_coincident_points_with_exact_sums_are_at_distance_exactly_zero():
    """Where every product and sum is exact (quarters, few features) the diagonal is 0.0."""
    X = np.array([[0.25, -1.5, 3.75], [2.5, 0.5, -0.25], [-4.0, 1.25, 0.75]])
    knn = KNearestNeighbor().train(X, np.arange(3))
    dists = knn.compute_distances_no_loops(X.copy())
    assert (np.diag(dists) == 0.0).all()
    np.testing.assert_allclose(dists, euclidean_distances(X, X), atol=1e-12)


def test_uint8_pixels_do_not_wrap_around():
    """3 - 250 in uint8 is 9, not -247: raw images must still give true distances."""
    X_train = np.array([[250, 0]], dtype=np.uint8)
    X_test = np.array([[3, 0]], dtype=np.uint8)
    knn = KNearestNeighbor().train(X_train, np.array([0]))
    for method in (
        knn.compute_distances_two_loops,
        knn.compute_distances_one_loop,
        knn.compute_distances_no_loops,
    ):
        assert method(X_test)[0, 0] == pytest.approx(247.0)


def test_vote_ties_go_to_the_smaller_label():
    knn = KNearestNeighbor().train(np.zeros((4, 1)), np.array([3, 1, 1, 3]))
    # Row 0: neighbours labelled 3 and 1 (one vote each) -> 1.
    # Row 1: all four vote, two each -> 1.  Row 2: k=1, the nearest is label 3.
    dists = np.array([[0.1, 0.2, 9.0, 9.0], [1.0, 1.0, 1.0, 1.0], [0.0, 5.0, 5.0, 5.0]])
    assert knn.predict_labels(dists[:2], k=2)[0] == 1
    assert knn.predict_labels(dists[1:2], k=4)[0] == 1
    assert knn.predict_labels(dists[2:], k=1)[0] == 3


def test_majority_wins_over_the_nearest():
    knn = KNearestNeighbor().train(np.zeros((3, 1)), np.array([0, 2, 2]))
    assert knn.predict_labels(np.array([[0.0, 1.0, 2.0]]), k=3)[0] == 2


@pytest.mark.parametrize("seed", [0, 1])
def test_ties_among_ten_classes_go_to_the_smaller_label(seed):
    """Every ordered two-way tie among labels 0..9 (and a three-way one for each), with the
    tied labels' neighbours in random order of distance, goes to the smaller label."""
    rng = np.random.default_rng(seed)
    y_train = np.repeat(np.arange(10), 3)  # label c at training indices 3c, 3c+1, 3c+2

    def dists_for(neighbour_labels):
        row = np.full(len(y_train), 100.0)
        used = {}
        for rank, label in enumerate(neighbour_labels):
            row[3 * label + used.get(label, 0)] = 1.0 + rank  # the rank-th nearest
            used[label] = used.get(label, 0) + 1
        return row

    knn = KNearestNeighbor().train(np.zeros((30, 1)), y_train)
    pairs = [(a, b) for a in range(10) for b in range(10) if a != b]
    two_way = [rng.permutation([a, b, b, a]) for a, b in pairs]
    three_way = [
        rng.permutation([a, b, rng.choice(sorted(set(range(10)) - {a, b}))]) for a, b in pairs
    ]
    for rows, k in ((two_way, 4), (three_way, 3)):
        dists = np.stack([dists_for(r) for r in rows])  # (90, 30)
        np.testing.assert_array_equal(knn.predict_labels(dists, k=k), [min(r) for r in rows])


@pytest.mark.parametrize("k", [1, 3, 5, 8])
def test_predictions_match_sklearn(k, rng):
    X_train = rng.standard_normal((200, 10))
    y_train = rng.integers(0, 5, size=200)
    X_test = rng.standard_normal((50, 10))
    ours = KNearestNeighbor().train(X_train, y_train).predict(X_test, k=k)
    theirs = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(X_train, y_train)
    np.testing.assert_array_equal(ours, theirs.predict(X_test))


@pytest.mark.parametrize("num_loops", [0, 1, 2])
def test_num_loops_choose_equivalent_paths(fitted, num_loops):
    knn, _, _, X_test = fitted
    np.testing.assert_array_equal(
        knn.predict(X_test, k=3, num_loops=num_loops), knn.predict(X_test, k=3)
    )


def test_permuting_test_rows_permutes_predictions(fitted, rng):
    knn, _, _, X_test = fitted
    perm = rng.permutation(len(X_test))
    np.testing.assert_array_equal(knn.predict(X_test[perm], k=5), knn.predict(X_test, k=5)[perm])


def test_batchwise_prediction_equals_whole(fitted):
    knn, _, _, X_test = fitted
    parts = [knn.predict(X_test[i : i + 4], k=3) for i in range(0, len(X_test), 4)]
    np.testing.assert_array_equal(np.concatenate(parts), knn.predict(X_test, k=3))


def test_k_equal_to_num_train_votes_over_everything(fitted):
    knn, _, y_train, X_test = fitted
    majority = np.bincount(y_train).argmax()
    assert (knn.predict(X_test, k=len(y_train)) == majority).all()


def test_predictions_are_integer_labels(fitted):
    knn, _, _, X_test = fitted
    y_pred = knn.predict(X_test)
    assert y_pred.dtype == np.int64 and y_pred.shape == (len(X_test),)


def test_errors_name_the_argument(fitted):
    knn, X_train, _, X_test = fitted
    with pytest.raises(NotFittedError, match=r"call train\(X_train, y_train\)"):
        KNearestNeighbor().predict(X_test)
    with pytest.raises(NotFittedError, match="train"):
        KNearestNeighbor().compute_distances_no_loops(X_test)
    with pytest.raises(
        ValueError, match=r"k=61 is larger than the number of training examples \(60\)"
    ):
        knn.predict(X_test, k=61)
    with pytest.raises(ValueError, match="k must be >= 1, got 0"):
        knn.predict(X_test, k=0)
    with pytest.raises(TypeError, match="k must be an integer, got float 2.5"):
        knn.predict(X_test, k=2.5)
    with pytest.raises(ValueError, match="X has 19 columns but the training data has 20"):
        knn.predict(X_test[:, 1:])
    with pytest.raises(ValueError, match="num_loops must be 0, 1 or 2, got 3"):
        knn.predict(X_test, num_loops=3)
    with pytest.raises(ValueError, match=r"dists has 5 columns but there are 60 training"):
        knn.predict_labels(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="y has 59 labels but X has 60 rows"):
        KNearestNeighbor().train(X_train, np.zeros(59, dtype=int))
    with pytest.raises(ValueError, match="flatten the images"):
        KNearestNeighbor().train(np.zeros((2, 4, 4, 3)), np.zeros(2, dtype=int))


@pytest.mark.cifar
@pytest.mark.slow
def test_k1_on_cifar_sample_is_near_published_27_percent(cifar_sample_dir):
    """CS231n reports about 27% for k = 1 on 5,000 training / 500 test images."""
    X_train, y_train, X_test, y_test = load_CIFAR10(cifar_sample_dir)
    assert X_train.shape == (5000, 32, 32, 3) and X_test.shape == (1000, 32, 32, 3)
    knn = KNearestNeighbor().train(X_train.reshape(5000, -1), y_train)
    accuracy = np.mean(knn.predict(X_test.reshape(1000, -1), k=1) == y_test)
    assert 0.23 <= accuracy <= 0.31, accuracy

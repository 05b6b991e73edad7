"""Do the plotting helpers draw on the given axes and normalise as documented?"""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from cs_loss import vis


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_weight_templates_share_one_scale(rng):
    W = rng.standard_normal((3 * 2 * 2 + 1, 4))
    templates = vis.weight_templates(W, (2, 2, 3))
    assert templates.shape == (4, 2, 2, 3)
    assert templates.min() == 0 and templates.max() == 1
    # The bias row is dropped and each template keeps the order of its pixels.
    flat = W[:-1]
    expected = (flat[:, 2] - flat.min()) / (flat.max() - flat.min())
    np.testing.assert_allclose(templates[2].ravel(), expected)


def test_weight_templates_reject_a_wrong_shape():
    with pytest.raises(ValueError, match=r"W has 10 rows but images of shape \(2, 2, 3\) have 12"):
        vis.weight_templates(np.zeros((10, 3)), (2, 2, 3))


def test_confusion_matrix_matches_sklearn(rng):
    y_true, y_pred = rng.integers(0, 4, 100), rng.integers(0, 4, 100)
    np.testing.assert_array_equal(
        vis.confusion_matrix(y_true, y_pred, 4),
        sk_confusion_matrix(y_true, y_pred, labels=range(4)),
    )


def test_plots_draw_on_the_given_axes(rng):
    _, axes = plt.subplots(2, 3)
    ax = axes.ravel()
    assert vis.plot_distances(rng.random((5, 8)), ax=ax[0]) is ax[0]
    assert vis.plot_loss_history([3, 2, 1], ax=ax[1]).lines
    assert vis.plot_cross_validation({1: [0.2, 0.3], 3: [0.25, 0.28]}, ax=ax[2]) is ax[2]
    results = {(1e-7, 1e4): (0.3, 0.28), (1e-6, 1e4): None}
    assert vis.plot_hyperparameter_map(results, ax=ax[3]).get_xscale() == "log"
    assert vis.plot_confusion_matrix([0, 1, 1], [0, 1, 0], ["a", "b"], ax=ax[4]) is ax[4]
    X = rng.standard_normal((20, 2))
    drawn = vis.plot_decision_regions(
        lambda g: (g[:, 0] > 0).astype(int), X, (X[:, 0] > 0).astype(int), ax=ax[5], resolution=20
    )
    assert drawn is ax[5]


def test_image_grids(rng):
    X = rng.integers(0, 256, size=(30, 4, 4, 3), dtype=np.uint8)
    y = np.arange(30) % 3
    fig = vis.plot_class_samples(X, y, ["a", "b", "c"], samples_per_class=2)
    assert len(fig.axes) == 6
    fig = vis.plot_weight_templates(rng.standard_normal((17, 3)), (4, 4, 1), ["a", "b", "c"])
    assert len(fig.axes) == 3

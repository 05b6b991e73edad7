"""Known mistakes with NaN or infinite outputs are named by where and of which kind those are.

Regression: ``no_loops_no_clip`` (no clip before the square root of the expanded square) was
named only when its NaN cells were exactly the catalogue's. Which of the identical rows' cells
cancel to a tiny negative number depends on the BLAS build's rounding, so on another machine
the same mistake lost points unnamed and ``python -m grading check`` failed.
"""

import numpy as np
import pytest

from grading import diagnosis, package

TEST = "knn_distances_no_loops_robust"  # where the NaN cells are since issue 17
KEY = f"{TEST}/dists"


@pytest.fixture(scope="module")
def outputs():
    with np.load(package.EXPECTED) as stored:
        expected = {k: stored[k] for k in stored.files if k.startswith(TEST + "/")}
    known = diagnosis.load_mistakes()
    return expected, known, known["arrays"][f"no_loops_no_clip/{KEY}"]


def names(lines):
    return [line.split("`")[1] for line in lines if line.startswith("known mistake `")]


def diagnosed(expected, known, dists):
    return names(diagnosis.diagnose(TEST, {KEY: dists}, expected, [], known))


def test_the_catalogue_output_itself_is_named(outputs):
    expected, known, theirs = outputs
    assert diagnosed(expected, known, theirs.copy()) == ["no_loops_no_clip"]


def test_nan_at_other_cells_whose_distance_is_zero_is_still_named(outputs):
    expected, known, theirs = outputs
    zero = np.argwhere(expected[KEY] == 0)
    assert len(zero) > 3
    got = np.where(np.isnan(theirs), 0.0, theirs)  # this BLAS rounds those to zero...
    got[tuple(zero[0])] = np.nan  # ...and these two to a tiny negative number
    got[tuple(zero[1])] = np.nan
    assert not np.array_equal(np.isnan(got), np.isnan(theirs))
    assert diagnosed(expected, known, got) == ["no_loops_no_clip"]


def test_nan_where_the_distance_is_not_zero_is_not_that_mistake(outputs):
    expected, known, theirs = outputs
    got = np.where(np.isnan(theirs), 0.0, theirs)
    got[np.unravel_index(np.argmax(expected[KEY]), got.shape)] = np.nan
    assert "no_loops_no_clip" not in diagnosed(expected, known, got)


def test_infinity_is_not_taken_for_nan(outputs):
    expected, known, theirs = outputs
    got = np.where(np.isnan(theirs), np.inf, theirs)
    assert "no_loops_no_clip" not in diagnosed(expected, known, got)


@pytest.mark.parametrize(
    "got, theirs, match",
    [
        ([np.inf, 1.0], [np.inf, 1.0], True),
        ([-np.inf, 1.0], [np.inf, 1.0], False),  # the sign of an infinite loss tells mistakes apart
        ([np.nan, 1.0], [np.inf, 1.0], False),
        ([1.0, np.inf], [np.inf, 1.0], False),  # right values far from zero: the cells must agree
        ([2.0, 1.0], [np.inf, 1.0], False),
    ],
)
def test_non_finite_values_match_by_kind_and_place(got, theirs, match):
    expected = np.array([3.0, 1.0])
    assert diagnosis.mistake_match(np.array(got), np.array(theirs), expected) is match

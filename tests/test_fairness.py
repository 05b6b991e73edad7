"""The grader's precision and recall on real-style code.

Every correct-but-different variant (grading/mistakes.py CORRECT) gets full
package marks; every known mistake (MISTAKES) loses points and is named in the
output of a test it fails; no output quotes an expected value. Each variant runs
in a child process on the test groups its region affects only.
"""

import json
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from grading import build, diagnosis, mistakes, package


def test_catalogue_is_consistent():
    assert mistakes.verify_catalogue() == []


def test_catalogue_and_corpus_sizes():
    regions = {v.region for v in mistakes.CORRECT}
    assert len(mistakes.MISTAKES) >= 22 and len(regions) == 11
    assert all(sum(v.region == r for v in mistakes.CORRECT) >= 3 for r in regions)


@pytest.fixture(scope="module")
def expected():
    with np.load(package.EXPECTED, allow_pickle=False) as saved:
        return {key: saved[key] for key in saved.files}


def _score_all(variants, expected):
    known = diagnosis.load_mistakes()
    with tempfile.TemporaryDirectory(prefix="fairness_") as tmp:
        with ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(lambda v: build.run_variant(v, tmp), variants))
    scored = {}
    for variant, (arrays, statuses) in zip(variants, runs, strict=True):
        results = package.score(arrays, statuses, expected, known)
        scored[variant.name] = [r for r in results if r.name in statuses]
    return scored


@pytest.fixture(scope="module")
def correct_results(expected):
    return _score_all(mistakes.CORRECT, expected)


@pytest.fixture(scope="module")
def mistake_results(expected):
    return _score_all(mistakes.MISTAKES, expected)


@pytest.mark.slow
@pytest.mark.parametrize("variant", mistakes.CORRECT, ids=lambda v: v.name)
def test_correct_variant_gets_full_marks(variant, correct_results):
    results = correct_results[variant.name]
    assert results, "no hidden test ran"
    lost = {r.name: r.output for r in results if r.score < r.max_score}
    assert lost == {}


@pytest.mark.slow
@pytest.mark.parametrize("variant", mistakes.MISTAKES, ids=lambda v: v.name)
def test_mistake_loses_points_and_is_named(variant, mistake_results):
    failing = [r for r in mistake_results[variant.name] if r.score < r.max_score]
    assert failing, "the mistake gets full marks"
    assert any(f"`{variant.name}`" in r.output and variant.diagnosis in r.output for r in failing)
    # the record the class report counts names exactly the mistakes the output names, in order
    assert any(variant.name in r.mistakes for r in failing)
    for r in failing:
        assert list(r.mistakes) == re.findall(r"known mistake `([^`]+)`: ", r.output), r.name


def _expected_texts(expected):
    """Expected floats, written the ways feedback could write them."""
    texts = set()
    for value in expected.values():
        if value.dtype.kind != "f":
            continue
        for v in value.ravel()[:50]:
            if abs(v) > 1e-3 and v != round(v):
                texts |= {f"{v:.5g}", f"{v:.6g}", repr(float(v))}
    return texts


@pytest.mark.slow
def test_no_feedback_quotes_an_expected_value(expected, mistake_results, correct_results):
    texts = _expected_texts(expected)
    assert texts
    for results in [*mistake_results.values(), *correct_results.values()]:
        for r in results:
            assert not [t for t in texts if t in r.output], (r.name, r.output)


@pytest.mark.slow
def test_stored_mistake_outputs_are_current(tmp_path):
    """grading/mistakes.npz and .json are what `python -m grading expected` makes today.

    Finite values to 1e-12 relatively and the grader's own absolute tolerance (see
    test_expected_values_match_the_reference_solution); NaN and inf by the rule the
    diagnosis matches them with (their kind, and their cells, where the right value is
    not zero), since which identical rows cancel below zero depends on the BLAS build.
    """
    build.make_expected(path=tmp_path / "expected.npz")
    atol = package.TOLERANCE["float64"][1]
    with (
        np.load(tmp_path / "mistakes.npz") as new,
        np.load(diagnosis.MISTAKES_NPZ) as stored,
        np.load(tmp_path / "expected.npz") as right,
    ):
        assert sorted(new.files) == sorted(stored.files)
        for key in new.files:
            fresh, kept = new[key], stored[key]
            finite = np.isfinite(fresh).all() and np.isfinite(kept).all()
            if fresh.dtype.kind == "f" and not finite:
                assert diagnosis.mistake_match(fresh, kept, right[key.split("/", 1)[1]]), key
                continue
            scale = float(np.max(np.abs(kept))) if kept.size and kept.dtype.kind == "f" else 0.0
            np.testing.assert_allclose(fresh, kept, rtol=1e-12, atol=atol * scale, err_msg=key)
    fresh = json.loads((tmp_path / "mistakes.json").read_text())
    assert fresh == json.loads(diagnosis.MISTAKES_JSON.read_text())


@pytest.mark.slow
def test_a_loss_returned_as_a_size_one_array_gets_full_marks(expected):
    """A naive softmax returning its loss as an array of shape (1,) is numerically right."""
    variant = mistakes.Variant(
        "softmax_loss_naive",
        "softmax_naive_array_loss",
        """
num_train = X.shape[0]
scores = X @ W
scores -= scores.max(axis=1, keepdims=True)
probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
loss = np.array([-np.log(probs[np.arange(num_train), y]).sum() / num_train + reg * np.sum(W * W)])
probs[np.arange(num_train), y] -= 1
dW = X.T @ probs / num_train + 2 * reg * W
""",
    )
    results = _score_all([variant], expected)[variant.name]
    if any("only 0-dimensional arrays" in r.output for r in results):
        pytest.skip("this kit's cs_loss/_validation.py does not yet accept a size-1 loss")
    lost = {r.name: r.output for r in results if r.score < r.max_score}
    # -log(p) is infinite on the huge-scores case: only that loss test may fail.
    assert set(lost) == {"softmax_naive_huge_scores_loss"}

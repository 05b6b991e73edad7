"""The hidden tests' inputs, value coercion and the grader's own checks, in process."""

import types

import numpy as np
import pytest

import cs_loss
from grading import behaviour, compare, package
from grading import hidden_tests as ht


def _fake_package(**functions):
    """A stand-in for a student's cs_loss: the reference with some names replaced."""
    fake = types.SimpleNamespace(
        **{name: getattr(cs_loss, name) for name in dir(cs_loss) if not name.startswith("_")}
    )
    for name, value in functions.items():
        setattr(fake, name, value)
    return fake


def _run(name, package_like):
    ht._LOSS_CACHE.clear()
    return ht.TESTS[name](package_like)


def test_test_names_are_unique_and_every_loss_case_has_separate_loss_and_grad_points():
    names = [case.name for case in package.TESTS]
    assert len(names) == len(set(names))
    for case, *_ in ht.LOSS_CASES:
        assert f"{case}_loss" in names and f"{case}_grad" in names


def test_the_child_runs_exactly_the_declared_cases():
    """Every declared case has its run in the child, and the child has no undeclared test."""
    assert sorted(ht.TESTS) == sorted(case.name for case in package.TESTS)


def test_each_case_needs_the_modules_of_its_targets():
    for case in package.TESTS:
        assert case.modules[0] == "_validation" and len(case.modules) == 2
        assert case.points > 0 and case.targets


@pytest.mark.parametrize(
    "loss",
    [
        np.array([1.25]),
        np.float64(1.25),
        np.float32(1.25),
        1.25,
        np.array(1.25),
        np.array([[1.25]]),
    ],
)
def test_a_number_in_any_reasonable_form_is_accepted(loss):
    got = ht.as_number(loss, "svm_loss_naive(W, X, y, reg)")
    assert got.shape == () and float(got) == 1.25


@pytest.mark.parametrize("loss", [None, np.zeros(3), "1.0"])
def test_a_non_number_is_named_in_the_students_terms(loss):
    message = r"^svm_loss_naive\(W, X, y, reg\) returned loss as"
    with pytest.raises(ht.StudentValueError, match=message):
        ht.as_number(loss, "svm_loss_naive(W, X, y, reg)")


def test_a_size_one_array_loss_reaches_the_grader_as_a_number():
    def returns_array(W, X, y, reg):
        loss, dW = cs_loss.svm_loss_vectorized(W, X, y, reg)
        return np.array([loss]), dW

    out = _run("svm_naive_reg_loss", _fake_package(svm_loss_naive=returns_array))
    assert out["loss"].shape == ()


def test_predict_labels_returning_none_says_so_without_kit_names():
    class NoneKNN(cs_loss.KNearestNeighbor):
        def predict_labels(self, dists, k=1):
            return None

    with pytest.raises(ht.StudentValueError) as info:
        _run("knn_predict_labels", _fake_package(KNearestNeighbor=NoneKNN))
    assert str(info.value) == (
        "predict_labels(dists, k=1) returned None; expected an array "
        "of integer labels of shape (25,)"
    )
    assert "k1" not in ht.describe(info.value)


def test_knn_data_have_ten_classes_and_coincident_float_points():
    X_train, y_train, X_test = ht._knn_data()
    assert set(y_train.tolist()) == set(range(10))
    assert not np.all(X_train == np.round(X_train))
    d2 = ((X_test[:, None, :] - X_train[None, :, :]) ** 2).sum(axis=2)
    nearest = np.sqrt(d2.min(axis=1))
    assert np.sum(nearest == 0) >= 5 and np.sum((nearest > 0) & (nearest < 1e-4)) >= 3
    # The expanded square without a clip must produce NaN on these data.
    with np.errstate(invalid="ignore"):
        unclipped = np.sqrt(
            (X_test**2).sum(1)[:, None] - 2 * X_test @ X_train.T + (X_train**2).sum(1)[None, :]
        )
    assert np.isnan(unclipped).any()


@pytest.mark.parametrize("patterns, k", [(ht.TIE_PAIRS, 2), (ht.TIE_TRIPLES, 3)])
def test_tie_rows_are_real_ties_with_larger_labels_nearer_in_some_rows(patterns, k):
    _X, y_train, _Xt = ht._knn_data()
    dists = ht._tie_dists(y_train, patterns, seed=0)
    for row, labels in zip(dists, patterns, strict=True):
        nearest = y_train[np.argsort(row)[:k]]
        assert list(nearest) == list(labels)  # in the pattern's order
        assert len(set(nearest.tolist())) == k  # every label one vote: a k-way tie
    assert any(labels[0] > min(labels) for labels in patterns)


def _recorded(seed=4):
    X, y = ht.train_data()
    return {f"t/{k}": v for k, v in ht._record_training(cs_loss, X, y, ht.TRAIN, seed).items()}


def test_a_correct_training_passes_the_behaviour_checks():
    arrays = _recorded()
    assert behaviour.check_train_batches(arrays, "t") == []
    assert behaviour.check_train_update(arrays, "t") == []
    X, y = ht.toy_data()
    toy = {f"t/{k}": v for k, v in ht._record_training(cs_loss, X, y, ht.TOY, 3).items()}
    assert behaviour.check_train_separable(toy, "t") == []


def test_wrong_labels_rows_and_steps_are_caught():
    arrays = _recorded()
    arrays["t/batch_y"] = (arrays["t/batch_y"] + 1) % 5
    assert [c for c, _ in behaviour.check_train_batches(arrays, "t")] == ["labels"]
    arrays = _recorded()
    arrays["t/batch_X"] = arrays["t/batch_X"] + 1e-3
    assert "not_rows" in [c for c, _ in behaviour.check_train_batches(arrays, "t")]
    arrays = _recorded()
    arrays["t/W_final"] = arrays["t/W_final"] + 1e-3
    assert [c for c, _ in behaviour.check_train_update(arrays, "t")] == ["unknown"]
    arrays = _recorded()
    arrays["t/history"] = arrays["t/history"][:-1]
    assert [c for c, _ in behaviour.check_train_update(arrays, "t")] == ["history_length"]


def test_float32_results_get_their_stated_tolerance_and_nan_is_named():
    expected = np.array([1.0, 2.0, 3.0])
    assert compare.compare(np.float32(expected * (1 + 3e-5)), expected) is None
    assert compare.compare(expected * (1 + 3e-5), expected) is not None
    assert compare.compare(np.array([1.0, np.nan, 3.0]), expected).startswith("contains NaN")


def test_score_names_a_known_mistake_and_relations_without_revealing_values():
    expected = {"svm_naive_reg_loss/loss": np.array(2.5), "svm_naive_reg_grad/dW": np.ones((2, 2))}
    got = {"svm_naive_reg_loss/loss": np.array(2.0), "svm_naive_reg_grad/dW": np.ones((2, 2))}
    # A mistake is named only when it explains every test of its region (issue 17).
    theirs = {"svm_naive_reg_loss/loss": np.array(2.0), "svm_naive_reg_grad/dW": np.ones((2, 2))}
    known = {"arrays": {f"svm_naive_half_reg/{k}": v for k, v in theirs.items()}, "codes": {}}
    statuses = {"svm_naive_reg_loss": {"ok": True}, "svm_naive_reg_grad": {"ok": True}}
    results = {r.name: r for r in package.score(got, statuses, expected, known)}
    assert results["svm_naive_reg_loss"].score == 0
    assert "svm_naive_half_reg" in results["svm_naive_reg_loss"].output
    got["svm_naive_reg_grad/dW"] = np.ones((2, 2)) * 30
    results = {r.name: r for r in package.score(got, statuses, expected, known)}
    assert "svm_naive_half_reg" not in results["svm_naive_reg_loss"].output
    assert "exactly N times" in results["svm_naive_reg_grad"].output
    for r in results.values():
        assert "2.5" not in r.output and "30" not in r.output.replace("30 examples", "")


def test_a_time_limit_stops_an_endless_loop_that_catches_exception():
    def stubborn():
        while True:
            try:
                sum(range(1000))
            except Exception:  # a student's catch-all must not swallow the limit
                pass

    with pytest.raises(ht.TimeLimit, match=r"the test x did not finish within 0.2 s"):
        with ht.time_limit(0.2, "the test x"):
            stubborn()
    with ht.time_limit(5, "quick"):  # a block that finishes leaves no alarm behind
        pass
    import signal

    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_an_import_failure_costs_only_the_tests_whose_modules_need_it():
    errors = {
        "svm": "cs_loss/svm.py could not be imported: TimeLimit: ...",
        "linear_classifier": "cs_loss/linear_classifier.py could not be imported, because "
        "cs_loss/svm.py could not",
    }
    needs = {case.name: case.modules for case in package.TESTS}
    assert ht.import_problems(needs["softmax_vectorized_reg_loss"], errors) == []
    assert ht.import_problems(needs["knn_predict_labels"], errors) == []
    assert ht.import_problems(needs["svm_naive_reg_loss"], errors) == [errors["svm"]]
    assert ht.import_problems(needs["linear_train_batches"], errors) == [
        errors["linear_classifier"]
    ]
    broken_validation = {"_validation": "cs_loss/_validation.py could not be imported"}
    assert ht.import_problems(needs["softmax_naive_reg_loss"], broken_validation) != []


def test_group_limits_cover_two_import_rounds_and_every_test():
    for group in package.GROUPS:
        tests = sum(1 for case in package.TESTS if case.group == group)
        assert package.group_timeout(group) > 2 * ht.IMPORT_SECONDS + tests * ht.TEST_SECONDS


def test_whole_numbers_stored_as_floats_are_labels_and_other_floats_are_not():
    got = ht.as_labels(np.array([1.0, 0.0, 9.0]), "predict_labels(dists, k=1)", 3)
    assert got.dtype == np.int64 and got.tolist() == [1, 0, 9]
    for bad in (np.array([1.5, 0.0, 9.0]), np.array([np.nan, 0.0, 1.0])):
        with pytest.raises(ht.StudentValueError, match="integer labels"):
            ht.as_labels(bad, "predict_labels(dists, k=1)", 3)


def test_a_loss_that_writes_into_its_inputs_is_told_so():
    def scales_W(W, X, y, reg):
        loss, dW = cs_loss.svm_loss_vectorized(W, X, y, reg)
        W *= 2
        return loss, dW

    with pytest.raises(ht.StudentValueError, match=r"changed its input W: a loss must leave"):
        _run("svm_vectorized_reg_loss", _fake_package(svm_loss_vectorized=scales_W))

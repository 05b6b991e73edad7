"""The hidden tests' inputs, value coercion and the grader's own checks, in process."""

import ast
import types
from pathlib import Path

import numpy as np
import pytest

import cs_loss
from grading import behaviour, compare, package, plan
from grading import hidden_tests as ht
from grading.topics import knn_inputs as knn
from grading.topics import linear_classifier


def _fake_package(**functions):
    """A stand-in for a student's cs_loss: the reference with some names replaced."""
    fake = types.SimpleNamespace(
        **{name: getattr(cs_loss, name) for name in dir(cs_loss) if not name.startswith("_")}
    )
    for name, value in functions.items():
        setattr(fake, name, value)
    return fake


def _run(name, package_like, made=None):
    """The planned test ``name`` run in process on ``package_like`` (as the child does)."""
    planned, arrays = plan.plan_of([name])
    test = planned["tests"][0]
    inputs = ht.Inputs(arrays, planned["numbers"].get(test["share"], {}), test["share"])
    return ht.run_test(test, package_like, inputs, {} if made is None else made)


def test_test_names_are_unique_and_every_loss_case_has_separate_loss_and_grad_points():
    names = [case.name for case in package.TESTS]
    assert len(names) == len(set(names))
    for case in package.TESTS:
        if case.calls[0].target.startswith(("svm_loss", "softmax_loss")):
            twin = case.name[: -len("_loss")] + "_grad" if case.name.endswith("_loss") else ""
            assert case.name.endswith("_grad") or twin in names


def test_loss_and_gradient_cases_share_one_call_and_earn_separate_points():
    shares = {}
    for case in package.TESTS:
        shares.setdefault(plan.share_of(case), []).append(case)
    pairs = [cases for cases in shares.values() if len(cases) > 1]
    assert len(pairs) == 10  # 2 svm x 2 settings + 2 softmax x 3 settings
    for loss, grad in pairs:
        assert (loss.exports, grad.exports) == (("loss",), ("dW",))
        assert loss.calls == grad.calls and loss.name.endswith("_loss")


def test_the_child_imports_no_kit_code_and_holds_no_test():
    """The child is generic: it imports only numpy, the standard library and its two
    companions, and names no case of the course (they are the grader's declarations)."""
    source = (Path(ht.__file__)).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0] if node.level == 0 else f".{node.module}")
    assert imported <= {
        "json",
        "sys",
        "pathlib",
        "types",
        "typing",
        "numpy",
        "__future__",
        "hidden_support",
        "proc_audit",
        ".None",
    }, imported
    for case in package.TESTS:
        assert case.name not in source
    for kit_name in ("svm_loss", "softmax", "KNearestNeighbor", "LinearSVM", "margins"):
        assert kit_name not in source


def test_every_case_plans_its_calls_on_inputs_it_declares():
    planned, arrays = plan.plan_of([case.name for case in package.TESTS])
    for test in planned["tests"]:
        known = set(planned["numbers"][test["share"]]) | {
            key.split("/", 1)[1] for key in arrays if key.startswith(test["share"] + "/")
        }
        for call in test["calls"]:
            used = set(call["args"]) | {name for _kw, name in call["kwargs"]}
            used |= {arg for step in call["setup"] for arg in step[1]}
            assert used <= known, (test["name"], used - known)
        outputs = {o["key"] for c in test["calls"] for o in c["returns"]}
        if not any(c["record"] for c in test["calls"]):
            assert set(test["exports"]) | set(test["checks"]) <= outputs


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
    data = knn.knn_data()
    X_train, y_train, X_test = data["X_train"], data["y_train"], data["X"]
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


@pytest.mark.parametrize("patterns, k", [(knn.TIE_PAIRS, 2), (knn.TIE_TRIPLES, 3)])
def test_tie_rows_are_real_ties_with_larger_labels_nearer_in_some_rows(patterns, k):
    y_train = knn.knn_data()["y_train"]
    dists = knn.tie_dists(y_train, patterns, seed=0)
    for row, labels in zip(dists, patterns, strict=True):
        nearest = y_train[np.argsort(row)[:k]]
        assert list(nearest) == list(labels)  # in the pattern's order
        assert len(set(nearest.tolist())) == k  # every label one vote: a k-way tie
    assert any(labels[0] > min(labels) for labels in patterns)


def _recorded(name="linear_train_batches"):
    return {f"{name}/{k}": v for k, v in _run(name, cs_loss).items()}


def test_a_correct_training_passes_the_behaviour_checks():
    arrays = _recorded()
    assert behaviour.check_train_batches(arrays, "linear_train_batches") == []
    arrays = _recorded("linear_train_update")
    assert behaviour.check_train_update(arrays, "linear_train_update") == []
    toy = _recorded("linear_train_separable")
    assert behaviour.check_train_separable(toy, "linear_train_separable") == []


def test_the_recording_loss_is_no_loss_of_the_course_and_its_gradient_is_exact():
    W, X, y = np.zeros((3, 4)) + 0.1, np.arange(15.0).reshape(5, 3), np.array([0, 1, 3, 3, 2])
    loss, dW = ht.recording_loss(W, X, y, 0.5)
    numeric = np.zeros_like(W)
    for index in np.ndindex(W.shape):
        step = np.zeros_like(W)
        step[index] = 1e-6
        numeric[index] = (ht.recording_loss(W + step, X, y, 0.5)[0] - loss) / 1e-6
    assert np.allclose(dW, numeric, atol=1e-4)
    assert not np.isclose(loss, cs_loss.svm_loss_vectorized(W, X, y, 0.5)[0])


def test_the_behaviour_checks_read_the_declared_training_settings():
    inputs = plan.inputs_of("linear_train_update")
    assert inputs["seed"] == 7 and inputs["num_iters"] == linear_classifier.TRAIN["num_iters"]
    arrays = _recorded("linear_train_update")
    assert len(arrays["linear_train_update/batch_sizes"]) == linear_classifier.TRAIN["num_iters"]


def test_wrong_labels_rows_and_steps_are_caught():
    t = "linear_train_batches"
    arrays = _recorded()
    arrays[f"{t}/batch_y"] = (arrays[f"{t}/batch_y"] + 1) % 5
    assert [c for c, _ in behaviour.check_train_batches(arrays, t)] == ["labels"]
    arrays = _recorded()
    arrays[f"{t}/batch_X"] = arrays[f"{t}/batch_X"] + 1e-3
    assert "not_rows" in [c for c, _ in behaviour.check_train_batches(arrays, t)]
    t = "linear_train_update"
    arrays = _recorded(t)
    arrays[f"{t}/W_final"] = arrays[f"{t}/W_final"] + 1e-3
    assert [c for c, _ in behaviour.check_train_update(arrays, t)] == ["unknown"]
    arrays = _recorded(t)
    arrays[f"{t}/history"] = arrays[f"{t}/history"][:-1]
    assert [c for c, _ in behaviour.check_train_update(arrays, t)] == ["history_length"]


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

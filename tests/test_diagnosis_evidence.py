"""Issue 17: diagnosis weighs all the evidence of a region, and a relation is stated only when
the numbers show it (classes 1, 2 and 6 of the issue's "Why", from stored outputs: fast)."""

import numpy as np
import pytest

from grading import behaviour, diagnosis, hidden_tests, package, plan, relations
from grading.topics import linear_classifier


@pytest.fixture(scope="module")
def stored():
    return package.load_expected(), diagnosis.load_mistakes()


def _outputs_of(mistake, known):
    """A known mistake's outputs on every test of its groups, as a student's."""
    prefix = mistake + "/"
    return {k[len(prefix) :]: v.copy() for k, v in known["arrays"].items() if k.startswith(prefix)}


def _names(test, got, stored):
    expected, known = stored
    return [v.name for v in diagnosis.matched_mistakes(test, got, expected, [], known)]


def test_a_single_wrong_number_is_not_called_a_constant_multiple(stored):
    expected, known = stored
    test = "svm_vectorized_reg_loss"
    got = dict(expected)
    got[f"{test}/loss"] = expected[f"{test}/loss"] * 1.7
    lines = diagnosis.diagnose(test, got, expected, [], known)
    assert not any("multiple" in line for line in lines)
    assert lines == []


def test_a_loss_missing_exactly_the_penalty_is_told_so(stored):
    expected, known = stored
    test = "svm_vectorized_reg_loss"
    got = dict(expected)
    W, _X, _y, reg = relations.loss_inputs(test)
    got[f"{test}/loss"] = expected[f"{test}/loss"] - reg * np.sum(W * W)
    assert _names(test, got, stored) == ["svm_vectorized_no_reg_loss"]  # in the catalogue
    test = "svm_naive_reg_loss"  # not in the catalogue for the naive loss: a relation
    W, _X, _y, reg = relations.loss_inputs(test)
    got = dict(expected)
    got[f"{test}/loss"] = expected[f"{test}/loss"] - reg * np.sum(W * W)
    lines = diagnosis.diagnose(test, got, expected, [], known)
    assert any("reg·ΣW² too low" in line for line in lines)
    assert not any("known mistake" in line for line in lines)
    assert str(float(expected[f"{test}/loss"]))[:6] not in " ".join(lines)


def test_an_infinite_loss_names_only_the_mistake_the_region_agrees_with(stored):
    expected, known = stored
    got = _outputs_of("softmax_vectorized_neg_log_p", known)
    assert np.isposinf(got["softmax_vectorized_huge_scores_loss/loss"])
    theirs = _outputs_of("softmax_vectorized_wrong_axis", known)
    assert np.isposinf(theirs["softmax_vectorized_huge_scores_loss/loss"])  # both +inf there
    assert _names("softmax_vectorized_huge_scores_loss", got, stored) == [
        "softmax_vectorized_neg_log_p"
    ]


def test_an_infinity_of_the_other_sign_names_no_positive_infinity_mistake(stored):
    got = _outputs_of("softmax_vectorized_neg_log_p", stored[1])
    got["softmax_vectorized_huge_scores_loss/loss"] = np.array(-np.inf)
    assert _names("softmax_vectorized_huge_scores_loss", got, stored) == []
    lines = diagnosis.diagnose(
        "softmax_vectorized_huge_scores_loss", got, *stored[:1], [], stored[1]
    )
    assert any("-inf" in line and "each row's own maximum" in line for line in lines)


def test_a_mistake_contradicted_by_a_passing_test_of_its_region_is_not_named(stored):
    expected, known = stored
    got = _outputs_of("svm_naive_half_reg", known)
    assert _names("svm_naive_reg_grad", got, stored) == ["svm_naive_half_reg"]
    got["svm_naive_reg_loss/loss"] = expected["svm_naive_reg_loss/loss"]  # the loss is right
    assert _names("svm_naive_reg_grad", got, stored) == ["svm_naive_reg_grad_half"]


def _recorded_twice():
    """What the child records for a train that calls self.loss twice per iteration."""
    inputs = linear_classifier.train_inputs()
    X, y = inputs["X"], inputs["y"]
    lr, reg = inputs["learning_rate"], inputs["reg"]
    rng = np.random.default_rng(0)
    W = np.zeros((X.shape[1], 5))
    batches, Ws, history = [], [], []
    for _ in range(inputs["num_iters"]):
        idx = rng.choice(len(X), inputs["batch_size"])
        for _call in range(2):
            batches.append(idx)
            Ws.append(W.copy())
            loss, grad = hidden_tests.recording_loss(W, X[idx], y[idx], reg)
        W = W - lr * grad
        history.append(loss)
    rows = np.concatenate(batches)
    t = "linear_train_update"
    return {
        f"{t}/batch_X": X[rows],
        f"{t}/batch_y": y[rows],
        f"{t}/batch_sizes": np.array([len(b) for b in batches]),
        f"{t}/W_before": np.array(Ws),
        f"{t}/W_final": W,
        f"{t}/history": np.array(history),
    }


def test_train_calling_loss_twice_is_not_told_that_w_did_not_change():
    problems = behaviour.check_train_update(_recorded_twice(), "linear_train_update")
    assert [code for code, _ in problems] == ["loss_calls"]
    assert "did not change" not in problems[0][1]
    assert "self.loss was called 60 times in 30 iterations" in problems[0][1]


def test_an_svm_loss_exactly_one_too_high_is_told_the_true_class_counts_as_a_margin(stored):
    expected, known = stored
    test = "svm_vectorized_no_reg_loss"
    got = dict(expected)
    got[f"{test}/loss"] = expected[f"{test}/loss"] + 1  # the gradient right: no catalogue name
    lines = diagnosis.diagnose(test, got, expected, [], known)
    assert len(lines) == 1 and "true class is counted as a margin" in lines[0]
    got[f"{test}/loss"] = expected[f"{test}/loss"] + 1.5
    assert diagnosis.diagnose(test, got, expected, [], known) == []


def test_a_gradient_wrong_only_in_the_true_classes_columns_is_told_so(stored):
    expected, known = stored
    test = "svm_naive_reg_grad"
    _W, X, y, _reg = relations.loss_inputs(test)
    rng = np.random.default_rng(0)
    M = np.zeros((X.shape[0], expected[f"{test}/dW"].shape[1]))
    M[np.arange(X.shape[0]), y] = rng.uniform(0.5, 1.5, size=X.shape[0])  # true classes only
    got = dict(expected)
    got[f"{test}/dW"] = expected[f"{test}/dW"] + X.T @ M / X.shape[0]
    lines = diagnosis.diagnose(test, got, expected, [], known)
    assert len(lines) == 1 and "only in the true classes' columns" in lines[0]
    M[:, 0] += 1.0  # other classes' columns too: no such relation
    got[f"{test}/dW"] = expected[f"{test}/dW"] + X.T @ M / X.shape[0]
    assert diagnosis.diagnose(test, got, expected, [], known) == []


def test_a_case_declared_with_a_looser_tolerance_is_diagnosed_with_it(monkeypatch):
    """Diagnosis compares with the tolerance the case declares, as the score does: a
    mistake whose outputs lie within a case's declared tolerance does not change that
    test, so it is not named there."""
    test, mistake = "knn_distances_no_loops", "no_loops_squared"
    with np.load(package.EXPECTED) as stored:
        expected = {k: stored[k] for k in stored.files if k.startswith(test + "/")}
    known = diagnosis.load_mistakes()
    got = {k: known["arrays"][f"{mistake}/{k}"] for k in expected}

    def named():
        found = diagnosis.diagnose(test, got, expected, [], known)
        return [line.split("`")[1] for line in found if line.startswith("known mistake `")]

    assert mistake in named()
    loose = {"float64": (1e9, 0.0), "float32": (1e9, 0.0)}
    monkeypatch.setitem(plan.BY_NAME, test, plan.BY_NAME[test]._replace(tolerance=loose))
    assert mistake not in named()

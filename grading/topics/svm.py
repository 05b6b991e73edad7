"""The multiclass SVM loss, declared once: ``svm_loss_naive`` and ``svm_loss_vectorized``.

Their hidden test cases (loss and gradient earn separate points, without and with
``reg``), known mistakes and correct variants. The child (``hidden_tests.py``) makes
the inputs and calls ``cs_loss.<function>(W, X, y, reg)``.
"""

from __future__ import annotations

from ..declare import (
    NO_MEAN,
    NO_REG_LOSS,
    REG_GRAD,
    REG_GRAD_2W,
    REG_IN_LOOP,
    Case,
    NotebookCheck,
    Variant,
    correct,
    mistake,
)
from .linear_classifier import REGIONS as TRAIN_REGIONS
from .losses import NO_REG, REG, Setting, loss_case

NOTEBOOK = "svm.ipynb"  # where the student meets these regions
REGIONS = ("svm_loss_naive", "svm_loss_vectorized")  # in the notebook's order
# The graded notebook tests that depend on these regions: grade id, points, the regions
# whose bugs may cost it points, the values exported for its check (notebook_checks.py).
NOTEBOOK_CHECKS = (
    NotebookCheck(
        "svm_test_search",
        3,
        (*TRAIN_REGIONS, "svm_loss_vectorized"),
        ("best_val", "results"),
        (("W", "best_svm.W"),),
    ),
)
NOTEBOOK_TARGETS = {check.grade_id: check.targets for check in NOTEBOOK_CHECKS}
GROUP = "svm"  # one child per topic
MODULES = ("_validation", "svm")  # an import error there fails its cases


NAIVE, VECTORIZED = "svm_loss_naive", "svm_loss_vectorized"


def _case(function: str, setting: Setting, output: str, points: int) -> Case:
    return loss_case(GROUP, MODULES, function, setting, output, points)


# The hidden test cases, in the order the child runs them; points per case. Each calls
# function(W, X, y, reg) on a setting's inputs (grading/topics/losses.py); the loss and
# the gradient earn separate points.
CASES = (
    _case(NAIVE, NO_REG, "loss", 1),
    _case(NAIVE, NO_REG, "grad", 1),
    _case(NAIVE, REG, "loss", 1),
    _case(NAIVE, REG, "grad", 1),
    _case(VECTORIZED, NO_REG, "loss", 1),
    _case(VECTORIZED, NO_REG, "grad", 1),
    _case(VECTORIZED, REG, "loss", 1),
    _case(VECTORIZED, REG, "grad", 1),
)


_SVM_LOOP = """
num_classes = W.shape[1]
num_train = X.shape[0]
for i in range(num_train):
    scores = X[i].dot(W)
    correct_class_score = scores[y[i]]
    for j in range(num_classes):
        if j == y[i]:
            continue
        margin = scores[j] - correct_class_score + {delta}
        if margin > 0:
            loss += margin
            dW[:, j] += X[i]
            {true_grad}
loss /= {divide}
dW /= {divide}
loss += {reg_loss}
dW += {reg_grad}
"""


def _svm_loop(
    delta="1",
    true_grad="dW[:, y[i]] -= X[i]",
    divide="num_train",
    reg_loss="reg * np.sum(W * W)",
    reg_grad="2 * reg * W",
):
    return _SVM_LOOP.format(
        delta=delta, true_grad=true_grad, divide=divide, reg_loss=reg_loss, reg_grad=reg_grad
    )


_SVM_VEC = """
num_train = X.shape[0]
rows = np.arange(num_train)
scores = X @ W  # (N, C)
correct = scores[rows, y][:, np.newaxis]  # (N, 1)
margins = np.maximum(0, scores - correct + 1)  # (N, C)
{zero_true}
loss = np.sum(margins) / {divide} + {reg_loss}
dscores = (margins > 0).astype(scores.dtype)  # (N, C)
{true_grad}
dW = X.T @ dscores / {divide} + {reg_grad}  # (D, C)
"""


def _svm_vec(
    zero_true="margins[rows, y] = 0",
    divide="num_train",
    reg_loss="reg * np.sum(W * W)",
    reg_grad="2 * reg * W",
    true_grad="dscores[rows, y] = -np.sum(dscores, axis=1)",
):
    return _SVM_VEC.format(
        zero_true=zero_true,
        divide=divide,
        reg_loss=reg_loss,
        reg_grad=reg_grad,
        true_grad=true_grad,
    )


_HALF_REG = (
    "your loss is exactly 0.5·reg·ΣW² lower than expected and your gradient's "
    "penalty term is reg·W: this assignment's penalty is reg·ΣW², gradient 2·reg·W "
    "(look at the lines that add the regularisation)"
)
_TRUE_CLASS = (
    "the true class is counted as a margin of its own (it adds 1 per example): "
    "skip j == y[i], or set the true class's margins to 0"
)
_NO_DELTA = "the margin has no delta: it is s_j - s_y + 1, with delta = 1 (look at the margin line)"
_NO_TRUE_GRAD = (
    "the gradient misses the true class's column: every violated margin also "
    "subtracts X[i] from dW[:, y[i]]"
)

MISTAKES: tuple[Variant, ...] = (
    # svm_loss_naive
    mistake("svm_loss_naive", "svm_naive_no_mean", NO_MEAN, _svm_loop(divide="1")),
    mistake("svm_loss_naive", "svm_naive_reg_grad_half", REG_GRAD, _svm_loop(reg_grad="reg * W")),
    mistake(
        "svm_loss_naive",
        "svm_naive_half_reg",
        _HALF_REG,
        _svm_loop(reg_loss="0.5 * reg * np.sum(W * W)", reg_grad="reg * W"),
    ),
    mistake(
        "svm_loss_naive",
        "svm_naive_counts_true_class",
        _TRUE_CLASS,
        """
num_classes = W.shape[1]
num_train = X.shape[0]
for i in range(num_train):
    scores = X[i].dot(W)
    for j in range(num_classes):
        margin = scores[j] - scores[y[i]] + 1
        if margin > 0:
            loss += margin
            if j != y[i]:
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
loss /= num_train
dW /= num_train
loss += reg * np.sum(W * W)
dW += 2 * reg * W
""",
    ),
    mistake("svm_loss_naive", "svm_naive_no_delta", _NO_DELTA, _svm_loop(delta="0")),
    mistake("svm_loss_naive", "svm_naive_reg_grad_2w", REG_GRAD_2W, _svm_loop(reg_grad="2 * W")),
    mistake(
        "svm_loss_naive",
        "svm_naive_reg_in_loop",
        REG_IN_LOOP,
        """
num_classes = W.shape[1]
num_train = X.shape[0]
for i in range(num_train):
    scores = X[i].dot(W)
    correct_class_score = scores[y[i]]
    for j in range(num_classes):
        if j == y[i]:
            continue
        margin = scores[j] - correct_class_score + 1
        if margin > 0:
            loss += margin / num_train
            dW[:, j] += X[i] / num_train
            dW[:, y[i]] -= X[i] / num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
""",
    ),
    mistake(
        "svm_loss_naive", "svm_naive_no_true_class_grad", _NO_TRUE_GRAD, _svm_loop(true_grad="pass")
    ),
    # svm_loss_vectorized
    mistake("svm_loss_vectorized", "svm_vectorized_no_mean", NO_MEAN, _svm_vec(divide="1")),
    mistake(
        "svm_loss_vectorized",
        "svm_vectorized_half_reg",
        _HALF_REG,
        _svm_vec(reg_loss="0.5 * reg * np.sum(W * W)", reg_grad="reg * W"),
    ),
    mistake(
        "svm_loss_vectorized",
        "svm_vectorized_counts_true_class",
        _TRUE_CLASS,
        _svm_vec(zero_true=""),
    ),
    mistake(
        "svm_loss_vectorized",
        "svm_vectorized_no_true_class_grad",
        _NO_TRUE_GRAD,
        _svm_vec(true_grad="dscores[rows, y] = 0"),
    ),
    mistake(
        "svm_loss_vectorized", "svm_vectorized_no_reg_loss", NO_REG_LOSS, _svm_vec(reg_loss="0")
    ),
    mistake(
        "svm_loss_vectorized",
        "svm_vectorized_reg_grad_half",
        REG_GRAD,
        _svm_vec(reg_grad="reg * W"),
    ),
    mistake(
        "svm_loss_vectorized", "svm_vectorized_reg_grad_2w", REG_GRAD_2W, _svm_vec(reg_grad="2 * W")
    ),
    mistake(
        "svm_loss_vectorized",
        "svm_vectorized_no_delta",
        _NO_DELTA,
        """
num_train = X.shape[0]
rows = np.arange(num_train)
scores = X @ W  # (N, C)
margins = np.maximum(0, scores - scores[rows, y][:, np.newaxis])  # (N, C)
margins[rows, y] = 0
loss = np.sum(margins) / num_train + reg * np.sum(W * W)
dscores = (margins > 0).astype(scores.dtype)  # (N, C)
dscores[rows, y] = -np.sum(dscores, axis=1)
dW = X.T @ dscores / num_train + 2 * reg * W  # (D, C)
""",
    ),
)

CORRECT: tuple[Variant, ...] = (
    # svm_loss_naive
    correct("svm_loss_naive", "svm_naive_textbook", _svm_loop()),
    correct(
        "svm_loss_naive",
        "svm_naive_count_violations",
        """
num_train, num_classes = X.shape[0], W.shape[1]
total = 0.0
for i in range(num_train):
    scores = X[i] @ W
    violated = 0
    for j in range(num_classes):
        margin = scores[j] - scores[y[i]] + 1.0
        if j != y[i] and margin > 0:
            total += margin
            violated += 1
            dW[:, j] += X[i] / num_train
    dW[:, y[i]] -= violated * X[i] / num_train
loss = np.float64(total / num_train + reg * np.sum(W ** 2))
dW += reg * 2 * W
""",
    ),
    correct(
        "svm_loss_naive",
        "svm_naive_float32_scalar",
        """
num_train = X.shape[0]
grad = np.zeros(W.shape, dtype=np.float64)
total = 0.0
for i in range(num_train):
    scores = X[i].astype(np.float64) @ W.astype(np.float64)
    for j in range(W.shape[1]):
        if j != y[i] and scores[j] - scores[y[i]] + 1 > 0:
            total += scores[j] - scores[y[i]] + 1
            grad[:, j] += X[i]
            grad[:, y[i]] -= X[i]
loss = np.float32(total / num_train + reg * np.sum(W.astype(np.float64) ** 2))
dW = (grad / num_train + 2 * reg * W).astype(np.float32)
""",
    ),
    # svm_loss_vectorized
    correct("svm_loss_vectorized", "svm_vectorized_textbook", _svm_vec()),
    correct(
        "svm_loss_vectorized",
        "svm_vectorized_einsum",
        """
N = X.shape[0]
scores = np.einsum("nd,dc->nc", X, W)
true = np.take_along_axis(scores, y[:, None], axis=1)
is_true = np.arange(W.shape[1])[None, :] == y[:, None]
margins = np.where(is_true, 0.0, np.maximum(0.0, scores - true + 1))
loss = margins.sum() / N + reg * np.einsum("dc,dc->", W, W)
mask = (margins > 0).astype(float)
mask[np.arange(N), y] = -mask.sum(axis=1)
dW = np.einsum("nd,nc->dc", X, mask) / N + 2 * reg * W
""",
    ),
    correct(
        "svm_loss_vectorized",
        "svm_vectorized_add_at",
        """
N = X.shape[0]
scores = X.dot(W)
margins = np.maximum(0, scores - scores[np.arange(N), y].reshape(-1, 1) + 1)
margins[np.arange(N), y] = 0
loss = np.array([margins.sum() / N + reg * (W * W).sum()]).item()
coeff = (margins > 0) * 1.0
np.add.at(coeff, (np.arange(N), y), -coeff.sum(axis=1))
dW = X.T.dot(coeff) / N + 2 * reg * W
""",
    ),
)

"""The softmax loss, declared once: ``softmax_loss_naive`` and ``softmax_loss_vectorized``.

Their hidden test cases (loss and gradient earn separate points, without and with
``reg``, and with scores in the thousands), known mistakes and correct variants.
"""

from __future__ import annotations

from ..declare import (
    HALF_REG,
    NO_MEAN,
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
from .losses import HUGE_SCORES, NO_REG, REG, Setting, loss_case

NOTEBOOK = "softmax.ipynb"  # where the student meets these regions
REGIONS = ("softmax_loss_naive", "softmax_loss_vectorized")  # in the notebook's order
# The graded notebook tests that depend on these regions: grade id, points, the regions
# whose bugs may cost it points, the values exported for its check (notebook_checks.py).
NOTEBOOK_CHECKS = (
    NotebookCheck(
        "softmax_test_search",
        3,
        (*TRAIN_REGIONS, "softmax_loss_vectorized"),
        ("best_val", "results"),
        (("W", "best_softmax.W"),),
    ),
)
NOTEBOOK_TARGETS = {check.grade_id: check.targets for check in NOTEBOOK_CHECKS}
GROUP = "softmax"  # one child per topic
MODULES = ("_validation", "softmax")  # an import error there fails its cases


NAIVE, VECTORIZED = "softmax_loss_naive", "softmax_loss_vectorized"


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
    _case(NAIVE, HUGE_SCORES, "loss", 1),
    _case(NAIVE, HUGE_SCORES, "grad", 1),
    _case(VECTORIZED, NO_REG, "loss", 1),
    _case(VECTORIZED, NO_REG, "grad", 1),
    _case(VECTORIZED, REG, "loss", 1),
    _case(VECTORIZED, REG, "grad", 1),
    _case(VECTORIZED, HUGE_SCORES, "loss", 1),
    _case(VECTORIZED, HUGE_SCORES, "grad", 1),
)


_SOFTMAX_LOOP = """
num_classes = W.shape[1]
num_train = X.shape[0]
for i in range(num_train):
    scores = X[i].dot(W)
    {shift}
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores)
    loss += {row_loss}
    for j in range(num_classes):
        dW[:, j] += (probs[j] - (j == y[i])) * X[i]
loss /= num_train
dW /= num_train
loss += {reg_loss}
dW += {reg_grad}
"""


def _softmax_loop(
    shift="scores = scores - np.max(scores)",
    row_loss="np.log(np.sum(exp_scores)) - scores[y[i]]",
    reg_grad="2 * reg * W",
    reg_loss="reg * np.sum(W * W)",
):
    return _SOFTMAX_LOOP.format(
        shift=shift, row_loss=row_loss, reg_grad=reg_grad, reg_loss=reg_loss
    )


_SOFTMAX_VEC = """
num_train = X.shape[0]
rows = np.arange(num_train)
scores = X @ W  # (N, C)
{shift}
exp_scores = np.exp(scores)  # (N, C)
probs = exp_scores / np.sum(exp_scores, axis={axis}, keepdims=True)  # (N, C)
loss = {data_loss} / {divide} + {reg_loss}
dscores = probs.copy()
dscores[rows, y] -= 1
dW = X.T @ dscores / {divide} + {reg_grad}  # (D, C)
"""


def _softmax_vec(
    shift="scores -= np.max(scores, axis=1, keepdims=True)",
    axis="1",
    data_loss="np.sum(np.log(np.sum(exp_scores, axis=1)) - scores[rows, y])",
    divide="num_train",
    reg_loss="reg * np.sum(W * W)",
    reg_grad="2 * reg * W",
):
    return _SOFTMAX_VEC.format(
        shift=shift,
        axis=axis,
        data_loss=data_loss,
        divide=divide,
        reg_loss=reg_loss,
        reg_grad=reg_grad,
    )


_NEG_LOG_P = (
    "the loss is infinite for very large scores although the gradient is right: "
    "-log(p) is -log(0) once p underflows; compute the row loss as "
    "log(sum(exp(s - max))) - (s_y - max)"
)
_NO_SHIFT = (
    "exp overflows for large scores (NaN or inf): subtract each row's maximum score "
    "before exp; it leaves the probabilities unchanged"
)

MISTAKES: tuple[Variant, ...] = (
    # softmax_loss_naive
    mistake("softmax_loss_naive", "softmax_naive_no_shift", _NO_SHIFT, _softmax_loop(shift="pass")),
    mistake(
        "softmax_loss_naive",
        "softmax_naive_neg_log_p",
        _NEG_LOG_P,
        _softmax_loop(row_loss="-np.log(probs[y[i]])"),
    ),
    mistake(
        "softmax_loss_naive",
        "softmax_naive_reg_grad_half",
        REG_GRAD,
        _softmax_loop(reg_grad="reg * W"),
    ),
    mistake(
        "softmax_loss_naive",
        "softmax_naive_half_reg",
        HALF_REG,
        _softmax_loop(reg_loss="0.5 * reg * np.sum(W * W)", reg_grad="reg * W"),
    ),
    mistake(
        "softmax_loss_naive",
        "softmax_naive_reg_in_loop",
        REG_IN_LOOP,
        """
num_classes = W.shape[1]
num_train = X.shape[0]
for i in range(num_train):
    scores = X[i].dot(W)
    scores -= np.max(scores)
    probs = np.exp(scores) / np.sum(np.exp(scores))
    loss += (np.log(np.sum(np.exp(scores))) - scores[y[i]]) / num_train + reg * np.sum(W * W)
    for j in range(num_classes):
        dW[:, j] += (probs[j] - (j == y[i])) * X[i] / num_train
    dW += 2 * reg * W
""",
    ),
    # softmax_loss_vectorized
    mistake(
        "softmax_loss_vectorized",
        "softmax_vectorized_wrong_axis",
        "the probabilities are normalised over the examples (axis 0) instead of over the "
        "classes: each row of probs must sum to 1, so sum along axis=1",
        _softmax_vec(axis="0", data_loss="-np.sum(np.log(probs[rows, y]))"),
    ),
    mistake(
        "softmax_loss_vectorized",
        "softmax_vectorized_neg_log_p",
        _NEG_LOG_P,
        _softmax_vec(data_loss="-np.sum(np.log(probs[rows, y]))"),
    ),
    mistake(
        "softmax_loss_vectorized", "softmax_vectorized_no_shift", _NO_SHIFT, _softmax_vec(shift="")
    ),
    mistake(
        "softmax_loss_vectorized", "softmax_vectorized_no_mean", NO_MEAN, _softmax_vec(divide="1")
    ),
    mistake(
        "softmax_loss_vectorized",
        "softmax_vectorized_half_reg",
        HALF_REG,
        _softmax_vec(reg_loss="0.5 * reg * np.sum(W * W)", reg_grad="reg * W"),
    ),
    mistake(
        "softmax_loss_vectorized",
        "softmax_vectorized_reg_grad_half",
        REG_GRAD,
        _softmax_vec(reg_grad="reg * W"),
    ),
    mistake(
        "softmax_loss_vectorized",
        "softmax_vectorized_reg_grad_2w",
        REG_GRAD_2W,
        _softmax_vec(reg_grad="2 * W"),
    ),
    mistake(
        "softmax_loss_vectorized",
        "softmax_vectorized_global_max",
        "the scores are shifted by one maximum over the whole array: rows far below it "
        "underflow to 0 after exp; subtract each row's own maximum, "
        "np.max(scores, axis=1, keepdims=True)",
        _softmax_vec(shift="scores -= np.max(scores)"),
    ),
)

CORRECT: tuple[Variant, ...] = (
    # softmax_loss_naive
    correct("softmax_loss_naive", "softmax_naive_textbook", _softmax_loop()),
    correct(
        "softmax_loss_naive",
        "softmax_naive_outer",
        """
N = X.shape[0]
for i in range(N):
    s = X[i] @ W
    s = s - s.max()
    log_sum = np.log(np.exp(s).sum())
    loss = loss + (log_sum - s[y[i]])
    p = np.exp(s - log_sum)
    p[y[i]] -= 1
    dW += np.outer(X[i], p)
loss = np.float64(loss / N + reg * np.sum(W * W))
dW = dW / N + 2 * reg * W
""",
    ),
    correct(
        "softmax_loss_naive",
        "softmax_naive_log_probs",
        """
num_train = X.shape[0]
for i in range(num_train):
    f = X[i].dot(W)
    f -= np.max(f)
    log_probs = f - np.log(np.sum(np.exp(f)))
    loss -= log_probs[y[i]]
    for c in range(W.shape[1]):
        dW[:, c] += (np.exp(log_probs[c]) - (c == y[i])) * X[i]
loss = loss / num_train + reg * np.sum(W * W)
dW = dW / num_train + 2 * reg * W
""",
    ),
    # softmax_loss_vectorized
    correct("softmax_loss_vectorized", "softmax_vectorized_textbook", _softmax_vec()),
    correct(
        "softmax_loss_vectorized",
        "softmax_vectorized_einsum_onehot",
        """
N, C = X.shape[0], W.shape[1]
scores = np.einsum("nd,dc->nc", X, W)
scores = scores - scores.max(axis=1, keepdims=True)
log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
one_hot = np.eye(C)[y]
loss = -np.einsum("nc,nc->", one_hot, log_probs) / N + reg * np.einsum("dc,dc->", W, W)
dW = np.einsum("nd,nc->dc", X, np.exp(log_probs) - one_hot) / N + 2 * reg * W
""",
    ),
    correct(
        "softmax_loss_vectorized",
        "softmax_vectorized_add_at",
        """
N = X.shape[0]
s = X @ W
s -= s.max(axis=1)[:, None]
lse = np.log(np.exp(s).sum(axis=1))
loss = np.mean(lse - s[np.arange(N), y]) + reg * np.sum(np.square(W))
dscores = np.exp(s - lse[:, None])
np.add.at(dscores, (np.arange(N), y), -1)
dW = X.T @ dscores / N + 2 * reg * W
""",
    ),
)

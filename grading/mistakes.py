"""Known mistakes and correct-but-different solutions of the package regions.

Each entry is a region body as a student would write it (column 0), for
``markers.write_package``. ``python -m grading expected`` runs every mistake
through the hidden tests and saves its outputs; when a submission's outputs on
a failing test are a mistake's outputs, the feedback names the mistake and
gives its diagnosis. Every mistake must lose points and be named; every correct
variant must get full marks (``verify_catalogue`` and tests/test_fairness.py).

A diagnosis speaks in the student's terms and says where to look; it never
quotes an expected value or a hidden input.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    region: str  # region id
    name: str  # snake_case, unique
    code: str  # the region body as a student would write it (column 0)
    diagnosis: str = ""  # mistakes only: the mistake in the student's terms + where to look


def _m(region, name, diagnosis, code):
    return Variant(region, name, code.strip("\n") + "\n", diagnosis)


def _c(region, name, code):
    return Variant(region, name, code.strip("\n") + "\n")


# ---------------------------------------------------------------- loss bodies
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
loss += reg * np.sum(W * W)
dW += {reg_grad}
"""


def _softmax_loop(
    shift="scores = scores - np.max(scores)",
    row_loss="np.log(np.sum(exp_scores)) - scores[y[i]]",
    reg_grad="2 * reg * W",
):
    return _SOFTMAX_LOOP.format(shift=shift, row_loss=row_loss, reg_grad=reg_grad)


_SOFTMAX_VEC = """
num_train = X.shape[0]
rows = np.arange(num_train)
scores = X @ W  # (N, C)
{shift}
exp_scores = np.exp(scores)  # (N, C)
probs = exp_scores / np.sum(exp_scores, axis={axis}, keepdims=True)  # (N, C)
loss = {data_loss} / {divide} + reg * np.sum(W * W)
dscores = probs.copy()
dscores[rows, y] -= 1
dW = X.T @ dscores / {divide} + 2 * reg * W  # (D, C)
"""


def _softmax_vec(
    shift="scores -= np.max(scores, axis=1, keepdims=True)",
    axis="1",
    data_loss="np.sum(np.log(np.sum(exp_scores, axis=1)) - scores[rows, y])",
    divide="num_train",
):
    return _SOFTMAX_VEC.format(shift=shift, axis=axis, data_loss=data_loss, divide=divide)


_HALF_REG = (
    "your loss is exactly 0.5·reg·ΣW² lower than expected and your gradient's "
    "penalty term is reg·W: this assignment's penalty is reg·ΣW², gradient 2·reg·W "
    "(look at the lines that add the regularisation)"
)
_REG_GRAD = (
    "the penalty's gradient is reg·W, half of what it should be: the gradient of "
    "reg·ΣW² is 2·reg·W (look at the line that adds it to dW)"
)
_NO_MEAN = (
    "the loss and gradient are sums over the examples, N times too large: average "
    "them, dividing by N = X.shape[0] (before adding the penalty)"
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
_NEG_LOG_P = (
    "the loss is infinite for very large scores although the gradient is right: "
    "-log(p) is -log(0) once p underflows; compute the row loss as "
    "log(sum(exp(s - max))) - (s_y - max)"
)
_NO_SHIFT = (
    "exp overflows for large scores (NaN or inf): subtract each row's maximum score "
    "before exp; it leaves the probabilities unchanged"
)

MISTAKES = (
    # svm_loss_naive
    _m("svm_loss_naive", "svm_naive_no_mean", _NO_MEAN, _svm_loop(divide="1")),
    _m("svm_loss_naive", "svm_naive_reg_grad_half", _REG_GRAD, _svm_loop(reg_grad="reg * W")),
    _m(
        "svm_loss_naive",
        "svm_naive_half_reg",
        _HALF_REG,
        _svm_loop(reg_loss="0.5 * reg * np.sum(W * W)", reg_grad="reg * W"),
    ),
    _m(
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
    _m("svm_loss_naive", "svm_naive_no_delta", _NO_DELTA, _svm_loop(delta="0")),
    _m(
        "svm_loss_naive", "svm_naive_no_true_class_grad", _NO_TRUE_GRAD, _svm_loop(true_grad="pass")
    ),
    # svm_loss_vectorized
    _m("svm_loss_vectorized", "svm_vectorized_no_mean", _NO_MEAN, _svm_vec(divide="1")),
    _m(
        "svm_loss_vectorized",
        "svm_vectorized_half_reg",
        _HALF_REG,
        _svm_vec(reg_loss="0.5 * reg * np.sum(W * W)", reg_grad="reg * W"),
    ),
    _m(
        "svm_loss_vectorized",
        "svm_vectorized_counts_true_class",
        _TRUE_CLASS,
        _svm_vec(zero_true=""),
    ),
    _m(
        "svm_loss_vectorized",
        "svm_vectorized_no_true_class_grad",
        _NO_TRUE_GRAD,
        _svm_vec(true_grad="dscores[rows, y] = 0"),
    ),
    _m(
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
    # softmax_loss_naive
    _m("softmax_loss_naive", "softmax_naive_no_shift", _NO_SHIFT, _softmax_loop(shift="pass")),
    _m(
        "softmax_loss_naive",
        "softmax_naive_neg_log_p",
        _NEG_LOG_P,
        _softmax_loop(row_loss="-np.log(probs[y[i]])"),
    ),
    _m(
        "softmax_loss_naive",
        "softmax_naive_reg_grad_half",
        _REG_GRAD,
        _softmax_loop(reg_grad="reg * W"),
    ),
    # softmax_loss_vectorized
    _m(
        "softmax_loss_vectorized",
        "softmax_vectorized_wrong_axis",
        "the probabilities are normalised over the examples (axis 0) instead of over the "
        "classes: each row of probs must sum to 1, so sum along axis=1",
        _softmax_vec(axis="0", data_loss="-np.sum(np.log(probs[rows, y]))"),
    ),
    _m(
        "softmax_loss_vectorized",
        "softmax_vectorized_neg_log_p",
        _NEG_LOG_P,
        _softmax_vec(data_loss="-np.sum(np.log(probs[rows, y]))"),
    ),
    _m("softmax_loss_vectorized", "softmax_vectorized_no_shift", _NO_SHIFT, _softmax_vec(shift="")),
    _m("softmax_loss_vectorized", "softmax_vectorized_no_mean", _NO_MEAN, _softmax_vec(divide="1")),
    # distances
    _m(
        "KNearestNeighbor.compute_distances_two_loops",
        "two_loops_squared",
        "dists are squared distances: take the square root of the sum of squares",
        """
for i in range(num_test):
    for j in range(num_train):
        dists[i, j] = np.sum((X[i] - self.X_train[j]) ** 2)
""",
    ),
    _m(
        "KNearestNeighbor.compute_distances_two_loops",
        "two_loops_l1",
        "dists are L1 (sum of absolute differences) distances: this assignment uses L2, "
        "the square root of the sum of squared differences",
        """
for i in range(num_test):
    for j in range(num_train):
        dists[i, j] = np.sum(np.abs(X[i] - self.X_train[j]))
""",
    ),
    _m(
        "KNearestNeighbor.compute_distances_one_loop",
        "one_loop_squared",
        "dists are squared distances: take the square root of the sum of squares",
        """
for i in range(num_test):
    dists[i, :] = np.sum((self.X_train - X[i]) ** 2, axis=1)
""",
    ),
    _m(
        "KNearestNeighbor.compute_distances_one_loop",
        "one_loop_l1",
        "dists are L1 (sum of absolute differences) distances: this assignment uses L2, "
        "the square root of the sum of squared differences",
        """
for i in range(num_test):
    dists[i, :] = np.sum(np.abs(self.X_train - X[i]), axis=1)
""",
    ),
    _m(
        "KNearestNeighbor.compute_distances_no_loops",
        "no_loops_no_factor_2",
        "the cross term misses its factor 2: ||x - t||² = ||x||² - 2·x·t + ||t||²",
        """
test_sq = np.sum(X ** 2, axis=1)[:, np.newaxis]
train_sq = np.sum(self.X_train ** 2, axis=1)[np.newaxis, :]
dists = np.sqrt(np.maximum(test_sq - X @ self.X_train.T + train_sq, 0))
""",
    ),
    _m(
        "KNearestNeighbor.compute_distances_no_loops",
        "no_loops_no_clip",
        "NaN where a test point (nearly) coincides with a training point: rounding makes the "
        "expanded square slightly negative there; clip it at 0 (np.maximum) before np.sqrt",
        """
test_sq = np.sum(X ** 2, axis=1)[:, np.newaxis]
train_sq = np.sum(self.X_train ** 2, axis=1)[np.newaxis, :]
dists = np.sqrt(test_sq - 2 * X @ self.X_train.T + train_sq)
""",
    ),
    _m(
        "KNearestNeighbor.compute_distances_no_loops",
        "no_loops_squared",
        "dists are squared distances: take the square root of the expanded square",
        """
test_sq = np.sum(X ** 2, axis=1)[:, np.newaxis]
train_sq = np.sum(self.X_train ** 2, axis=1)[np.newaxis, :]
dists = np.maximum(test_sq - 2 * X @ self.X_train.T + train_sq, 0)
""",
    ),
    # predict_labels
    _m(
        "KNearestNeighbor.predict_labels",
        "predict_labels_ties_to_larger",
        "a tie between labels goes to the larger label: it must go to the smaller one "
        "(np.argmax of the vote counts returns the first, smallest, maximum)",
        """
for i in range(num_test):
    closest_y = self.y_train[np.argsort(dists[i])[:k]]
    counts = np.bincount(closest_y)
    y_pred[i] = len(counts) - 1 - np.argmax(counts[::-1])
""",
    ),
    _m(
        "KNearestNeighbor.predict_labels",
        "predict_labels_set_order",
        "ties between labels are broken by the iteration order of a set (or dict), which is "
        "not the smaller label: count the votes and take the smallest label among the "
        "most common",
        """
for i in range(num_test):
    closest_y = list(self.y_train[np.argsort(dists[i])[:k]])
    y_pred[i] = max(set(closest_y), key=closest_y.count)
""",
    ),
    _m(
        "KNearestNeighbor.predict_labels",
        "predict_labels_nearest_wins_tie",
        "a tie between labels goes to the label of the nearest neighbour: it must go to the "
        "smaller label",
        """
from collections import Counter

for i in range(num_test):
    closest_y = self.y_train[np.argsort(dists[i], kind="stable")[:k]]
    y_pred[i] = Counter(closest_y.tolist()).most_common(1)[0][0]
""",
    ),
    _m(
        "KNearestNeighbor.predict_labels",
        "predict_labels_k_plus_1",
        "k + 1 neighbours vote: take the first k of the sorted distances, [:k]",
        """
for i in range(num_test):
    closest_y = self.y_train[np.argsort(dists[i])[:k + 1]]
    y_pred[i] = np.argmax(np.bincount(closest_y))
""",
    ),
    _m(
        "KNearestNeighbor.predict_labels",
        "predict_labels_farthest",
        "the k farthest training examples vote: the nearest ones have the smallest distances "
        "(sort ascending and take the first k)",
        """
for i in range(num_test):
    closest_y = self.y_train[np.argsort(dists[i])[-k:]]
    y_pred[i] = np.argmax(np.bincount(closest_y))
""",
    ),
    # train: sampling
    _m(
        "LinearClassifier.train#1",
        "train_labels_not_matched",
        "y_batch holds labels of other examples than X_batch: index X and y with the same "
        "indices (one idx for both)",
        """
X_batch = X[rng.choice(num_train, batch_size)]
y_batch = y[rng.choice(num_train, batch_size)]
""",
    ),
    _m(
        "LinearClassifier.train#1",
        "train_same_batch",
        "every step uses the same minibatch: draw new indices at every iteration from the "
        "generator rng (do not make a new generator inside the loop)",
        """
idx = np.random.default_rng(0).choice(num_train, batch_size)
X_batch = X[idx]
y_batch = y[idx]
""",
    ),
    _m(
        "LinearClassifier.train#1",
        "train_first_rows",
        "the minibatch is always the first rows of X: sample random indices with "
        "rng.choice(num_train, batch_size)",
        """
X_batch = X[:batch_size]
y_batch = y[:batch_size]
""",
    ),
    _m(
        "LinearClassifier.train#1",
        "train_part_of_rows",
        "the minibatches come from only part of X: draw the indices from all num_train "
        "examples, rng.choice(num_train, batch_size)",
        """
idx = rng.choice(num_train // 2, batch_size)
X_batch = X[idx]
y_batch = y[idx]
""",
    ),
    # train: update
    _m(
        "LinearClassifier.train#2",
        "train_gradient_ascent",
        "W moves along the gradient (W + learning_rate * grad), which increases the loss: "
        "SGD steps against it, W - learning_rate * grad",
        """
W_new = self.W + learning_rate * grad
""",
    ),
    _m(
        "LinearClassifier.train#2",
        "train_no_learning_rate",
        "W moves by the whole gradient: the step is learning_rate * grad",
        """
W_new = self.W - grad
""",
    ),
    # predict
    _m(
        "LinearClassifier.predict",
        "predict_argmin",
        "the class with the lowest score is predicted: take np.argmax of the scores",
        """
y_pred = np.argmin(X @ self.W, axis=1)
""",
    ),
)

CORRECT = (
    # svm_loss_naive
    _c("svm_loss_naive", "svm_naive_textbook", _svm_loop()),
    _c(
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
    _c(
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
    _c("svm_loss_vectorized", "svm_vectorized_textbook", _svm_vec()),
    _c(
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
    _c(
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
    # softmax_loss_naive
    _c("softmax_loss_naive", "softmax_naive_textbook", _softmax_loop()),
    _c(
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
    _c(
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
    _c("softmax_loss_vectorized", "softmax_vectorized_textbook", _softmax_vec()),
    _c(
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
    _c(
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
    # two loops
    _c(
        "KNearestNeighbor.compute_distances_two_loops",
        "two_loops_norm",
        """
for i in range(num_test):
    for j in range(num_train):
        dists[i, j] = np.linalg.norm(X[i] - self.X_train[j])
""",
    ),
    _c(
        "KNearestNeighbor.compute_distances_two_loops",
        "two_loops_math",
        """
import math

for i in range(num_test):
    for j in range(num_train):
        diff = X[i] - self.X_train[j]
        dists[i][j] = math.sqrt(float(np.dot(diff, diff)))
""",
    ),
    _c(
        "KNearestNeighbor.compute_distances_two_loops",
        "two_loops_textbook",
        """
for i in range(num_test):
    for j in range(num_train):
        dists[i, j] = np.sqrt(np.sum(np.square(X[i, :] - self.X_train[j, :])))
""",
    ),
    # one loop
    _c(
        "KNearestNeighbor.compute_distances_one_loop",
        "one_loop_broadcast",
        """
for i in range(num_test):
    dists[i, :] = np.sqrt(np.sum((self.X_train - X[i]) ** 2, axis=1))
""",
    ),
    _c(
        "KNearestNeighbor.compute_distances_one_loop",
        "one_loop_norm",
        """
for i in range(num_test):
    dists[i] = np.linalg.norm(self.X_train - X[i, :], axis=1)
""",
    ),
    _c(
        "KNearestNeighbor.compute_distances_one_loop",
        "one_loop_einsum",
        """
for i in range(num_test):
    d = self.X_train - X[i]
    dists[i, :] = np.sqrt(np.einsum("ij,ij->i", d, d))
""",
    ),
    # no loops
    _c(
        "KNearestNeighbor.compute_distances_no_loops",
        "no_loops_expanded",
        """
test_sq = np.sum(X ** 2, axis=1)[:, np.newaxis]
train_sq = np.sum(self.X_train ** 2, axis=1)[np.newaxis, :]
dists = np.sqrt(np.maximum(test_sq - 2 * X @ self.X_train.T + train_sq, 0))
""",
    ),
    _c(
        "KNearestNeighbor.compute_distances_no_loops",
        "no_loops_einsum_clip",
        """
test_sq = np.einsum("ij,ij->i", X, X)[:, None]
train_sq = np.einsum("ij,ij->i", self.X_train, self.X_train)[None, :]
sq = test_sq + train_sq - 2 * np.dot(X, self.X_train.T)
dists = np.sqrt(np.clip(sq, 0, None))
""",
    ),
    _c(
        "KNearestNeighbor.compute_distances_no_loops",
        "no_loops_broadcast_3d",
        """
diff = X[:, np.newaxis, :] - self.X_train[np.newaxis, :, :]
dists = np.sqrt(np.sum(diff * diff, axis=2))
""",
    ),
    # predict_labels
    _c(
        "KNearestNeighbor.predict_labels",
        "predict_labels_bincount",
        """
for i in range(num_test):
    closest_y = self.y_train[np.argsort(dists[i])[:k]]
    y_pred[i] = np.argmax(np.bincount(closest_y))
""",
    ),
    _c(
        "KNearestNeighbor.predict_labels",
        "predict_labels_counter_smaller",
        """
from collections import Counter

for i in range(num_test):
    votes = Counter(self.y_train[np.argsort(dists[i])[:k]].tolist())
    best = max(votes.values())
    y_pred[i] = min(label for label, count in votes.items() if count == best)
""",
    ),
    _c(
        "KNearestNeighbor.predict_labels",
        "predict_labels_float_array",
        """
y_pred = np.zeros(num_test)  # float, as in older templates: whole numbers are labels too
for i in range(num_test):
    closest_y = self.y_train[np.argsort(dists[i])[:k]]
    y_pred[i] = np.argmax(np.bincount(closest_y))
""",
    ),
    _c(
        "KNearestNeighbor.predict_labels",
        "predict_labels_unique",
        """
nearest = np.argsort(dists, axis=1, kind="stable")[:, :k]
y_pred = np.empty(num_test, dtype=np.int64)
for i, row in enumerate(self.y_train[nearest]):
    labels, counts = np.unique(row, return_counts=True)
    y_pred[i] = labels[np.argmax(counts)]
""",
    ),
    # train: sampling
    _c(
        "LinearClassifier.train#1",
        "train_rng_choice",
        """
idx = rng.choice(num_train, batch_size)
X_batch = X[idx]
y_batch = y[idx]
""",
    ),
    _c(
        "LinearClassifier.train#1",
        "train_rng_integers",
        """
batch = rng.integers(0, num_train, size=batch_size)
X_batch, y_batch = X[batch, :], y[batch]
""",
    ),
    _c(
        "LinearClassifier.train#1",
        "train_np_random_choice",
        """
indices = np.random.choice(num_train, batch_size, replace=True)
X_batch = X[indices]
y_batch = y[indices]
""",
    ),
    _c(
        "LinearClassifier.train#1",
        "train_np_random_randint",
        """
idx = np.random.randint(num_train, size=batch_size)
X_batch = np.take(X, idx, axis=0)
y_batch = np.take(y, idx)
""",
    ),
    _c(
        "LinearClassifier.train#1",
        "train_without_replacement",
        """
idx = rng.choice(num_train, size=batch_size, replace=False)
X_batch = X[idx, :]
y_batch = y[idx]
""",
    ),
    _c(
        "LinearClassifier.train#1",
        "train_float32_batch",
        """
idx = rng.choice(num_train, batch_size)
X_batch = X[idx].astype(np.float32)
y_batch = y[idx]
""",
    ),
    # train: update
    _c(
        "LinearClassifier.train#2",
        "train_update_textbook",
        """
W_new = self.W - learning_rate * grad
""",
    ),
    _c(
        "LinearClassifier.train#2",
        "train_update_copy_inplace",
        """
W_new = self.W.copy()
W_new -= learning_rate * grad
""",
    ),
    _c(
        "LinearClassifier.train#2",
        "train_update_in_place",
        """
self.W -= learning_rate * grad
W_new = self.W
""",
    ),
    _c(
        "LinearClassifier.train#2",
        "train_update_subtract",
        """
W_new = np.subtract(self.W, np.multiply(learning_rate, grad))
""",
    ),
    # predict
    _c(
        "LinearClassifier.predict",
        "predict_argmax",
        """
y_pred = np.argmax(X @ self.W, axis=1)
""",
    ),
    _c(
        "LinearClassifier.predict",
        "predict_loop",
        """
for i in range(X.shape[0]):
    y_pred[i] = np.argmax(X[i].dot(self.W))
""",
    ),
    _c(
        "LinearClassifier.predict",
        "predict_method",
        """
scores = np.dot(X, self.W)
y_pred[:] = scores.argmax(axis=1)
""",
    ),
    _c(
        "LinearClassifier.predict",
        "predict_float_labels",
        """
y_pred = np.zeros(X.shape[0])
y_pred[:] = np.argmax(X @ self.W, axis=1)
""",
    ),
)


def verify_catalogue(run=False):
    """Checks of the catalogue; returns a list of problems (empty if none).

    With ``run``, also runs every variant through the hidden tests
    (``package.prove_catalogue``, a few seconds): each mistake must lose points
    and be named, each correct variant must get full marks.

    Names unique and snake_case, every region of the kit covered by at least one mistake
    and three correct variants, every region id known, every body parses and writes
    into a package, every mistake has a diagnosis. (That each mistake loses points and
    is named, and each correct variant gets full marks, is tests/test_fairness.py.)
    """
    import ast
    import re
    import tempfile
    from pathlib import Path

    from . import markers

    problems = []
    kit = Path(__file__).resolve().parent.parent / "cs_loss"
    regions = set(markers.kit_regions(kit))
    names = [v.name for v in MISTAKES + CORRECT]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"variant name {name!r} is used twice")
    for variant in MISTAKES + CORRECT:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", variant.name):
            problems.append(f"{variant.name!r} is not snake_case")
        if variant.region not in regions:
            problems.append(f"{variant.name}: unknown region {variant.region!r}")
        try:
            ast.parse(variant.code)
        except SyntaxError as exc:
            problems.append(f"{variant.name}: does not parse: {exc}")
    for variant in MISTAKES:
        if not variant.diagnosis:
            problems.append(f"mistake {variant.name} has no diagnosis")
    for variant in CORRECT:
        if variant.diagnosis:
            problems.append(f"correct variant {variant.name} has a diagnosis")
    for region in sorted(regions):
        if not any(v.region == region for v in MISTAKES):
            problems.append(f"region {region} has no known mistake")
        if sum(v.region == region for v in CORRECT) < 3:
            problems.append(f"region {region} has fewer than 3 correct variants")
    if len(MISTAKES) < 22:
        problems.append(f"only {len(MISTAKES)} known mistakes (at least 22 wanted)")
    if not problems:
        with tempfile.TemporaryDirectory() as tmp:
            for variant in MISTAKES + CORRECT:
                try:
                    bodies = {variant.region: variant.code}
                    markers.write_package(kit, Path(tmp) / variant.name, bodies)
                except Exception as exc:  # noqa: BLE001 - reported, not raised
                    problems.append(f"{variant.name}: cannot be written: {exc}")
    if run and not problems:
        from . import package

        problems += package.prove_catalogue()
    return problems

"""Student-style region bodies, written as students write them, each with the diagnosis it
must get (issue 17): a known mistake's name, or None for a correct body (full marks, no
name). They differ from the catalogue's own bodies in style (loops, ``X.dot(W)`` with
transposes, other names, ``np.log`` of probabilities), not in what they compute wrongly.
"""

SVM_NAIVE = "svm_loss_naive"
SVM_VEC = "svm_loss_vectorized"
SM_NAIVE = "softmax_loss_naive"
SM_VEC = "softmax_loss_vectorized"
NO_LOOPS = "KNearestNeighbor.compute_distances_no_loops"
TWO_LOOPS = "KNearestNeighbor.compute_distances_two_loops"
ONE_LOOP = "KNearestNeighbor.compute_distances_one_loop"
PREDICT_LABELS = "KNearestNeighbor.predict_labels"
UPDATE = "LinearClassifier.train#2"
SAMPLE = "LinearClassifier.train#1"
PREDICT = "LinearClassifier.predict"

_CS231N_LOOP = """
num_classes = W.shape[1]
num_train = X.shape[0]
for i in range(num_train):
    scores = X[i].dot(W)
    correct_class_score = scores[y[i]]
    for j in range(num_classes):
        if j == y[i]:
            continue
        margin = scores[j] - correct_class_score + 1  # note delta = 1
        if margin > 0:
            loss += margin
            dW[:, j] += X[i].T
            dW[:, y[i]] += -X[i].T
loss /= num_train
dW /= num_train
{tail}
"""

_SVM_DOT = """
num_train = X.shape[0]
scores = X.dot(W)
correct_class_scores = scores[np.arange(num_train), y].reshape(num_train, 1)
margin = np.maximum(0, scores - correct_class_scores + 1)
margin[np.arange(num_train), y] = 0
loss = margin.sum() / num_train
{loss_reg}
margin[margin > 0] = 1
valid_margin_count = margin.sum(axis=1)
margin[np.arange(num_train), y] -= valid_margin_count
dW = (X.T).dot(margin) / num_train
{grad_reg}
"""

_SOFTMAX_STD = """
num_train = X.shape[0]
scores = X.dot(W)
{shift}
exp_scores = np.exp(scores)
probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
loss = {data_loss}
loss += {loss_reg}
dscores = probs
dscores[range(num_train), y] -= 1
dW = np.dot(X.T, dscores) / num_train
dW += {grad_reg}
"""

_SOFTMAX_LOOP = """
num_train = X.shape[0]
num_classes = W.shape[1]
for i in range(num_train):
    f = X[i].dot(W)
    f -= np.max(f)
    p = np.exp(f) / np.sum(np.exp(f))
    loss += -f[y[i]] + np.log(np.sum(np.exp(f)))
    for k in range(num_classes):
        dW[:, k] += (p[k] - (k == y[i])) * X[i]
loss /= num_train
dW /= num_train
{tail}
"""


def _svm_dot(loss_reg="loss += reg * np.sum(W * W)", grad_reg="dW += 2 * reg * W"):
    return _SVM_DOT.format(loss_reg=loss_reg, grad_reg=grad_reg)


def _softmax_std(
    shift="scores -= np.max(scores, axis=1, keepdims=True)",
    data_loss="np.sum(np.log(np.sum(exp_scores, axis=1)) - scores[range(num_train), y]) "
    "/ num_train",
    loss_reg="reg * np.sum(W * W)",
    grad_reg="2 * reg * W",
):
    return _SOFTMAX_STD.format(
        shift=shift, data_loss=data_loss, loss_reg=loss_reg, grad_reg=grad_reg
    )


_NEG_LOG_P = "-np.sum(np.log(probs[range(num_train), y])) / num_train"
_NO_CLIP = """
dists = np.sqrt(
    -2 * np.dot(X, self.X_train.T)
    + np.sum(np.square(self.X_train), axis=1)
    + np.sum(np.square(X), axis=1)[:, np.newaxis]
)
"""

_LOSS_TWICE = """
loss, grad = self.loss(X_batch, y_batch, reg=reg)
W_new = self.W - learning_rate * grad
"""

_DOT_SQUARED = """
for i in range(num_test):
    for j in range(num_train):
        d = X[i] - self.X_train[j]
        dists[i, j] = np.dot(d, d)
"""

_NO_TWO = """
sq = np.sum(X**2, axis=1).reshape(-1, 1) + np.sum(self.X_train**2, axis=1)
dists = np.sqrt(np.maximum(sq - X.dot(self.X_train.T), 0))
"""

_K_PLUS_ONE = """
for i in range(num_test):
    idx = np.argsort(dists[i, :])
    closest_y = list(self.y_train[idx[: k + 1]])
    y_pred[i] = np.bincount(closest_y).argmax()
"""

_TIES_LARGER = """
for i in range(num_test):
    votes = np.bincount(self.y_train[np.argsort(dists[i])[:k]], minlength=10)
    y_pred[i] = 9 - np.argmax(votes[::-1])
"""

# (label, region, body, the known mistake it must be named, or None: correct)
CORPUS = [
    # class 1: the penalty missing from the loss, at reg 0.3 (once told "a constant multiple")
    ("svm_dot_no_penalty", SVM_VEC, _svm_dot(loss_reg=""), "svm_vectorized_no_reg_loss"),
    # class 2: the standard -np.log(probs[range(N), y]) (once also told wrong_axis)
    (
        "softmax_neg_log_p_std",
        SM_VEC,
        _softmax_std(data_loss=_NEG_LOG_P),
        "softmax_vectorized_neg_log_p",
    ),
    (
        "softmax_global_max_std",
        SM_VEC,
        _softmax_std(shift="scores -= np.max(scores)"),
        "softmax_vectorized_global_max",
    ),
    # class 3: no clip before the root, another grouping of the expanded square
    ("no_clip_grouped", NO_LOOPS, _NO_CLIP, "no_loops_no_clip"),
    # class 4: conventions
    (
        "svm_dot_half_reg",
        SVM_VEC,
        _svm_dot("loss += 0.5 * reg * np.sum(W * W)", "dW += reg * W"),
        "svm_vectorized_half_reg",
    ),
    ("svm_dot_2w", SVM_VEC, _svm_dot(grad_reg="dW += 2 * W"), "svm_vectorized_reg_grad_2w"),
    ("svm_dot_reg_w", SVM_VEC, _svm_dot(grad_reg="dW += reg * W"), "svm_vectorized_reg_grad_half"),
    (
        "svm_loop_half_reg",
        SVM_NAIVE,
        _CS231N_LOOP.format(tail="loss += 0.5 * reg * np.sum(W ** 2)\ndW += reg * W"),
        "svm_naive_half_reg",
    ),
    (
        "svm_loop_2w",
        SVM_NAIVE,
        _CS231N_LOOP.format(tail="loss += reg * np.sum(W * W)\ndW += 2 * W"),
        "svm_naive_reg_grad_2w",
    ),
    (
        "svm_loop_reg_w",
        SVM_NAIVE,
        _CS231N_LOOP.format(tail="loss += reg * np.sum(W * W)\ndW += reg * W"),
        "svm_naive_reg_grad_half",
    ),
    (
        "softmax_std_half_reg",
        SM_VEC,
        _softmax_std(loss_reg="0.5 * reg * np.sum(W ** 2)", grad_reg="reg * W"),
        "softmax_vectorized_half_reg",
    ),
    ("softmax_std_2w", SM_VEC, _softmax_std(grad_reg="2 * W"), "softmax_vectorized_reg_grad_2w"),
    (
        "softmax_std_reg_w",
        SM_VEC,
        _softmax_std(grad_reg="reg * W"),
        "softmax_vectorized_reg_grad_half",
    ),
    (
        "softmax_loop_half_reg",
        SM_NAIVE,
        _SOFTMAX_LOOP.format(tail="loss += 0.5 * reg * np.sum(W * W)\ndW += reg * W"),
        "softmax_naive_half_reg",
    ),
    (
        "softmax_loop_reg_w",
        SM_NAIVE,
        _SOFTMAX_LOOP.format(tail="loss += reg * np.sum(W * W)\ndW += reg * W"),
        "softmax_naive_reg_grad_half",
    ),
    (
        "svm_loop_reg_per_example",
        SVM_NAIVE,
        """
num_train = X.shape[0]
for i in range(num_train):
    s = X[i] @ W
    for j in range(W.shape[1]):
        m = s[j] - s[y[i]] + 1
        if j != y[i] and m > 0:
            loss += m / num_train
            dW[:, j] += X[i] / num_train
            dW[:, y[i]] -= X[i] / num_train
    loss += reg * np.sum(W ** 2)
    dW += reg * 2 * W
""",
        "svm_naive_reg_in_loop",
    ),
    # class 6: train calling self.loss twice per step
    (
        "train_loss_twice",
        UPDATE,
        _LOSS_TWICE,
        "train_loss_called_twice",
    ),
    # other common mistakes, in student styles
    (
        "svm_loop_no_mean",
        SVM_NAIVE,
        _CS231N_LOOP.replace("loss /= num_train\ndW /= num_train\n", "").format(
            tail="loss += reg * np.sum(W * W)\ndW += 2 * reg * W"
        ),
        "svm_naive_no_mean",
    ),
    (
        "svm_loop_no_true_grad",
        SVM_NAIVE,
        _CS231N_LOOP.replace("            dW[:, y[i]] += -X[i].T\n", "").format(
            tail="loss += reg * np.sum(W * W)\ndW += 2 * reg * W"
        ),
        "svm_naive_no_true_class_grad",
    ),
    (
        "svm_loop_no_delta",
        SVM_NAIVE,
        _CS231N_LOOP.replace("+ 1  # note delta = 1", "").format(
            tail="loss += reg * np.sum(W * W)\ndW += 2 * reg * W"
        ),
        "svm_naive_no_delta",
    ),
    (
        "svm_dot_true_class_counted",
        SVM_VEC,
        _svm_dot().replace("margin[np.arange(num_train), y] = 0\n", ""),
        "svm_vectorized_counts_true_class",
    ),
    (
        "softmax_std_wrong_axis",
        SM_VEC,
        _softmax_std(data_loss=_NEG_LOG_P).replace(
            "axis=1, keepdims=True)\nloss", "axis=0, keepdims=True)\nloss"
        ),
        "softmax_vectorized_wrong_axis",
    ),
    (
        "softmax_std_no_mean",
        SM_VEC,
        _softmax_std(
            data_loss="np.sum(np.log(np.sum(exp_scores, axis=1)) - scores[range(num_train), y])"
        ).replace("/ num_train\ndW +=", "\ndW +="),
        "softmax_vectorized_no_mean",
    ),
    (
        "softmax_loop_neg_log_p",
        SM_NAIVE,
        _SOFTMAX_LOOP.replace(
            "loss += -f[y[i]] + np.log(np.sum(np.exp(f)))", "loss += -np.log(p[y[i]])"
        ).format(tail="loss += reg * np.sum(W * W)\ndW += 2 * reg * W"),
        "softmax_naive_neg_log_p",
    ),
    (
        "softmax_loop_no_shift",
        SM_NAIVE,
        _SOFTMAX_LOOP.replace("    f -= np.max(f)\n", "").format(
            tail="loss += reg * np.sum(W * W)\ndW += 2 * reg * W"
        ),
        "softmax_naive_no_shift",
    ),
    (
        "two_loops_dot_squared",
        TWO_LOOPS,
        _DOT_SQUARED,
        "two_loops_squared",
    ),
    (
        "one_loop_abs",
        ONE_LOOP,
        "for i in range(num_test):\n    dists[i] = np.abs(self.X_train - X[i, :]).sum(axis=1)\n",
        "one_loop_l1",
    ),
    (
        "no_loops_no_two",
        NO_LOOPS,
        _NO_TWO,
        "no_loops_no_factor_2",
    ),
    (
        "labels_k_plus_one",
        PREDICT_LABELS,
        _K_PLUS_ONE,
        "predict_labels_k_plus_1",
    ),
    (
        "labels_ties_larger",
        PREDICT_LABELS,
        _TIES_LARGER,
        "predict_labels_ties_to_larger",
    ),
    (
        "train_ascent_copy",
        UPDATE,
        "W_new = self.W.copy()\nW_new += learning_rate * grad\n",
        "train_gradient_ascent",
    ),
    (
        "train_same_rows",
        SAMPLE,
        "X_batch = X[0:batch_size, :]\ny_batch = y[0:batch_size]\n",
        "train_first_rows",
    ),
    (
        "predict_argsort_first",
        PREDICT,
        "y_pred = np.argsort(X.dot(self.W), axis=1)[:, 0]\n",
        "predict_argmin",
    ),
    # correct bodies in the same styles: full marks, no name
    ("svm_dot_right", SVM_VEC, _svm_dot(), None),
    (
        "svm_loop_right",
        SVM_NAIVE,
        _CS231N_LOOP.format(tail="loss += reg * np.sum(W * W)\ndW += 2 * reg * W"),
        None,
    ),
    ("softmax_std_right", SM_VEC, _softmax_std(), None),
    (
        "softmax_loop_right",
        SM_NAIVE,
        _SOFTMAX_LOOP.format(tail="loss += reg * np.sum(W * W)\ndW += 2 * reg * W"),
        None,
    ),
    (
        "no_loops_clip_grouped",
        NO_LOOPS,
        _NO_CLIP.replace("np.sqrt(\n", "np.sqrt(np.maximum(0,\n").replace("\n)\n", "\n))\n"),
        None,
    ),
    ("train_loss_once", UPDATE, "W_new = self.W - learning_rate * grad\n", None),
]

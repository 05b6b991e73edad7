"""Trusted checks of the notebooks' graded test cells, run in the grader's process.

A graded test cell never decides its own verdict in the student's kernel. At
grading time its source is replaced by an *export snippet*
(:func:`export_source`) that writes the values the check needs as plain data:
``<grade id>.json`` (numbers, strings, booleans, tagged sets, lists) and, for
arrays such as the best classifier's ``W``, ``<grade id>.npz`` (read with
``allow_pickle=False``). After the kernel is gone, :func:`evaluate` reads those
files, validates their types itself and runs the check registered here for
the grade id, recomputing anything it can from the kit's own code and data
(the offline digits that grading always uses). A check returns ``(passed,
reason)``, the reason in the student's terms; known mistakes get a diagnosis.

Student code can shadow ``float``, ``json`` or ``open`` in its kernel: that can
only change the *values* written, never the verdict's logic, and a value that
is not plain data of the expected type fails with a reason.
"""

import io
import json
import math
import os
import stat
from pathlib import Path

import numpy as np

# Fixed by read-only cells of knn.ipynb; the exported values must agree.
K_CHOICES = (1, 3, 5, 8, 10, 12, 15, 20, 50, 100)
NUM_FOLDS = 5
SEARCH_TARGET = 0.85  # validation accuracy on the offline digits (the notebooks' nb.GRADING target)
MAX_EXPORT_BYTES = 4 * 2**20

# grade id -> (names exported as JSON, names exported as arrays {file key: expression})
EXPORTS = {
    "knn_test_cross_validation": (["k_to_accuracies", "k_choices", "num_folds"], {}),
    "knn_test_best_k": (["best_k", "k_to_accuracies"], {}),
    "knn_test_inline_q2": (["inline_question_2"], {}),
    "knn_test_inline_q3": (["inline_question_3"], {}),
    "svm_test_q1": (["q1_car_loss_after_small_change"], {}),
    "svm_test_q2": (["q2_min_loss", "q2_max_loss"], {}),
    "svm_test_q3": (["q3_initial_loss"], {}),
    "svm_test_q4": (["q4_change_in_loss"], {}),
    "svm_test_q5": (["q5_mean_instead_of_sum"], {}),
    "svm_test_q6": (["q6_squared_hinge_is_different"], {}),
    "svm_test_q7": (["q7_zero_loss_W_is_unique"], {}),
    "svm_test_search": (["best_val", "results"], {"W": "best_svm.W"}),
    "softmax_test_q1": (["q1_min_loss", "q1_max_loss"], {}),
    "softmax_test_q2": (["q2_initial_loss"], {}),
    "softmax_test_q3": (["q3_which_loss_changes"], {}),
    "softmax_test_search": (["best_val", "results"], {"W": "best_softmax.W"}),
    "softmax_test_inline_q2": (["inline_question_2"], {}),
}
# Functions of C are exported as their values at these C.
FUNCTION_POINTS = (3, 10, 7)

_SNIPPET = """\
# Grading: this cell exports the values its check needs; the check runs outside the notebook.
def _cs_loss_export(_names, _arrays, _json_path, _npz_path, _points={points!r}):
    import builtins as b  # not the notebook's names: a shadowed float or int changes nothing here
    import json, numpy
    def plain(v, depth=0):
        t = b.type(v)
        if depth > 6:
            raise b.ValueError("nested too deeply")
        if v is None or v is True or v is False:
            return v
        if b.isinstance(v, b.str):
            return b.str.__str__(v)
        if b.isinstance(v, numpy.bool_):
            return b.bool(v)
        if b.isinstance(v, b.int):
            return {{"int": b.int.__repr__(v)}}
        if b.isinstance(v, numpy.integer):
            return {{"int": b.repr(b.int(v))}}
        if b.isinstance(v, b.float):
            return {{"float": b.float.__repr__(v)}}
        if b.isinstance(v, numpy.floating):
            return {{"float": b.repr(b.float(v))}}
        if b.isinstance(v, (b.set, b.frozenset)):
            return {{"set": [plain(x, depth + 1) for x in b.list(b.set.__iter__(b.set(v)))[:100]]}}
        if b.isinstance(v, b.dict):
            return {{"dict": [[plain(k, depth + 1), plain(x, depth + 1)] for k, x in b.list(b.dict.items(v))[:1000]]}}
        if b.isinstance(v, (b.list, b.tuple, numpy.ndarray)):
            return {{"list": [plain(x, depth + 1) for x in b.list(v)[:1000]]}}
        if b.callable(v):
            return {{"function": [[c, plain(v(c), depth + 1)] for c in _points]}}
        return {{"unsupported": b.str(t.__name__)[:60]}}
    out = {{}}
    namespace = _cs_loss_ns
    for name in _names:
        try:
            out[name] = {{"value": plain(namespace[name])}}
        except b.Exception as exc:
            out[name] = {{"error": b.str(b.type(exc).__name__) + ": " + b.str(exc)[:300]}}
    arrays = {{}}
    for key, expression in _arrays.items():
        try:
            obj, attr = expression.split(".")
            arrays[key] = numpy.array(b.getattr(namespace[obj], attr), copy=True)
        except b.Exception as exc:
            out["array:" + key] = {{"error": b.str(b.type(exc).__name__) + ": " + b.str(exc)[:300]}}
    try:  # run-time review flag: hooks on the kernel's events or input transformers
        shell = get_ipython()
        hooks = [b.getattr(cb, "__module__", "?") + "." + b.getattr(cb, "__qualname__", "?")
                 for event in shell.events.callbacks.values() for cb in event]
        hooks += [b.getattr(t, "__module__", "?") + "." + b.getattr(t, "__qualname__", "?")
                  for t in shell.input_transformers_post + shell.input_transformers_cleanup
                  + shell.ast_transformers]
        out["_hooks"] = {{"value": {{"list": [b.str(h)[:200] for h in hooks[:50]]}}}}
    except b.Exception:
        pass
    with b.open(_json_path, "w") as f:
        json.dump(out, f)
    if arrays:
        numpy.savez(_npz_path, **arrays)
import builtins as _cs_loss_builtins
_cs_loss_ns = _cs_loss_builtins.globals()
_cs_loss_export({names!r}, {arrays!r}, {json_path!r}, {npz_path!r})
del _cs_loss_export, _cs_loss_ns, _cs_loss_builtins
"""


def export_source(grade_id, export_dir):
    """The code that replaces test cell ``grade_id`` at grading time."""
    names, arrays = EXPORTS[grade_id]
    export_dir = Path(export_dir)
    return _SNIPPET.format(
        points=FUNCTION_POINTS,
        names=names,
        arrays=arrays,
        json_path=str(export_dir / f"{grade_id}.json"),
        npz_path=str(export_dir / f"{grade_id}.npz"),
    )


def _read_plain_file(path, limit):
    """The bytes of a regular file (never through a symlink, never more than ``limit``), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        return f.read(limit + 1)[:limit]


class Invalid(Exception):
    """An exported value is missing or not plain data of the expected type."""


def _decode(tagged):
    """Plain Python data from the exporter's tagged JSON; Invalid for anything else."""
    if tagged is None or type(tagged) in (bool, str):
        return tagged
    if type(tagged) is not dict or len(tagged) != 1:
        raise Invalid("a value of an unsupported type")
    ((tag, inner),) = tagged.items()
    if tag == "int" and type(inner) is str and len(inner) < 40:
        return int(inner)
    if tag == "float" and type(inner) is str and len(inner) < 40:
        return float(inner)
    if tag in ("list", "set") and type(inner) is list:
        items = [_decode(x) for x in inner]
        if tag == "set":
            if any(type(x) not in (int, str, bool) for x in items):
                raise Invalid("a set holding something other than numbers")
            return frozenset(items)
        return items
    if tag == "dict" and type(inner) is list:
        pairs = [(_decode(k), _decode(v)) for k, v in inner]
        return {(tuple(k) if type(k) is list else k): v for k, v in pairs}
    if tag == "function" and type(inner) is list:
        return {_decode(c) if type(c) is dict else c: _decode(v) for c, v in inner}
    if tag == "unsupported":
        raise Invalid(f"an object of type {str(inner)[:60]}")
    raise Invalid("a value of an unsupported type")


class Exported:
    """The values one test cell exported, read and validated by the grader."""

    def __init__(self, export_dir, grade_id):
        self.grade_id = grade_id
        path = Path(export_dir) / f"{grade_id}.json"
        self.raw, self.arrays = {}, {}
        text = _read_plain_file(path, MAX_EXPORT_BYTES)
        self.ran = text is not None
        if text is not None:
            try:
                raw = json.loads(text.decode("utf-8", "replace"))
                self.raw = raw if type(raw) is dict else {}
            except (ValueError, RecursionError):
                self.raw = {}
        data = _read_plain_file(Path(export_dir) / f"{grade_id}.npz", 64 * MAX_EXPORT_BYTES)
        if data is not None:
            try:
                with np.load(io.BytesIO(data), allow_pickle=False) as saved:
                    self.arrays = {key: saved[key] for key in saved.files}
            except Exception:  # a corrupt or pickled file is no value
                self.arrays = {}

    def get(self, name):
        entry = self.raw.get(name)
        if type(entry) is not dict:
            raise Invalid(f"{name} was not set (this cell did not run, or an earlier cell failed)")
        if "error" in entry:
            raise Invalid(f"{name} could not be read: {str(entry['error'])[:200]}")
        try:
            return _decode(entry.get("value"))
        except (RecursionError, ValueError, TypeError, OverflowError) as exc:
            raise Invalid(f"{name} is not plain data ({type(exc).__name__})") from None
        except Invalid as exc:
            raise Invalid(f"{name} is {exc}") from None

    def number(self, name):
        value = self.get(name)
        if type(value) not in (int, float):
            raise Invalid(f"{name} must be a number, got {_kind(value)}")
        return float(value)

    def boolean(self, name):
        value = self.get(name)
        if type(value) is not bool:
            raise Invalid(f"{name} must be True or False, got {_kind(value)}")
        return value

    def array(self, key, what):
        if key not in self.arrays:
            raise Invalid(f"{what} could not be read (is the classifier trained?)")
        value = self.arrays[key]
        if value.dtype.kind not in "fiu":
            raise Invalid(f"{what} must be an array of numbers, got dtype {value.dtype}")
        return value


def _kind(value):
    return {
        frozenset: "a set",
        list: "a list",
        dict: "a dict",
        str: "a string",
        type(None): "None",
        bool: "a bool",
        int: "a number",
        float: "a number",
    }.get(type(value), "another type")


# ---- the checks: each takes the Exported values and returns (passed, reason) ----

CHECKS = {}


def check(grade_id):
    def register(function):
        CHECKS[grade_id] = function
        return function

    return register


def _equal_answer(expected, diagnoses=None):
    """A check that one exported answer equals ``expected`` (type checked)."""

    def run(values, name):
        value = values.get(name)
        if type(expected) is bool:
            if type(value) is not bool:
                return False, f"{name} must be True or False, got {_kind(value)}"
        elif type(expected) in (int, float):
            if type(value) not in (int, float):
                return False, f"{name} must be a number, got {_kind(value)}"
        elif type(expected) is str:
            if type(value) is not str:
                return False, f"{name} must be a string, got {_kind(value)}"
        if value == expected and type(value) is not bool or value is expected:
            return True, "passed"
        for wrong, why in (diagnoses or {}).items():
            if value == wrong and type(value) is type(wrong):
                return False, f"{name} = {value!r} is not right: {why}"
        return False, f"{name} = {value!r} is not the right answer; reread the question"

    return run


def _answer_check(grade_id, name, expected, diagnoses=None):
    run = _equal_answer(expected, diagnoses)
    CHECKS[grade_id] = lambda values: run(values, name)


def _set_check(grade_id, name, expected, diagnoses):
    def run(values):
        value = values.get(name)
        if type(value) is not frozenset or not value or not value <= {1, 2, 3, 4, 5}:
            return False, f"{name} must be a non-empty set of numbers from 1 to 5, e.g. {{1, 4}}"
        if any(type(v) is not int for v in value):
            return False, f"{name} must hold whole numbers"
        if value == frozenset(expected):
            return True, "passed"
        for wrong, why in diagnoses.items():
            if value == frozenset(wrong):
                return False, f"{name} = {set(value)} is not right: {why}"
        return False, f"{name} = {set(value)} is not right: reread each statement"

    CHECKS[grade_id] = run


_set_check("knn_test_inline_q2", "inline_question_2", {1, 2, 3}, {})
_set_check("knn_test_inline_q3", "inline_question_3", {2, 4}, {})
_answer_check("svm_test_q1", "q1_car_loss_after_small_change", 0.0)
_answer_check("svm_test_q4", "q4_change_in_loss", 1.0)
_answer_check(
    "svm_test_q5",
    "q5_mean_instead_of_sum",
    1,
    {
        2: "the mean is the sum divided by a constant: the minimiser does not change",
        3: "the mean is the sum divided by a constant: the minimiser does not change",
    },
)
_answer_check(
    "svm_test_q6",
    "q6_squared_hinge_is_different",
    True,
    {False: "squaring penalises large margin violations more: a different loss"},
)
_answer_check(
    "svm_test_q7", "q7_zero_loss_W_is_unique", False, {True: "2 * W has zero loss too when W does"}
)
_answer_check(
    "softmax_test_q3",
    "q3_which_loss_changes",
    "softmax",
    {
        "both": "an SVM loss of 0 stays 0 while every margin holds (each other score at least "
        "1 below the correct one); the softmax loss changes with any score",
        "svm": "an SVM loss of 0 stays 0 while every margin holds (each other score at least "
        "1 below the correct one); the softmax loss changes with any score",
    },
)
_answer_check(
    "softmax_test_inline_q2",
    "inline_question_2",
    True,
    {False: "the softmax loss changes whenever a score changes"},
)


def _min_max(min_name, max_name):
    def run(values):
        low, high = values.number(min_name), values.number(max_name)
        if low == 0.0 and high == math.inf:
            return True, "passed"
        if low == 0.0:
            return False, f"{max_name} = {high!r}: can a loss grow without bound? (float('inf'))"
        return (
            False,
            f"{min_name} = {low!r}: what is the loss when every example is classified with a wide margin?",
        )

    return run


CHECKS["svm_test_q2"] = _min_max("q2_min_loss", "q2_max_loss")
CHECKS["softmax_test_q1"] = _min_max("q1_min_loss", "q1_max_loss")


def _initial_loss(name, expected, diagnoses):
    def run(values):
        table = values.get(name)
        if type(table) is not dict or set(table) != set(FUNCTION_POINTS):
            return False, f"{name} must be a function of C returning a number"
        got = {c: table[c] for c in FUNCTION_POINTS}
        if any(type(v) not in (int, float) for v in got.values()):
            return False, f"{name}(C) must return a number"
        if all(abs(got[c] - expected(c)) < 1e-9 for c in got):
            return True, "passed"
        for formula, why in diagnoses:
            if all(abs(got[c] - formula(c)) < 1e-9 for c in got):
                return False, f"{name}(C) is not right: {why}"
        return False, f"{name}({FUNCTION_POINTS[0]}) = {got[FUNCTION_POINTS[0]]!r} is not right"

    return run


CHECKS["svm_test_q3"] = _initial_loss(
    "q3_initial_loss",
    lambda c: c - 1.0,
    [
        (lambda c: float(c), "the correct class's own margin is not counted: C - 1 terms"),
    ],
)
CHECKS["softmax_test_q2"] = _initial_loss(
    "q2_initial_loss",
    lambda c: math.log(c),
    [
        (lambda c: c - 1.0, "that is the SVM's initial loss; softmax gives -log(1/C)"),
        (lambda c: 1.0 / c, "that is the probability of the correct class; the loss is -log of it"),
        (lambda c: math.log10(c), "use the natural logarithm, as np.log does"),
    ],
)


# ---- kNN cross-validation: recomputed with the kit's reference kNN on the kit's data ----

_CACHE = {}


def reference_fold_accuracies():
    """{k: [accuracy per fold]} as knn.ipynb computes it, with the kit's own kNN."""
    if "folds" not in _CACHE:
        from cs_loss import KNearestNeighbor, load_images

        images = load_images("digits")  # grading always runs on the offline digits
        num_training = min(5000, len(images["y_train"]))
        X_train = images["X_train"][:num_training].reshape(num_training, -1).astype(np.float64)
        y_train = images["y_train"][:num_training]
        folds_X, folds_y = np.array_split(X_train, NUM_FOLDS), np.array_split(y_train, NUM_FOLDS)
        table = {k: [] for k in K_CHOICES}
        for fold in range(NUM_FOLDS):
            rest_X = np.concatenate(folds_X[:fold] + folds_X[fold + 1 :])
            rest_y = np.concatenate(folds_y[:fold] + folds_y[fold + 1 :])
            knn = KNearestNeighbor().train(rest_X, rest_y)
            dists = knn.compute_distances_no_loops(folds_X[fold])  # (num_fold, num_rest)
            for k in K_CHOICES:
                table[k].append(float(np.mean(knn.predict_labels(dists, k=k) == folds_y[fold])))
        _CACHE["folds"] = table
    return _CACHE["folds"]


def _student_accuracies(values):
    table = values.get("k_to_accuracies")
    if type(table) is not dict:
        raise Invalid(
            f"k_to_accuracies must be a dict from k to a list of accuracies, got {_kind(table)}"
        )
    out = {}
    for k, accs in table.items():
        if (
            type(k) is not int
            or type(accs) is not list
            or any(type(a) not in (int, float) for a in accs)
        ):
            raise Invalid(
                "k_to_accuracies must map each k (a whole number) to a list of accuracies"
            )
        out[k] = [float(a) for a in accs]
    return out


@check("knn_test_cross_validation")
def _cross_validation(values):
    if values.get("k_choices") != list(K_CHOICES) or values.get("num_folds") != NUM_FOLDS:
        return False, "k_choices and num_folds must stay as given"
    got = _student_accuracies(values)
    reference = reference_fold_accuracies()
    if sorted(got) != sorted(reference):
        return False, "k_to_accuracies needs one entry per k in k_choices"
    for k in K_CHOICES:
        if len(got[k]) != NUM_FOLDS:
            return (
                False,
                f"k = {k} has {len(got[k])} accuracies; expected one per fold ({NUM_FOLDS})",
            )
        if not all(0 <= a <= 1 for a in got[k]):
            return False, f"accuracies for k = {k} must be in [0, 1]"
    if all(np.allclose(got[k], reference[k], rtol=0, atol=1e-9) for k in K_CHOICES):
        return True, "passed"
    if all(np.allclose(sorted(got[k]), sorted(reference[k]), atol=1e-9) for k in K_CHOICES):
        return False, "the accuracies are right but not in fold order: append fold 0's first"
    if all(np.allclose(got[k], [reference[k][-1]] * NUM_FOLDS, atol=1e-9) for k in K_CHOICES):
        return (
            False,
            "every fold got the last fold's accuracy: compute the accuracy inside the fold loop",
        )
    for k in K_CHOICES:
        for fold in range(NUM_FOLDS):
            if abs(got[k][fold] - reference[k][fold]) > 1e-9:
                return False, (
                    f"k = {k}, fold {fold}: expected accuracy {reference[k][fold]:.3f} (train on the "
                    f"other {NUM_FOLDS - 1} folds, test on fold {fold}), got {got[k][fold]:.3f}: "
                    "check which fold is held out and which are concatenated for training"
                )
    return False, "k_to_accuracies differs from the cross-validation results"


def _best_k_from(table, score):
    return max(K_CHOICES, key=lambda k: (score(table[k]), -k))


@check("knn_test_best_k")
def _best_k(values):
    best_k = values.get("best_k")
    if type(best_k) is not int:
        return False, f"best_k must be a whole number from k_choices, got {_kind(best_k)}"
    if best_k not in K_CHOICES:
        return False, f"best_k must be one of k_choices, got {best_k}"
    reference = reference_fold_accuracies()
    right = _best_k_from(reference, np.mean)
    if best_k == right:
        return True, "passed"
    if best_k == min(K_CHOICES, key=lambda k: (np.mean(reference[k]), k)):
        return False, f"best_k = {best_k} has the lowest mean accuracy: take the highest"
    if best_k == _best_k_from(reference, lambda accs: accs[-1]):
        return (
            False,
            f"best_k = {best_k} is best on the last fold only: compare the mean over all folds",
        )
    if best_k == _best_k_from(reference, lambda accs: accs[0]):
        return (
            False,
            f"best_k = {best_k} is best on the first fold only: compare the mean over all folds",
        )
    return False, f"k = {right} has a higher mean cross-validation accuracy than best_k = {best_k}"


def _validation_split():
    if "val" not in _CACHE:
        from cs_loss import get_digits_data

        data = get_digits_data(seed=0)  # what nb.load_split() gives while grading
        _CACHE["val"] = data["X_val"], data["y_val"]
    return _CACHE["val"]


def _search(classifier):
    def run(values):
        best_val = values.number("best_val")
        results = values.get("results")
        if type(results) is not dict or not results:
            return False, "the search found no classifier: is results filled in?"
        accuracies = []
        for acc in results.values():
            if acc is None:
                continue
            if (
                type(acc) is not list
                or len(acc) != 2
                or any(type(a) not in (int, float) for a in acc)
            ):
                return (
                    False,
                    "results must map (learning rate, reg) to (train accuracy, val accuracy)",
                )
            accuracies.append(float(acc[1]))
        if not accuracies:
            return False, "the search found no classifier: is results filled in?"
        W = values.array("W", f"{classifier}.W")
        X_val, y_val = _validation_split()
        if W.ndim != 2 or W.shape[0] != X_val.shape[1]:
            return (
                False,
                f"{classifier}.W has shape {W.shape}; expected (D, C) = ({X_val.shape[1]}, C)",
            )
        if not np.isfinite(W).all():
            return False, f"{classifier}.W contains NaN or infinity"
        accuracy = float(
            np.mean(np.argmax(X_val @ W, axis=1) == y_val)
        )  # as LinearClassifier.predict
        if abs(max(accuracies) - best_val) > 1e-9:
            return False, "best_val is not the highest validation accuracy in results"
        if abs(accuracy - best_val) > 1e-9:
            return False, (
                f"{classifier} is not the classifier that reached best_val (its validation "
                f"accuracy is {accuracy:.3f}): keep the best classifier, not the last one"
            )
        if accuracy < SEARCH_TARGET:
            return (
                False,
                f"the best validation accuracy {accuracy:.3f} is below {SEARCH_TARGET}: widen the search",
            )
        return True, "passed"

    return run


CHECKS["svm_test_search"] = _search("best_svm")
CHECKS["softmax_test_search"] = _search("best_softmax")


TRUSTED_HOOK_MODULES = (
    "IPython.",
    "ipykernel.",
    "matplotlib",
    "matplotlib_inline.",
    "traitlets.",
    "jupyter_client.",
    "comm.",
    "ipywidgets.",
    "tqdm.",
)


def foreign_hooks(export_dir, grade_id):
    """Kernel event callbacks and input transformers not installed by IPython or the libraries."""
    try:
        hooks = Exported(export_dir, grade_id).get("_hooks")
    except Invalid:
        return []
    if type(hooks) is not list:
        return []
    return [h for h in hooks if type(h) is str and not h.startswith(TRUSTED_HOOK_MODULES)]


def evaluate(grade_id, export_dir):
    """``(passed, reason)`` for test cell ``grade_id`` from the files its snippet wrote."""
    values = Exported(export_dir, grade_id)
    if not values.ran:
        return (
            False,
            "this check's cell did not run (an earlier cell failed, timed out or killed the kernel)",
        )
    try:
        return CHECKS[grade_id](values)
    except Invalid as exc:
        return False, str(exc)
    except Exception as exc:  # a malformed value that slipped past validation: no points, no crash
        return False, f"the exported values could not be checked ({type(exc).__name__})"

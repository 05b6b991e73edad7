"""Run the hidden package tests on a submission and score them.

The student's code runs only in child processes (see ``hidden_tests.py``),
each in a throw-away folder holding a copy of the submission's ``cs_loss``,
with a time and a memory limit; this process only compares the numbers the
child saved with the expected ones. Nothing a submission does can change
another test's score or the grader itself.
"""

import io
import json
import os
import resource
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import hidden_tests, sandbox

HERE = Path(__file__).resolve().parent
KIT_ROOT = HERE.parent
EXPECTED = HERE / "expected.npz"
GROUPS = sorted({group for group, *_ in hidden_tests.TESTS})


@dataclass
class TestResult:
    """One scored test, as reported per student."""

    name: str
    score: float
    max_score: float
    output: str
    kind: str = "package"  # or "notebook"
    targets: tuple = ()
    # The ids of the known mistakes (grading/mistakes.py) the grader matched, in the order
    # ``output`` names them: the report counts these, never names read out of ``output``,
    # which also quotes the student's own exception messages.
    mistakes: tuple = ()


MAX_FILE_BYTES = 256 * 2**20  # any file the child writes, as in the kernel's sandbox


def _limit_memory(limit_bytes, user=None):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if user is not None:  # drop root: the student's code runs as an unprivileged user
            resource.setrlimit(resource.RLIMIT_NPROC, (64, 64))
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)

    return apply


def grader_user():
    """The unprivileged user that runs student code, when the grader runs as root.

    Named by ``CS_LOSS_GRADE_USER`` (Gradescope's run_autograder sets ``student``).
    """
    name = os.environ.get("CS_LOSS_GRADE_USER")
    if not name or os.geteuid() != 0:
        return None
    import pwd

    try:
        return pwd.getpwnam(name)
    except KeyError:
        print(f"warning: user {name} does not exist; student code runs as root", file=sys.stderr)
        return None


def _group_failed(group, reason):
    """The status of every test of ``group`` when its whole child process failed."""
    return {
        name: {"ok": False, "error": reason} for g, name, *_ in hidden_tests.TESTS if g == group
    }


def _read_available(fd, limit=2**16):
    """What the pipe ``fd`` holds now (at most ``limit`` bytes), without waiting for more."""
    os.set_blocking(fd, False)
    data = b""
    while len(data) < limit:
        try:
            chunk = os.read(fd, limit - len(data))
        except BlockingIOError:
            break
        if not chunk:
            break
        data += chunk
    return data


def _read_result(path, limit, owner):
    """The bytes of a result file the child wrote: a regular file of ``owner``'s with one
    link, read without following a symlink (the student's code may have swapped it for a
    link to the expected values), at most ``limit`` bytes; else ValueError."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if (
            not stat.S_ISREG(info.st_mode)
            or info.st_uid != owner
            or info.st_nlink != 1
            or info.st_size > limit
        ):
            raise ValueError(f"{Path(path).name} is not a plain result file")
        return f.read(limit)


def run_child(package_dir, group, timeout, memory_bytes, user=None, monitor=None):
    """Run one group of hidden tests on ``package_dir/cs_loss``.

    Returns
    -------
    arrays : dict of str to ndarray
        Each test's outputs, keyed ``"test/output"``.
    statuses : dict of str to dict
        ``{"ok": True}`` or ``{"ok": False, "error": reason}`` for every test of
        the group, also when the child timed out or died.
    """
    with tempfile.TemporaryDirectory(prefix="cs_loss_grade_") as tmp:
        tmp = Path(tmp)
        source = Path(package_dir) / "cs_loss"
        if source.is_dir():
            shutil.copytree(source, tmp / "cs_loss", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(HERE / "hidden_tests.py", tmp / "hidden_tests.py")
        shutil.copy(HERE / "proc_audit.py", tmp / "proc_audit.py")
        out = tmp / "out.npz"
        user = user if user is not None else grader_user()
        if user is not None:
            for path in [tmp, *tmp.rglob("*")]:
                os.chown(path, user.pw_uid, user.pw_gid)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp),
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MPLBACKEND": "Agg",
        }
        # The child's /proc monitor reports on this pipe; the sandbox's Monitor gets its lines.
        stops = monitor.memory_stops if monitor else 0
        read_end, write_end = os.pipe()
        try:
            done = subprocess.run(
                [sys.executable, "-I", "hidden_tests.py", group, str(out), str(write_end)],
                cwd=tmp,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                preexec_fn=_limit_memory(memory_bytes, user),
                pass_fds=(write_end,),
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {}, _group_failed(group, f"timed out after {timeout:.0f} s")
        finally:
            os.close(write_end)
            records = _read_available(read_end)
            os.close(read_end)
            if monitor is not None:
                monitor.add_records(records)
        status_file = Path(str(out) + ".json")
        owner = user.pw_uid if user is not None else os.geteuid()
        try:
            status_bytes = _read_result(status_file, 2**20, owner)
        except FileNotFoundError:
            status_bytes = None
        except (OSError, ValueError):  # a symlink, a link to another file, too big...
            return {}, _group_failed(group, "the test process left a malformed result")
        if status_bytes is None:
            if monitor is not None and monitor.memory_stops > stops:
                return {}, _group_failed(
                    group, f"the test process was stopped: {monitor.memory_reason}"
                )
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            reason = f"the test process died (exit code {done.returncode}): {tail[0][:200]}"
            return {}, _group_failed(group, reason)
        try:  # written by the student's process: anything but plain data is a failure
            raw = json.loads(status_bytes.decode("utf-8", "replace"))
            statuses = _group_failed(group, "no result")
            for name in statuses:
                status = raw.get(name) if type(raw) is dict else None
                if type(status) is dict and status.get("ok") is True:
                    statuses[name] = {"ok": True}
                elif type(status) is dict and type(status.get("error")) is str:
                    statuses[name] = {"ok": False, "error": status["error"][:500]}
            with np.load(
                io.BytesIO(_read_result(out, MAX_FILE_BYTES, owner)), allow_pickle=False
            ) as saved:
                arrays = {key: saved[key] for key in saved.files}
        except Exception:  # noqa: BLE001 - a malformed result file costs this group only
            return {}, _group_failed(group, "the test process left a malformed result")
        return arrays, statuses


# Tolerances, stated to students in the feedback of a failing test: float64 results must
# match to rtol 1e-5 (plus an absolute 1e-7 of the largest expected magnitude); float32
# results, which carry only about 7 digits, to rtol 1e-4 (absolute 1e-5 of the largest).
TOLERANCE = {"float64": (1e-5, 1e-7), "float32": (1e-4, 1e-5)}


def _close(got, expected):
    """True if ``got`` matches ``expected`` within the tolerance of got's precision."""
    got = np.asarray(got)
    if got.shape != expected.shape:
        return False
    if expected.dtype.kind in "iub" and got.dtype.kind in "iub":
        return bool(np.array_equal(got, expected))
    rtol, atol = TOLERANCE["float32" if got.dtype == np.float32 else "float64"]
    got = got.astype(np.float64)
    if not np.isfinite(got).all():
        return False
    scale = max(float(np.max(np.abs(expected))), 1e-12) if expected.size else 1.0
    return bool(np.allclose(got, expected, rtol=rtol, atol=atol * scale))


def _compare(got, expected):
    """None if ``got`` matches ``expected``, else a reason that reveals no expected value."""
    got = np.asarray(got)
    if got.shape != expected.shape:
        return f"shape {got.shape}, expected {expected.shape}"
    if expected.dtype.kind in "iub":
        if not np.array_equal(got, expected):
            return f"{int(np.sum(got != expected))} of {expected.size} values differ"
        return None
    if got.dtype.kind in "f" and not np.isfinite(got).all():
        bad = "NaN" if np.isnan(got).any() else "infinity"
        return f"contains {bad} ({int(np.sum(~np.isfinite(got)))} of {got.size} values)"
    if not _close(got, expected):
        rtol = TOLERANCE["float32" if got.dtype == np.float32 else "float64"][0]
        wrong = int(np.sum(~np.isclose(got.astype(np.float64), expected, rtol=rtol, atol=1e-12)))
        return (
            f"differs from the expected value ({max(wrong, 1)} of {expected.size} values, "
            f"beyond a relative tolerance of {rtol:g})"
        )
    return None


# ---------------------------------------------------------------- behaviour checks
# Sampling uniformly from all N rows, the batches of the recorded training (num_iters *
# batch_size = 480 draws from 120 rows) reach about 98% of the rows; in 20,000 seeds never
# fewer than 93%. Sampling from a part of X (e.g. rng.choice(num_train // 2, ...)) stays below.
COVERAGE = 0.85


def _batch_rows(arrays, name, X, y):
    """(row indices into X or -1, recorded labels, batch sizes) of a recorded training.

    Rows are matched at the batch's own precision: a float32 batch (``X[idx]`` cast to
    float32) is still made of rows of X.
    """
    batch_X = arrays[f"{name}/batch_X"]
    dtype = batch_X.dtype if batch_X.dtype.kind == "f" else np.dtype(np.float64)
    index = {row.tobytes(): i for i, row in enumerate(np.ascontiguousarray(X, dtype=dtype))}
    rows = np.array(
        [index.get(np.ascontiguousarray(r, dtype=dtype).tobytes(), -1) for r in batch_X],
        dtype=np.int64,
    )
    return rows, arrays[f"{name}/batch_y"], arrays[f"{name}/batch_sizes"]


def check_train_batches(arrays, name):
    """[(code, message)] for the minibatches a student's train passed to self.loss."""
    X, y = hidden_tests.train_data()
    steps, size = hidden_tests.TRAIN["num_iters"], hidden_tests.TRAIN["batch_size"]
    rows, labels, sizes = _batch_rows(arrays, name, X, y)
    problems = []
    if len(sizes) != steps:
        problems.append(
            (
                "steps",
                f"self.loss was called {len(sizes)} times in {steps} "
                "iterations; expected once per iteration",
            )
        )
    if np.any(sizes != size):
        had = sorted(set(sizes.tolist()))
        problems.append(
            ("batch_size", f"X_batch had {had} rows; expected batch_size={size} rows at every step")
        )
    if len(labels) != len(rows):
        problems.append(("label_count", "y_batch does not have one label per row of X_batch"))
        return problems
    if np.any(rows < 0):
        problems.append(
            (
                "not_rows",
                f"{int(np.sum(rows < 0))} rows of X_batch are not rows of "
                "X: take whole rows of X, X[idx]",
            )
        )
    found = rows >= 0
    if np.any(labels[found] != y[rows[found]]):
        problems.append(
            (
                "labels",
                f"{int(np.sum(labels[found] != y[rows[found]]))} of "
                f"{int(found.sum())} labels in y_batch are not the labels of their rows "
                "of X_batch: index X and y with the same indices",
            )
        )
    if len(sizes) > 1 and found.all() and np.all(sizes == sizes[0]):
        per_step = rows.reshape(len(sizes), -1)
        if all(np.array_equal(np.sort(per_step[0]), np.sort(s)) for s in per_step[1:]):
            problems.append(
                (
                    "same_batch",
                    "every step used the same batch: draw new random indices at every iteration",
                )
            )
        elif len(np.unique(rows)) < COVERAGE * len(X):
            problems.append(
                (
                    "coverage",
                    "the batches used only a small part of X: sample the "
                    "indices from all num_train examples",
                )
            )
    return problems


def check_train_update(arrays, name):
    """[(code, message)] for the SGD steps: W_new = W - learning_rate * grad, and history."""
    settings = hidden_tests.TRAIN
    lr, reg = settings["learning_rate"], settings["reg"]
    W_before = arrays[f"{name}/W_before"]
    W_final, history = arrays[f"{name}/W_final"], arrays[f"{name}/history"]
    sizes = arrays[f"{name}/batch_sizes"]
    if len(W_before) == 0 or W_final.shape != W_before.shape[1:]:
        return [("no_steps", "train made no step, or changed W's shape")]
    W_after = list(W_before[1:]) + [W_final]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    losses, codes = [], []
    for t, W in enumerate(W_before):
        X_b = arrays[f"{name}/batch_X"][starts[t] : starts[t + 1]]
        y_b = arrays[f"{name}/batch_y"][starts[t] : starts[t + 1]]
        if len(y_b) != len(X_b) or len(y_b) == 0:
            codes.append("unknown")
            losses.append(np.nan)
            continue
        loss, grad = hidden_tests.reference_svm_loss(W, X_b, y_b, reg)
        losses.append(loss)
        candidates = {
            "ok": W - lr * grad,
            "ascent": W + lr * grad,
            "no_learning_rate": W - grad,
            "not_moved": W,
        }
        matches = [
            c
            for c, want in candidates.items()
            if np.allclose(W_after[t], want, rtol=1e-7, atol=1e-12)
        ]
        codes.append(matches[0] if matches else "unknown")
    problems = []
    bad = [c for c in codes if c != "ok"]
    if bad:
        code = max(set(bad), key=bad.count)
        what = {
            "ascent": "W moved along the gradient (W + learning_rate * grad): SGD steps "
            "against it, W - learning_rate * grad",
            "no_learning_rate": "W moved by the whole gradient: multiply grad by learning_rate",
            "not_moved": "W did not change: W_new must be W - learning_rate * grad",
            "unknown": "the new W is not W - learning_rate * grad of the batch",
        }[code]
        problems.append((code, f"{len(bad)} of {len(codes)} steps are wrong: {what}"))
    if len(history) != len(W_before):
        problems.append(
            (
                "history_length",
                f"the loss history has {len(history)} entries "
                f"for {len(W_before)} steps; expected one per step",
            )
        )
    elif not np.allclose(history, losses, rtol=1e-7, atol=1e-12):
        problems.append(
            (
                "history",
                "the loss history is not the list of the losses self.loss returned, one per step",
            )
        )
    return problems


def check_train_separable(arrays, name):
    """[(code, message)] for training on a linearly separable toy problem."""
    X, y = hidden_tests.toy_data()
    W = arrays[f"{name}/W_final"]
    if W.shape != (X.shape[1], 3):
        return [("shape", f"W has shape {W.shape} after training; expected (D, C)")]
    with np.errstate(all="ignore"):
        accuracy = float(np.mean(np.argmax(X @ W, axis=1) == y)) if np.isfinite(W).all() else 0.0
    if accuracy < hidden_tests.TOY_ACCURACY:
        return [
            (
                "accuracy",
                f"on a linearly separable problem training reached an accuracy "
                f"of {accuracy:.2f}; at least {hidden_tests.TOY_ACCURACY:.2f} "
                "is expected",
            )
        ]
    return []


# Tests whose outputs the grader checks by behaviour (no expected values).
BEHAVIOUR_CHECKS = {
    "linear_train_batches": check_train_batches,
    "linear_train_update": check_train_update,
    "linear_train_separable": check_train_separable,
}


def behaviour_problems(arrays, name):
    """[(code, message)] from a behaviour check, a missing output being a problem too."""
    try:
        return BEHAVIOUR_CHECKS[name](arrays, name)
    except KeyError as exc:
        return [("missing", f"output {exc} is missing")]
    except (ValueError, IndexError, TypeError) as exc:
        return [("malformed", f"the recorded training could not be checked ({type(exc).__name__})")]


# ---------------------------------------------------------------- diagnosis
GENERIC_CHECKS = {"linear_train_separable"}  # no mistake is named from these alone
MISTAKES_NPZ = HERE / "mistakes.npz"  # every known mistake's outputs, by make_expected
MISTAKES_JSON = HERE / "mistakes.json"  # their behaviour-check codes and statuses


def load_mistakes(npz_path=MISTAKES_NPZ, json_path=MISTAKES_JSON):
    """{"arrays": {"mistake/test/output": array}, "codes": {mistake: {test: [codes]}}}."""
    arrays, codes = {}, {}
    if Path(npz_path).is_file():
        with np.load(npz_path, allow_pickle=False) as saved:
            arrays = {key: saved[key] for key in saved.files}
    if Path(json_path).is_file():
        codes = json.loads(Path(json_path).read_text())
    return {"arrays": arrays, "codes": codes}


def _mistake_catalogue():
    try:
        from . import mistakes
    except ImportError:  # a grader without the catalogue still scores, without names
        return {}
    return {m.name: m for m in mistakes.MISTAKES}


def prove_catalogue(expected_path=EXPECTED):
    """Run every known mistake and correct variant; return the problems (empty if none).

    A mistake must lose points and be named (with its diagnosis) in a failing test's
    output; a correct variant must get full marks. One child per variant and affected
    group, two at a time: a few seconds in all.
    """
    from concurrent.futures import ThreadPoolExecutor

    from . import mistakes

    with np.load(expected_path, allow_pickle=False) as saved:
        expected = {key: saved[key] for key in saved.files}
    known = load_mistakes(
        Path(expected_path).parent / "mistakes.npz", Path(expected_path).parent / "mistakes.json"
    )
    variants = mistakes.MISTAKES + mistakes.CORRECT
    with tempfile.TemporaryDirectory(prefix="cs_loss_catalogue_") as tmp:
        with ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(lambda v: run_variant(v, tmp), variants))
    problems = []
    for variant, (arrays, statuses) in zip(variants, runs, strict=True):
        results = [r for r in score(arrays, statuses, expected, known) if r.name in statuses]
        failing = [r for r in results if r.score < r.max_score]
        if variant.diagnosis:
            if not failing:
                problems.append(f"known mistake {variant.name} gets full marks")
            elif not any(variant.name in r.mistakes for r in failing):
                problems.append(f"known mistake {variant.name} loses points but is not named")
        elif failing or not results:
            problems.append(
                f"correct variant {variant.name} loses points: "
                + "; ".join(f"{r.name}: {r.output}" for r in failing)
            )
    return problems


def diagnose(name, got, expected, problem_codes, known):
    """Names and diagnoses of the known mistakes whose outputs on test ``name`` are
    the student's, plus cheap relation-based hints. Reveals no expected value.

    Returns
    -------
    list of str
        ``known mistake `<id>`: <diagnosis>`` for each of :func:`matched_mistakes`, or,
        when none matches, the hints.
    """
    found = matched_mistakes(name, got, expected, problem_codes, known)
    return _diagnosis(name, got, expected, found)


def _diagnosis(name, got, expected, found):
    """:func:`diagnose`'s lines for the known mistakes ``found`` on test ``name``."""
    lines = [f"known mistake `{v.name}`: {v.diagnosis}" for v in found]
    if not found:
        lines += _relations(name, got, expected)
    return lines


def matched_mistakes(name, got, expected, problem_codes, known):
    """The known mistakes (``Variant`` of grading/mistakes.py) whose outputs on test
    ``name`` are the student's ``got``, in catalogue order."""
    catalogue = _mistake_catalogue()
    found = []
    for mistake, variant in catalogue.items():
        if name in BEHAVIOUR_CHECKS:
            if name in GENERIC_CHECKS:
                continue  # many mistakes fail it alike: the specific checks name them
            codes = known["codes"].get(mistake, {}).get(name)
            if codes and problem_codes and sorted(codes) == sorted(problem_codes):
                found.append(variant)
            continue
        keys = [k for k in expected if k.startswith(name + "/")]
        theirs = {k: known["arrays"].get(f"{mistake}/{k}") for k in keys}
        if not keys or any(v is None for v in theirs.values()):
            continue
        if all(_close(theirs[k], expected[k]) for k in keys):
            continue  # this mistake does not change this test
        if all(k in got and _mistake_match(got[k], theirs[k], expected[k]) for k in keys):
            found.append(variant)
    return found


def _mistake_match(got, theirs, expected):
    """Whether the student's ``got`` is the known mistake's output ``theirs``.

    Non-finite values must be of the same kinds (NaN, +inf, -inf) as the mistake's, and
    at the same cells, or, where every one of them sits at a cell whose right value is
    zero (to rounding), at any such cells: a root of a difference that cancels, as in
    the no-loop distances of identical rows, is NaN or not depending on the BLAS build's
    rounding. The finite values must be close.
    """
    got, theirs = np.asarray(got), np.asarray(theirs)
    if got.shape != theirs.shape:
        return False
    if theirs.dtype.kind == "f" and not np.isfinite(theirs).all():
        if got.dtype.kind != "f":
            return False
        got = got.astype(np.float64)
        if _kinds(got) != _kinds(theirs):
            return False
        odd_got, odd_theirs = ~np.isfinite(got), ~np.isfinite(theirs)
        if not np.array_equal(odd_got, odd_theirs):
            expected = np.asarray(expected, dtype=np.float64)
            scale = float(np.max(np.abs(expected))) if expected.size else 0.0
            zero = np.abs(expected) <= 1e-6 * scale
            if not (zero[odd_got].all() and zero[odd_theirs].all()):
                return False
        finite = ~odd_got & ~odd_theirs
        return bool(_close(got[finite], theirs[finite]))
    return _close(got, theirs)


def _kinds(values):
    """Which of NaN, +inf and -inf occur in ``values``."""
    return (
        bool(np.isnan(values).any()),
        bool(np.isposinf(values).any()),
        bool(np.isneginf(values).any()),
    )


def _relations(name, got, expected):
    """Hints from simple relations between the student's value and the expected one."""
    hints = []
    cases = {case: N for case, _f, _g, _r, _s, _sc, N in hidden_tests.LOSS_CASES}
    N = cases.get(name.rsplit("_", 1)[0])
    for key in [k for k in expected if k.startswith(name + "/")]:
        if key not in got:
            continue
        g = np.asarray(got[key], dtype=np.float64)
        e = expected[key]
        if g.shape != e.shape or e.dtype.kind not in "f" or not np.isfinite(g).all():
            continue
        what = key.split("/", 1)[1]
        nonzero = np.abs(e) > 1e-12
        if nonzero.any():
            ratio = g[nonzero] / e[nonzero]
            r = float(np.median(ratio))
            if r != 1 and np.allclose(ratio, r, rtol=1e-6):
                if N and abs(r - N) < 1e-6 * N:
                    hints.append(
                        f"{what} is exactly N times the right value (N examples): "
                        "divide the sum over the examples by N"
                    )
                elif N and abs(r * N - 1) < 1e-6:
                    hints.append(f"{what} is exactly N times too small: divide by N once")
                else:
                    hints.append(
                        f"{what} is a constant multiple of the right value: look for a wrong factor"
                    )
        if what == "dists" and _close(g, e**2):
            hints.append("dists are squared distances: take the square root")
    return hints


def score(arrays, statuses, expected, known=None):
    """Score every hidden test from a child's outputs.

    ``known`` holds the known mistakes' outputs (:func:`load_mistakes`; loaded from
    the files next to this module when None): a failing test whose outputs are a
    known mistake's outputs names that mistake and says where to look.
    """
    if known is None:
        known = load_mistakes()
    results = []
    for _group, name, points, targets, _run in hidden_tests.TESTS:
        status = statuses.get(name)
        if not status or not status.get("ok"):
            reason = (status or {}).get("error", "no result")
            results.append(TestResult(name, 0.0, points, reason, targets=targets))
            continue
        problems, codes = [], []
        if name in BEHAVIOUR_CHECKS:
            found = behaviour_problems(arrays, name)
            codes = [code for code, _ in found]
            problems = [message for _, message in found]
        else:
            for key in sorted(k for k in expected if k.startswith(name + "/")):
                if key not in arrays:
                    problems.append(f"{key.split('/', 1)[1]}: missing")
                    continue
                reason = _compare(arrays[key], expected[key])
                if reason:
                    problems.append(f"{key.split('/', 1)[1]}: {reason}")
        if problems:
            found = matched_mistakes(name, arrays, expected, codes, known)
            hints = _diagnosis(name, arrays, expected, found)
            output = "; ".join(problems)
            if hints:
                output += ". " + " ".join(hints)
            results.append(
                TestResult(
                    name,
                    0.0,
                    points,
                    output,
                    targets=targets,
                    mistakes=tuple(v.name for v in found),
                )
            )
        else:
            results.append(TestResult(name, float(points), points, "passed", targets=targets))
    return results


def run_package_tests(
    package_dir,
    timeout=None,
    memory_bytes=4 * 2**30,
    expected_path=EXPECTED,
    *,
    user=None,
    monitor=None,
):
    """All hidden package tests on ``package_dir`` (a folder holding ``cs_loss/``).

    Each group runs in its own child, limited to ``timeout`` seconds (default: the
    group's own limit, :func:`hidden_tests.group_timeout`, at most 85 s), so all the
    package tests of one submission take at most about four minutes. ``user`` and
    ``monitor`` are the sandbox's (default: :func:`grader_user` and the active monitor).
    """
    if not Path(expected_path).is_file():
        raise FileNotFoundError(
            f"{expected_path} is missing: make it with `python -m grading expected`."
        )
    with np.load(expected_path, allow_pickle=False) as saved:
        expected = {key: saved[key] for key in saved.files}
    arrays, statuses = {}, {}
    for group in GROUPS:
        limit = timeout or hidden_tests.group_timeout(group)
        group_arrays, group_statuses = run_child(
            package_dir, group, limit, memory_bytes, user=user, monitor=monitor
        )
        arrays.update(group_arrays)
        statuses.update(group_statuses)
    return score(arrays, statuses, expected)


def _run_all_groups(package_dir, groups=None):
    arrays, statuses = {}, {}
    for group in groups or GROUPS:
        group_arrays, group_statuses = run_child(package_dir, group, 300, 8 * 2**30)
        arrays.update(group_arrays)
        statuses.update(group_statuses)
    return arrays, statuses


def groups_of(region):
    """The hidden-test groups whose tests target ``region`` (a region id)."""
    function = region.split("#")[0]
    return sorted({g for g, _n, _p, targets, _r in hidden_tests.TESTS if function in targets})


def run_variant(variant, workdir):
    """The child's outputs and statuses for the reference with ``variant``'s region replaced,
    on the groups its region affects."""
    from . import markers

    dest = Path(workdir) / variant.name
    markers.write_package(KIT_ROOT / "cs_loss", dest, {variant.region: variant.code})
    return _run_all_groups(dest, groups_of(variant.region))


def make_expected(reference_dir=KIT_ROOT, path=EXPECTED, with_mistakes=True):
    """Run the hidden tests on the reference solution and save their outputs as the expectation.

    With ``with_mistakes``, also run every known mistake (grading/mistakes.py) and save
    their outputs next to ``path`` (``mistakes.npz``, ``mistakes.json``) for the diagnosis.
    Deterministic: fixed inputs, fixed seeds, variants in catalogue order.
    """
    arrays, statuses = _run_all_groups(reference_dir)
    failed = {name: status for name, status in statuses.items() if not status["ok"]}
    if failed:
        raise RuntimeError(f"the reference solution fails hidden tests: {failed}")
    behaviour = {name: behaviour_problems(arrays, name) for name in BEHAVIOUR_CHECKS}
    if any(behaviour.values()):
        raise RuntimeError(f"the reference solution fails behaviour checks: {behaviour}")
    expected = {k: v for k, v in arrays.items() if k.split("/")[0] not in BEHAVIOUR_CHECKS}
    np.savez(path, **expected)
    if with_mistakes:
        from concurrent.futures import ThreadPoolExecutor

        from . import mistakes

        mistake_arrays, mistake_codes = {}, {}
        with tempfile.TemporaryDirectory(prefix="cs_loss_mistakes_") as tmp:
            with ThreadPoolExecutor(2) as pool:
                runs = list(pool.map(lambda v: run_variant(v, tmp), mistakes.MISTAKES))
        for variant, (got, got_statuses) in zip(mistakes.MISTAKES, runs, strict=True):
            codes = {}
            for key, value in got.items():
                if key.split("/")[0] not in BEHAVIOUR_CHECKS:
                    mistake_arrays[f"{variant.name}/{key}"] = value
            for name in BEHAVIOUR_CHECKS:
                if got_statuses.get(name, {}).get("ok"):
                    codes[name] = [code for code, _ in behaviour_problems(got, name)]
            mistake_codes[variant.name] = codes
        folder = Path(path).parent
        np.savez(folder / "mistakes.npz", **mistake_arrays)
        text = json.dumps(mistake_codes, indent=1, sort_keys=True) + "\n"
        (folder / "mistakes.json").write_text(text)
    return path

"""CONTRIBUTING.md's recipes, each performed on a copy of the kit and proven there.

Each test copies the kit to a temporary folder, edits the declaration exactly as the
recipe says, regenerates what the recipe says to regenerate, and runs the proof in
that copy, in a fresh process. "Change an exercise's points" runs the whole
``python -m grading check`` (about two minutes); "add a known mistake" runs check's
package-level proof (the catalogue's static checks and the new mistake through the
hidden tests: it must lose points and be named), after ``python -m grading expected``.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KIT = ("cs_loss", "grading", "notebooks", "data", "pyproject.toml", "requirements.txt")


def kit_copy(tmp_path):
    """The kit's files in ``tmp_path/kit``, closed to other users as CI closes the kit."""
    dest = tmp_path / "kit"
    dest.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in KIT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore)
        elif source.exists():
            shutil.copy(source, dest / name)
    for name in ("cs_loss", "notebooks", "grading"):
        for path in [dest / name, *(dest / name).rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o077)
    return dest


def edit(path, old, new):
    """Replace the one occurrence of ``old`` in ``path`` by ``new``: the recipe's edit."""
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    path.write_text(text.replace(old, new))


def run(kit, *args, timeout=900):
    """``python *args`` in the copy ``kit``, as a maintainer would run it there."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, *args],
        cwd=kit,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.slow
def test_changing_a_tests_points_is_one_edit_and_check_passes(tmp_path):
    kit = kit_copy(tmp_path)
    edit(
        kit / "grading" / "topics" / "knn.py",
        '_predict("knn_predict_labels", 3)',
        '_predict("knn_predict_labels", 4)',
    )
    done = run(kit, "-m", "grading", "check", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    grades = json.loads((tmp_path / "out" / "grades.json").read_text())
    reference = next(r for r in grades if r["student"] == "reference")
    test = next(t for t in reference["tests"] if t["name"] == "cs_loss:knn_predict_labels")
    assert test["score"] == test["max_score"] == 4


NEW_MISTAKE = """    mistake(
        "svm_loss_vectorized",
        "svm_vectorized_no_reg_grad",
        "the gradient has no penalty term: add 2·reg·W to dW (look at the line that makes dW)",
        _svm_vec(reg_grad="0"),
    ),
)

CORRECT"""


@pytest.mark.slow
def test_adding_a_known_mistake_is_one_declaration_and_it_is_caught_and_named(tmp_path):
    kit = kit_copy(tmp_path)
    edit(kit / "grading" / "topics" / "svm.py", ")\n\nCORRECT", NEW_MISTAKE)
    regenerated = run(kit, "-m", "grading", "expected")
    assert regenerated.returncode == 0, regenerated.stderr[-3000:]
    assert "svm_vectorized_no_reg_grad" in json.loads(
        (kit / "grading" / "mistakes.json").read_text()
    )
    proof = (
        "from grading import build, mistakes\n"
        "new = [v for v in mistakes.MISTAKES if v.name == 'svm_vectorized_no_reg_grad']\n"
        "assert len(new) == 1\n"
        "problems = mistakes.verify_catalogue() + build.prove_catalogue(variants=tuple(new))\n"
        "print('\\n'.join(problems))\n"
        "raise SystemExit(1 if problems else 0)\n"
    )
    done = run(kit, "-c", proof)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.mark.slow
def test_adding_a_notebook_check_is_an_export_and_a_check_that_judge_the_cell(tmp_path):
    """Steps 2 and 3 of the recipe on a copy, proven on the values a kernel would export
    (the notebook cell of step 1 is what `check` grades end to end)."""
    kit = kit_copy(tmp_path)
    edit(
        kit / "grading" / "notebook_exports.py",
        '    "svm_test_q7": (["q7_zero_loss_W_is_unique"], {}),\n',
        '    "svm_test_q7": (["q7_zero_loss_W_is_unique"], {}),\n'
        '    "svm_test_q8": (["q8_margin_delta"], {}),\n',
    )
    edit(
        kit / "grading" / "notebook_answers.py",
        "\n\ndef _min_max(",
        '\n_answer_check("svm_test_q8", "q8_margin_delta", 1.0, {0.0: "the margin needs a delta"})'
        "\n\n\ndef _min_max(",
    )
    proof = (
        "import sys, tempfile\n"
        "from grading import notebook_checks as nc\n"
        "verdicts = []\n"
        "for answer in (1.0, 0.0, 'one'):\n"
        "    with tempfile.TemporaryDirectory() as out:\n"
        "        namespace = {'q8_margin_delta': answer}\n"
        "        exec(nc.export_source('svm_test_q8', out), namespace)\n"
        "        verdicts.append(nc.evaluate('svm_test_q8', out))\n"
        "print(verdicts)\n"
        "assert verdicts[0] == (True, 'passed'), verdicts\n"
        "assert verdicts[1][0] is False and 'needs a delta' in verdicts[1][1], verdicts\n"
        "assert verdicts[2][0] is False and 'must be a number' in verdicts[2][1], verdicts\n"
    )
    done = run(kit, "-c", proof)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


NEW_FUNCTION = '''

def softmax_probs(W, X):
    """The softmax probabilities of every class for every example.

    Parameters
    ----------
    W : ndarray of shape (D, C)
    X : ndarray of shape (N, D)

    Returns
    -------
    probs : ndarray of shape (N, C)
        Each row sums to 1.
    """
    # TODO: Compute the scores, shift each row by its max, and normalise exp of them.
    # Set: probs
    # Hint: the shift leaves the probabilities unchanged and keeps exp from overflowing.
    ### BEGIN SOLUTION
    scores = X @ W  # (N, C)
    shifted = scores - np.max(scores, axis=1, keepdims=True)  # (N, C)
    exp_scores = np.exp(shifted)  # (N, C)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)  # (N, C)
    ### END SOLUTION
    return probs
'''

NEW_CASE = """    _case(VECTORIZED, HUGE_SCORES, "grad", 1),
    Case(
        GROUP,
        "softmax_probs",
        2,
        ("softmax_probs",),
        MODULES,
        partial(loss_inputs, 11, 0.0),
        (Call("softmax_probs", ("W", "X"), (Output("probs", "array", ("X.0", "W.1")),),
              "softmax_probs(W, X)"),),
        ("probs",),
    ),
)
"""

NEW_VARIANTS = '''    mistake(
        "softmax_probs",
        "softmax_probs_not_normalised",
        "the probabilities are exp of the scores, not normalised: divide each row by its sum",
        """
probs = np.exp(X @ W - np.max(X @ W, axis=1, keepdims=True))
""",
    ),
)

CORRECT: tuple[Variant, ...] = (
    correct("softmax_probs", "softmax_probs_in_place", """
probs = np.exp(X @ W - np.max(X @ W, axis=1, keepdims=True))
probs /= probs.sum(axis=1, keepdims=True)
"""),
    correct("softmax_probs", "softmax_probs_dot", """
s = X.dot(W)
e = np.exp(s - s.max(axis=1)[:, None])
probs = e / e.sum(axis=1)[:, None]
"""),
    correct("softmax_probs", "softmax_probs_loop", """
probs = np.zeros((X.shape[0], W.shape[1]))
for i in range(X.shape[0]):
    s = X[i] @ W
    e = np.exp(s - s.max())
    probs[i] = e / e.sum()
"""),
'''


@pytest.mark.slow
def test_adding_an_exercise_is_its_region_and_one_declaration_and_the_grader_grades_it(tmp_path):
    """The recipe "add an exercise" on a copy: a new function of cs_loss/softmax.py, its
    region id, case, mistake and correct variants in grading/topics/softmax.py; then
    `grading expected`, and the grader: the reference earns the new case's points, the
    released stub none, the mistake loses them and is named, each correct variant keeps them."""
    kit = kit_copy(tmp_path)
    with open(kit / "cs_loss" / "softmax.py", "a") as f:
        f.write(NEW_FUNCTION)
    edit(
        kit / "cs_loss" / "__init__.py",
        "from .softmax import softmax_loss_naive, softmax_loss_vectorized",
        "from .softmax import softmax_loss_naive, softmax_loss_vectorized, softmax_probs",
    )
    edit(
        kit / "cs_loss" / "__init__.py",
        '    "softmax_loss_vectorized",\n',
        '    "softmax_loss_vectorized",\n    "softmax_probs",\n',
    )
    topic = kit / "grading" / "topics" / "softmax.py"
    edit(
        topic,
        'REGIONS = ("softmax_loss_naive", "softmax_loss_vectorized")',
        'REGIONS = ("softmax_loss_naive", "softmax_loss_vectorized", "softmax_probs")',
    )
    edit(topic, '    _case(VECTORIZED, HUGE_SCORES, "grad", 1),\n)\n', NEW_CASE)
    edit(topic, ")\n\nCORRECT: tuple[Variant, ...] = (\n", NEW_VARIANTS)
    edit(
        topic,
        "from .losses import",
        "from functools import partial\n\n"
        "from ..declare import Call, Output\nfrom .losses import loss_inputs\nfrom .losses import",
    )
    regenerated = run(kit, "-m", "grading", "expected")
    assert regenerated.returncode == 0, regenerated.stdout[-3000:] + regenerated.stderr[-3000:]
    proof = (
        "import tempfile\n"
        "from pathlib import Path\n"
        "from grading import build, markers, mistakes, package\n"
        "variants = mistakes.MISTAKES + mistakes.CORRECT\n"
        "new = tuple(v for v in variants if v.region == 'softmax_probs')\n"
        "assert len(new) == 4, new\n"
        "problems = mistakes.verify_catalogue() + build.prove_catalogue(variants=new)\n"
        "results = {r.name: r for r in package.run_package_tests(package.KIT_ROOT)}\n"
        "assert results['softmax_probs'].score == results['softmax_probs'].max_score == 2\n"
        "assert all(r.score == r.max_score for r in results.values())\n"
        "with tempfile.TemporaryDirectory() as tmp:\n"
        "    stub = 'raise NotImplementedError(\"softmax_probs: see the TODO above\")'\n"
        "    kit = package.KIT_ROOT / 'cs_loss'\n"
        "    markers.write_package(kit, Path(tmp), {'softmax_probs': stub})\n"
        "    blank = {r.name: r for r in package.run_package_tests(tmp)}\n"
        "assert blank['softmax_probs'].score == 0, blank['softmax_probs']\n"
        "assert 'NotImplementedError' in blank['softmax_probs'].output\n"
        "print('\\n'.join(problems))\n"
        "raise SystemExit(1 if problems else 0)\n"
    )
    done = run(kit, "-c", proof)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

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

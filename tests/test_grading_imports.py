"""What a grading process imports: not the 38 parsers rfc3987_syntax builds on import (about
1.4 s of CPU in each process that imports nbformat), and nbformat still validates."""

import subprocess
import sys
from pathlib import Path

KIT = Path(__file__).resolve().parent.parent


def run_in_a_fresh_interpreter(code):
    """Run ``code`` in a new Python from the kit's folder; its assertions must hold."""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=KIT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_grading_stack_does_not_import_rfc3987_syntax():
    code = (
        "import sys\n"
        "import grading.autograde, grading.worker, grading.preprocessors\n"
        "import nbgrader.converters.autograde, jsonschema\n"
        "assert sys.modules.get('rfc3987_syntax') is None, 'rfc3987_syntax was imported'\n"
    )
    run_in_a_fresh_interpreter(code)


def test_nbformat_still_validates_notebooks_and_refuses_a_broken_one():
    code = (
        "import grading, nbformat\n"
        "nb = nbformat.read('notebooks/knn.ipynb', as_version=4)\n"
        "nbformat.validate(nb)\n"
        "nb.cells[0]['cell_type'] = 'no such type'\n"
        "try:\n"
        "    nbformat.validate(nb)\n"
        "except nbformat.ValidationError:\n"
        "    pass\n"
        "else:\n"
        "    raise AssertionError('a broken notebook validated')\n"
    )
    run_in_a_fresh_interpreter(code)

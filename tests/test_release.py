"""Is the student release fit to ship, and does building it never lose anyone's files?

One release is built per test module (nbgrader, about 20 s; marked slow), from
a copy of the kit (see ``release_kit``): tests here may edit the copy, never
the kit.
"""

import ast
import json
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from grading import course, exercises, markers
from grading.release import (
    OUT_MARKER,
    STUDENT_REQUIREMENTS,
    ReleaseError,
    _prepare_out_dir,
    build_release,
    check_sources,
    find_leaks,
    release_problems,
    secret_lines,
    unused_imports,
)


def _kit_is_release_ready():
    try:
        check_sources()
    except markers.MarkerError:
        return False
    return True


def release_kit(dest):
    """A copy of the kit in ``dest`` to release (tests may edit it; the kit is never touched).

    While the kit's sources are not release-ready yet, the copy gets a stand-in
    TODO block above each region that lacks one, loses the imports that only
    solution code used, and says "quicker" for "faster", which is what the
    sources must do themselves; once they are ready the copy is verbatim.
    """
    ready = _kit_is_release_ready()
    for part in ("cs_loss", "notebooks", "data"):
        shutil.copytree(
            course.KIT_ROOT / part,
            dest / part,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.npz", "cifar*"),
        )
    if ready:
        return dest
    for path in sorted((dest / "cs_loss").glob("*.py")):
        text = path.read_text()
        lines = text.splitlines(keepends=True)
        for region in reversed(markers.find_regions(text)):
            if markers.todo_block(text, region) is None:
                block = [
                    f"{region.indent}# TODO: complete {region.qualname}.\n",
                    f"{region.indent}# Set: the names it returns\n",
                    f"{region.indent}# Hint: see the docstring.\n",
                ]
                lines[region.begin - 1 : region.begin - 1] = block
        text = "".join(lines)
        stripped, _ = markers.strip_solutions(text, path.name)
        unused = {int(p.split(":")[1]) for p in unused_imports(stripped, path.name)}
        drop = [line for n, line in enumerate(stripped.splitlines(keepends=True), 1) if n in unused]
        text = "".join(line for line in text.splitlines(keepends=True) if line not in drop)
        path.write_text(text.replace("faster", "quicker"))
    for path in (dest / "notebooks").glob("*.ipynb"):
        path.write_text(path.read_text().replace("faster", "quicker"))
    return dest


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(kit root, release folder), built once for this module."""
    root = tmp_path_factory.mktemp("release")
    kit = release_kit(root / "kit")
    release = build_release(root / "out", kit_root=kit)
    return kit, release


# --- fast: the out folder -------------------------------------------------------


def test_a_non_empty_folder_the_release_did_not_make_is_refused_untouched(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "loss").mkdir()
    (tmp_path / "loss" / "work.py").write_text("mine too")
    with pytest.raises(ReleaseError, match=r"not empty and was not made by .* --out .*release"):
        _prepare_out_dir(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert (tmp_path / "loss" / "work.py").read_text() == "mine too"
    assert not (tmp_path / OUT_MARKER).exists()


def test_build_release_refuses_before_building(tmp_path):
    """``--out .`` from the kit root must not even start (the kit is a non-empty folder).

    Run on a copy of the kit, so that a regression cannot delete the real one.
    """
    kit = release_kit(tmp_path / "kit")
    with pytest.raises(ReleaseError, match="not empty"):
        build_release(kit, kit_root=kit)
    assert (kit / "cs_loss" / "svm.py").is_file()


def test_a_rebuild_replaces_only_what_the_last_release_wrote(tmp_path):
    out = _prepare_out_dir(tmp_path / "new" / "out")
    assert (out / OUT_MARKER).is_file()
    (out / "loss").mkdir()
    (out / "loss" / "old.py").write_text("old release")
    (out / "loss.zip").write_text("old zip")
    (out / "my_notes.txt").write_text("mine")
    _prepare_out_dir(out)
    assert sorted(p.name for p in out.iterdir()) == sorted([OUT_MARKER, "my_notes.txt"])


def test_a_forged_marker_cannot_delete_outside_the_out_folder(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("keep")
    out = tmp_path / "out"
    out.mkdir()
    (out / OUT_MARKER).write_text(json.dumps({"wrote": ["../victim", str(victim), "."]}))
    _prepare_out_dir(out)
    assert (victim / "keep.txt").read_text() == "keep"
    assert out.is_dir()


def test_an_empty_or_new_folder_is_used(tmp_path):
    (tmp_path / "empty").mkdir()
    assert (_prepare_out_dir(tmp_path / "empty") / OUT_MARKER).is_file()
    assert (_prepare_out_dir(tmp_path / "a" / "b") / OUT_MARKER).is_file()


# --- fast: the checks the build runs --------------------------------------------


def test_unused_imports_are_named_with_file_and_line():
    text = (
        "import os\nimport numpy as np\nfrom ._blocks import row_blocks\n\nx = np.zeros(os.sep)\n"
    )
    assert unused_imports(text, "cs_loss/svm.py") == [
        "cs_loss/svm.py:3: imports 'row_blocks' but never uses it"
    ]
    assert unused_imports("from .a import b\n__all__ = ['b']\n", "m.py") == []
    assert unused_imports("from __future__ import annotations\n", "m.py") == []


def test_release_problems_name_speed_talk_and_missing_stubs(tmp_path):
    kit = release_kit(tmp_path / "kit")
    (tmp_path / "rel" / "cs_loss").mkdir(parents=True)
    (tmp_path / "rel" / "cs_loss" / "svm.py").write_text("# This is Faster.\n")
    problems = release_problems(tmp_path / "rel", kit)
    assert "cs_loss/svm.py:1: contains the word 'faster': '# This is Faster.'" in problems
    assert any(p.startswith("cs_loss/svm.py: has 0 of the 1 stub line(s)") for p in problems)
    assert any(p.startswith("cs_loss/knn.py: has 0 of the 1") for p in problems)


def test_a_region_without_its_todo_block_stops_the_release_with_file_and_line(tmp_path):
    kit = release_kit(tmp_path / "kit")
    path = kit / "cs_loss" / "svm.py"
    text = path.read_text()
    region = markers.find_regions(text)[0]
    todo = markers.todo_block(text, region)
    lines = text.splitlines(keepends=True)
    del lines[todo.line - 1 : region.begin - 1]  # the whole block
    path.write_text("".join(lines))
    begin = region.begin - (region.begin - todo.line)
    with pytest.raises(
        markers.MarkerError, match=rf"cs_loss/svm.py:{begin}: the region of svm_loss_naive "
    ):
        check_sources(kit)
    with pytest.raises(markers.MarkerError):
        build_release(tmp_path / "out", kit_root=kit)
    assert not (tmp_path / "out").exists()


# --- the student's requirements ------------------------------------------------

# What a student never needs: the grading pipeline and the kit's own tests.
GRADING_AND_TEST_TOOLS = {
    "pytest",
    "nbgrader",
    "selenium",
    "nbclient",
    "jupyter-client",
    "otter-grader",
    "coverage",
    "ruff",
}
# Import name -> the distribution that provides it, where the two differ.
DISTRIBUTIONS = {"sklearn": "scikit-learn", "IPython": "ipython"}
# Imported only where it exists: Colab's own module (the setup cell, cs_loss/home.py).
PROVIDED_BY_COLAB = {"google"}


def requirements(text):
    """``{distribution name: version specifier}`` of a requirements file (comments dropped)."""
    found = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, specifier = re.fullmatch(r"([A-Za-z0-9._-]+)\s*(.*)", line).groups()
            found[name.lower().replace("_", "-")] = specifier
    return found


def third_party_imports(release):
    """``{top-level module: [where]}`` imported by the release's .py files and notebook code cells,
    outside the standard library and the release itself (read with ``ast``)."""
    sources = {p.relative_to(release).as_posix(): p.read_text() for p in release.rglob("*.py")}
    for path in sorted(release.glob("*.ipynb")):
        for number, cell in enumerate(nbformat.read(path, as_version=4).cells, start=1):
            if cell.cell_type == "code":  # shell (!) and magic (%) lines are not Python
                lines = [
                    line
                    for line in cell.source.splitlines()
                    if not line.lstrip().startswith(("!", "%"))
                ]
                sources[f"{path.name} cell {number}"] = "\n".join(lines)
    local = {p.stem for p in release.iterdir()}
    found = {}
    for where, source in sources.items():
        for node in ast.walk(ast.parse(source, where)):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in local:
                    found.setdefault(top, []).append(where)
    return found


def test_the_student_requirements_name_no_grading_tool_and_pin_no_version():
    """Only lower bounds, so Colab's installed versions (and anything newer) meet them."""
    named = requirements(STUDENT_REQUIREMENTS.read_text())
    assert {"numpy", "matplotlib", "scikit-learn", "jupyterlab"} <= set(named)
    assert not set(named) & GRADING_AND_TEST_TOOLS
    for name, specifier in named.items():
        assert specifier == "" or re.fullmatch(r">=[0-9.]+", specifier), f"{name}{specifier}"


def test_requirements_are_read_with_their_comments_dropped():
    assert requirements("# a comment\nnumpy>=1.26  # why\n\njupyter_client\n") == {
        "numpy": ">=1.26",
        "jupyter-client": "",
    }


# --- slow: one real release ----------------------------------------------------


@pytest.mark.slow
def test_the_release_requirements_cover_what_it_imports_and_nothing_for_grading(built):
    _kit, release = built
    named = requirements((release / "requirements.txt").read_text())
    assert not set(named) & GRADING_AND_TEST_TOOLS, "students do not grade or run the kit's tests"
    imported = third_party_imports(release)
    assert {"numpy", "matplotlib", "sklearn", "scipy", "nbformat"} <= set(imported)  # it scans
    for module, where in sorted(imported.items()):
        if module not in PROVIDED_BY_COLAB:
            distribution = DISTRIBUTIONS.get(module, module).lower()
            assert distribution in named, f"{module}, imported by {where}"


@pytest.mark.slow
def test_the_release_ships_no_solution_no_unused_import_and_no_speed_talk(built):
    kit, release = built
    assert find_leaks(release, secret_lines(kit)) == []
    assert release_problems(release, kit) == []
    assert (release.parent / "loss.zip").is_file()


@pytest.mark.slow
def test_the_manifest_matches_the_release(built):
    kit, release = built
    written = json.loads((release / exercises.MANIFEST).read_text())
    assert written == exercises.manifest(release, kit / "cs_loss")
    assert written["assignment"] == course.ASSIGNMENT
    assert sorted(written["notebooks"]) == sorted(course.NOTEBOOKS)
    for name, grade_ids in written["notebooks"].items():
        cells = json.loads((release / name).read_text())["cells"]
        in_release = [
            c["metadata"]["nbgrader"]["grade_id"]
            for c in cells
            if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        ]
        assert grade_ids == in_release
        assert set(written["points"][name]) <= set(grade_ids)
        answers = [a for a in exercises.answer_cells(kit / "notebooks") if a.notebook == name]
        assert written["points"][name] == {gid: pts for a in answers for gid, pts in a.tests}
    assert written["student_files"] == list(exercises.student_files(kit / "cs_loss"))
    for name, stubs in written["stubs"].items():
        lines = [line.strip() for line in (release / name).read_text().splitlines()]
        assert sorted(line for line in lines if "see the TODO above" in line) == sorted(stubs)


# Arguments that get each released function past its input checks to its first stub.
CALLS = {
    "KNearestNeighbor.compute_distances_two_loops": "knn().compute_distances_two_loops(X)",
    "KNearestNeighbor.compute_distances_one_loop": "knn().compute_distances_one_loop(X)",
    "KNearestNeighbor.compute_distances_no_loops": "knn().compute_distances_no_loops(X)",
    "KNearestNeighbor.predict_labels": "knn().predict_labels(np.ones((2, 6)), k=1)",
    "svm_loss_naive": "cs_loss.svm_loss_naive(W, X, y, 0.1)",
    "svm_loss_vectorized": "cs_loss.svm_loss_vectorized(W, X, y, 0.1)",
    "softmax_loss_naive": "cs_loss.softmax_loss_naive(W, X, y, 0.1)",
    "softmax_loss_vectorized": "cs_loss.softmax_loss_vectorized(W, X, y, 0.1)",
    "LinearClassifier.train": "cs_loss.LinearSVM().train(X, y, num_iters=1, batch_size=2)",
    "LinearClassifier.predict": "svm_with_W().predict(X)",
}

CALLER = """
import json, sys
import numpy as np
import cs_loss

rng = np.random.default_rng(0)
X, y, W = rng.standard_normal((6, 4)), np.array([0, 1, 2, 0, 1, 2]), rng.standard_normal((4, 3))

def knn():
    return cs_loss.KNearestNeighbor().train(X, y)

def svm_with_W():
    svm = cs_loss.LinearSVM()
    svm.W = W
    return svm

out = {}
for qualname, call in json.loads(sys.argv[1]).items():
    try:
        eval(call)
        out[qualname] = "returned"
    except NotImplementedError as exc:
        out[qualname] = str(exc)
    except Exception as exc:
        out[qualname] = f"{type(exc).__name__}: {exc}"
out["__file__"] = cs_loss.__file__
print(json.dumps(out))
"""


@pytest.mark.slow
def test_every_released_function_raises_the_stub_of_its_first_region(built):
    kit, release = built
    first = {}
    for exercise in exercises.exercises(kit / "cs_loss"):
        first.setdefault(exercise.qualname, exercise)
    assert set(CALLS) == set(first), "give CALLS a call for each function with a region"
    done = subprocess.run(
        [sys.executable, "-c", CALLER, json.dumps(CALLS)],
        cwd=release,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    raised = json.loads(done.stdout)
    assert raised.pop("__file__").startswith(str(release))
    for qualname, exercise in first.items():
        assert raised[qualname] == f"{qualname}: see the TODO above ({exercise.file})"

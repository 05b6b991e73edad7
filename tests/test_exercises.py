"""Is every exercise declared once, and does everything derived from the table agree with the kit?

The release-based checks (the manifest matches a built release, every stub
raises its message) are in tests/test_release.py, which builds the release once.
"""

import ast
import json

import pytest

from grading import child, course, examples, exercises, markers, package

PACKAGE = course.KIT_ROOT / "cs_loss"


def test_every_region_of_cs_loss_is_declared_once():
    in_source = set(markers.kit_regions(PACKAGE))
    declared = exercises.declared_regions()
    assert len(declared) == len(set(declared)), "a region is declared twice in COURSE"
    assert set(declared) - in_source == set(), "COURSE declares regions that cs_loss lacks"
    assert in_source - set(declared) == set(), (
        "add these regions to REGIONS of their topic module in grading/topics/"
    )
    assert [e.id for e in exercises.exercises()] == list(declared)


def test_every_hidden_test_targets_a_declared_region():
    declared = exercises.declared_regions()
    for name, _points, targets in exercises.hidden_tests():
        assert targets, f"hidden test {name} names no target"
        for target in targets:
            assert exercises.regions_of(target, declared), (
                f"{name} targets {target!r}: no such region"
            )


def test_every_region_is_graded_by_a_hidden_test():
    for exercise in exercises.exercises():
        assert exercise.points > 0, f"no hidden test targets {exercise.id}"


def test_the_exercise_table_gives_each_region_its_file_and_hidden_tests():
    by_id = {e.id: e for e in exercises.exercises()}
    vectorized = by_id["svm_loss_vectorized"]
    assert vectorized.file == "cs_loss/svm.py" and vectorized.notebook == "svm.ipynb"
    assert ("svm_vectorized_reg_grad", 1) in vectorized.tests
    # A target naming a function covers each of its regions.
    for region in ("LinearClassifier.train#1", "LinearClassifier.train#2"):
        assert {name for name, _ in by_id[region].tests} >= {
            "linear_train_batches",
            "linear_train_update",
        }
    assert vectorized.stub == (
        'raise NotImplementedError("svm_loss_vectorized: see the TODO above (cs_loss/svm.py)")'
    )
    assert by_id["LinearClassifier.train#2"].stub.startswith(
        'raise NotImplementedError("LinearClassifier.train: see'
    )


def test_each_region_has_task_text_and_names_to_set():
    for exercise in exercises.exercises():
        assert exercise.task and exercise.hint, f"{exercise.file}:{exercise.line}: no TODO text"
        assert exercise.sets, f"{exercise.file}:{exercise.line}: no names to set"
        assert all(name.isidentifier() for name in exercise.sets), exercise.sets


def _graded_cells():
    for name in exercises.NOTEBOOKS:
        cells = json.loads((course.KIT_ROOT / "notebooks" / name).read_text())["cells"]
        for cell in cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade"):
                yield name, meta["grade_id"], meta.get("points", 0)


def test_every_graded_notebook_cell_grades_a_declared_answer_cell():
    graded = {(name, gid): points for name, gid, points in _graded_cells()}
    declared = {
        (a.notebook, gid): points for a in exercises.answer_cells() for gid, points in a.tests
    }
    assert declared == graded
    assert len(graded) >= 20


def test_every_answer_cell_is_graded():
    for answer in exercises.answer_cells():
        assert answer.points > 0, f"{answer.notebook}: answer cell {answer.grade_id} earns nothing"


def test_notebook_targets_name_declared_regions_and_graded_test_cells():
    declared = set(exercises.declared_regions())
    graded = {f"{name.split('.')[0]}:{gid}" for name, gid, _points in _graded_cells()}
    targets = exercises.notebook_targets()
    assert set(targets) <= graded
    for test, regions in targets.items():
        assert regions and set(regions) <= declared, test
    for notebook in exercises.COURSE:
        for raw in notebook.targets.values():
            for target in raw:
                assert exercises.regions_of(target, tuple(declared)), target


def test_examples_use_the_exercise_table_targets():
    assert examples.NOTEBOOK_TARGETS == exercises.NOTEBOOK_TARGETS == exercises.notebook_targets()
    variant = next(v for v in examples.one_mistake_variants() if v.region == "svm_loss_vectorized")
    tests = [
        {"name": "svm:svm_test_search", "kind": "notebook"},
        {"name": "softmax:softmax_test_search", "kind": "notebook"},
        {
            "name": "cs_loss:svm_vectorized_reg_grad",
            "kind": "package",
            "targets": ["svm_loss_vectorized"],
        },
        {"name": "cs_loss:svm_naive_reg_grad", "kind": "package", "targets": ["svm_loss_naive"]},
    ]
    assert examples.allowed_failures(variant, tests) == {
        "svm:svm_test_search",
        "cs_loss:svm_vectorized_reg_grad",
    }


def test_one_mistake_submissions_are_written_from_region_bodies(tmp_path):
    release = tmp_path / "release"  # write_reference reads only the notebooks from it
    release.mkdir()
    for name in exercises.NOTEBOOKS:
        (release / name).write_text((course.KIT_ROOT / "notebooks" / name).read_text())
    variant = next(
        v
        for v in examples.one_mistake_variants()
        if v.region == "KNearestNeighbor.compute_distances_no_loops"
    )
    folder = examples.write_variant(variant, tmp_path / "sub", release)
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.py")) == sorted(
        course.STUDENT_FILES
    )
    knn = (folder / "cs_loss" / "knn.py").read_text()
    assert "np.sqrt(" in knn  # the other distance functions keep the reference
    assert "BEGIN SOLUTION" not in knn
    tree = ast.parse(knn)
    no_loops = next(
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef) and n.name == "compute_distances_no_loops"
    )
    assert "sqrt" not in ast.unparse(no_loops)


def test_end_to_end_mistakes_name_declared_regions_and_are_unique():
    declared = set(exercises.declared_regions())
    names = [v.name for v in examples.one_mistake_variants()]
    assert len(names) == len(set(names))
    assert {v.region for v in examples.one_mistake_variants()} <= declared


def test_student_files_and_notebooks_are_derived_from_the_table():
    assert course.STUDENT_FILES == exercises.STUDENT_FILES
    assert set(exercises.STUDENT_FILES) == {
        f"cs_loss/{f}" for f, _r in markers.kit_regions(PACKAGE).values()
    }
    assert course.NOTEBOOKS == exercises.NOTEBOOKS == ("knn.ipynb", "svm.ipynb", "softmax.ipynb")


def test_module_order_puts_each_module_after_the_ones_it_imports():
    graph = exercises.module_imports()
    order = exercises.MODULE_ORDER
    assert set(order) == set(graph)
    for module, needs in graph.items():
        assert all(order.index(n) < order.index(module) for n in needs), module
    assert "linear_classifier" in graph and {"svm", "softmax"} <= graph["linear_classifier"]
    assert set(exercises.GRADED_MODULES) >= {
        "svm",
        "softmax",
        "knn",
        "linear_classifier",
        "_validation",
    }
    assert "notebook" not in exercises.GRADED_MODULES and "vis" not in exercises.GRADED_MODULES


def test_module_order_reports_a_cycle(tmp_path):
    (tmp_path / "a.py").write_text("from .b import x\n")
    (tmp_path / "b.py").write_text("from . import a\n")
    with pytest.raises(ValueError, match=r"cycle: \['a', 'b'\]"):
        exercises.module_order(tmp_path)


# hidden_tests.py runs alone next to a submission and cannot import grading: the grader
# passes it the derived import order in its plan. cs_loss/notebook.py's copy must equal
# MODULE_ORDER.
def test_the_child_is_given_the_modules_in_the_derived_order():
    for group in package.GROUPS:
        assert tuple(child.plan_of(group)["modules"]) == exercises.GRADED_MODULES


def test_the_notebook_reloads_the_modules_in_the_derived_order():
    from cs_loss import notebook

    assert tuple(notebook._MODULES) == exercises.MODULE_ORDER


def test_mistakes_catalogue_is_optional_and_attached_by_region():
    mistakes, correct = exercises.catalogue()
    for exercise in exercises.exercises():
        assert all(v.region == exercise.id for v in exercise.mistakes + exercise.correct)
    assert sum(len(e.mistakes) for e in exercises.exercises()) == len(mistakes)
    assert sum(len(e.correct) for e in exercises.exercises()) == len(correct)


def test_the_manifest_has_the_contract_fields():
    """The full comparison with a built release is in tests/test_release.py."""
    manifest = exercises.manifest(course.KIT_ROOT / "notebooks")  # same grade ids as the release
    assert list(manifest) == [
        "assignment",
        "notebooks",
        "points",
        "student_files",
        "stubs",
        "answers",
    ]
    assert "knn_cross_validation" in manifest["answers"]["knn.ipynb"]  # a code answer
    assert "knn_inline_q1" in manifest["answers"]["knn.ipynb"]  # a written answer
    assert "knn_test_cross_validation" not in manifest["answers"]["knn.ipynb"]  # a test cell
    assert manifest["assignment"] == "loss"
    assert list(manifest["notebooks"]) == list(exercises.NOTEBOOKS)
    assert manifest["points"]["knn.ipynb"]["knn_test_cross_validation"] == 3
    assert set(manifest["stubs"]) == set(manifest["student_files"]) == set(exercises.STUDENT_FILES)
    assert (
        manifest["stubs"]["cs_loss/linear_classifier.py"].count(
            'raise NotImplementedError("LinearClassifier.train: see the TODO above '
            '(cs_loss/linear_classifier.py)")'
        )
        == 2
    )  # one line per region
    json.dumps(manifest)  # plain JSON


def test_the_collect_steps_fallback_lists_are_the_derived_ones():
    """collect_submission.py runs in the student's folder without the grader, so its lists
    for a release that lost its manifest are literals: they must be the derived lists."""
    from grading import collect_submission

    assert set(collect_submission.DEFAULT_STUDENT_FILES) == set(exercises.STUDENT_FILES)
    assert collect_submission.DEFAULT_NOTEBOOKS == exercises.NOTEBOOKS


def test_the_notebooks_grading_search_target_is_the_trusted_checks():
    """The search cells' self-check states the grading target to students; the trusted check
    (notebook_checks.SEARCH_TARGET) decides. They must be the same number."""
    from grading import notebook_checks

    for name, grade_id in (
        ("svm.ipynb", "svm_test_search"),
        ("softmax.ipynb", "softmax_test_search"),
    ):
        cells = json.loads((course.KIT_ROOT / "notebooks" / name).read_text())["cells"]
        (cell,) = [
            c for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id
        ]
        source = "".join(cell["source"])
        assert f"    target = {notebook_checks.SEARCH_TARGET}\n" in source, name

"""Every exercise of the assignment, gathered from where it is declared.

An exercise is either a *region* of ``cs_loss`` that the student completes
(between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, see
:mod:`grading.markers`) or an *answer cell* of a notebook. Each fact is written
once and read from there:

- the regions, their files and ids, and their TODO blocks: ``cs_loss/*.py``;
- each region's notebook, hidden test cases (with their points), known mistakes
  and correct variants, and the regions each graded notebook test depends on:
  its topic module in ``grading/topics/`` (:data:`COURSE` is gathered from them);
- the answer cells, the test cells that grade them and their points: the
  nbgrader metadata of ``notebooks/*.ipynb``.

Everything else (release stubs, the manifest, ``check``'s example submissions,
the lists of notebooks and student files, the module import order) is derived;
``tests/test_exercises.py`` says what is missing. See CONTRIBUTING.md's recipes.
"""

from __future__ import annotations

import ast
import functools
import importlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import markers, topics

KIT_ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "loss"
MANIFEST = ".assignment_manifest.json"


@dataclass(frozen=True)
class Notebook:
    """One notebook of the assignment, as declared by hand.

    Attributes
    ----------
    name : str
        File name in ``notebooks/``.
    regions : tuple of str
        Region ids of ``cs_loss`` that the notebook asks the student to
        complete, in the notebook's order.
    targets : dict of str to tuple of str
        Grade id of a graded test cell -> the region ids (or qualnames, which
        stand for every region of that function) whose bugs may cost it
        points, besides the student's own answer cells.
    """

    name: str
    regions: tuple
    targets: dict = field(default_factory=dict)


def _course() -> tuple[Notebook, ...]:
    """The notebooks, in the order students meet their topics (``topics.TEST_ORDER``), each
    with the regions and notebook-test targets its topics declare."""
    notebooks: dict[str, Notebook] = {}
    for topic in topics.TEST_ORDER:
        seen = notebooks.get(topic.NOTEBOOK, Notebook(topic.NOTEBOOK, ()))
        notebooks[topic.NOTEBOOK] = Notebook(
            topic.NOTEBOOK,
            seen.regions + topic.REGIONS,
            {**seen.targets, **topic.NOTEBOOK_TARGETS},
        )
    return tuple(notebooks.values())


COURSE = _course()

NOTEBOOKS = tuple(notebook.name for notebook in COURSE)


# ---------------------------------------------------------------------------
# Package regions


@dataclass(frozen=True)
class Exercise:
    """One region of ``cs_loss`` that the student completes."""

    id: str  # region id: "svm_loss_vectorized", "LinearClassifier.train#2"
    qualname: str  # the enclosing def: "LinearClassifier.train"
    file: str  # as the student sees it: "cs_loss/svm.py"
    line: int  # the BEGIN marker's line in the kit source
    notebook: str  # where the student meets it
    task: str  # from the TODO block ("" while the block is missing)
    sets: tuple  # names the region must set, from the block's "Set:" line
    hint: str
    tests: tuple  # ((hidden test name, points), ...) that grade it
    notebook_tests: tuple  # "svm:svm_test_search", ... that depend on it
    mistakes: tuple = ()  # grading.mistakes.Variant, one mistake each
    correct: tuple = ()  # grading.mistakes.Variant, correct variants

    @property
    def stub(self) -> str:
        """The released stub line, without indentation."""
        return f'raise NotImplementedError("{self.qualname}: see the TODO above ({self.file})")'

    @property
    def points(self) -> int:
        """The points of the hidden tests that grade this region."""
        return sum(points for _name, points in self.tests)


def catalogue() -> tuple[tuple, tuple]:
    """``(MISTAKES, CORRECT)`` of ``grading/mistakes.py``; empty while it does not exist."""
    try:
        mistakes = importlib.import_module(f"{__package__}.mistakes")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.mistakes":
            raise
        return (), ()
    return tuple(getattr(mistakes, "MISTAKES", ())), tuple(getattr(mistakes, "CORRECT", ()))


def regions_of(target: str, region_ids: tuple[str, ...]) -> tuple[str, ...]:
    """The region ids a test target names: itself, or every region of a qualname."""
    if target in region_ids:
        return (target,)
    return tuple(rid for rid in region_ids if rid.split("#")[0] == target)


def hidden_tests() -> list[tuple[str, int, tuple[str, ...]]]:
    """``[(name, points, targets)]`` of the hidden test cases declared in ``grading/topics/``."""
    from .topics import CASES

    return [(case.name, case.points, case.targets) for case in CASES]


def notebook_targets(region_ids: tuple[str, ...] | None = None) -> dict[str, tuple[str, ...]]:
    """``{"<notebook stem>:<grade id>": region ids}`` for the graded notebook tests of COURSE.

    Targets given as a qualname stand for every region of that function.
    The key is the test's name in the grade reports.
    """
    region_ids = tuple(region_ids or markers.kit_regions(KIT_ROOT / "cs_loss"))
    out = {}
    for notebook in COURSE:
        for grade_id, targets in notebook.targets.items():
            resolved = []
            for target in targets:
                resolved += [r for r in regions_of(target, region_ids) if r not in resolved]
            out[f"{Path(notebook.name).stem}:{grade_id}"] = tuple(resolved)
    return out


def notebook_check_problems(notebook_dir: str | os.PathLike | None = None) -> list[str]:
    """What the notebooks' nbgrader metadata says against the declared notebook checks
    (``NOTEBOOK_CHECKS`` of ``grading/topics/``): a missing graded cell or other points.
    Empty when they agree."""
    notebook_dir = Path(notebook_dir or KIT_ROOT / "notebooks")
    problems = []
    for topic in topics.TEST_ORDER:
        cells = graded_cells(notebook_dir / topic.NOTEBOOK)
        for check in topic.NOTEBOOK_CHECKS:
            where = f"{topic.NOTEBOOK}: {check.grade_id}"
            module = f"grading/topics/{topic.__name__.rsplit('.', 1)[-1]}.py"
            if check.grade_id not in cells:
                problems.append(f"{where} is declared but no graded cell has that grade id")
            elif cells[check.grade_id] != check.points:
                problems.append(
                    f"{where} has {cells[check.grade_id]} points in its metadata; "
                    f"{check.points} are declared in {module}"
                )
    return problems


@functools.lru_cache(maxsize=4)
def _exercises(package_dir):
    package_dir = Path(package_dir)
    found = markers.kit_regions(package_dir)
    where = {rid: notebook.name for notebook in COURSE for rid in notebook.regions}
    tests = hidden_tests()
    by_notebook = notebook_targets(tuple(found))
    mistakes, correct = catalogue()
    texts = {}
    out = []
    for notebook in COURSE:
        for rid in notebook.regions:
            if rid not in found:
                continue  # a declared region the source lacks: tests/test_exercises.py says so
            name, region = found[rid]
            text = texts.setdefault(name, (package_dir / name).read_text())
            todo = markers.todo_block(text, region)
            out.append(
                Exercise(
                    id=rid,
                    qualname=region.qualname,
                    file=f"cs_loss/{name}",
                    line=region.begin,
                    notebook=where[rid],
                    task=todo.task if todo else "",
                    sets=todo.sets if todo else (),
                    hint=todo.hint if todo else "",
                    tests=tuple(
                        (test, points)
                        for test, points, targets in tests
                        if any(rid in regions_of(t, tuple(found)) for t in targets)
                    ),
                    notebook_tests=tuple(key for key, rids in by_notebook.items() if rid in rids),
                    mistakes=tuple(v for v in mistakes if v.region == rid),
                    correct=tuple(v for v in correct if v.region == rid),
                )
            )
    return tuple(out)


def exercises(package_dir: str | os.PathLike | None = None) -> tuple[Exercise, ...]:
    """Every declared region of ``package_dir`` (the kit's ``cs_loss``) as an :class:`Exercise`,
    in the order of COURSE."""
    return _exercises(str(Path(package_dir or KIT_ROOT / "cs_loss").resolve()))


def declared_regions() -> tuple[str, ...]:
    """Region ids named in COURSE, in order."""
    return tuple(rid for notebook in COURSE for rid in notebook.regions)


def student_files(package_dir: str | os.PathLike | None = None) -> tuple[str, ...]:
    """The ``cs_loss`` files that hold regions, in the order the notebooks meet them."""
    found = markers.kit_regions(Path(package_dir or KIT_ROOT / "cs_loss"))
    files = []
    for rid in declared_regions():
        if rid in found and f"cs_loss/{found[rid][0]}" not in files:
            files.append(f"cs_loss/{found[rid][0]}")
    return tuple(files)


# ---------------------------------------------------------------------------
# Notebook answer cells


@dataclass(frozen=True)
class AnswerCell:
    """A notebook cell the student writes, and the graded cells that score it."""

    notebook: str
    grade_id: str
    written: bool  # a markdown answer, graded by hand
    tests: tuple  # ((grade id, points), ...): itself for a written answer, else the test cells

    @property
    def points(self) -> float:
        """The points of the graded cells that score this answer."""
        return sum(points for _gid, points in self.tests)


def _nbgrader_cells(path):
    cells = json.loads(Path(path).read_text())["cells"]
    return [(c["cell_type"], c.get("metadata", {}).get("nbgrader", {})) for c in cells]


def answer_cells(notebook_dir: str | os.PathLike | None = None) -> tuple[AnswerCell, ...]:
    """Every answer cell of the notebooks, from their nbgrader metadata.

    A code answer is graded by the graded test cells that follow it, up to the
    next answer cell; a written (markdown) answer is graded by itself.
    """
    notebook_dir = Path(notebook_dir or KIT_ROOT / "notebooks")
    out = []
    for name in NOTEBOOKS:
        current = None
        for cell_type, meta in _nbgrader_cells(notebook_dir / name):
            if meta.get("solution"):
                if current:
                    out.append(AnswerCell(name, *current))
                written = cell_type == "markdown"
                tests = [(meta["grade_id"], meta.get("points", 0))] if meta.get("grade") else []
                current = [meta["grade_id"], written, tests]
            elif meta.get("grade") and current and not current[1]:
                current[2].append((meta["grade_id"], meta.get("points", 0)))
        if current:
            out.append(AnswerCell(name, *current))
    return tuple(AnswerCell(a.notebook, a.grade_id, a.written, tuple(a.tests)) for a in out)


def graded_cells(notebook_path: str | os.PathLike) -> dict[str, float]:
    """``{grade id: points}`` of the graded cells of one notebook, in order."""
    return {
        meta["grade_id"]: meta.get("points", 0)
        for _type, meta in _nbgrader_cells(notebook_path)
        if meta.get("grade")
    }


# ---------------------------------------------------------------------------
# Module import order


def module_imports(package_dir: str | os.PathLike | None = None) -> dict[str, set[str]]:
    """``{module: set of cs_loss modules it imports}`` for every module of the package
    (``__init__`` and ``__main__`` excepted), read with ``ast``."""
    package_dir = Path(package_dir or KIT_ROOT / "cs_loss")
    modules = {p.stem for p in package_dir.glob("*.py")} - {"__init__", "__main__"}
    graph = {}
    for module in sorted(modules):
        tree = ast.parse((package_dir / f"{module}.py").read_text())
        needs = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    needs.add(node.module.split(".")[0])
                else:  # from . import data
                    needs.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                parts = node.module.split(".")
                if parts[0] == "cs_loss" and len(parts) > 1:
                    needs.add(parts[1])
        graph[module] = (needs & modules) - {module}
    return graph


def module_order(
    package_dir: str | os.PathLike | None = None, roots: Iterable[str] | None = None
) -> tuple[str, ...]:
    """Modules so that each comes after the modules it imports; ties in alphabetical order.

    Parameters
    ----------
    roots : iterable of str, optional
        Keep only these modules and what they import (directly or not).
    """
    graph = module_imports(package_dir)
    if roots is not None:
        keep, todo = set(), list(roots)
        while todo:
            module = todo.pop()
            if module not in keep:
                keep.add(module)
                todo += graph[module]
        graph = {m: needs & keep for m, needs in graph.items() if m in keep}
    order = []
    while len(order) < len(graph):
        ready = sorted(m for m, needs in graph.items() if m not in order and needs <= set(order))
        if not ready:
            raise ValueError(
                f"cs_loss modules import each other in a cycle: {sorted(set(graph) - set(order))}"
            )
        order.append(ready[0])
    return tuple(order)


#: The reload order of the whole package (for ``cs_loss/notebook.py``'s ``_MODULES``).
MODULE_ORDER = module_order()
#: The modules the student files need, in import order (for ``grading/hidden_tests.py``'s
#: ``MODULES``: the package modules the hidden tests import one by one).
GRADED_MODULES = module_order(roots=[Path(f).stem for f in student_files()])
STUDENT_FILES = student_files()
#: Graded notebook test ("<notebook stem>:<grade id>", as in the grade reports) -> region ids.
NOTEBOOK_TARGETS = notebook_targets()


# ---------------------------------------------------------------------------
# The release manifest


def manifest(release_dir: str | os.PathLike, package_dir: str | os.PathLike | None = None) -> dict:
    """The submission manifest of a release folder (``collect_submission.py`` reads it).

    ``notebooks``: every grade id of each released notebook, in order;
    ``points``: the graded cells' points; ``student_files``; ``stubs``: the
    exact stub line (without indentation) of each region, per file;
    ``answers``: the grade ids of each notebook's answer cells (the grader
    restores every other cell from the release).
    """
    release_dir = Path(release_dir)
    stubs = {}
    for exercise in exercises(package_dir):
        stubs.setdefault(exercise.file, []).append(exercise.stub)  # one per region
    cells = {name: _nbgrader_cells(release_dir / name) for name in NOTEBOOKS}
    return {
        "assignment": ASSIGNMENT,
        "notebooks": {
            name: [meta["grade_id"] for _type, meta in cells[name] if meta.get("grade_id")]
            for name in NOTEBOOKS
        },
        "points": {name: graded_cells(release_dir / name) for name in NOTEBOOKS},
        "student_files": list(student_files(package_dir)),
        "stubs": stubs,
        "answers": {
            name: [meta["grade_id"] for _type, meta in cells[name] if meta.get("solution")]
            for name in NOTEBOOKS
        },
    }


def write_manifest(
    release_dir: str | os.PathLike, package_dir: str | os.PathLike | None = None
) -> Path:
    """Write :func:`manifest` into ``release_dir``; return its path."""
    path = Path(release_dir) / MANIFEST
    path.write_text(json.dumps(manifest(release_dir, package_dir), indent=1) + "\n")
    return path

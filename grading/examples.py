"""Example submissions made from the exercise table: the reference, the blank release,
and one-mistake ones.

Each one-mistake submission is the reference with one region replaced by a
known mistake (``grading/mistakes.py``), written with
:func:`grading.markers.write_package` from the region's code, never by
editing the reference text. ``check`` verifies that each loses points only on
tests that target its region (and on at least one of them), so that the tests
are known to tell these mistakes apart.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import nbformat

from . import course, exercises, markers
from .declare import Variant

# The one-mistake submissions that ``check`` grades end to end (notebooks included), one per
# notebook. Every mistake of the catalogue is also proven at package level, faster, by
# ``grading.build.prove_catalogue()``, which ``check`` runs too.
END_TO_END = ("no_loops_squared", "svm_vectorized_no_mean", "softmax_vectorized_no_shift")


def one_mistake_variants() -> tuple[Variant, ...]:
    """The catalogue mistakes that ``check`` grades with the whole pipeline."""
    mistakes, _correct = exercises.catalogue()
    by_name = {variant.name: variant for variant in mistakes}
    missing = [name for name in END_TO_END if name not in by_name]
    if missing:
        raise KeyError(f"END_TO_END names {missing}, which grading/mistakes.py does not define")
    return tuple(by_name[name] for name in END_TO_END)


def write_reference(
    dest: str | os.PathLike, release_dir: str | os.PathLike, bodies: dict[str, str] | None = None
) -> Path:
    """What a perfect student submits: the release with the kit's solutions filled in.

    ``bodies`` (region id -> code) replaces some regions, for a variant submission.
    """
    dest = Path(dest)
    (dest / "cs_loss").mkdir(parents=True, exist_ok=True)
    for name in course.NOTEBOOKS:
        solved = nbformat.read(course.KIT_ROOT / "notebooks" / name, as_version=4)
        answers = {
            c.metadata["nbgrader"]["grade_id"]: c.source
            for c in solved.cells
            if c.metadata.get("nbgrader", {}).get("solution")
        }
        notebook = nbformat.read(Path(release_dir) / name, as_version=4)
        for cell in notebook.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid in answers and cell.cell_type == "code":
                cell.source = answers[gid]
            elif gid in answers:  # a written answer: the model answer, as a student writes it
                cell.source = "\n".join(
                    line
                    for line in answers[gid].splitlines()
                    if line.strip() not in markers.SOLUTION_MARKERS
                )
        nbformat.write(notebook, dest / name)
    with tempfile.TemporaryDirectory(prefix="cs_loss_variant_") as tmp:
        package = markers.write_package(course.KIT_ROOT / "cs_loss", tmp, bodies or {})
        for student_file in course.STUDENT_FILES:  # a student submits only these
            shutil.copy(package / Path(student_file).name, dest / student_file)
    return dest


def write_variant(
    variant: Variant, dest: str | os.PathLike, release_dir: str | os.PathLike
) -> Path:
    """The reference with ``variant.code`` in place of region ``variant.region``."""
    return write_reference(dest, release_dir, {variant.region: variant.code})


def write_examples(dest: str | os.PathLike, release_dir: str | os.PathLike) -> dict[str, Path]:
    """All example submissions under ``dest``; returns {name: folder}."""
    dest = Path(dest)
    examples = {"reference": write_reference(dest / "reference", release_dir)}
    blank = dest / "blank_release"
    shutil.copytree(release_dir, blank)
    examples["blank_release"] = blank
    for variant in one_mistake_variants():
        examples[variant.name] = write_variant(variant, dest / variant.name, release_dir)
    return examples


def allowed_failures(variant: Variant | None, tests: list[dict]) -> set[str]:
    """Names of the tests that a submission with ``variant`` (one region wrong) may fail.

    A package test may fail if one of its targets names the region (a qualname
    names all its regions); a notebook test, if the exercise table's
    NOTEBOOK_TARGETS lists the region.
    """
    regions = tuple(markers.kit_regions(course.KIT_ROOT / "cs_loss"))
    by_notebook = exercises.NOTEBOOK_TARGETS
    allowed = set()
    for test in tests:
        if test.get("targets"):
            targets = [r for t in test["targets"] for r in exercises.regions_of(t, regions)]
        else:
            targets = by_notebook.get(test["name"], ())
        if variant.region in targets:
            allowed.add(test["name"])
    return allowed


def verify(results: dict) -> list[str]:
    """Problems with the example submissions' grades (an empty list means all is well)."""
    by_name = {r["student"]: r for r in results}
    problems = []
    reference = by_name["reference"]
    for test in reference["tests"]:
        if test["kind"] != "written" and test["score"] < test["max_score"]:
            problems.append(f"reference loses points on {test['name']}: {test['output']}")
    blank = by_name["blank_release"]
    if blank["error"]:
        problems.append(f"grading the blank release failed: {blank['error']}")
    if blank["auto_score"] != 0:
        earned = [t["name"] for t in blank["tests"] if t["score"] > 0]
        problems.append(f"the blank release earns {blank['auto_score']} points: {earned}")
    for variant in one_mistake_variants():
        result = by_name.get(variant.name)
        if result is None:
            problems.append(f"{variant.name}: was not graded")
            continue
        failed = {
            t["name"]
            for t in result["tests"]
            if t["kind"] != "written" and t["score"] < t["max_score"]
        }
        allowed = allowed_failures(variant, result["tests"])
        if not failed:
            problems.append(f"{variant.name}: no test catches it")
        if failed - allowed:
            problems.append(
                f"{variant.name}: also loses {sorted(failed - allowed)}, which do not "
                f"target {variant.region}"
            )
    return problems


NOTEBOOK_TARGETS = exercises.NOTEBOOK_TARGETS

"""What a hostile reading of the issue-16 refactor found, each as a test that failed on it."""

import json
import shutil
from pathlib import Path

from grading import course, nbconfig, nbgrader_course, nbrecords, rerun
from grading.results import FlagKind

KIT = Path(__file__).resolve().parent.parent


def test_a_change_to_a_topics_declaration_regrades(tmp_path):
    """Points, targets and the catalogue live in grading/topics/: editing them is a new kit."""
    kit = tmp_path / "kit"
    for folder in ("cs_loss", "notebooks", "grading", "data"):
        shutil.copytree(KIT / folder, kit / folder, ignore=shutil.ignore_patterns("__pycache__"))
    before = rerun.kit_version(kit)
    declaration = kit / "grading" / "topics" / "knn.py"
    declaration.write_text(declaration.read_text() + "\n# one more point somewhere\n")
    assert rerun.kit_version(kit) != before
    isolation = kit / "grading" / "isolation" / "sandbox.py"
    changed = rerun.kit_version(kit)
    isolation.write_text(isolation.read_text() + "\n")
    assert rerun.kit_version(kit) != changed


def test_a_flag_file_of_the_earlier_format_is_converted_not_a_crash(tmp_path):
    """A course folder made before flags had kinds keeps {notebook: [messages]}."""
    path = tmp_path / "autograde_flags.json"
    path.write_text(json.dumps({"svm.ipynb": ["test cell svm_test_q2 was deleted: restored"]}))
    nbrecords.add_flag(path, "knn.ipynb", "a cell timed out", FlagKind.NOTE)
    flags = nbrecords.read_flags(path)
    assert [(f.where, f.kind) for f in flags] == [
        ("svm.ipynb", FlagKind.REPAIRED),
        ("knn.ipynb", FlagKind.NOTE),
    ]


def test_only_a_course_folder_passes_as_a_course(tmp_path):
    """The release and autograde folders have the same nbgrader_config.py: not courses."""
    for flavour in ("release", "autograde", "course"):
        root = tmp_path / flavour
        root.mkdir()
        course.write_config(root, flavour=flavour)
        assert nbgrader_course.is_course(root) == (flavour == "course"), flavour
    (tmp_path / "course" / nbconfig.SETTINGS_FILE).unlink()
    assert not nbgrader_course.is_course(tmp_path / "course")
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    (legacy / "nbgrader_config.py").write_text(nbgrader_course.LEGACY_MARK + "\nc = get_config()\n")
    assert nbgrader_course.is_course(legacy)

"""The one nbgrader configuration: a real file copied into the course, settings beside it,
one preprocessor list shared by the kit's autograde and the stock course."""

import pytest
from traitlets.config.loader import PyFileConfigLoader
from traitlets.utils.importstring import import_item

from grading import course, nbconfig, nbgrader_course


def load(folder):
    """The configuration nbgrader reads from ``folder/nbgrader_config.py``."""
    return PyFileConfigLoader("nbgrader_config.py", str(folder)).load_config()


def test_every_preprocessor_of_every_flavour_can_be_imported():
    for flavour in ("autograde", "course"):
        for name in [*sum(nbconfig.preprocessors(flavour), []), *nbconfig.COURSE_FEEDBACK]:
            assert isinstance(import_item(name), type), name


def test_the_stock_course_differs_from_the_kit_only_by_its_named_differences():
    kit_sanitize, kit_autograde = nbconfig.preprocessors("autograde")
    course_sanitize, course_autograde = nbconfig.preprocessors("course")
    assert (kit_sanitize, kit_autograde) == (list(nbconfig.SANITIZE), list(nbconfig.AUTOGRADE))
    inserted = [name for _, name in nbconfig.COURSE_INSERTS]
    undone = [name for name in course_autograde if name not in inserted]
    back = {new: old for old, new in nbconfig.COURSE_REPLACES.items()}
    assert [back.get(n, n) for n in course_sanitize] == kit_sanitize
    assert [back.get(n, n) for n in undone] == kit_autograde
    assert course_autograde.index("grading.nbgrader_course.PackageTests") == (
        course_autograde.index("grading.preprocessors.StderrToStdout") + 1
    )


def test_the_written_config_is_the_repo_file_and_loads_as_the_built_config(tmp_path):
    written = course.write_config(
        tmp_path,
        cell_timeout=77,
        flavour="autograde",
        release_dir="/r/release",
        flag_file="/r/flags.json",
        sandbox="/r/work",
        notebook_seconds=42.0,
        export_dir="/r/exports",
        export_owner="1:2",
    )
    assert written.read_bytes() == nbconfig.CONFIG_FILE.read_bytes()
    settings = nbconfig.Settings.from_json((tmp_path / nbconfig.SETTINGS_FILE).read_text())
    assert settings.flavour == "autograde" and settings.student_files == course.STUDENT_FILES
    loaded = load(tmp_path)
    assert loaded == nbconfig.nbgrader_config(settings)
    assert loaded.Execute.timeout == 77 and loaded.ResilientExecute.notebook_seconds == 42.0
    assert loaded.Sandbox.directory == "/r/work" and loaded.TrustedExport.export_owner == "1:2"
    assert loaded.Autograde.exclude_overwriting == {course.ASSIGNMENT: list(course.STUDENT_FILES)}


def test_the_release_flavour_sets_no_grading_pipeline(tmp_path):
    course.write_config(tmp_path)
    loaded = load(tmp_path)
    assert "autograde_preprocessors" not in loaded.Autograde
    assert loaded.CourseDirectory.db_url == f"sqlite:///{tmp_path / 'gradebook.db'}"


def test_the_stock_course_config_marks_the_course_and_keeps_its_sandbox_out(tmp_path):
    root = nbgrader_course.write_course(tmp_path / "course")
    assert (root / "nbgrader_config.py").read_text().startswith(nbgrader_course.MARK)
    loaded = load(root)
    assert nbgrader_course.SANDBOX in loaded.CourseDirectory.ignore
    assert loaded.StudentSandbox.course_root == str(root)
    assert loaded.GenerateFeedback.preprocessors == list(nbconfig.COURSE_FEEDBACK)
    assert loaded.TrustedVerdict.export_dir == str(root / nbgrader_course.SANDBOX / ".export")


def test_an_unknown_flavour_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="flavour: expected one of .* got 'stock'"):
        course.write_config(tmp_path, flavour="stock")

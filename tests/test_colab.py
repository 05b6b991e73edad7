"""Does the notebooks' setup cell find the assignment folder in Colab, and change into it?

Colab is simulated: a stand-in ``google.colab`` module whose ``drive.mount`` makes a fake My Drive
under the test's temporary folder. The search itself lives in ``cs_loss/home.py`` and is tested
through its functions; the setup cell, read from the notebook, is run whole at the end, with its
Drive mount point moved under the test's folder.
"""

import ast
import os
import shutil
import sys
import types
from pathlib import Path

import matplotlib
import nbformat
import pytest

from cs_loss import home
from grading import course, exercises

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "svm.ipynb"
STUDENT_FILES = ("knn.py", "svm.py", "softmax.py", "linear_classifier.py")
COLAB_MOUNT = "/content/drive"


def setup_cell():
    """The source of the notebook's setup cell."""
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    (source,) = [c.source for c in cells if c.metadata["nbgrader"]["grade_id"].endswith("_setup")]
    return source


@pytest.fixture
def content(monkeypatch, tmp_path):
    """A fresh /content as the working folder, with no CS_LOSS_HOME and a restorable sys.path."""
    folder = tmp_path / "content"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv("CS_LOSS_HOME", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    return folder


@pytest.fixture
def colab(monkeypatch, tmp_path, content):
    """A stand-in google.colab whose drive.mount makes ``tmp_path/drive/MyDrive``.

    Returns the fake My Drive folder and the list of mount points asked for; a mount point
    mounted is one for ``os.path.ismount``, as in Colab.
    """
    mounts = []
    ismount = os.path.ismount

    def mount(mountpoint, force_remount=False):
        mounts.append(mountpoint)
        (Path(mountpoint) / "MyDrive").mkdir(parents=True, exist_ok=True)

    monkeypatch.setattr(os.path, "ismount", lambda path: str(path) in mounts or ismount(path))

    google = types.ModuleType("google")
    colab_module = types.ModuleType("google.colab")
    colab_module.drive = types.SimpleNamespace(mount=mount)
    google.colab = colab_module
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab_module)
    my_drive = tmp_path / "drive" / "MyDrive"
    my_drive.mkdir(parents=True)
    return types.SimpleNamespace(my_drive=my_drive, mounts=mounts)


@pytest.fixture
def outside_colab(monkeypatch, content):
    monkeypatch.setitem(sys.modules, "google.colab", None)  # `from google.colab import ...` fails


def make_copy(folder, student_edit, kit_edit=1_000_000.0, notebook_edit=None):
    """An assignment folder: cs_loss with the student files saved at ``student_edit`` (a time).

    Like a release, each student file holds a TODO block and the others do not.
    """
    package = folder / "cs_loss"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    os.utime(package / "__init__.py", (kit_edit, kit_edit))
    for name in STUDENT_FILES:
        (package / name).write_text("    # TODO: compute it\n    # Set: it\n")
        os.utime(package / name, (student_edit, student_edit))
    (folder / "svm.ipynb").write_text("{}")
    notebook_edit = student_edit if notebook_edit is None else notebook_edit
    os.utime(folder / "svm.ipynb", (notebook_edit, notebook_edit))
    (folder / "collect_submission.py").write_text("")
    return folder


def nested(folder, levels):
    """``folder/level1/level2/...``, ``levels`` folders down."""
    return folder.joinpath(*[f"level{i}" for i in range(1, levels + 1)])


def working_in(folder):
    return f"Working in the assignment folder {folder}: commands in this notebook run there."


def enter(colab):
    """What the setup cell does first: ``(folder, notes)``."""
    return home.enter_assignment_folder(drive_mount=str(colab.my_drive.parent))


# --- the search (cs_loss/home.py) ---------------------------------------------------


def test_a_copy_on_my_drive_becomes_the_working_directory(colab):
    copy = make_copy(colab.my_drive / "cs231n" / "loss", student_edit=2_000_000.0)
    folder, notes = enter(colab)
    assert folder == copy
    assert Path.cwd() == copy
    assert Path("collect_submission.py").is_file()  # `!python collect_submission.py` works
    assert str(copy) in sys.path
    assert colab.mounts == [str(colab.my_drive.parent)]
    assert notes[0].startswith(f"Looked in {colab.my_drive} and its folders up to 6 levels down")
    assert notes[-1] == working_in(copy)


def test_the_copy_whose_student_files_were_edited_last_wins_and_both_are_named(colab):
    # The older copy's cs_loss/__init__.py is newer: the kit file must not decide.
    old = make_copy(colab.my_drive / "a" / "loss", student_edit=1_000_000.0, kit_edit=9_000_000.0)
    new = make_copy(colab.my_drive / "b" / "loss", student_edit=5_000_000.0, kit_edit=1_000.0)
    folder, notes = enter(colab)
    assert folder == new
    text = "\n".join(notes)
    assert "Found 2 copies" in text
    assert f"USING    {new}" in text
    assert f"not used {old}" in text


def test_a_notebook_saved_last_counts_as_an_edit(colab):
    make_copy(colab.my_drive / "a" / "loss", student_edit=3_000_000.0)
    notebook_copy = make_copy(
        colab.my_drive / "b" / "loss", student_edit=1_000_000.0, notebook_edit=4_000_000.0
    )
    assert enter(colab)[0] == notebook_copy


def test_the_release_manifest_names_the_student_files(colab):
    listed = make_copy(colab.my_drive / "a" / "loss", student_edit=1_000_000.0)
    (listed / ".assignment_manifest.json").write_text('{"student_files": ["cs_loss/extra.py"]}')
    (listed / "cs_loss" / "extra.py").write_text("")
    os.utime(listed / "cs_loss" / "extra.py", (8_000_000.0, 8_000_000.0))
    make_copy(colab.my_drive / "b" / "loss", student_edit=5_000_000.0)
    assert enter(colab)[0] == listed


@pytest.mark.parametrize("manifest", [None, "{damaged", '{"student_files": "cs_loss/svm.py"}'])
def test_without_a_usable_manifest_the_files_with_a_todo_block_are_the_student_files(
    tmp_path, manifest
):
    copy = make_copy(tmp_path / "loss", student_edit=1_000_000.0)
    (copy / "cs_loss" / "data.py").write_text("# Load the data. Nothing to do here.\n")
    if manifest is not None:
        (copy / home.MANIFEST).write_text(manifest)
    assert sorted(home.student_files(copy)) == sorted(f"cs_loss/{name}" for name in STUDENT_FILES)


def test_the_todo_blocks_give_the_kits_own_student_files():
    """The fallback and the exercise table agree: both come from the regions' TODO blocks."""
    assert not (course.KIT_ROOT / home.MANIFEST).exists()
    assert sorted(home.student_files(course.KIT_ROOT)) == sorted(exercises.STUDENT_FILES)


@pytest.mark.parametrize("depth", [4, 5, 6])
def test_a_folder_deep_in_my_drive_is_found(colab, depth):
    deep = make_copy(nested(colab.my_drive, depth - 1) / "loss", 2_000_000.0)
    make_copy(colab.my_drive / ".hidden" / "loss", student_edit=9_000_000.0)  # newer, but hidden
    make_copy(colab.my_drive / "Trash" / "loss", student_edit=9_000_000.0)  # newer, but thrown away
    assert enter(colab)[0] == deep


def test_nothing_found_says_exactly_where_it_looked(colab):
    make_copy(nested(colab.my_drive, 6) / "loss", 2_000_000.0)  # 7 levels down
    (colab.my_drive / "Colab Notebooks").mkdir()
    with pytest.raises(FileNotFoundError) as error:
        enter(colab)
    message = str(error.value)
    assert f"Looked in {colab.my_drive} and its folders up to 6 levels down (8 folders;" in message
    assert "hidden folders and the Trash skipped" in message
    assert "CS_LOSS_HOME" in message
    assert Path.cwd().name == "content"  # nothing changed


def test_the_search_stops_at_its_folder_limit_and_says_so(colab, monkeypatch):
    for i in range(10):
        (colab.my_drive / f"folder{i}").mkdir()
    make_copy(colab.my_drive / "zz" / "loss", student_edit=2_000_000.0)
    monkeypatch.setattr(home, "SEARCH_LIMIT", 5)
    with pytest.raises(FileNotFoundError, match="stopped at the limit of 5 folders"):
        enter(colab)


def test_cs_loss_home_wins_over_the_search(colab, monkeypatch, tmp_path):
    make_copy(colab.my_drive / "loss", student_edit=9_000_000.0)
    chosen = make_copy(tmp_path / "elsewhere", student_edit=1_000_000.0)
    monkeypatch.setenv("CS_LOSS_HOME", str(chosen))
    assert enter(colab) == (chosen, [working_in(chosen)])
    assert Path.cwd() == chosen
    assert colab.mounts == []  # Drive was not even mounted


def test_cs_loss_home_on_drive_mounts_drive_first(colab, monkeypatch):
    chosen = colab.my_drive / "deep" / "er" / "than" / "the" / "search" / "goes" / "loss"
    make_copy(chosen, student_edit=1_000_000.0)
    monkeypatch.setenv("CS_LOSS_HOME", str(chosen))
    shutil.move(colab.my_drive, colab.my_drive.parent / "unmounted")  # Drive is not mounted yet
    mount = colab.my_drive.parent

    def mount_drive(mountpoint, force_remount=False):
        colab.mounts.append(mountpoint)
        shutil.move(mount / "unmounted", mount / "MyDrive")

    sys.modules["google.colab"].drive.mount = mount_drive
    assert enter(colab)[0] == chosen
    assert colab.mounts == [str(mount)]


def test_a_cs_loss_home_without_cs_loss_is_refused_by_name(colab, monkeypatch, tmp_path):
    monkeypatch.setenv("CS_LOSS_HOME", str(tmp_path / "not the assignment"))
    with pytest.raises(FileNotFoundError) as error:
        enter(colab)
    assert (
        f"CS_LOSS_HOME is set to {tmp_path / 'not the assignment'}, which does not hold "
        "cs_loss/__init__.py" in str(error.value)
    )
    assert Path.cwd().name == "content"


def test_outside_colab_the_message_names_the_folder_searched(outside_colab):
    with pytest.raises(FileNotFoundError) as error:
        home.enter_assignment_folder()
    assert f"in {Path.cwd()} or its parents" in str(error.value)
    assert "CS_LOSS_HOME" in str(error.value)


# --- the setup cell ---------------------------------------------------------------


def test_the_setup_cell_is_a_few_lines_that_run_cs_loss_home():
    source = setup_cell()
    lines = source.splitlines()
    assert lines[0].startswith("# Setup: run this first.")
    assert len(lines) <= 20  # against 114 when the search was written out in the cell
    tree = ast.parse(source)
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert "cs_loss/home.py" in source and '["start"]()' in source
    assert "student_files" not in source.lower() and "svm.py" not in source


def is_cs_loss(module_name):
    return module_name.split(".")[0] == "cs_loss"


@pytest.fixture
def fresh_cs_loss(monkeypatch):
    """Let the cell import ``cs_loss`` from a copy; put the kit's modules back afterwards."""
    saved = {name: module for name, module in sys.modules.items() if is_cs_loss(name)}
    for name in saved:
        monkeypatch.delitem(sys.modules, name)
    yield
    for name in [name for name in sys.modules if is_cs_loss(name)]:
        del sys.modules[name]
    sys.modules.update(saved)


def run_setup_cell(mount):
    """Run the setup cell as a notebook would, with Colab's mount point moved to ``mount``."""
    source = setup_cell()
    assert source.count(COLAB_MOUNT) == 2 and source.count('["start"]()') == 1
    source = source.replace(COLAB_MOUNT, str(mount))
    source = source.replace('["start"]()', f'["start"](drive_mount={str(mount)!r})')
    namespace = {"__name__": "__main__"}
    with matplotlib.rc_context():
        exec(compile(source, "setup cell", "exec"), namespace)
    return namespace


def release_like_copy(folder, student_edit):
    """A copy of the assignment with the kit's real cs_loss, its student files saved at a time."""
    shutil.copytree(
        course.KIT_ROOT / "cs_loss",
        folder / "cs_loss",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    for name in STUDENT_FILES:
        os.utime(folder / "cs_loss" / name, (student_edit, student_edit))
    return folder


def test_in_colab_the_cell_starts_from_any_copy_and_works_in_the_one_edited_last(
    colab, fresh_cs_loss, capsys
):
    release_like_copy(colab.my_drive / "old" / "loss", student_edit=1_000_000.0)  # found first
    newest = release_like_copy(colab.my_drive / "cs231n" / "a1" / "loss", student_edit=5_000_000.0)
    namespace = run_setup_cell(colab.my_drive.parent)
    assert Path.cwd() == newest
    assert colab.mounts == [str(colab.my_drive.parent)]  # once, by the cell
    assert Path(namespace["cs_loss"].__file__).parent == newest / "cs_loss"
    assert namespace["nb"].__name__ == "cs_loss.notebook"
    assert namespace["vis"].__name__ == "cs_loss.vis"
    assert namespace["np"].__name__ == "numpy" and namespace["plt"].__name__ == "matplotlib.pyplot"
    output = capsys.readouterr().out
    assert f"USING    {newest}" in output
    assert f"Working in the assignment folder {newest}" in output
    assert f"cs_loss loaded from {newest / 'cs_loss'}" in output


def test_outside_colab_the_cell_says_what_it_could_not_find(outside_colab):
    with pytest.raises(FileNotFoundError, match=r"No assignment folder \(one with cs_loss/\) here"):
        run_setup_cell(COLAB_MOUNT)
    assert Path.cwd().name == "content"


def test_the_cell_run_again_for_another_copy_loads_that_copys_cs_loss(
    content, fresh_cs_loss, monkeypatch, tmp_path
):
    first = release_like_copy(tmp_path / "first", student_edit=1_000_000.0)
    second = release_like_copy(tmp_path / "second", student_edit=2_000_000.0)
    monkeypatch.setenv("CS_LOSS_HOME", str(first))
    assert Path(run_setup_cell(COLAB_MOUNT)["cs_loss"].__file__).parent == first / "cs_loss"
    monkeypatch.setenv("CS_LOSS_HOME", str(second))
    namespace = run_setup_cell(COLAB_MOUNT)
    assert Path.cwd() == second
    assert Path(namespace["cs_loss"].__file__).parent == second / "cs_loss"
    assert Path(namespace["nb"].__file__).parent == second / "cs_loss"


def test_while_grading_the_cell_prints_no_path_of_the_graders(
    content, fresh_cs_loss, monkeypatch, tmp_path, capsys
):
    """The setup cell's output is in the graded notebook that feedback and the formgrader show."""
    folder = release_like_copy(tmp_path / "course" / "sandbox" / "ada", student_edit=1_000_000.0)
    monkeypatch.setenv("CS_LOSS_HOME", str(folder))
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    namespace = run_setup_cell(COLAB_MOUNT)
    assert Path(namespace["cs_loss"].__file__).parent == folder / "cs_loss"
    output = capsys.readouterr().out
    assert "Grading: working in the submission's folder." in output
    assert str(tmp_path) not in output

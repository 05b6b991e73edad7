"""Does the notebooks' setup cell find the assignment folder in Colab, and change into it?

Colab is simulated: a stand-in ``google.colab`` module whose ``drive.mount`` makes a fake My Drive
under the test's temporary folder. The code under test is the setup cell itself, read from the
notebook; the test runs its definitions and then calls them as the cell does.
"""

import ast
import os
import sys
import types
from pathlib import Path

import nbformat
import pytest

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "svm.ipynb"
STUDENT_FILES = ("knn.py", "svm.py", "softmax.py", "linear_classifier.py")


def setup_cell_definitions():
    """The setup cell's imports, constants and functions: everything before it calls them."""
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    (source,) = [c.source for c in cells if c.metadata["nbgrader"]["grade_id"].endswith("_setup")]
    tree = ast.parse(source)
    (call,) = [i for i, node in enumerate(tree.body)
               if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "ASSIGNMENT_DIR"]  # fmt: skip
    assert ast.unparse(tree.body[call].value) == "enter_assignment_folder()"
    namespace = {"__name__": "setup_cell"}
    exec(compile(ast.Module(tree.body[:call], type_ignores=[]), "setup cell", "exec"), namespace)
    return namespace


@pytest.fixture
def cell(monkeypatch, tmp_path):
    """The setup cell's functions, run from a fresh /content with no CS_LOSS_HOME."""
    content = tmp_path / "content"
    content.mkdir()
    monkeypatch.chdir(content)
    monkeypatch.delenv("CS_LOSS_HOME", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    return setup_cell_definitions()


@pytest.fixture
def colab(monkeypatch, tmp_path):
    """A stand-in google.colab whose drive.mount makes ``tmp_path/drive/MyDrive``.

    Returns the fake My Drive folder and the list of mount points asked for.
    """
    mounts = []

    def mount(mountpoint, force_remount=False):
        mounts.append(mountpoint)
        (Path(mountpoint) / "MyDrive").mkdir(parents=True, exist_ok=True)

    google = types.ModuleType("google")
    colab_module = types.ModuleType("google.colab")
    colab_module.drive = types.SimpleNamespace(mount=mount)
    google.colab = colab_module
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab_module)
    my_drive = tmp_path / "drive" / "MyDrive"
    my_drive.mkdir(parents=True)
    return types.SimpleNamespace(my_drive=my_drive, mounts=mounts)


def make_copy(folder, student_edit, kit_edit=1_000_000.0, notebook_edit=None):
    """An assignment folder: cs_loss with the student files saved at ``student_edit`` (a time)."""
    package = folder / "cs_loss"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    os.utime(package / "__init__.py", (kit_edit, kit_edit))
    for name in STUDENT_FILES:
        (package / name).write_text("# student code\n")
        os.utime(package / name, (student_edit, student_edit))
    (folder / "svm.ipynb").write_text("{}")
    notebook_edit = student_edit if notebook_edit is None else notebook_edit
    os.utime(folder / "svm.ipynb", (notebook_edit, notebook_edit))
    (folder / "collect_submission.py").write_text("")
    return folder


def enter(cell, colab):
    return cell["enter_assignment_folder"](drive_mount=str(colab.my_drive.parent))


def test_a_copy_on_my_drive_becomes_the_working_directory(cell, colab, capsys):
    copy = make_copy(colab.my_drive / "cs231n" / "loss", student_edit=2_000_000.0)
    folder = enter(cell, colab)
    assert folder == copy
    assert Path.cwd() == copy
    assert Path("collect_submission.py").is_file()  # `!python collect_submission.py` works
    assert str(copy) in sys.path
    assert colab.mounts == [str(colab.my_drive.parent)]
    output = capsys.readouterr().out
    assert f"Working in the assignment folder {copy}" in output
    assert f"Looked in {colab.my_drive} and its folders up to 6 levels down" in output


def test_the_copy_whose_student_files_were_edited_last_wins_and_both_are_named(cell, colab, capsys):
    # The older copy's cs_loss/__init__.py is newer: the kit file must not decide.
    old = make_copy(colab.my_drive / "a" / "loss", student_edit=1_000_000.0, kit_edit=9_000_000.0)
    new = make_copy(colab.my_drive / "b" / "loss", student_edit=5_000_000.0, kit_edit=1_000.0)
    assert enter(cell, colab) == new
    output = capsys.readouterr().out
    assert "Found 2 copies" in output
    assert f"USING    {new}" in output
    assert f"not used {old}" in output


def test_a_notebook_saved_last_counts_as_an_edit(cell, colab):
    make_copy(colab.my_drive / "a" / "loss", student_edit=3_000_000.0)
    notebook_copy = make_copy(colab.my_drive / "b" / "loss", student_edit=1_000_000.0, notebook_edit=4_000_000.0)
    assert enter(cell, colab) == notebook_copy


def test_the_release_manifest_names_the_student_files(cell, colab):
    listed = make_copy(colab.my_drive / "a" / "loss", student_edit=1_000_000.0)
    (listed / ".assignment_manifest.json").write_text('{"student_files": ["cs_loss/extra.py"]}')
    (listed / "cs_loss" / "extra.py").write_text("")
    os.utime(listed / "cs_loss" / "extra.py", (8_000_000.0, 8_000_000.0))
    make_copy(colab.my_drive / "b" / "loss", student_edit=5_000_000.0)
    assert enter(cell, colab) == listed


@pytest.mark.parametrize("depth", [4, 5, 6])
def test_a_folder_deep_in_my_drive_is_found(cell, colab, depth):
    deep = make_copy(colab.my_drive.joinpath(*[f"level{i}" for i in range(1, depth)], "loss"), 2_000_000.0)
    make_copy(colab.my_drive / ".hidden" / "loss", student_edit=9_000_000.0)  # newer, but hidden
    make_copy(colab.my_drive / "Trash" / "loss", student_edit=9_000_000.0)  # newer, but thrown away
    assert enter(cell, colab) == deep


def test_nothing_found_says_exactly_where_it_looked(cell, colab):
    make_copy(colab.my_drive.joinpath(*[f"level{i}" for i in range(1, 7)], "loss"), 2_000_000.0)  # 7 down
    (colab.my_drive / "Colab Notebooks").mkdir()
    with pytest.raises(FileNotFoundError) as error:
        enter(cell, colab)
    message = str(error.value)
    assert f"Looked in {colab.my_drive} and its folders up to 6 levels down (8 folders;" in message
    assert "hidden folders and the Trash skipped" in message
    assert "CS_LOSS_HOME" in message
    assert Path.cwd().name == "content"  # nothing changed


def test_the_search_stops_at_its_folder_limit_and_says_so(cell, colab):
    for i in range(10):
        (colab.my_drive / f"folder{i}").mkdir()
    make_copy(colab.my_drive / "zz" / "loss", student_edit=2_000_000.0)
    cell["SEARCH_LIMIT"] = 5
    with pytest.raises(FileNotFoundError, match="stopped at the limit of 5 folders"):
        enter(cell, colab)


def test_cs_loss_home_wins_over_the_search(cell, colab, monkeypatch, tmp_path):
    make_copy(colab.my_drive / "loss", student_edit=9_000_000.0)
    chosen = make_copy(tmp_path / "elsewhere", student_edit=1_000_000.0)
    monkeypatch.setenv("CS_LOSS_HOME", str(chosen))
    assert enter(cell, colab) == chosen
    assert Path.cwd() == chosen
    assert colab.mounts == []  # Drive was not even mounted


def test_outside_colab_the_message_names_the_folder_searched(cell, monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", None)  # `from google.colab import ...` fails
    with pytest.raises(FileNotFoundError) as error:
        cell["enter_assignment_folder"]()
    assert f"in {Path.cwd()} or its parents" in str(error.value)
    assert "CS_LOSS_HOME" in str(error.value)

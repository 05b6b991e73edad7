"""Find the assignment folder and start a notebook there: what each notebook's setup cell runs.

The setup cell (the first code cell of every notebook) finds a copy of this file
and runs it as a file, not as a module of the package, because ``cs_loss`` can be
imported only once its folder is known::

    np, plt, cs_loss, nb, vis = runpy.run_path("cs_loss/home.py")["start"]()

Until :func:`start` imports numpy, matplotlib and ``cs_loss`` from the chosen
folder, this module needs only the standard library. In Colab any copy of it on
My Drive will do to begin with: :func:`start` then looks for every copy and
picks one.

The assignment folder is the one that holds ``cs_loss/__init__.py``. It is:

1. ``$CS_LOSS_HOME``, when it is set (how you choose a copy yourself);
2. else the working folder or one of its parents (local Jupyter, the autograder);
3. else, in Colab, a folder of My Drive: Drive is mounted at ``/content/drive``
   and My Drive is searched level by level, at most :data:`SEARCH_DEPTH` levels
   down and :data:`SEARCH_LIMIT` folders, skipping hidden folders and the Trash.
   With several copies, the one whose files you edit was saved last is used,
   and the others are named.

:func:`start` is the one function of ``cs_loss`` that prints: the setup cell's
report, which tells you which folder the notebook works in.
"""

import json
import os
import sys
import time
from pathlib import Path

#: How many folder levels below My Drive are searched.
SEARCH_DEPTH = 6
#: At most this many folders are listed (Drive lists folders slowly).
SEARCH_LIMIT = 3000
#: Where Colab mounts Google Drive; My Drive is its ``MyDrive`` folder.
DRIVE_MOUNT = "/content/drive"
#: The release's list of notebooks, student files and grade ids (see collect_submission.py).
MANIFEST = ".assignment_manifest.json"
#: The first line of the TODO block above each exercise: the files you edit hold one.
TODO_LINE = "# TODO:"


def is_assignment_folder(folder):
    """True if ``folder`` holds the ``cs_loss`` package."""
    return (Path(folder) / "cs_loss" / "__init__.py").is_file()


def student_files(folder):
    """The files you edit in ``folder``, as paths relative to it.

    Parameters
    ----------
    folder : path
        An assignment folder.

    Returns
    -------
    list of str
        The release manifest's ``student_files``; without a readable manifest
        (a copy that lost its hidden files), the ``cs_loss`` files that hold a
        TODO block, which is what makes a file one you edit.
    """
    folder = Path(folder)
    try:
        names = json.loads((folder / MANIFEST).read_text())["student_files"]
        if isinstance(names, list) and all(isinstance(name, str) for name in names):
            return names
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return [
        f"cs_loss/{path.name}"
        for path in sorted((folder / "cs_loss").glob("*.py"))
        if any(
            line.lstrip().startswith(TODO_LINE)
            for line in path.read_text(errors="replace").splitlines()
        )
    ]


def last_edited(folder):
    """When a file you edit in ``folder`` (a ``cs_loss`` exercise or a notebook) was last saved.

    Returns
    -------
    float
        Seconds since the epoch; 0.0 when there is no such file. The other
        files of ``cs_loss`` do not count: a fresh copy of the assignment has
        new ones.
    """
    folder = Path(folder)
    files = [folder / name for name in student_files(folder)]
    files += [*folder.glob("*.ipynb"), *folder.glob("notebooks/*.ipynb")]
    return max((path.stat().st_mtime for path in files if path.is_file()), default=0.0)


def search_my_drive(my_drive, depth=None, limit=None):
    """Assignment folders under ``my_drive``, level by level, and where the search looked.

    Parameters
    ----------
    my_drive : path
        The folder to search (``/content/drive/MyDrive`` in Colab).
    depth : int, optional
        How many levels below ``my_drive`` to search; :data:`SEARCH_DEPTH` by default.
    limit : int, optional
        How many folders to look into at most; :data:`SEARCH_LIMIT` by default.

    Returns
    -------
    found : list of pathlib.Path
        The assignment folders, shallowest first. The search does not go into
        an assignment folder, hidden folders or the Trash.
    where : str
        Where it looked, for the messages: the folder, the depth, how many
        folders, and whether the limit stopped it.
    """
    depth = SEARCH_DEPTH if depth is None else depth
    limit = SEARCH_LIMIT if limit is None else limit
    my_drive = Path(my_drive)
    found, visited, level, stopped = [], 0, [my_drive], False
    for _ in range(depth + 1):
        next_level = []
        for folder in level:
            if visited == limit:
                stopped = True
                break
            visited += 1
            if is_assignment_folder(folder):
                found.append(folder)
                continue
            try:
                next_level += sorted(
                    Path(entry.path)
                    for entry in os.scandir(folder)
                    if entry.is_dir() and not entry.name.startswith(".") and entry.name != "Trash"
                )
            except OSError:  # unreadable: skip it
                continue
        level = next_level
    where = (
        f"{my_drive} and its folders up to {depth} levels down ({visited} folders; "
        "hidden folders and the Trash skipped"
        + (f"; stopped at the limit of {limit} folders" if stopped else "")
        + ")"
    )
    return found, where


def _colab_drive():
    """Colab's ``google.colab.drive`` module, or None outside Colab."""
    try:
        from google.colab import drive
    except ImportError:
        return None
    return drive


def _mount(drive, drive_mount):
    """Mount Google Drive at ``drive_mount`` unless it is mounted already."""
    if not os.path.ismount(drive_mount):
        drive.mount(drive_mount)


def find_assignment_folder(drive_mount=DRIVE_MOUNT):
    """The assignment folder, and what to tell you about how it was chosen.

    Parameters
    ----------
    drive_mount : str, optional
        Where Google Drive is mounted in Colab.

    Returns
    -------
    folder : pathlib.Path
        The folder that holds ``cs_loss/`` (see the module docstring for the order).
    notes : list of str
        Lines for the notebook: where the Drive search looked and, with several
        copies, which one is used and which are not. Empty when there was no search.

    Raises
    ------
    FileNotFoundError
        ``$CS_LOSS_HOME`` names a folder without ``cs_loss/``; or no assignment
        folder was found. The message says where it looked and what to do.
    """
    drive = _colab_drive()
    if os.environ.get("CS_LOSS_HOME"):
        folder = Path(os.environ["CS_LOSS_HOME"]).expanduser()
        if not is_assignment_folder(folder) and drive is not None:
            _mount(drive, drive_mount)  # the folder may be on Drive
        if not is_assignment_folder(folder):
            raise FileNotFoundError(
                f"CS_LOSS_HOME is set to {folder}, which does not hold cs_loss/__init__.py. Set "
                "os.environ['CS_LOSS_HOME'] to the assignment folder (the one that contains "
                "cs_loss/), or remove it with  del os.environ['CS_LOSS_HOME']  so that this cell "
                "searches; then run this cell again."
            )
        return folder, []
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if is_assignment_folder(folder):
            return folder, []
    if drive is None:
        raise FileNotFoundError(
            f"Could not find the assignment folder (the one that contains cs_loss/) in "
            f"{Path.cwd()} or its parents. Start Jupyter inside the assignment folder, or set the "
            "environment variable CS_LOSS_HOME to it."
        )
    _mount(drive, drive_mount)
    found, where = search_my_drive(Path(drive_mount) / "MyDrive")
    if not found:
        raise FileNotFoundError(
            f"Could not find the assignment folder (the one that contains cs_loss/). Looked in "
            f"{where}. Upload the unzipped assignment folder to My Drive, at most {SEARCH_DEPTH} "
            "folders deep, or set os.environ['CS_LOSS_HOME'] to its path; then run this cell again."
        )
    found.sort(key=last_edited, reverse=True)  # the copy you worked on last comes first
    notes = [f"Looked in {where}."]
    if len(found) > 1:
        notes.append(
            f"Found {len(found)} copies of the assignment folder; using the one whose "
            "files you edited last:"
        )
        for number, folder in enumerate(found):
            edited = time.strftime("%Y-%m-%d %H:%M", time.localtime(last_edited(folder)))
            notes.append(
                f"  {'USING   ' if number == 0 else 'not used'} {folder}  (last edited {edited})"
            )
        notes.append(
            "To use another copy, set os.environ['CS_LOSS_HOME'] to it and run this cell again."
        )
    return found[0], notes


def enter_assignment_folder(drive_mount=DRIVE_MOUNT):
    """Find the assignment folder, change into it and make ``cs_loss`` importable from it.

    After it, commands such as ``!python collect_submission.py`` work as written.

    Returns
    -------
    folder : pathlib.Path
        The assignment folder, now the working folder and first on ``sys.path``.
    notes : list of str
        :func:`find_assignment_folder`'s notes, then the line naming the folder.
    """
    folder, notes = find_assignment_folder(drive_mount)
    os.chdir(folder)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    notes.append(f"Working in the assignment folder {folder}: commands in this notebook run there.")
    return folder, notes


def _forget_cs_loss_from_elsewhere(folder):
    """Drop an already imported ``cs_loss`` that is not ``folder``'s, so that the next import
    loads ``folder``'s (the cell run again after choosing another copy)."""
    loaded = getattr(sys.modules.get("cs_loss"), "__file__", None)
    if loaded and Path(loaded).resolve().parent != (Path(folder) / "cs_loss").resolve():
        for name in [name for name in sys.modules if name.split(".")[0] == "cs_loss"]:
            del sys.modules[name]


def start(drive_mount=DRIVE_MOUNT):
    """The setup cell: enter the assignment folder, then load and configure what notebooks use.

    Prints where the notebook works and which ``cs_loss`` it loaded; turns on
    autoreload (your edits to ``cs_loss`` are picked up without a restart) and
    inline plots.

    Returns
    -------
    tuple
        ``(np, plt, cs_loss, nb, vis)``: numpy, matplotlib.pyplot, the package,
        ``cs_loss.notebook`` and ``cs_loss.vis``.
    """
    folder, notes = enter_assignment_folder(drive_mount)
    # While grading, the folder is the grader's (its path would show in the feedback).
    grading = bool(os.environ.get("NBGRADER_EXECUTION"))
    print("Grading: working in the submission's folder." if grading else "\n".join(notes))
    _forget_cs_loss_from_elsewhere(folder)
    import matplotlib.pyplot as plt
    import numpy as np

    import cs_loss
    from cs_loss import notebook as nb
    from cs_loss import vis

    if not nb.enable_autoreload():
        print("autoreload is not available here: after editing cs_loss, run  nb.reload()")
    if not grading:
        print(nb.describe())
    nb.configure_plots()
    plt.rcParams["figure.figsize"] = (10.0, 8.0)
    plt.rcParams["image.interpolation"] = "nearest"
    return np, plt, cs_loss, nb, vis

"""The nbgrader course directory, assembled from the kit by the tool, and nbgrader runs.

Nobody keeps a course directory by hand: every command builds a fresh one in a
temporary folder from ``notebooks/``, ``cs_loss/`` and ``data/``, so the source
of truth stays the kit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import nbconfig
from .exercises import ASSIGNMENT, KIT_ROOT, NOTEBOOKS, STUDENT_FILES

# NOTEBOOKS and STUDENT_FILES (what students edit besides the notebooks: their
# versions are the ones graded) are derived from the exercise table.
__all__ = [
    "ASSIGNMENT",
    "KIT_ROOT",
    "NOTEBOOKS",
    "STUDENT_FILES",
    "NbgraderError",
    "nbgrader",
    "write_config",
    "write_source",
]
# Shipped to students alongside the notebooks.
PACKAGE_GLOB = "cs_loss/*.py"
DATA_FILES = ("data/get_datasets.py",)


class NbgraderError(RuntimeError):
    """nbgrader failed; the message holds the end of its log."""


def write_source(course_root: str | Path, kit_root: str | Path | None = None) -> Path:
    """Copy the kit's notebooks, package and data scripts into ``source/loss``.

    ``kit_root`` (default: this kit) is the folder holding ``notebooks/``,
    ``cs_loss/`` and ``data/``.
    """
    kit_root = Path(kit_root or KIT_ROOT)
    source = Path(course_root) / "source" / ASSIGNMENT
    if source.exists():
        shutil.rmtree(source)
    (source / "cs_loss").mkdir(parents=True)
    (source / "data").mkdir()
    for name in NOTEBOOKS:
        shutil.copy(kit_root / "notebooks" / name, source / name)
    for path in sorted(kit_root.glob(PACKAGE_GLOB)):
        shutil.copy(path, source / "cs_loss" / path.name)
    for name in DATA_FILES:
        shutil.copy(kit_root / name, source / name)
    return source


def write_config(
    course_root: str | Path,
    cell_timeout: int = 120,
    db_path: str | Path | None = None,
    flavour: str = "release",
    **fields: Any,
) -> Path:
    """Give ``course_root`` the kit's nbgrader configuration (:mod:`grading.nbconfig`).

    ``flavour`` and ``fields`` are those of :class:`grading.nbconfig.Settings`
    (``"release"``: generate_assignment only; ``"autograde"`` and ``"course"`` with
    their folders and files); the course's root, gradebook (``db_path``, default
    ``course_root/gradebook.db``), the kit, the assignment and the student files are
    filled in here. Returns the path of the ``nbgrader_config.py`` written.
    """
    course_root = Path(course_root)
    settings = nbconfig.Settings(
        root=str(course_root),
        db_path=str(db_path or course_root / "gradebook.db"),
        kit=str(KIT_ROOT),
        assignment=ASSIGNMENT,
        student_files=tuple(STUDENT_FILES),
        flavour=flavour,
        cell_timeout=cell_timeout,
        **fields,
    )
    return nbconfig.write_config(course_root, settings)


def nbgrader(
    course_root: str | Path,
    *args: str,
    timeout: float | None = None,
    env_extra: dict[str, str] | None = None,
) -> str:
    """Run ``nbgrader ARGS`` in the course directory; raise NbgraderError on failure.

    nbgrader 0.9 shells out to ``alembic`` to create its database, so the
    folder of this Python's scripts goes first on PATH; and it can exit 0
    after a failure, so its log is checked for errors too.
    """
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(env_extra or {})
    try:
        done = subprocess.run(
            [sys.executable, "-m", "nbgrader", *args],
            cwd=course_root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise NbgraderError(f"nbgrader {args[0]} timed out after {timeout} s") from exc
    log = done.stdout + done.stderr
    if done.returncode != 0 or "[ERROR]" in log:
        tail = "\n".join(log.strip().splitlines()[-25:])
        raise NbgraderError(
            f"nbgrader {' '.join(args[:2])} failed (exit {done.returncode}):\n{tail}"
        )
    return log

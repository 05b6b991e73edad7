"""nbgrader preprocessors that close the known holes of a naive nbgrader setup.

They are put into nbgrader's pipelines by the course configuration
(:mod:`grading.nbconfig`), in this order:

sanitize (before nbgrader's ``OverwriteCells``):
    ``RebuildFromRelease``: the graded notebook is the release notebook with the
    student's answers put into it, matched by grade id (or, for a renamed id, by
    position). Test and read-only cells always come from the release, so a
    deleted, edited or ``skip-execution``-tagged test cell changes nothing, and
    a renamed grade id no longer voids the notebook. Every such repair is
    recorded as a flag.
    ``TrustedExport`` (after nbgrader's ``OverwriteCells``, which restores the
    test cells' source from the gradebook): each graded test cell's source
    becomes an export snippet that writes the values its check needs as plain
    data (:mod:`grading.notebook_checks`). The check itself never runs in the
    student's kernel. The release source is kept in the cell's metadata.
autograde (around nbgrader's ``Execute``):
    ``Sandbox`` (before): the kernel runs in a folder holding only the student's
    ``cs_loss`` and ``data``, not in the folder where nbgrader keeps the notebook
    with its hidden tests restored.
    ``ResilientExecute`` (:mod:`grading.execute`) replaces nbgrader's ``Execute``: a
    cell that kills the kernel (``os._exit``) costs that cell, not the whole notebook.
    ``StderrToStdout`` (after): nbgrader scores a test cell with any stderr
    output as 0; a warning from correct code must not cost points, so stderr
    text is kept but moved to stdout. Errors still score 0.
    ``TrustedVerdict`` (last before ``SaveAutoGrades``, after the kernel is
    gone): runs the trusted checks on the exported files in this process and
    sets each test cell's output to a clean line or an error with the reason,
    so nbgrader's own scoring (error = 0 points) stores the trusted verdict; the
    verdict itself goes to the grader in a file (:mod:`grading.nbrecords`).
    It also puts back each test cell's release source: the executed notebook,
    which the formgrader and ``nbgrader generate_feedback`` show, holds the
    check the student saw (matching nbgrader's checksum) and its verdict, never
    the export snippet with the grader's paths.

Flags go to the JSON file ``flag_file`` (typed: :func:`read_flags`) and the trusted
verdicts to ``verdict_file`` (:func:`read_verdicts`), which the grader reads; nothing
is read back from the executed notebooks.
"""

import os
import shutil
import stat
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from . import notebook_checks
from .execute import KernelIgnoredInterrupt, ResilientExecute
from .nbrecords import add_flag as _flag
from .nbrecords import write_verdict
from .results import FlagKind

Resources = dict[str, Any]  # nbgrader's resources of a notebook being processed

__all__ = ["KernelIgnoredInterrupt", "ResilientExecute"]  # with the preprocessors below

SKIP_TAGS = {"skip-execution", "raises-exception"}
# Cell metadata key: a graded test cell's release source while its export snippet runs.
RELEASE_SOURCE = "cs_loss_release_source"


def _gid(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


class RebuildFromRelease(NbGraderPreprocessor):
    """Put the student's answers into a fresh copy of the release notebook."""

    release_dir = Unicode("", help="folder of the release notebooks").tag(config=True)
    flag_file = Unicode("", help="JSON file collecting flags").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Resources) -> tuple[NotebookNode, Resources]:
        name = resources["unique_key"] + ".ipynb"
        release = nbformat.read(Path(self.release_dir) / name, as_version=4)
        release_ids = {_gid(c) for c in release.cells if _gid(c)}
        answers = {}  # grade id -> student's cell
        orphans = []  # solution-looking cells with an unknown or missing id
        extra_after = {}  # grade id -> student-added cells that followed it
        last_id = None
        for cell in nb.cells:
            gid = _gid(cell)
            tags = set(cell.metadata.get("tags", []))
            if tags & SKIP_TAGS:
                _flag(
                    self.flag_file,
                    name,
                    f"execution tags removed: {sorted(tags & SKIP_TAGS)}",
                    FlagKind.REPAIRED,
                )
            if gid in release_ids:
                answers[gid] = cell
                last_id = gid
            elif gid or cell.metadata.get("nbgrader", {}).get("solution"):
                orphans.append(cell)
            elif cell.cell_type == "code" and cell.source.strip():
                extra_after.setdefault(last_id, []).append(cell)
        cells = []
        for rel in release.cells:
            gid = _gid(rel)
            meta = rel.metadata.get("nbgrader", {})
            if meta.get("solution"):
                student = answers.get(gid)
                if student is None and orphans:
                    student = orphans.pop(0)
                    _flag(
                        self.flag_file,
                        name,
                        f"answer cell {gid} not found by id: took the cell with id "
                        f"{_gid(student)!r} in its place",
                        FlagKind.REPAIRED,
                    )
                if student is None:
                    _flag(self.flag_file, name, f"answer cell {gid} missing: graded as unanswered")
                    cell = rel
                else:
                    cell = nbformat.from_dict(dict(rel))
                    cell.source = student.source
                cells.append(cell)
            else:
                if gid not in answers and meta.get("grade"):
                    _flag(
                        self.flag_file,
                        name,
                        f"test cell {gid} was deleted: restored",
                        FlagKind.REPAIRED,
                    )
                elif gid in answers and answers[gid].source != rel.source and meta.get("locked"):
                    _flag(
                        self.flag_file,
                        name,
                        f"read-only cell {gid} was edited: restored",
                        FlagKind.REPAIRED,
                    )
                cells.append(nbformat.from_dict(dict(rel)))
            for cell in extra_after.pop(gid, []) if gid else []:
                cell.metadata.pop("tags", None)
                cells.append(cell)
        for cell in cells:
            tags = [t for t in cell.metadata.get("tags", []) if t not in SKIP_TAGS]
            if tags:
                cell.metadata["tags"] = tags
            else:
                cell.metadata.pop("tags", None)
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
        nb.cells = cells
        return nb, resources


class Sandbox(NbGraderPreprocessor):
    """Run the kernel in a folder that holds only the student's files."""

    directory = Unicode("", help="the folder the kernel starts in").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Resources) -> tuple[NotebookNode, Resources]:
        if self.directory:
            resources.setdefault("metadata", {})["path"] = self.directory
        return nb, resources


class StderrToStdout(NbGraderPreprocessor):
    """Move stderr text to stdout, marked, so that a warning does not zero a test cell."""

    flag_file = Unicode("", help="JSON file collecting flags").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Resources) -> tuple[NotebookNode, Resources]:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and output.get("name") == "stderr":
                    output["name"] = "stdout"
                    output["text"] = "[stderr] " + output["text"]
        return nb, resources


def _export_dir(base, resources):
    return Path(base) / resources.get("unique_key", "notebook")


def _graded_test(cell):
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


class UnsafeExportFolder(RuntimeError):
    """The export folder is not the grader's own (a symlink, or someone else's folder)."""


def _own_folder(path):
    """Create ``path`` if needed; refuse it unless it is a real folder of this user's,
    writable by nobody else (a student could otherwise swap it for a symlink, e.g. to a
    classmate's export folder, and have the grader empty that)."""
    path = Path(path)
    path.mkdir(mode=0o711, parents=True, exist_ok=True)
    info = os.lstat(path)
    if (
        stat.S_ISLNK(info.st_mode)
        or not stat.S_ISDIR(info.st_mode)
        or info.st_uid != os.geteuid()
        or info.st_mode & 0o022
    ):
        raise UnsafeExportFolder(f"{path} is not a folder of the grader's own: not used")
    return path


class TrustedExport(NbGraderPreprocessor):
    """Replace each graded test cell's source by the snippet exporting its values.

    The cell's own source (the release's, as nbgrader's ``OverwriteCells`` left
    it) goes to its metadata under :data:`RELEASE_SOURCE`, for
    :class:`TrustedVerdict` to put back.

    Each notebook exports into ``export_dir/<notebook>``: ``export_dir`` must be
    the grader's own folder (outside anything the student can rename), and the
    notebook's folder is made fresh, owned by ``export_owner`` ("uid:gid", the
    sandbox user) with mode 0700.
    """

    export_dir = Unicode("", help="folder the kernel writes exported values to").tag(config=True)
    export_owner = Unicode("", help="uid:gid owning each notebook's export folder").tag(config=True)
    flag_file = Unicode("", help="JSON file collecting flags").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Resources) -> tuple[NotebookNode, Resources]:
        folder = _own_folder(self.export_dir) / resources.get("unique_key", "notebook")
        if folder.is_symlink() or folder.is_file():
            folder.unlink()
        elif folder.exists():  # values left from an earlier run must not count
            shutil.rmtree(folder)
        folder.mkdir(mode=0o700)
        if self.export_owner:  # the kernel runs as the sandbox user
            uid, gid = (int(part) for part in self.export_owner.split(":"))
            os.chown(folder, uid, gid)
        for cell in nb.cells:
            gid = _gid(cell)
            if _graded_test(cell):
                cell.metadata[RELEASE_SOURCE] = cell.source
                if gid in notebook_checks.EXPORTS:
                    cell.source = notebook_checks.export_source(gid, folder)
                else:  # no trusted check: the cell would trust the student's kernel
                    cell.source = "raise RuntimeError('this test has no trusted check')"
                    _flag(
                        self.flag_file,
                        resources.get("unique_key", "") + ".ipynb",
                        f"test cell {gid} has no trusted check in grading/notebook_checks.py: "
                        "0 points",
                    )
        return nb, resources


class TrustedVerdict(NbGraderPreprocessor):
    """Set each graded test cell's output from the trusted check on its exported values,
    and put back the source the student saw in place of the export snippet.

    Restoring the release source keeps nbgrader consistent: the cell matches
    its checksum in the gradebook again, and what the formgrader and the
    feedback show is the check and its verdict.

    The verdicts also go to ``verdict_file`` (:func:`write_verdict`), from which the kit's
    own pipeline reads them (:func:`read_verdicts`): the cell outputs written here are for
    nbgrader's gradebook and formgrader only, and are never parsed back.
    """

    export_dir = Unicode("", help="folder the kernel wrote exported values to").tag(config=True)
    flag_file = Unicode("", help="JSON file collecting flags").tag(config=True)
    verdict_file = Unicode("", help="JSON file collecting the verdicts").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Resources) -> tuple[NotebookNode, Resources]:
        folder = _export_dir(self.export_dir, resources)
        name = resources.get("unique_key", "notebook") + ".ipynb"
        for cell in nb.cells:
            gid = _gid(cell)
            if not _graded_test(cell):
                continue
            if RELEASE_SOURCE in cell.metadata:
                cell.source = cell.metadata.pop(RELEASE_SOURCE)
            if gid in notebook_checks.EXPORTS:
                for hook in notebook_checks.foreign_hooks(folder, gid):
                    _flag(
                        self.flag_file,
                        name,
                        f"review: a hook on the kernel was active at {gid}: {hook}",
                        FlagKind.REVIEW,
                    )
                passed, reason = notebook_checks.evaluate(gid, folder)
            else:
                passed, reason = False, "this test has no trusted check"
            write_verdict(self.verdict_file, f"{Path(name).stem}:{gid}", passed, reason)
            if passed:
                cell.outputs = [NotebookNode(output_type="stream", name="stdout", text="passed\n")]
            else:
                cell.outputs = [
                    NotebookNode(
                        output_type="error",
                        ename="CheckFailed",
                        evalue=reason,
                        traceback=[f"CheckFailed: {reason}"],
                    )
                ]
        return nb, resources

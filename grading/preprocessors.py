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
    ``ResilientExecute`` replaces nbgrader's ``Execute``: a cell that kills the
    kernel (``os._exit``) costs that cell, not the whole notebook.
    ``StderrToStdout`` (after): nbgrader scores a test cell with any stderr
    output as 0; a warning from correct code must not cost points, so stderr
    text is kept but moved to stdout. Errors still score 0.
    ``TrustedVerdict`` (last before ``SaveAutoGrades``, after the kernel is
    gone): runs the trusted checks on the exported files in this process and
    sets each test cell's output to a clean line or an error with the reason,
    so nbgrader's own scoring (error = 0 points) stores the trusted verdict.
    It also puts back each test cell's release source: the executed notebook,
    which the formgrader and ``nbgrader generate_feedback`` show, holds the
    check the student saw (matching nbgrader's checksum) and its verdict, never
    the export snippet with the grader's paths.

Flags go to a JSON file per notebook (``FlagFile.path``), which the grader
reports per student.
"""

import asyncio
import json
import os
import shutil
import stat
from pathlib import Path
from time import monotonic

import nbformat
from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Float, Integer, Unicode

from . import notebook_checks

SKIP_TAGS = {"skip-execution", "raises-exception"}
# Cell metadata key: a graded test cell's release source while its export snippet runs.
RELEASE_SOURCE = "cs_loss_release_source"


def _flag(path, notebook, message):
    if not path:
        return
    path = Path(path)
    flags = json.loads(path.read_text()) if path.is_file() else {}
    flags.setdefault(notebook, [])
    if message not in flags[notebook]:
        flags[notebook].append(message)
    path.write_text(json.dumps(flags, indent=1))


def _gid(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


class RebuildFromRelease(NbGraderPreprocessor):
    """Put the student's answers into a fresh copy of the release notebook."""

    release_dir = Unicode("", help="folder of the release notebooks").tag(config=True)
    flag_file = Unicode("", help="JSON file collecting flags").tag(config=True)

    def preprocess(self, nb, resources):
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
                _flag(self.flag_file, name, f"execution tags removed: {sorted(tags & SKIP_TAGS)}")
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
                        f"answer cell {gid} not found by id: took the cell with id {_gid(student)!r} in its place",
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
                    _flag(self.flag_file, name, f"test cell {gid} was deleted: restored")
                elif gid in answers and answers[gid].source != rel.source and meta.get("locked"):
                    _flag(self.flag_file, name, f"read-only cell {gid} was edited: restored")
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

    def preprocess(self, nb, resources):
        if self.directory:
            resources.setdefault("metadata", {})["path"] = self.directory
        return nb, resources


class StderrToStdout(NbGraderPreprocessor):
    """Move stderr text to stdout, marked, so that a warning does not zero a test cell."""

    flag_file = Unicode("", help="JSON file collecting flags").tag(config=True)

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream" and output.get("name") == "stderr":
                    output["name"] = "stdout"
                    output["text"] = "[stderr] " + output["text"]
        return nb, resources


class KernelIgnoredInterrupt(DeadKernelError):
    """A cell ran past its time limit and did not stop when interrupted."""


class ResilientExecute(Execute):
    """nbgrader's Execute, but a broken cell costs only that cell, and time is bounded.

    nbgrader stops at a dead kernel (``os._exit`` in a student cell, a segfault)
    and the whole notebook scores 0. Here the cell gets an error output, the
    kernel is restarted, the cells before it are run again to rebuild the state,
    and execution goes on with the next cell. After ``max_restarts`` deaths the
    remaining cells are marked as not run.

    Time: a cell past its limit is interrupted (``KeyboardInterrupt``, the kernel
    lives on). If it does not stop within ``interrupt_grace`` seconds (it ignores
    SIGINT, or catches ``KeyboardInterrupt`` in a loop), the kernel is killed and
    treated as dead, as above; nbclient alone would wait for it forever. The
    whole notebook has ``notebook_seconds`` (0: no limit): a cell never gets
    more than what is left, and cells reached after it ran out are marked as
    not run, so one slow notebook costs its own remaining cells and never the
    other notebooks.
    """

    max_restarts = Integer(3, help="kernel restarts allowed per notebook").tag(config=True)
    interrupt_grace = Float(10.0, help="seconds an interrupted cell has to stop").tag(config=True)
    notebook_seconds = Float(0.0, help="time budget of each notebook (0: none)").tag(config=True)
    flag_file = Unicode("", help="JSON file collecting flags").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._crashed = set()
        self._replaying = False
        self._cell_idle = False
        self._out_of_time = False
        self._deadline = monotonic() + self.notebook_seconds if self.notebook_seconds > 0 else None
        self._notebook_name = (resources or {}).get("unique_key", "notebook") + ".ipynb"
        return super().preprocess(nb, resources, km)

    def _error_output(self, ename, evalue):
        return NotebookNode(
            output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
        )

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        if self._deadline is None:
            return timeout
        left = max(1.0, self._deadline - monotonic())
        return left if timeout is None else min(timeout, left)

    def process_message(self, msg, cell, cell_index):
        # Called for every output message of the running cell: "idle" means it has finished.
        if (
            msg.get("msg_type") == "status"
            and msg.get("content", {}).get("execution_state") == "idle"
        ):
            self._cell_idle = True
        return super().process_message(msg, cell, cell_index)

    async def _async_handle_timeout(self, timeout, cell=None):
        """Interrupt; if the cell has not stopped after ``interrupt_grace`` s, give up on the kernel."""
        self.log.error("Cell past its time limit (%.0f s): interrupting the kernel", timeout)
        await ensure_async(self.km.interrupt_kernel())
        stop = monotonic() + self.interrupt_grace
        while monotonic() < stop:
            if self._cell_idle:
                return None  # it stopped (KeyboardInterrupt): its reply is waiting
            await asyncio.sleep(0.1)
        raise KernelIgnoredInterrupt(
            f"the cell did not stop within {self.interrupt_grace:.0f} s of an interrupt"
        )

    def _not_run(self, cell, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, self.resources
        if not self._out_of_time:
            self._out_of_time = True
            _flag(
                self.flag_file,
                self._notebook_name,
                f"the notebook used up its time budget ({self.notebook_seconds:.0f} s) at cell "
                f"{index}: the cells from there on were not run",
            )
        cell.outputs = [
            self._error_output(
                "NotRun",
                f"not run: the notebook used up its time budget of "
                f"{self.notebook_seconds:.0f} s before this cell",
            )
        ]
        return cell, self.resources

    def preprocess_cell(self, cell, resources, index):
        if index in self._crashed or (
            len(self._crashed) > self.max_restarts and not self._replaying
        ):
            if cell.cell_type == "code" and index not in self._crashed:
                cell.outputs = [self._error_output("NotRun", "the kernel died too often; not run")]
            return cell, self.resources
        if self._deadline is not None and monotonic() >= self._deadline and not self._replaying:
            return self._not_run(cell, index)
        self._cell_idle = False
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError as exc:
            if self._replaying:
                raise
            self._crashed.add(index)
            if isinstance(exc, KernelIgnoredInterrupt):
                why = (
                    f"this cell ran past its time limit and {exc}: the kernel was restarted "
                    "and the cells before this one re-run"
                )
                cell.outputs = [self._error_output("CellTimeout", why)]
                _flag(
                    self.flag_file,
                    self._notebook_name,
                    f"cell {index} ignored the interrupt at its time limit: kernel restarted",
                )
            else:
                cell.outputs = [
                    self._error_output(
                        "KernelDied",
                        "the kernel died while running this cell (os._exit, a crash, or "
                        "running out of memory); it was restarted and the cells before this one re-run",
                    )
                ]
                _flag(
                    self.flag_file,
                    self._notebook_name,
                    f"the kernel died in cell {index}: restarted",
                )
            if len(self._crashed) <= self.max_restarts:
                self._restart_and_replay(resources, index)
            return cell, self.resources

    def _restart_and_replay(self, resources, index):
        try:
            run_sync(self.km.restart_kernel)(now=True)
            run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
        except Exception:  # noqa: BLE001 - a kernel that dies again while starting
            self._crashed.update(range(10**7, 10**7 + self.max_restarts + 1))  # no more restarts
            _flag(self.flag_file, self._notebook_name, "the kernel could not be restarted")
            return
        self._replaying = True
        try:
            for earlier in range(index):
                if earlier not in self._crashed and self.nb.cells[earlier].cell_type == "code":
                    self._cell_idle = False
                    super().preprocess_cell(self.nb.cells[earlier], resources, earlier)
        except DeadKernelError:
            self._crashed.add(index + 10**6)  # counts towards max_restarts
        finally:
            self._replaying = False


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

    def preprocess(self, nb, resources):
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
                        f"test cell {gid} has no trusted check in grading/notebook_checks.py: 0 points",
                    )
        return nb, resources


class TrustedVerdict(NbGraderPreprocessor):
    """Set each graded test cell's output from the trusted check on its exported values,
    and put back the source the student saw in place of the export snippet.

    Restoring the release source keeps nbgrader consistent: the cell matches
    its checksum in the gradebook again, and what the formgrader and the
    feedback show is the check and its verdict.
    """

    export_dir = Unicode("", help="folder the kernel wrote exported values to").tag(config=True)
    flag_file = Unicode("", help="JSON file collecting flags").tag(config=True)

    def preprocess(self, nb, resources):
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
                    )
                passed, reason = notebook_checks.evaluate(gid, folder)
            else:
                passed, reason = False, "this test has no trusted check"
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

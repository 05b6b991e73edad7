"""``ResilientExecute``: nbgrader's ``Execute``, but a cell that kills the kernel costs that
cell, not the whole notebook; and each notebook keeps to its share of the time budget.

With ``share_kernel`` (one submission per process: the kit's worker), the notebooks share
one kernel: each after the first starts with the kernel's namespace reset (``%reset -f``,
figures closed), so one notebook's variables never hide another's ``NameError``; a kernel
that died or does not answer the reset is shut down and a new one started, so a notebook
that kills or wedges its kernel still costs only itself. :func:`start_shared_kernel` starts
it early (while the package tests run); :func:`shutdown_shared_kernel` ends it at once after
the last notebook.

Part of the autograde pipeline of :mod:`grading.preprocessors` (which re-exports it).
"""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from time import monotonic
from typing import Any

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer, Unicode

from .isolation.leftovers import report_leftovers
from .nbrecords import add_flag as _flag


class KernelIgnoredInterrupt(DeadKernelError):
    """A cell ran past its time limit and did not stop when interrupted."""


# The kernel manager the notebooks of this process share (``share_kernel``), once started.
_SHARED: dict[str, Any] = {}
# Run in the shared kernel before each notebook after the first: a namespace as a new
# kernel's (the modules imported stay, as the next notebook's setup cell imports them).
RESET_CODE = (
    'get_ipython().run_line_magic("reset", "-f")\n'
    "import sys as _sys\n"
    'if "matplotlib.pyplot" in _sys.modules:\n'
    '    _sys.modules["matplotlib.pyplot"].close("all")\n'
    "del _sys\n"
)
RESET_SECONDS = 10.0  # a kernel that has not reset by then is treated as wedged


async def _reset(km: Any) -> bool:
    """Reset the namespace of ``km``'s kernel; False if it is dead or does not answer."""
    if not await ensure_async(km.is_alive()):
        return False
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=RESET_SECONDS)
        reply = await kc.execute_interactive(
            RESET_CODE, store_history=False, timeout=RESET_SECONDS, output_hook=lambda msg: None
        )
        return reply["content"]["status"] == "ok"
    except Exception:  # noqa: BLE001 - a timeout or a dead kernel: start a new one
        return False
    finally:
        kc.stop_channels()


async def _shutdown(km: Any) -> None:
    try:
        if await ensure_async(km.is_alive()):
            await ensure_async(km.shutdown_kernel(now=True))
    except RuntimeError:  # already gone
        pass
    finally:
        await ensure_async(km.cleanup_resources())


def start_shared_kernel(cwd: str, kernel_name: str = "python3", **manager: str) -> None:
    """Start the kernel the notebooks will share (``share_kernel``) now, in the folder ``cwd``.

    It boots while the worker does other work (the package tests); the first notebook finds
    it, waits until it answers and resets it, as every later one does (a kernel that died
    meanwhile is replaced). ``manager``: the ``KernelManager`` settings (transport, ip) that
    nbgrader's command line would give; the kernelspec and the sandbox's spec are read from
    this process's environment, as when nbclient starts it.
    """
    from jupyter_client.manager import AsyncKernelManager  # nbclient's kernel manager class

    km = AsyncKernelManager(kernel_name=kernel_name, **manager)
    run_sync(km.start_kernel)(cwd=cwd)
    _SHARED["km"] = km


def shutdown_shared_kernel() -> None:
    """Stop the kernel the notebooks shared (``share_kernel``) at once, if there is one.

    A kill, never a wait on a kernel that may not answer; the processes the notebooks left
    running beside it are counted first, for the review flag its box would have raised on a
    graceful shutdown (:func:`grading.isolation.leftovers.report_leftovers`).
    """
    km = _SHARED.pop("km", None)
    if km is not None:
        report_leftovers(getattr(km.provisioner, "pid", None))
        run_sync(_shutdown)(km)


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
    share_kernel = Bool(
        False, help="one kernel for all notebooks of this process, reset between them"
    ).tag(config=True)

    @contextmanager
    def setup_kernel(self, **kwargs: Any) -> Iterator[None]:
        """nbclient's kernel set-up; with ``share_kernel``, the shared kernel, reset."""
        if not self.share_kernel:
            with super().setup_kernel(**kwargs):
                yield
            return
        km = _SHARED.pop("km", None)
        if km is not None and not run_sync(_reset)(km):
            run_sync(_shutdown)(km)  # dead or wedged: this notebook gets a new kernel
            km = None
        if km is not None:
            self.km = km
        with super().setup_kernel(cleanup_kc=False, **kwargs):
            try:
                yield
            finally:
                _SHARED["km"] = self.km
                if self.kc is not None:
                    self.kc.stop_channels()
                    self.kc = None

    def preprocess(
        self, nb: NotebookNode, resources: dict[str, Any] | None = None, km: Any = None
    ) -> tuple[NotebookNode, dict[str, Any]]:
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

    def process_message(self, msg: dict[str, Any], cell: NotebookNode, cell_index: int) -> Any:
        """nbclient's handling of an output message, noting when the cell has finished."""
        # Called for every output message of the running cell: "idle" means it has finished.
        if (
            msg.get("msg_type") == "status"
            and msg.get("content", {}).get("execution_state") == "idle"
        ):
            self._cell_idle = True
        return super().process_message(msg, cell, cell_index)

    async def _async_handle_timeout(self, timeout, cell=None):
        """Interrupt; if the cell has not stopped after ``interrupt_grace`` s, give up on the
        kernel."""
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

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
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
                        "running out of memory); it was restarted and the cells before this "
                        "one re-run",
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

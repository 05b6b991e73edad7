"""Isolation: one sandbox per submission, an unprivileged user, a private folder, limits, cleanup.

When the grader runs as root (a course container, CI, Gradescope), every
worker slot has a user of its own (``cs_loss_w0``, ``cs_loss_w1``..., created on
demand: :mod:`.users`). The student's kernel, everything it starts and the package
tests run as that user, with HOME, TMPDIR and the working folder inside a private
folder that holds only that student's files and the data (:class:`.Sandbox`). The
grader's own folders (the kit, the course copy with its source notebooks, the
gradebook, the reports, other submissions) are owned by root with mode 0700, so
the user can neither read nor write them, and ``/proc/<pid>/cwd`` of the grader's
processes is closed to it. Limits: processes of the user (``RLIMIT_NPROC``),
address space per process, file size, and the worker's wall-clock limit. After the
submission every process of the user is killed and the private folder removed
(:mod:`.cleanup`).

While the submission is graded a :class:`.Monitor` in the grader watches it: the
resident memory of all the user's processes together, and the reads of other
processes' ``/proc`` entries that the audit hook in the student's processes
(``grading/proc_audit.py``) reports. The monitor is passed explicitly to whoever
runs student code (``box.monitor``); it is no global.

The kernel starts through a kernelspec (:mod:`.kernel`): a launcher file run as
root that drops to the user and execs a bootstrap file, both real files.

Which sandbox grades is chosen once per interpreter (:mod:`.backend`): the
namespace backend where a bubblewrap box starts (:mod:`.namespaces`: a private root,
no network, a PID namespace, as root or not, with a control group per submission
where one can be made, :mod:`.cgroups`), else the user-id sandbox above (root),
else none: the grader says so once, loudly, and grades anyway (student code then
runs with the grader's privileges). ``CS_LOSS_ISOLATION`` forces one.
"""

from .backend import BACKENDS, FORCE_VARIABLE, BackendUnavailableError, choose, say_once
from .cgroups import Cgroup
from .cleanup import SHARED_WRITABLE, remove_files_of, remove_recorded
from .kernel import SPEC_VARIABLE, install_kernelspec, kernel_argv, open_channel, read_spec
from .monitor import MAX_PROC_FLAGS, PROC_VERBS, Monitor, resident_bytes
from .sandbox import Sandbox, wrap_command
from .users import (
    NOT_ROOT_WARNING,
    PROBED_VARIABLE,
    USER_PREFIX,
    can_switch_users,
    dropper,
    ensure_user,
    kill_user,
    processes_of,
    python_usable,
    warn_not_root,
    warn_python_unusable,
)

__all__ = [
    "BACKENDS",
    "FORCE_VARIABLE",
    "BackendUnavailableError",
    "Cgroup",
    "choose",
    "say_once",
    "wrap_command",
    "MAX_PROC_FLAGS",
    "NOT_ROOT_WARNING",
    "PROBED_VARIABLE",
    "PROC_VERBS",
    "SHARED_WRITABLE",
    "SPEC_VARIABLE",
    "USER_PREFIX",
    "Monitor",
    "Sandbox",
    "can_switch_users",
    "dropper",
    "ensure_user",
    "install_kernelspec",
    "kernel_argv",
    "kill_user",
    "open_channel",
    "processes_of",
    "python_usable",
    "read_spec",
    "remove_files_of",
    "remove_recorded",
    "resident_bytes",
    "warn_not_root",
    "warn_python_unusable",
]

"""Which isolation grades here: chosen once per interpreter by a probe, or forced.

* ``namespaces``: every run of student code in a bubblewrap box
  (:mod:`.namespaces`), with a control group per submission where one can be made
  (:mod:`.cgroups`); as root bwrap runs as the slot's sandbox user, otherwise as the
  TA's user (a laptop with unprivileged user namespaces).
* ``users``: root without namespaces (e.g. Gradescope's container): the slot's
  sandbox user, rlimits, the grader's watchdog and cleanup (:mod:`.users`).
* ``none``: neither; student code runs with the grader's privileges (a loud warning).

``CS_LOSS_ISOLATION`` forces one (tests, or a TA who wants the user-id sandbox): a
forced backend that cannot start here is an error, never a silent fallback.
"""

from __future__ import annotations

import os
import pwd
import sys
from typing import IO

from . import namespaces
from .users import can_switch_users, dropper, ensure_user, python_usable

NAMESPACES, USERS, NONE = "namespaces", "users", "none"
BACKENDS = (NAMESPACES, USERS, NONE)
FORCE_VARIABLE = "CS_LOSS_ISOLATION"
_said: list[str] = []
_CHOSEN: dict[str, str] = {}  # forced value ("" for none) -> the backend chosen


class BackendUnavailableError(RuntimeError):
    """The backend forced by ``CS_LOSS_ISOLATION`` cannot start on this machine."""


def _user_probe(user: pwd.struct_passwd | None) -> bool:
    if user is None:
        return namespaces.probe()
    spec = {"uid": user.pw_uid, "gid": user.pw_gid, "memory_bytes": 2**32}
    spec.update(max_file_bytes=2**20, max_processes=64)
    return namespaces.probe(dropper(spec), key=user.pw_uid)


def choose(slot: int = 0) -> tuple[str, pwd.struct_passwd | None]:
    """The backend and the user who runs student code for worker ``slot`` (None: this user).

    The probe runs once per interpreter (and forced value): which backend starts here
    does not depend on the slot.
    """
    forced = os.environ.get(FORCE_VARIABLE, "")
    if forced and forced not in BACKENDS:
        raise BackendUnavailableError(
            f"{FORCE_VARIABLE}: expected one of {', '.join(BACKENDS)}, got {forced!r}"
        )
    user = ensure_user(slot) if can_switch_users() else None
    if user is not None and not python_usable(user):
        user = None  # the sandbox user cannot run this Python: nothing can run as it
    if forced not in _CHOSEN:
        _CHOSEN[forced] = _probe(forced, user)
    name = _CHOSEN[forced]
    return name, user if name != NONE else None


def _probe(forced: str, user: pwd.struct_passwd | None) -> str:
    if forced == NONE:
        return NONE
    root_without_user = user is None and can_switch_users()  # bwrap must not run as root
    if forced in ("", NAMESPACES) and not root_without_user and namespaces.bwrap_path():
        if _user_probe(user):
            return NAMESPACES
    if forced == NAMESPACES:
        raise BackendUnavailableError(
            f"{FORCE_VARIABLE}=namespaces: no bubblewrap box starts here (install bubblewrap; "
            "unprivileged user namespaces must be allowed)"
        )
    if user is not None:
        return USERS
    if forced == USERS:
        raise BackendUnavailableError(
            f"{FORCE_VARIABLE}=users: the user-id sandbox needs root and a Python its users can run"
        )
    return NONE


SENTENCES = {
    NAMESPACES: "isolation: namespaces (a bubblewrap box per run of student code{limits})",
    USERS: "isolation: users (a sandbox user per worker slot, rlimits and the grader's watchdog)",
    NONE: (
        "WARNING: no isolation: student code runs as YOUR user, with your files in reach "
        "(no bubblewrap box can start and the grader is not root, or the sandbox users cannot "
        "run this Python). Install bubblewrap, or grade in the container the README names."
    ),
}


def say_once(backend: str, limits: str = "", stream: IO[str] | None = None) -> bool:
    """Say which backend grades, once per process; return whether it was said now."""
    if _said:
        return False
    _said.append(backend)
    text = SENTENCES[backend].format(limits=limits)
    print(text, file=stream or sys.stderr)
    return True

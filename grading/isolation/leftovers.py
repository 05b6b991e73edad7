"""Processes a notebook's kernel left running, counted by the grader just before it ends
the kernel.

The grader ends a kernel the notebooks shared with a kill (no waiting on a kernel that may
not answer), which gives the kernel's bootstrap no chance to report what is still running
in its box (:func:`grading.isolation.kernel_bootstrap.report_leftovers` does so only on a
graceful shutdown). So the grader counts them itself from ``/proc``, as root or as the
user that started the box, and writes the count to the monitor's channel, where the
bootstrap's report would have gone: the submission gets the same review flag.

What counts as the kernel's box, by backend:

* namespaces: the processes under the kernel's launcher (``bwrap``), other than the PID
  namespace's init (pid 1 inside) and the kernel (pid 2 inside). A process that forked
  twice and left its session is re-parented to the box's init, so it is still counted.
* users: every process of the sandbox user other than the kernel (the package tests have
  ended by then; nothing else runs as that user).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .kernel import SPEC_VARIABLE, open_channel
from .users import processes_of


def _status(pid: int) -> dict[str, str]:
    """The fields of ``/proc/<pid>/status`` (empty if the process is gone)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    fields = {}
    for line in lines:
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def _running(status: Mapping[str, str]) -> bool:
    """Whether a process is alive (not a zombie waiting to be reaped)."""
    return bool(status) and not status.get("State", "").startswith(("Z", "X"))


def descendants(pid: int) -> list[int]:
    """The processes under ``pid`` (children, their children...), from ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _status(int(entry.name)).get("PPid", "")
            if parent.isdigit():
                children.setdefault(int(parent), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def count_leftovers(kernel_pid: int, spec: Mapping[str, Any]) -> int:
    """How many processes besides the kernel started with ``kernel_pid`` are running in its
    sandbox ``spec`` (:meth:`grading.isolation.Sandbox.settings`); 0 where nothing isolates."""
    if spec.get("backend") == "namespaces":
        count = 0
        for pid in descendants(kernel_pid):
            status = _status(pid)
            inside = status.get("NSpid", "").split()
            if _running(status) and inside and inside[-1] not in ("1", "2"):
                count += 1
        return count
    if spec.get("backend") == "users" and spec.get("uid") is not None:
        others = [p for p in processes_of(spec["uid"]) if p != kernel_pid]
        return sum(1 for pid in others if _running(_status(pid)))
    return 0


def report_leftovers(kernel_pid: int | None, environ: Mapping[str, str] = os.environ) -> int:
    """Count the processes left beside the kernel ``kernel_pid`` (:func:`count_leftovers`)
    in the sandbox named in ``environ`` and tell the monitor's channel; return the count.

    Nothing is counted without a sandbox spec or a channel (no monitor to tell)."""
    if not kernel_pid or SPEC_VARIABLE not in environ:
        return 0
    spec = json_spec(environ[SPEC_VARIABLE])
    fd = open_channel(spec.get("channel"))
    if fd < 0:
        return 0
    try:
        count = count_leftovers(kernel_pid, spec)
        if count:
            os.write(fd, f"leftover\t{count}\n".encode())
        return count
    finally:
        os.close(fd)


def json_spec(text: str) -> dict[str, Any]:
    """The sandbox spec from its JSON text (an empty spec if it is not one)."""
    try:
        spec = json.loads(text)
    except ValueError:
        return {}
    return spec if isinstance(spec, dict) else {}

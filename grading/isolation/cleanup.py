"""What a submission leaves behind outside its private folder, removed after it is graded;
and what a sandbox made, recorded per worker slot, removed when its worker was killed."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .cgroups import Cgroup

SHARED_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm")


def remove_files_of(
    uid: int, keep: str | Path, roots: Iterable[str] = SHARED_WRITABLE
) -> list[str]:
    """Remove what ``uid`` left in the world-writable folders (outside ``keep``); return them."""
    found: list[str] = []
    keep = str(keep)
    for top in roots:
        for folder, dirs, files in os.walk(top, topdown=True, followlinks=False):
            if folder.startswith(keep):
                dirs[:] = []
                continue
            for name in dirs + files:
                path = os.path.join(folder, name)
                try:
                    if os.lstat(path).st_uid == uid and not path.startswith(keep):
                        found.append(path)
                except OSError:
                    continue
            dirs[:] = [d for d in dirs if os.path.join(folder, d) not in found]
    for path in found:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass
    return found


def _records_folder() -> Path:
    """The grader's folder of sandbox records (made 0700; refused if anyone else's)."""
    folder = Path(tempfile.gettempdir()) / f"cs_loss_sandboxes_{os.geteuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise RuntimeError(f"{folder} is not a folder of this user's: remove it and grade again")
    return folder


def record_sandbox(slot: int, folders: Iterable[str | Path], cgroup: Cgroup | None) -> None:
    """Note what the sandbox of worker ``slot`` made (its folders, its control group), so that
    :func:`remove_recorded` can remove them if the worker is killed before its own cleanup."""
    data: dict[str, Any] = {"folders": [str(f) for f in folders], "cgroup": None}
    if cgroup is not None:
        data["cgroup"] = {
            "version": cgroup.version,
            "folders": [str(f) for f in cgroup.folders],
            "procs": [str(p) for p in cgroup.procs],
            "events": str(cgroup.events),
        }
    path = _records_folder() / f"slot{int(slot)}.json"
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(data))
    partial.replace(path)


def forget_sandbox(slot: int) -> None:
    """Drop the record of worker ``slot``'s sandbox (its own cleanup has run)."""
    (_records_folder() / f"slot{int(slot)}.json").unlink(missing_ok=True)


def remove_recorded(slot: int) -> list[str]:
    """End and remove what the sandbox of worker ``slot`` recorded and left (a worker killed at
    its timeout never runs its cleanup): every process of its control group, the group, its
    folders. Return what was removed."""
    path = _records_folder() / f"slot{int(slot)}.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    removed = []
    group = data.get("cgroup")
    if group:
        cgroup = Cgroup(
            int(group["version"]),
            tuple(Path(f) for f in group["folders"]),
            tuple(Path(p) for p in group["procs"]),
            Path(group["events"]),
        )
        cgroup.remove()
        removed += [str(f) for f in cgroup.folders]
    for folder in data.get("folders", []):
        if os.path.isdir(folder) and not os.path.islink(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    path.unlink(missing_ok=True)
    return removed

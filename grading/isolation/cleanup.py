"""What a submission leaves behind outside its private folder, removed after it is graded."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

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

"""Reading an upload: zips within caps, a folder's regular files, notebook names.

The lowest step of intake (:mod:`grading.intake`, :mod:`grading.classfolder` and
:mod:`grading.rerun` build on it): nothing here follows a symbolic link, and a zip
that is too big, encrypted or damaged raises :class:`IntakeError` with the reason
for the student.
"""

from __future__ import annotations

import os
import re
import time
import zipfile
import zlib
from pathlib import Path

from . import course

CANONICAL = {Path(n).stem: n for n in course.NOTEBOOKS}


def canonical_name(filename: str | Path) -> str | None:
    """``knn.ipynb`` for "Copy of knn (1).ipynb", "KNN.ipynb", "knn-2.ipynb"...; else None."""
    stem = Path(filename).name
    if not stem.lower().endswith(".ipynb"):
        return None
    stem = stem[: -len(".ipynb")].strip().lower()
    while stem.startswith("copy of "):
        stem = stem[len("copy of ") :].strip()
    stem = re.sub(r"(\s*\(\d+\)|[-_ ]copy|[-_ ]\d+)+$", "", stem).strip()
    return CANONICAL.get(stem)


ZIP_MAX_TOTAL = 200 * 2**20
ZIP_MAX_MEMBERS = 2000
ZIP_MAX_RATIO = 200
ZIP_MAX_NAME = 255


class IntakeError(ValueError):
    """A submission that cannot be laid out; the reason is shown to the student."""


UNREADABLE_ZIP = "not a readable zip file (the file is truncated or damaged): upload it again"


def looks_like_zip(path: str | Path) -> bool:
    """Whether the file ``path`` is meant as a zip: its name ends in .zip, or it has no
    extension and starts with ``PK``.

    A truncated upload has no end-of-central-directory record, so
    :func:`zipfile.is_zipfile` says no; it is still a zip that failed to read, not some other file.
    """
    path = Path(path)
    if path.name.lower().endswith(".zip"):
        return True
    if path.suffix and path.suffix.lower() not in (".zip",):
        return False  # roster.xlsx, notes.docx: zips inside, but not uploads of this assignment
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"PK"
    except OSError:
        return False


def zip_problem(path: str | Path) -> str | None:
    """Why the zip ``path`` cannot be opened (:data:`UNREADABLE_ZIP`), or None when it can."""
    try:
        with zipfile.ZipFile(path):
            return None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return UNREADABLE_ZIP


def safe_extract(zip_path: str | Path, dest: Path) -> None:
    """Unpack ``zip_path`` into ``dest`` within the caps; skip unsafe or junk members."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise IntakeError(UNREADABLE_ZIP) from None
    with archive:
        members = archive.infolist()
        if len(members) > ZIP_MAX_MEMBERS:
            raise IntakeError(
                f"the zip holds {len(members)} files; at most {ZIP_MAX_MEMBERS} are read"
            )
        total = 0
        for member in members:
            name = member.filename
            if (
                name.startswith(("__MACOSX/", "/"))
                or ".." in Path(name).parts
                or len(name) > ZIP_MAX_NAME
                or any(len(p) > 200 for p in Path(name).parts)
                or (member.external_attr >> 16) & 0o170000 == 0o120000
            ):  # a symlink
                continue
            if member.flag_bits & 0x1:
                raise IntakeError(
                    "the zip is encrypted (password-protected): upload it without a password"
                )
            if member.compress_type not in (
                zipfile.ZIP_STORED,
                zipfile.ZIP_DEFLATED,
                zipfile.ZIP_BZIP2,
                zipfile.ZIP_LZMA,
            ):
                raise IntakeError(
                    f"the zip uses an unsupported compression ({member.compress_type}): "
                    "zip it again with your system's standard zip tool"
                )
            target = dest / name
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            try:
                with archive.open(member) as source, open(target, "wb") as out:
                    while chunk := source.read(2**20):
                        written += len(chunk)
                        total += len(chunk)
                        if total > ZIP_MAX_TOTAL or written > ZIP_MAX_RATIO * max(
                            member.compress_size, 2**16
                        ):
                            raise IntakeError(
                                "the zip unpacks to far more than a submission holds (over "
                                f"{ZIP_MAX_TOTAL // 2**20} MiB or a ratio over {ZIP_MAX_RATIO})"
                            )
                        out.write(chunk)
            except (
                zipfile.BadZipFile,
                EOFError,
                zlib.error,
                NotImplementedError,
                RuntimeError,
            ) as exc:
                raise IntakeError(
                    f"the zip is damaged or unsupported ({type(exc).__name__})"
                ) from None
            stamp = time.mktime(member.date_time + (0, 0, -1))
            os.utime(target, (stamp, stamp))


def regular_files(root: str | Path) -> list[Path]:
    """Regular files under ``root``, never following a symlink (into the kit or elsewhere)."""
    found = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = [
            d
            for d in dirs
            if not os.path.islink(os.path.join(folder, d))
            and d not in ("__MACOSX", ".ipynb_checkpoints")
        ]
        for name in names:
            path = Path(folder) / name
            if not path.is_symlink() and path.is_file():
                found.append(path)
    return found


NOT_A_SUBMISSION = "not a submission (a zip or a folder of notebooks)"
# What an operating system leaves beside uploads: set aside and named, never a row.
OS_JUNK = ("__MACOSX", "Thumbs.db", "desktop.ini")


def is_os_junk(name: str) -> bool:
    """Whether an entry called ``name`` is left by an operating system, not uploaded by anyone."""
    return name.startswith(".") or name in OS_JUNK

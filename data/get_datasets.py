"""Download CIFAR-10 (python version) into this folder, once, safely.

    python data/get_datasets.py                  # into data/cifar-10-batches-py
    python data/get_datasets.py --url MIRROR     # from a mirror of the same file
    python data/get_datasets.py --dest DIR       # somewhere else (then set CIFAR10_DIR)

What it should print on success: a progress bar, then
``CIFAR-10 ready in .../cifar-10-batches-py``. A second run prints that line at
once. The archive is checked against its published md5 before anything is
extracted; an interrupted download resumes where it stopped (HTTP Range) and is
retried a few times; extraction happens in a temporary folder that is renamed
into place only when complete, so a half-extracted dataset never exists.
"""

import argparse
import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
FOLDER = "cifar-10-batches-py"
FILES = ("batches.meta", "test_batch") + tuple(f"data_batch_{b}" for b in range(1, 6))
CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """The archive could not be fetched or did not match its checksum."""


def md5sum(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _progress(total, initial, quiet):
    """A tqdm bar when tqdm is installed, else a plain percentage on stderr."""
    if quiet:
        return None
    try:
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, unit="B", unit_scale=True, desc="CIFAR-10")
    except ImportError:
        return None


def fetch(url, archive, retries=5, timeout=60, quiet=False):
    """Download ``url`` to ``archive``, resuming a partial ``archive.part``.

    Returns the path of the complete file. Raises DownloadError after
    ``retries`` failed attempts.
    """
    part = Path(str(archive) + ".part")
    for attempt in range(1, retries + 1):
        have = part.stat().st_size if part.exists() else 0
        request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                if have and response.status != 206:  # the server ignored Range: start over
                    have = 0
                length = response.headers.get("Content-Length")
                total = have + int(length) if length else None
                bar = _progress(total, have, quiet)
                with open(part, "ab" if have else "wb") as f:
                    for block in iter(lambda: response.read(CHUNK), b""):
                        f.write(block)
                        if bar is not None:
                            bar.update(len(block))
                if bar is not None:
                    bar.close()
                if total is not None and part.stat().st_size < total:
                    raise urllib.error.URLError("connection closed early")
            part.replace(archive)
            return Path(archive)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            if attempt == retries:
                raise DownloadError(
                    f"Could not download {url} after {retries} attempts ({exc}). Check the "
                    "connection, or pass --url with a mirror of cifar-10-python.tar.gz."
                ) from exc
            wait = min(2**attempt, 30)
            print(f"download interrupted ({exc}); retrying in {wait} s", file=sys.stderr)
            time.sleep(wait)
    raise AssertionError("unreachable")


def _safe_members(tar):
    """Regular files and folders inside the archive; a link or an escaping path is refused."""
    for member in tar.getmembers():
        path = Path(member.name)
        if path.is_absolute() or ".." in path.parts or not (member.isfile() or member.isdir()):
            raise DownloadError(
                f"The archive holds an unsafe member {member.name!r}: not extracted."
            )
        yield member


def extract(archive, dest):
    """Extract the archive's cifar-10-batches-py into ``dest``, all or nothing."""
    dest = Path(dest)
    target = dest / FOLDER
    staging = Path(tempfile.mkdtemp(prefix=".cifar-extract-", dir=dest))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and newer
                tar.extractall(staging, filter="data")
            else:  # older 3.11 (some distributions' system Python): the same safety by hand
                tar.extractall(staging, members=_safe_members(tar))
        found = staging / FOLDER
        missing = [name for name in FILES if not (found / name).is_file()]
        if missing:
            raise DownloadError(f"The archive lacks {', '.join(missing)}: is it CIFAR-10 (python)?")
        if target.exists():
            shutil.rmtree(target)
        found.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def get_cifar10(dest, url=URL, md5=MD5, retries=5, quiet=False, keep_archive=False):
    """Make sure ``dest/cifar-10-batches-py`` holds CIFAR-10; return its path."""
    dest = Path(dest)
    target = dest / FOLDER
    if all((target / name).is_file() for name in FILES):
        return target
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / "cifar-10-python.tar.gz"
    if not archive.exists() or md5sum(archive) != md5:
        fetch(url, archive, retries=retries, quiet=quiet)
    actual = md5sum(archive)
    if actual != md5:
        archive.unlink()
        raise DownloadError(
            f"{url} has md5 {actual}, expected {md5}: the file is corrupt or not CIFAR-10 "
            "(python version). It was deleted; run the command again or use another --url."
        )
    extract(archive, dest)
    if not keep_archive:
        archive.unlink()
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dest",
        default=Path(__file__).resolve().parent,
        type=Path,
        help="folder to put cifar-10-batches-py in (default: the kit's data/)",
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("CIFAR10_URL", URL),
        help="where to fetch cifar-10-python.tar.gz (default: the official site, or $CIFAR10_URL)",
    )
    parser.add_argument("--retries", type=int, default=5)
    parser.add_argument("--keep-archive", action="store_true")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        target = get_cifar10(
            args.dest,
            url=args.url,
            retries=args.retries,
            quiet=args.quiet,
            keep_archive=args.keep_archive,
        )
    except DownloadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"CIFAR-10 ready in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

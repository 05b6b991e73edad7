"""The laptop case: a TA who is not root grades with unprivileged user namespaces.

Run as root (as CI runs), the test makes a throwaway user, hands it a copy of the kit in
a temporary folder and a home holding a secret, and has that user grade a small hostile
set with the kit's own ``autograde`` command. The grader then runs as a plain user: the
namespace backend without a control group (only root makes one here). Asserted:

* a connection from a kernel to a listener the test holds on the host's loopback never
  arrives (the box has a loopback of its own);
* the TA's HOME and the kit's answers cannot be read (a blank submission that would
  earn points by running them earns nothing), nor found through ``/proc``;
* ``/proc`` in the box lists the box's processes only;
* ``/dev/shm`` past the box's cap and ``memfd`` past the file-size limit fail for that
  submission only;
* a daemon left by a correct notebook costs nothing and is flagged;
* honest victims keep full marks.

Skipped, with the reason, where there is no root to make the user, no bubblewrap, or
the host refuses unprivileged user namespaces.
"""

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from grading import course, examples
from grading.isolation import namespaces

USER = "cs_loss_laptop"
pytestmark = [pytest.mark.slow, pytest.mark.grading]


def _as_user(argv, **kwargs):
    return subprocess.run(["runuser", "-u", USER, "--", *argv], check=False, **kwargs)


def _why_not() -> str | None:
    """Why the laptop case cannot be tried here (None: it can)."""
    if os.geteuid() != 0:
        return "making a throwaway non-root user needs root"
    if not shutil.which("runuser") or not shutil.which("useradd"):
        return "runuser and useradd are needed to act as a non-root user"
    if namespaces.bwrap_path() is None:
        return "no bubblewrap (bwrap) on this machine"
    return None


def _make_user(home: Path) -> pwd.struct_passwd:
    subprocess.run(["userdel", "-r", USER], check=False, capture_output=True)
    subprocess.run(
        ["useradd", "--home-dir", str(home), "--shell", "/bin/sh", "--user-group", USER],
        check=True,
        capture_output=True,
    )
    user = pwd.getpwnam(USER)
    home.mkdir(mode=0o700)
    os.chown(home, user.pw_uid, user.pw_gid)
    return user


def _give(path: Path, user: pwd.struct_passwd) -> None:
    for folder, dirs, files in os.walk(path):
        for name in [".", *dirs, *files]:
            os.chown(os.path.join(folder, name), user.pw_uid, user.pw_gid, follow_symlinks=False)


def _add_cell(folder: Path, code: str, notebooks=course.NOTEBOOKS) -> None:
    """``code`` in a cell of its own before the first answer of each of ``notebooks``."""
    for name in notebooks:
        nb = nbformat.read(folder / name, as_version=4)
        answers = (c.metadata.get("nbgrader", {}).get("solution") for c in nb.cells)
        first = next(i for i, answer in enumerate(answers) if answer)
        nb.cells.insert(first, nbformat.v4.new_code_cell(code))
        nbformat.write(nb, folder / name)


def _blank(release: Path, dest: Path) -> Path:
    (dest / "cs_loss").mkdir(parents=True)
    for name in (*course.NOTEBOOKS, *course.STUDENT_FILES):
        (dest / name).write_bytes((release / name).read_bytes())
    return dest


def _append(folder: Path, student_file: str, code: str) -> None:
    path = folder / student_file
    path.write_text(path.read_text() + "\n" + code + "\n")


def _run_answers(path: Path) -> str:
    """Code that runs the file at ``path`` (answers) if it can be read; a hostile import."""
    return f"try:\n    exec(open({str(path)!r}).read())\nexcept Exception:\n    pass"


PROC_WALK = """
try:
    import os as _os, glob as _g
    for _p in _os.listdir("/proc"):
        for _f in _g.glob("/proc/" + _p + "/cwd/**/cs_loss/svm.py", recursive=True):
            exec(open(_f).read())
except Exception:
    pass
"""
# The observer's cells: each ends its kernel (so the notebook loses its points, as a
# restarted kernel ends again at the same cell) if it got through. A box shows its init,
# the kernel and the few processes the notebooks started, never the host's hundreds.
PROC_COUNT = (
    "import os\nif len([p for p in os.listdir('/proc') if p.isdigit()]) > 10:\n    os._exit(1)"
)
CONNECT = (
    "import os, socket\n"
    "try:\n"
    "    socket.create_connection(('127.0.0.1', {port}), timeout=5).sendall(b'leak')\n"
    "    os._exit(1)\n"
    "except OSError:\n"
    "    pass"
)
SHM_HOG = (
    "import os\n"
    "try:\n"
    "    with open('/dev/shm/hog', 'wb') as f:\n"
    "        for _ in range(600):\n"
    "            f.write(b'x' * 2**20)\n"
    "    os._exit(1)\n"
    "except OSError:  # ENOSPC: the box's /dev/shm is capped\n"
    "    os.remove('/dev/shm/hog')"
)
MEMFD_HOG = (
    "import os\n"
    "fd = os.memfd_create('hog')\n"
    "try:\n"
    "    for _ in range(600):\n"
    "        os.write(fd, b'x' * 2**20)\n"
    "    os._exit(1)\n"
    "except OSError:  # EFBIG: past the file-size limit\n"
    "    os.close(fd)"
)
DAEMON = "import subprocess\n_sleeper = subprocess.Popen(['sleep', '600'])"


@pytest.fixture(scope="module")
def laptop():
    why = _why_not()
    if why:
        pytest.skip(why)
    top = Path(tempfile.mkdtemp(prefix="cs_loss_laptop_"))
    os.chmod(top, 0o755)
    user = _make_user(top / "home")
    try:
        probe = _as_user(
            [namespaces.bwrap_path(), "--unshare-all", "--ro-bind", "/", "/", "/bin/true"],
            capture_output=True,
        )
        if probe.returncode != 0:
            pytest.skip(f"unprivileged user namespaces refused here: {probe.stderr[-200:]!r}")
        runs = _as_user([sys.executable, "-I", "-c", "import nbgrader, ipykernel"], cwd="/")
        if runs.returncode != 0:
            pytest.skip(f"{sys.executable} cannot be run by a non-root user")
        yield _grade(top, user)
    finally:
        subprocess.run(["pkill", "-KILL", "-u", USER], check=False)
        subprocess.run(["userdel", "-r", USER], check=False, capture_output=True)
        shutil.rmtree(top, ignore_errors=True)
        for kept in ("cs_loss_slots", "cs_loss_sandboxes"):  # the grader's, as that user
            shutil.rmtree(Path(tempfile.gettempdir()) / f"{kept}_{user.pw_uid}", ignore_errors=True)


def _grade(top: Path, user: pwd.struct_passwd) -> dict:
    kit = top / "kit"
    shutil.copytree(
        course.KIT_ROOT,
        kit,
        ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", ".*_cache", "build"),
    )
    home = Path(user.pw_dir)
    answers = home / "answers_svm.py"  # the TA's copy of the answers, in their HOME
    answers.write_text((course.KIT_ROOT / "cs_loss" / "svm.py").read_text())
    release = top / "release"
    subprocess.run(
        [sys.executable, "-m", "grading", "release", "--out", str(release)],
        cwd=course.KIT_ROOT,
        check=True,
        capture_output=True,
    )
    release = release / course.ASSIGNMENT if (release / course.ASSIGNMENT).is_dir() else release
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    port = listener.getsockname()[1]
    subs = top / "subs"
    made = [examples.write_reference(subs / "victim", release)]
    # One correct submission that tries every escape from its notebook cells, and prints
    # what it saw, and leaves a daemon running.
    folder = examples.write_reference(subs / "observer", release)
    first, second, third = course.NOTEBOOKS
    _add_cell(folder, CONNECT.format(port=port), notebooks=[first])
    _add_cell(folder, PROC_COUNT, notebooks=[first, third])
    _add_cell(folder, SHM_HOG, notebooks=[second])
    _add_cell(folder, MEMFD_HOG, notebooks=[third])
    _add_cell(folder, DAEMON)
    made.append(folder)
    # A blank submission that earns points only by running the answers it should not reach.
    folder = _blank(release, subs / "hostile")
    _append(folder, "cs_loss/svm.py", _run_answers(answers))
    _append(folder, "cs_loss/softmax.py", _run_answers(kit / "cs_loss" / "svm.py"))
    _append(folder, "cs_loss/knn.py", PROC_WALK)
    made.append(folder)
    out = top / "out"
    out.mkdir()
    for path in (kit, subs, home, out):
        _give(path, user)
    os.chmod(kit, 0o700)
    env = [
        f"HOME={home}",
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "LANG=C.UTF-8",
        f"CIFAR10_DIR={os.environ.get('CIFAR10_DIR', '')}",
    ]
    done = _as_user(
        ["env", "-i", *env, sys.executable, "-m", "grading", "autograde", *map(str, made)]
        + ["--out", str(out), "--workers", "2", "--timeout", "300", "--cell-timeout", "60"],
        cwd=kit,
        capture_output=True,
        text=True,
        timeout=900,
    )
    try:
        accepted = listener.accept()[0]
        accepted.close()
    except BlockingIOError:
        accepted = None
    listener.close()
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = {r["student"]: r for r in json.loads((out / "grades.json").read_text())}
    return {"results": results, "accepted": accepted}


def full(result):
    return result["auto_score"] == result["auto_max"]


def test_the_grader_ran_unprivileged_in_namespaces(laptop):
    assert {r.get("isolation") for r in laptop["results"].values()} == {"namespaces"}


def test_victims_keep_full_marks(laptop):
    for name in ("victim", "observer"):
        assert full(laptop["results"][name]), laptop["results"][name]


def test_no_connection_reaches_the_hosts_loopback(laptop):
    assert laptop["accepted"] is None
    assert full(laptop["results"]["observer"])


def test_the_home_and_the_kits_answers_cannot_be_read(laptop):
    assert laptop["results"]["hostile"]["auto_score"] == 0


def test_proc_shows_only_the_box(laptop):
    assert laptop["results"]["hostile"]["auto_score"] == 0  # no grader's cwd to walk into
    assert full(laptop["results"]["observer"])  # its count of /proc stayed small


def test_memory_held_outside_processes_is_stopped_and_costs_that_submission_only(laptop):
    assert full(laptop["results"]["observer"]), laptop["results"]["observer"]


def test_a_daemon_costs_nothing_and_is_flagged(laptop):
    result = laptop["results"]["observer"]
    assert full(result)
    assert any("still running when a notebook's kernel ended" in f for f in result["flags"])
    assert result["seconds"] < laptop["results"]["victim"]["seconds"] + 10

"""The Gradescope autograder zip: its file modes, setup.sh run for real, and run_autograder's
promise that results.json is always written."""

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from grading import gradescope

SCRIPTS = gradescope.SCRIPTS


def script_text(name):
    """The script as the repo holds it (grading/gradescope_files/<name>)."""
    return (gradescope.SCRIPTS_DIR / name).read_text()


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    return gradescope.build_autograder(tmp_path_factory.mktemp("gradescope"))


def unzip_like_gradescope(zip_path, dest):
    """Extract with the modes stored in the zip, as Gradescope's unzip does."""
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            target = archive.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target, mode)
    return Path(dest)


def test_scripts_are_executable_regular_files_in_the_zip(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as archive:
        for name in SCRIPTS:
            mode = archive.getinfo(name).external_attr >> 16
            assert stat.S_ISREG(mode), f"{name}: mode {oct(mode)} lacks the regular-file bit"
            assert stat.S_IMODE(mode) == 0o755, f"{name}: mode {oct(mode)}"
            assert archive.read(name).startswith(b"#!/usr/bin/env bash\n")
            assert archive.read(name) == (gradescope.SCRIPTS_DIR / name).read_bytes()
        names = set(archive.namelist())
    assert {"requirements.txt", "grading/__main__.py", "cs_loss/svm.py"} <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_build_autograder_keeps_other_files_in_the_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    gradescope.build_autograder(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_setup_installs_into_a_virtual_environment_not_the_system_python():
    script = script_text("setup.sh")
    assert "python3 -m venv" in script
    assert '"$VENV/bin/python" -m pip install' in script
    assert "python3 -m pip install" not in script  # PEP 668 images refuse this
    assert "set -euo pipefail" in script


def test_setup_installs_python3_venv_and_retries_when_venv_cannot_bootstrap_pip(tmp_path):
    """Debian/Ubuntu without python3-venv: first venv fails, apt installs it, the retry works."""
    root, bin_dir = tmp_path / "autograder", tmp_path / "bin"
    (root / "source").mkdir(parents=True)
    bin_dir.mkdir()
    (bin_dir / "python3").write_text(f"""#!/bin/sh
if [ "$1 $2" = "-m venv" ]; then
  if [ ! -e "{tmp_path}/failed_once" ]; then
    touch "{tmp_path}/failed_once"; mkdir -p "$3/bin"; echo "ensurepip is not available" >&2; exit 1
  fi
  mkdir -p "$3/bin" && touch "$3/pyvenv.cfg" && exit 0
fi
exec {sys.executable} "$@"
""")
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path}/apt.log"\n')
    for name in ("python3", "apt-get"):
        (bin_dir / name).chmod(0o755)
    # setup.sh up to the venv (the rest needs the kit's requirements installed).
    script = script_text("setup.sh").split('# shellcheck disable=SC2086\n"$VENV/bin/python"')[0]
    (root / "setup_venv.sh").write_text(script + 'echo "venv: $VENV"\n')
    env = dict(
        os.environ, AUTOGRADER_ROOT=str(root), PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}"
    )
    done = subprocess.run(
        ["bash", str(root / "setup_venv.sh")], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert (root / "venv" / "pyvenv.cfg").is_file()
    assert f"venv: {root / 'venv'}" in done.stdout
    minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if os.geteuid() == 0:  # apt is only tried as root, as on Gradescope
        apt = (tmp_path / "apt.log").read_text().splitlines()
        assert apt[0] == "update -qq"
        assert apt[1] == f"install -y -qq python3-venv python{minor}-venv"


def run_autograder(root, env_extra=None):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(AUTOGRADER_ROOT=str(root), **(env_extra or {}))
    script = root / "run_autograder"
    script.write_text(script_text("run_autograder"))
    script.chmod(0o755)
    done = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def test_results_are_written_when_the_kit_cannot_be_imported(tmp_path):
    package = tmp_path / "source" / "grading"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "raise ImportError('no module named \"numpy\" \\\\ (a broken install)')\n"
    )
    (package / "__main__.py").write_text("")
    results = run_autograder(tmp_path)
    assert results["score"] == 0
    assert results["tests"] == []
    assert "could not start" in results["output"]
    assert 'no module named "numpy"' in results["output"]


def test_results_are_written_when_the_source_folder_is_missing(tmp_path):
    results = run_autograder(tmp_path)
    assert results["score"] == 0
    assert "could not start" in results["output"]


def test_run_autograder_uses_the_virtual_environment_python(tmp_path):
    (tmp_path / "source").mkdir()
    venv_python = tmp_path / "venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    marker = tmp_path / "venv_used"
    venv_python.write_text(f'#!/bin/sh\ntouch "{marker}"\necho "$@"\nexit 3\n')
    venv_python.chmod(0o755)
    results = run_autograder(tmp_path)
    assert marker.is_file()
    assert "exit 3" in results["output"]
    assert "gradescope-run" in results["output"]


def test_a_results_file_written_by_the_grader_is_kept(tmp_path):
    (tmp_path / "source").mkdir()
    venv_python = tmp_path / "venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    payload = {"score": 7.5, "tests": [], "output": "graded"}
    venv_python.write_text(
        f"#!/bin/sh\necho '{json.dumps(payload)}' > \"$AUTOGRADER_ROOT/results/results.json\"\n"
    )
    venv_python.chmod(0o755)
    assert run_autograder(tmp_path) == payload


@pytest.mark.slow
def test_setup_sh_builds_the_venv_user_and_template_in_a_throwaway_root(autograder_zip, tmp_path):
    """setup.sh for real, offline: the test venv reuses this Python's installed packages."""
    root = tmp_path / "autograder"
    source = unzip_like_gradescope(autograder_zip, root / "source")
    for name in SCRIPTS:
        assert os.access(source / name, os.X_OK), f"{name} is not executable after unzip"
    user = None
    if os.geteuid() == 0 and shutil.which("useradd"):
        user = f"csl{os.getpid() % 100000}"
        assert subprocess.run(["id", "-u", user], capture_output=True).returncode != 0
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(
        AUTOGRADER_ROOT=str(root),
        CS_LOSS_VENV_ARGS="--without-pip",  # pip, like the rest, comes from PYTHONPATH
        CS_LOSS_PIP_ARGS="--no-index",  # offline: everything must already be satisfied
        PYTHONPATH=sysconfig.get_paths()["purelib"],
        PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
        CS_LOSS_GRADE_USER=user or "student",
    )
    try:
        done = subprocess.run(
            [str(source / "setup.sh")],
            cwd=source,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        venv = root / "venv"
        assert (venv / "pyvenv.cfg").is_file()
        assert os.access(venv / "bin" / "python", os.X_OK)
        assert f"ready ({venv}/bin/python)" in done.stdout
        assert (source / "build" / "work" / "course" / "gradebook.db").is_file()
        assert (source / "build" / "work" / "release" / "loss" / "svm.ipynb").is_file()
        assert stat.S_IMODE((source / "grading").stat().st_mode) & 0o077 == 0
        if user:
            assert pwd.getpwnam(user).pw_shell == "/usr/sbin/nologin"
    finally:
        if user:
            subprocess.run(["userdel", "-r", user], capture_output=True)


# ---------------------------------------------------------------- what the upload holds


def cut_zip(path):
    """The first 400 kB of a valid zip: no end-of-central-directory record, so unreadable."""
    import random

    whole = path.with_name("whole.zip")
    with zipfile.ZipFile(whole, "w") as archive:
        archive.writestr("knn.ipynb", "{}")
        archive.writestr("blob.bin", random.Random(0).randbytes(600_000))
    path.write_bytes(whole.read_bytes()[:400_000])
    whole.unlink()
    return path


def test_a_single_zip_upload_is_unpacked_even_when_it_cannot_be_read(tmp_path):
    upload = cut_zip(tmp_path / "submission.zip")
    (tmp_path / ".DS_Store").write_bytes(b"\0")  # junk beside it does not count
    assert not zipfile.is_zipfile(upload)
    assert gradescope.upload_source(tmp_path) == (upload, None)
    renamed = upload.rename(tmp_path / "submission")  # no .zip, but it starts with PK
    assert gradescope.upload_source(tmp_path) == (renamed, None)


def test_a_single_file_of_another_kind_says_what_was_expected(tmp_path):
    (tmp_path / "answers.pdf").write_bytes(b"%PDF-1.4")
    source, problem = gradescope.upload_source(tmp_path)
    assert source == tmp_path
    assert problem == (
        "your upload is 'answers.pdf', which is neither a zip file nor a notebook: "
        "upload submission.zip (written by collect_submission.py), or your three "
        "notebooks and your cs_loss files"
    )


def test_loose_notebooks_are_graded_as_they_are(tmp_path):
    (tmp_path / "knn.ipynb").write_text("{}")
    assert gradescope.upload_source(tmp_path) == (tmp_path, None)
    (tmp_path / "svm.ipynb").write_text("{}")
    assert gradescope.upload_source(tmp_path) == (tmp_path, None)


@pytest.fixture(scope="module")
def prepared_work(tmp_path_factory):
    """The template that setup.sh builds (the release and its gradebook)."""
    from grading import autograde as ag

    work = tmp_path_factory.mktemp("gradescope_work") / "work"
    ag.prepare(work)
    return work


def run_on(tmp_path, work, name, data):
    """``gradescope.run`` on an upload of one file; returns results.json as written."""
    root = tmp_path / "autograder"
    (root / "submission").mkdir(parents=True)
    (root / "submission" / name).write_bytes(data)
    payload = gradescope.run(root, work, timeout=60)
    written = json.loads((root / "results" / "results.json").read_text())
    assert written == payload
    return written


@pytest.mark.slow
@pytest.mark.grading
def test_a_corrupt_zip_upload_is_reported_as_unreadable_not_graded_as_blank(
    prepared_work, tmp_path
):
    data = cut_zip(tmp_path / "c.zip").read_bytes()
    results = run_on(tmp_path, prepared_work, "submission.zip", data)
    reason = (
        "your upload is not a readable zip file (the file is truncated or damaged): upload it again"
    )
    assert results["score"] == 0
    assert reason in results["output"]
    assert "missing notebook" not in results["output"]
    assert results["tests"] and all(reason in t["output"] for t in results["tests"])


@pytest.mark.slow
@pytest.mark.grading
def test_an_upload_that_is_neither_a_zip_nor_a_notebook_says_what_was_expected(
    prepared_work, tmp_path
):
    results = run_on(tmp_path, prepared_work, "answers.pdf", b"%PDF-1.4 my answers")
    assert results["score"] == 0
    expected = "your upload is 'answers.pdf', which is neither a zip file nor a notebook"
    assert expected in results["output"]
    assert "upload submission.zip" in results["output"]
    assert "missing notebook" not in results["output"]
    assert results["tests"] and all("neither a zip file" in t["output"] for t in results["tests"])

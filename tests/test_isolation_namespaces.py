"""The namespace backend: student code in a bubblewrap box, limits in a cgroup.

The "Done when" checks of the isolation issue, on a real kernel started as nbgrader
starts it (the sandbox's kernelspec, jupyter's ipc transport): a listener on the
host's loopback is out of reach, ``/proc`` shows only the box, memfd and
``/dev/shm`` past the limit stop that submission only, a daemon left running dies
with the box at once. Each test skips with the reason where the backend cannot start.
"""

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from grading import autograde as ag
from grading import isolation
from grading.isolation import backend, cgroups, namespaces


def _backend():
    slot, lock = ag._claim_slot()  # a slot no other grader here holds while it is probed
    try:
        return isolation.choose(slot)[0]
    finally:
        lock.close()


BACKEND = _backend()
_BOX_STARTS = pytest.mark.skipif(
    BACKEND != backend.NAMESPACES,
    reason=f"no bubblewrap box starts here (the probe chose {BACKEND!r})",
)


def needs_box(test):
    """A test that starts boxes (kernels, children): it needs bubblewrap and takes seconds."""
    return pytest.mark.slow(_BOX_STARTS(test))


@contextlib.contextmanager
def _kernel(tmp_path, **limits):
    """A kernel in a fresh sandbox of a held slot: yields (run, box); run(code) -> its text."""
    from jupyter_client.manager import KernelManager

    slot, lock = ag._claim_slot()
    box = isolation.Sandbox(tempfile.mkdtemp(prefix="cs_loss_box_"), slot=slot, **limits)
    box.give()
    jupyter = tmp_path / "jupyter"
    box.install_kernelspec(jupyter)
    env = {isolation.SPEC_VARIABLE: box.spec(), "JUPYTER_PATH": str(jupyter)}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    box.monitor.start()
    km = kc = None
    try:
        km = KernelManager(kernel_name="python3", **box.connection())
        km.start_kernel()
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)

        def run(code, timeout=60):
            outputs = []
            reply = kc.execute_interactive(code, timeout=timeout, output_hook=outputs.append)
            text = "".join(str(o["content"].get("text", "")) for o in outputs)
            errors = [o["content"]["ename"] for o in outputs if o["msg_type"] == "error"]
            return text, errors, reply

        yield run, box, km
    finally:
        for key, value in old.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
        if kc is not None:
            kc.stop_channels()
        if km is not None and km.has_kernel:
            km.shutdown_kernel(now=True)
        box.flags = box.cleanup()
        lock.close()


@needs_box
def test_a_kernel_in_the_box_answers_over_ipc_and_cannot_reach_the_hosts_loopback(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    code = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=5); print('connected')\n"
        "except OSError as exc:\n"
        "    print('refused', type(exc).__name__)\n"
    )
    try:
        with _kernel(tmp_path) as (run, _box, _km):
            text, errors, _ = run(code)
    finally:
        listener.close()
    assert errors == [] and text.startswith("refused"), text


@needs_box
def test_proc_in_the_box_shows_only_the_boxs_processes(tmp_path):
    code = "import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"
    with _kernel(tmp_path) as (run, _box, _km):
        text, errors, _ = run(code)
    pids = [int(p) for p in text.strip(" []\n").split(",")]
    # The box's init (bwrap), the kernel, and at most the helpers ipykernel starts.
    assert errors == [] and pids[:2] == [1, 2] and len(pids) <= 4, text


@needs_box
def test_the_box_sees_only_its_folders_and_the_python_environment(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("answers")
    os.chmod(tmp_path, 0o755)
    code = (
        "import os, sys\n"
        f"print(os.path.exists({str(secret)!r}), os.path.exists({str(namespaces.KIT)!r} + "
        "'/grading'), os.access(sys.prefix, os.W_OK), os.access(os.getcwd(), os.W_OK))"
    )
    with _kernel(tmp_path) as (run, _box, _km):
        text, errors, _ = run(code)
    assert errors == [] and text.split() == ["False", "False", "False", "True"], text


def _needs_cgroup():
    if BACKEND != backend.NAMESPACES:
        pytest.skip(f"no bubblewrap box starts here (the probe chose {BACKEND!r})")
    probe = cgroups.make(f"probe-{os.getpid()}", 2**30, 64)
    if probe is None:
        pytest.skip("no cgroup can be made here (not root, no delegated subtree)")
    probe.remove()


MEMFD = (
    "import os\n"
    "fds = []\n"
    "for _ in range(3):\n"
    "    fd = os.memfd_create('hog')\n"
    "    for _ in range(200):\n"
    "        os.write(fd, b'x' * 2**20)\n"
    "    fds.append(fd)\n"
    "print('held 600 MiB')\n"
)
SHM = (
    "import os\n"
    "for i in range(3):\n"
    "    with open(f'/dev/shm/hog{i}', 'wb') as f:\n"
    "        for _ in range(200):\n"
    "            f.write(b'x' * 2**20)\n"
    "print('held 600 MiB')\n"
)


@pytest.mark.slow
@pytest.mark.parametrize("code", [MEMFD, SHM], ids=["memfd", "dev_shm"])
def test_memory_held_outside_a_process_past_the_limit_stops_that_submission(tmp_path, code):
    _needs_cgroup()
    with _kernel(tmp_path, total_memory_bytes=100 * 2**20) as (run, box, km):
        with pytest.raises((RuntimeError, TimeoutError)):  # the kernel dies in the cell
            run(code, timeout=20)
        for _ in range(100):
            if not km.is_alive():
                break
            time.sleep(0.1)
        stops = box.monitor.memory_stops
    assert not km.is_alive() and stops >= 1
    assert box.monitor.memory_reason.startswith("its processes together held more than 0.1 GiB")
    # A neighbour in another box (another submission) is untouched: a fresh kernel runs.
    with _kernel(tmp_path) as (run, box, _km):
        text, errors, _ = run("print(sum(range(10)))")
    assert errors == [] and text.strip() == "45" and box.monitor.memory_stops == 0


@needs_box
def test_a_daemon_left_by_the_kernel_dies_with_the_box_at_once(tmp_path):
    code = (
        # A daemon: forked twice, so no longer the kernel's child (ipykernel ends its own
        # children at shutdown, not this one), holding the kernel's output open.
        "import subprocess\nsubprocess.run('sleep 1000 &', shell=True)\n"
    )
    with _kernel(tmp_path) as (run, box, km):
        text, errors, _ = run(code)
        outer = km.provisioner.process.pid  # bwrap, outside the box
        start = time.monotonic()
        km.shutdown_kernel(now=False)
        seconds = time.monotonic() - start
    assert errors == [] and seconds < 10, seconds
    leftover = "review: 1 process(es) were still running when a notebook's kernel ended"
    assert any(f.startswith(leftover) for f in box.flags), box.flags
    assert not [f for f in box.flags if "/proc" in f], box.flags  # the count is no student read
    alive = subprocess.run(["pgrep", "-P", str(outer)], capture_output=True, check=False)
    assert alive.stdout == b""
    sleepers = subprocess.run(["pgrep", "-f", "sleep 1000"], capture_output=True, check=False)
    assert sleepers.stdout == b""


@needs_box
def test_the_package_child_runs_boxed_without_network_or_other_files(tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    code = (
        "import os, socket\n"
        "s = socket.socket(); s.settimeout(2)\n"
        "print(s.connect_ex(('1.1.1.1', 53)) != 0, os.path.exists('/root'), "
        "os.access('/tmp', os.W_OK), os.listdir('/tmp'))\n"
    )
    argv = isolation.wrap_command([sys.executable, "-I", "-c", code], [folder])
    assert argv[0] == namespaces.bwrap_path()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    # The private /tmp holds only the way to the bound folder, none of the host's files.
    top = folder.relative_to(tempfile.gettempdir()).parts[0]
    assert done.stdout.split() == ["True", "False", "True", f"['{top}']"], done.stdout


@pytest.fixture(autouse=True)
def _fresh_choice(monkeypatch):
    """Each test chooses again where it forces or fakes something (the cache is per process)."""
    monkeypatch.setattr(backend, "_CHOSEN", {"": BACKEND})


def test_a_forced_backend_is_used_and_an_unknown_one_named(monkeypatch):
    monkeypatch.setenv(isolation.FORCE_VARIABLE, "none")
    assert isolation.choose() == ("none", None)
    assert isolation.wrap_command(["true"], ["/x"]) == ["true"]
    monkeypatch.setenv(isolation.FORCE_VARIABLE, "docker")
    with pytest.raises(isolation.BackendUnavailableError, match="expected one of.*got 'docker'"):
        isolation.choose()


def test_forcing_namespaces_where_no_box_starts_is_an_error(monkeypatch):
    monkeypatch.setenv(isolation.FORCE_VARIABLE, "namespaces")
    monkeypatch.setattr(namespaces, "bwrap_path", lambda: None)
    with pytest.raises(isolation.BackendUnavailableError, match="no bubblewrap box"):
        isolation.choose()


def test_without_namespaces_root_falls_back_to_the_user_sandbox(monkeypatch):
    if not (isolation.can_switch_users() and isolation.python_usable(isolation.ensure_user(0))):
        pytest.skip("needs root and a Python the sandbox users can run")
    monkeypatch.setattr(namespaces, "bwrap_path", lambda: None)
    monkeypatch.setattr(backend, "_CHOSEN", {})  # probe again, without bubblewrap
    name, user = isolation.choose()
    assert name == "users" and user is not None


def test_the_backend_is_said_once(capsys, monkeypatch):
    monkeypatch.setattr(backend, "_said", [])
    assert backend.say_once("users") and not backend.say_once("namespaces")
    assert capsys.readouterr().err.count("isolation: users") == 1


def test_without_root_a_box_still_starts_where_user_namespaces_are_allowed():
    if not isolation.can_switch_users():
        pytest.skip("runs bwrap as user nobody: needs root to become nobody")
    if BACKEND != backend.NAMESPACES:
        pytest.skip(f"no bubblewrap box starts here (the probe chose {BACKEND!r})")

    def become_nobody():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)

    code = "import os; print(os.getuid(), len([p for p in os.listdir('/proc') if p.isdigit()]))"
    argv = namespaces.bwrap_argv([sys.executable, "-I", "-c", code], cwd="/")
    done = subprocess.run(
        argv, preexec_fn=become_nobody, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["65534", "2"], done.stdout


def test_the_result_records_the_backend_in_its_json_and_totals_row():
    from grading.results import TOTALS_HEADER, SubmissionResult

    result = SubmissionResult(student="s1", isolation="namespaces")
    assert SubmissionResult.from_dict(result.to_dict()).isolation == "namespaces"
    assert dict(zip(TOTALS_HEADER, result.totals_row(), strict=True))["isolation"] == "namespaces"
    assert "isolation" not in SubmissionResult(student="s2").to_dict()  # no worker ran


def test_the_box_never_binds_the_kit_a_folder_holding_it_or_the_graders_home(monkeypatch):
    # A grader script beside the kit, or PYTHONPATH naming a folder that holds it, puts
    # that folder on sys.path: binding it would show the box expected.npz and the reference.
    kit = namespaces.KIT
    monkeypatch.setattr(sys, "path", [str(kit.parent), str(kit), str(Path.home()), *sys.path])
    roots = [Path(root).resolve() for root in namespaces.python_roots()]
    assert roots, "the box needs this Python's prefix"
    for root in roots:
        assert root != kit and root not in kit.parents, root
        assert root != Path.home().resolve() and root not in Path.home().resolve().parents, root
        assert not any(root == p or p in root.parents for p in namespaces.KIT_PRIVATE), root

"""The grader's run-time monitor: memory summed over a submission's processes, /proc reads.

Unit tests feed the audit hook fake events and the watchdog a fake process
table; the real cases (root only, as in CI and on Gradescope) run processes as
a sandbox user of a worker slot that no other grader on the machine holds.
"""

import json
import os
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import types
from pathlib import Path

import pytest

from grading import autograde as ag
from grading import isolation, package, proc_audit
from grading.isolation import Monitor

ROOT_MODE = isolation.can_switch_users() and isolation.python_usable(isolation.ensure_user(0))
needs_root = pytest.mark.skipif(not ROOT_MODE, reason="needs root and a Python other users can run")


def _drain(fd):
    os.set_blocking(fd, False)
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return data
        if not chunk:
            return data
        data += chunk


@pytest.fixture
def pipe():
    read_end, write_end = os.pipe()
    yield read_end, write_end
    for fd in (read_end, write_end):
        try:
            os.close(fd)
        except OSError:
            pass


@pytest.fixture
def slot_user():
    """The sandbox user of a worker slot held for the test (no grader shares it meanwhile)."""
    slot, lock = ag._claim_slot()
    try:
        user = isolation.ensure_user(slot)
        yield user
        isolation.kill_user(user.pw_uid)
    finally:
        lock.close()


# ---------------------------------------------------------------- the audit hook
def _records(fd):
    return [tuple(line.split("\t")) for line in _drain(fd).decode().splitlines()]


@pytest.mark.parametrize(
    "event, args, reported",
    [
        ("open", ("/proc/1/cmdline", "r", 0), ("open", "/proc/1/cmdline")),
        ("open", (b"/proc/1/environ", "r", 0), ("open", "/proc/1/environ")),
        ("open", (Path("/proc/1/../2/cwd/x"), "r", 0), ("open", "/proc/2/cwd/x")),
        ("os.listdir", ("/proc",), ("os.listdir", "/proc")),
        ("os.scandir", ("/proc/",), ("os.scandir", "/proc")),
        ("os.chdir", ("/proc/77",), ("os.chdir", "/proc/77")),
        ("shutil.copytree", ("/tmp/a", "/proc/5/root"), ("shutil.copytree", "/proc/5/root")),
        ("glob.glob", ("/proc/9/cwd/**/svm.py", True), ("glob.glob", "/proc/9/cwd/**/svm.py")),
        (
            "subprocess.Popen",
            ("/bin/sh", ["/bin/sh", "-c", "cat /proc/1/cmdline"], None, None),
            ("subprocess.Popen", "/proc/1/cmdline"),
        ),
        ("os.system", ("ls /proc",), ("os.system", "/proc")),
    ],
)
def test_the_hook_reports_other_processes_proc_and_the_list_of_processes(
    pipe, event, args, reported
):
    hook = proc_audit.watch_proc_reads(pipe[1], install=False)
    hook(event, args)
    assert _records(pipe[0]) == [reported]


@pytest.mark.parametrize(
    "event, args",
    [
        ("open", ("/proc/self/status", "r", 0)),
        ("open", ("/proc/thread-self/comm", "r", 0)),
        ("open", (f"/proc/{os.getpid()}/status", "r", 0)),
        ("open", ("/proc/meminfo", "r", 0)),
        ("open", ("/proc/cpuinfo", "r", 0)),
        ("open", ("/processing/1/x", "r", 0)),
        ("open", ("data/1/x", "r", 0)),
        ("open", (3, "r", 0)),
        ("os.listdir", ("/proc/self/fd",)),
        ("os.listdir", (5,)),
        ("import", ("/proc/1/cwd", None, None, None, None)),
        ("exec", ("/proc/1",)),
        ("subprocess.Popen", ("git", ["git", "status"], None, None)),
    ],
)
def test_the_hook_ignores_own_entries_other_paths_and_other_events(pipe, event, args):
    hook = proc_audit.watch_proc_reads(pipe[1], install=False)
    hook(event, args)
    assert _records(pipe[0]) == []


def test_relative_paths_are_resolved_after_a_chdir_into_proc(pipe, monkeypatch):
    hook = proc_audit.watch_proc_reads(pipe[1], install=False)
    hook("open", ("1/cmdline", "r", 0))  # cwd outside /proc: not even looked at
    monkeypatch.setattr(os, "getcwd", lambda: "/proc")
    hook("os.chdir", ("/proc",))
    hook("open", ("1/cmdline", "r", 0))
    assert _records(pipe[0]) == [("os.chdir", "/proc"), ("open", "/proc/1/cmdline")]


@pytest.mark.parametrize(
    "filename, reported",
    [
        ("/site/ipykernel/kernelbase.py", []),
        ("/tmp/student/kernelbase.py", [("open", "/proc/1/stat")]),
    ],
)
def test_ipykernel_listing_its_own_children_is_not_reported(pipe, monkeypatch, filename, reported):
    """At shutdown ipykernel finds the kernel's children with psutil, which reads every
    process's /proc/<pid>/stat; the same function from anywhere else is reported."""
    hook = proc_audit.watch_proc_reads(pipe[1], install=False)
    kernelbase = types.ModuleType("ipykernel.kernelbase")
    kernelbase.__file__ = "/site/ipykernel/kernelbase.py"
    monkeypatch.setitem(sys.modules, "ipykernel.kernelbase", kernelbase)
    namespace = {"hook": hook}
    exec(
        compile(
            "def _process_children():\n    hook('open', ('/proc/1/stat', 'r', 0))\n",
            filename,
            "exec",
        ),
        namespace,
    )
    namespace["_process_children"]()
    assert _records(pipe[0]) == reported


def test_the_hook_sends_each_record_once_and_at_most_limit(pipe):
    hook = proc_audit.watch_proc_reads(pipe[1], limit=20, install=False)
    for _ in range(3):
        hook("open", ("/proc/1/cmdline", "r", 0))
    assert len(_records(pipe[0])) == 1
    for pid in range(2, 100):
        hook("open", (f"/proc/{pid}/cmdline", "r", 0))
    assert len(_records(pipe[0])) == 19  # 20 in all


def test_the_hook_never_raises_into_student_code(pipe):
    hook = proc_audit.watch_proc_reads(pipe[1], install=False)

    class Weird:
        def __fspath__(self):
            raise RuntimeError("no path")

    hook("open", (Weird(), "r", 0))
    hook("open", ())
    hook("subprocess.Popen", (None, None, None, None))
    os.close(pipe[1])  # the grader's end gone: the record is lost, nothing raises
    hook("open", ("/proc/1/cmdline", "r", 0))
    assert _records(pipe[0]) == []


def _run_hooked(code, fd):
    """``code`` in a fresh Python with the hook installed on ``fd`` (a hook cannot be removed)."""
    prelude = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(proc_audit.__file__).parent)!r})
        from proc_audit import watch_proc_reads
        watch_proc_reads({fd})
    """)
    done = subprocess.run(
        [sys.executable, "-I", "-c", prelude + textwrap.dedent(code)],
        pass_fds=(fd,),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_real_reads_are_reported_and_numpy_matplotlib_are_not(pipe):
    _run_hooked(
        """
        import glob, io, os, shutil, subprocess, tempfile
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
        rng = np.random.default_rng(0)
        X = rng.standard_normal((500, 300))
        np.linalg.svd(X @ X.T)
        fig, ax = plt.subplots()
        ax.plot(X[:, 0]); fig.savefig(io.BytesIO(), format="png")
        open("/proc/self/status").read(); os.listdir("/proc/self/fd")
        try:
            open("/proc/%d/cmdline" % os.getppid()).read()
        except OSError:
            pass
        os.listdir("/proc")
        glob.glob("/proc/%d/cwd/*.toml" % os.getppid())
        subprocess.run(["cat", "/proc/1/comm"], capture_output=True)
    """,
        pipe[1],
    )
    ppid = os.getpid()
    assert _records(pipe[0]) == [
        ("open", f"/proc/{ppid}/cmdline"),
        ("os.listdir", "/proc"),
        ("glob.glob", f"/proc/{ppid}/cwd/*.toml"),
        ("os.scandir", f"/proc/{ppid}/cwd"),
        ("subprocess.Popen", "/proc/1/comm"),
    ]


# ---------------------------------------------------------------- the grader's side
def test_records_become_flags_deduplicated_and_capped():
    monitor = Monitor(None)
    monitor.add_records(b"open\t/proc/12/cwd\nos.listdir\t/proc\nopen\t/proc/12/cwd\nos.scand")
    monitor.add_records(b"ir\t/proc\nnonsense\t/proc/1\nopen\t/etc/passwd\n")
    assert monitor.proc_reads == [
        ("open", "/proc/12/cwd"),
        ("os.listdir", "/proc"),
        ("os.scandir", "/proc"),
    ]
    assert monitor.flags() == [
        "review: read /proc/12/cwd (another process's /proc) at run time",
        "review: listed /proc (the list of all processes) at run time",
        "review: listed /proc (the list of all processes) at run time",
    ]
    monitor.add_records(b"".join(b"open\t/proc/%d/environ\n" % pid for pid in range(100, 200)))
    flags = monitor.flags()
    assert len(flags) == isolation.MAX_PROC_FLAGS + 1
    assert (
        flags[-1] == f"review: {103 - isolation.MAX_PROC_FLAGS} more read(s) of /proc at run time"
    )


def test_a_flood_of_records_is_not_read_past_a_megabyte():
    monitor = Monitor(None)
    for _ in range(30):
        monitor.add_records(b"x" * 2**16 + b"\n")
    monitor.add_records(b"open\t/proc/1/cmdline\n")
    assert monitor.proc_reads == []


def test_the_watchdog_sums_all_processes_and_kills_them_all_above_the_limit(monkeypatch):
    table = {11: 300, 12: 300, 13: 300, 15: 0}  # 15: a zombie, nothing to kill
    killed = []
    monkeypatch.setattr(
        isolation.monitor, "processes_of", lambda uid: list(table) if uid == 7 else []
    )
    monkeypatch.setattr(isolation.monitor, "resident_bytes", lambda pid: table.get(pid, 0))
    monkeypatch.setattr(isolation.monitor.os, "kill", lambda pid, sig: killed.append((pid, sig)))
    monitor = Monitor(7, limit_bytes=1000)
    assert monitor.check_memory() == 900 and killed == [] and monitor.memory_stops == 0
    table[14] = 101  # each process is small; together they are over
    assert monitor.check_memory() == 1001
    assert sorted(killed) == [(pid, signal.SIGKILL) for pid in (11, 12, 13, 14)]
    assert monitor.memory_stops == 1
    assert monitor.flags() == [
        f"review: its processes together held more than {1000 / 2**30:.1f} GiB "
        "of memory and were stopped (1 time(s))"
    ]


def test_resident_bytes_counts_touched_memory_not_address_space():
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                # 1 GiB reserved, untouched
                "import mmap, sys, time\nreserved = mmap.mmap(-1, 2**30)\n"
                "touched = bytearray(200 * 2**20)\nprint('ready', flush=True)\ntime.sleep(60)"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert child.stdout.readline() == "ready\n"
            held = isolation.resident_bytes(child.pid)
            assert 200 * 2**20 <= held < 600 * 2**20
        finally:
            child.kill()
            child.wait()
    assert isolation.resident_bytes(child.pid) == 0


def test_the_package_child_reports_proc_reads_to_the_monitor_it_is_given(tmp_path):
    (tmp_path / "cs_loss").mkdir()
    (tmp_path / "cs_loss" / "__init__.py").write_text(
        "import os\ntry:\n    open('/proc/%d/cmdline' % os.getppid()).read()\n"
        "except OSError:\n    pass\n"
    )
    with Monitor(None) as monitor:
        package.run_child(tmp_path, "knn", timeout=60, memory_bytes=2**31, monitor=monitor)
    # In a namespace box the child's parent is the box's init, pid 1.
    parent = 1 if isolation.choose()[0] == "namespaces" else os.getpid()
    assert monitor.proc_reads == [("open", f"/proc/{parent}/cmdline")]
    with Monitor(None) as bystander:  # a monitor that is not handed over hears nothing
        package.run_child(tmp_path, "knn", timeout=60, memory_bytes=2**31)
    assert bystander.proc_reads == []


def test_the_kernel_bootstrap_is_a_file_copied_where_the_user_can_read_it(tmp_path):
    from grading.isolation import kernel

    kernels = tmp_path / "kernels"
    kernels.mkdir(mode=0o711)
    bootstrap = kernel.place_bootstrap(kernels)
    assert bootstrap == kernel.bootstrap_path(kernels)
    assert bootstrap.read_bytes() == kernel.BOOTSTRAP.read_bytes()
    assert (bootstrap.parent / "proc_audit.py").read_bytes() == Path(
        proc_audit.__file__
    ).read_bytes()
    # Listable (Python imports proc_audit from the folder only if it can list it), not writable.
    assert stat.S_IMODE(bootstrap.parent.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in bootstrap.parent.iterdir()} == {0o644}
    launcher = kernel.kernel_argv("conn.json")
    assert launcher[1:] == ["-I", str(kernel.LAUNCHER), "conn.json"] and kernel.LAUNCHER.is_file()


def test_without_root_the_sandbox_watches_no_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(isolation.backend, "can_switch_users", lambda: False)
    monkeypatch.setenv(isolation.FORCE_VARIABLE, "none")  # no bubblewrap box either
    monkeypatch.setattr(isolation.backend, "_said", ["none"])  # the warning is tested elsewhere
    box = isolation.Sandbox(tmp_path / "box")
    assert box.monitor.uid is None and box.monitor.channel is None
    assert json.loads(box.spec())["channel"] is None  # a kernel launched anyway gets no channel
    box.monitor.start()
    assert box.cleanup() == [] and not box.private.exists()


# ---------------------------------------------------------------- real cases, root only
@needs_root
def test_a_submission_whose_processes_together_are_too_big_is_stopped(slot_user):
    def drop():
        os.setgroups([])
        os.setgid(slot_user.pw_gid)
        os.setuid(slot_user.pw_uid)

    hogs = [
        subprocess.Popen(
            [sys.executable, "-c", "import time\nx = bytearray(120 * 2**20)\ntime.sleep(60)"],
            preexec_fn=drop,
            cwd="/",
        )
        for _ in range(3)
    ]
    with Monitor(slot_user.pw_uid, limit_bytes=300 * 2**20, interval=0.05) as monitor:
        for hog in hogs:
            hog.wait(timeout=30)
    assert [hog.returncode for hog in hogs] == [-9, -9, -9]
    assert monitor.memory_stops >= 1 and isolation.processes_of(slot_user.pw_uid) == []


@needs_root
def test_a_killed_package_child_says_memory_was_the_reason(tmp_path, slot_user, monkeypatch):
    (tmp_path / "cs_loss").mkdir()
    (tmp_path / "cs_loss" / "__init__.py").write_text(
        "import time\n_hog = bytearray(400 * 2**20)\ntime.sleep(30)\n"
    )
    with Monitor(slot_user.pw_uid, limit_bytes=200 * 2**20, interval=0.05) as monitor:
        _, statuses = package.run_child(
            tmp_path, "knn", timeout=60, memory_bytes=2**31, user=slot_user, monitor=monitor
        )
    reasons = {status["error"] for status in statuses.values()}
    assert reasons == {
        "the test process was stopped: its processes together held more than 0.2 GiB "
        "of memory and were stopped"
    }


@needs_root
def test_the_user_cannot_read_the_channel_it_writes_to(tmp_path, slot_user):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    with Monitor(slot_user.pw_uid, channel=private / "fifo") as monitor:
        fd = isolation.open_channel(str(monitor.channel))
        code = textwrap.dedent(f"""
            import os, sys
            os.write({fd}, b"open\\t/proc/1/cmdline\\n")
            for path in ({str(monitor.channel)!r}, "/proc/self/fd/{fd}"):
                try:
                    os.open(path, os.O_RDONLY | os.O_NONBLOCK)
                    sys.exit("could open " + path)
                except PermissionError:
                    pass
        """)
        done = subprocess.run(
            [sys.executable, "-I", "-c", code],
            pass_fds=(fd,),
            cwd="/",
            preexec_fn=isolation.dropper(
                {
                    "uid": slot_user.pw_uid,
                    "gid": slot_user.pw_gid,
                    "memory_bytes": 2**31,
                    "max_file_bytes": 2**20,
                    "max_processes": 64,
                }
            ),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        os.close(fd)
    assert done.returncode == 0, done.stderr
    assert monitor.proc_reads == [("open", "/proc/1/cmdline")]


@needs_root
def test_the_sandboxed_kernel_imports_the_working_folder_and_reports_proc_reads(
    tmp_path, slot_user
):
    from jupyter_client.manager import KernelManager

    slot = int(slot_user.pw_name.removeprefix(isolation.USER_PREFIX))
    box = isolation.Sandbox(
        tempfile.mkdtemp(prefix="cs_loss_box_"), slot=slot
    )  # where users may enter
    (box.work / "cs_loss").mkdir()
    (box.work / "cs_loss" / "__init__.py").write_text("WHERE = 'working folder'\n")
    box.give()
    jupyter = tmp_path / "jupyter"
    box.install_kernelspec(jupyter)
    env = {isolation.SPEC_VARIABLE: box.spec(), "JUPYTER_PATH": str(jupyter)}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    box.monitor.start()
    try:
        km = KernelManager(kernel_name="python3", **box.connection())
        km.start_kernel()
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        try:
            honest = (
                "import cs_loss, numpy as np, matplotlib.pyplot as plt\n"
                "plt.plot(np.arange(3)); plt.savefig('x.png')\nprint(cs_loss.WHERE, os.getuid())"
            )
            outputs = []
            kc.execute_interactive("import os\n" + honest, timeout=60, output_hook=outputs.append)
            time.sleep(0.5)
            box.monitor._drain()
            assert box.monitor.proc_reads == []  # the kernel and an honest cell read nothing
            kc.execute_interactive("os.listdir('/proc')", timeout=60)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=False)  # as nbclient does: ipykernel then lists its children
    finally:
        for key, value in old.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
        flags = box.cleanup()
    text = " ".join(str(o["content"].get("text", "")) for o in outputs)
    assert f"working folder {slot_user.pw_uid}" in text
    assert [f for f in flags if "at run time" in f] == [
        "review: listed /proc (the list of all processes) at run time"
    ]

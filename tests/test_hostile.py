"""Hostile and clumsy submissions, graded by the real pipeline in one batch next to honest victims.

Each case is the reference solution (or the blank release) with one hostile or
clumsy change. The batch asserts: the hostile one earns no unearned point, the
victims keep full marks, nothing leaks, the batch finishes, and no process or
file of the sandbox users survives. The batch needs root (as in CI and on
Gradescope) and a Python the sandbox users can run; elsewhere it is skipped (its
submissions would really do harm there) and tests/test_grading.py covers the
non-root warning.
"""

import csv
import hashlib
import io
import json
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import forced_backend

from grading import autograde as ag
from grading import course, examples, markers, uploads
from grading import isolation as sandbox

KIT_CS_LOSS = course.KIT_ROOT / "cs_loss"
EXPECTED = course.KIT_ROOT / "grading" / "expected.npz"
ROOT_MODE = sandbox.can_switch_users() and sandbox.python_usable(sandbox.ensure_user(0))
needs_root = pytest.mark.skipif(
    not ROOT_MODE, reason="isolation needs root and a Python other users can run"
)

# Code that a hostile student hides at the top level of a cs_loss file (runs at import,
# in the kernel and in the package tests). Each guards itself so the module still imports.
HOOK_CLEARS_ERRORS = """
try:
    _ip = get_ipython()
    def _clear(result, _ip=_ip):
        result.error_in_exec = None
        _ip.user_ns.get("Out", {}).clear()
    _ip.events.register("post_run_cell", _clear)
    _ip.set_custom_exc((BaseException,), lambda *a, **k: None)
except Exception:
    pass
"""
INPUT_TRANSFORMER = """
try:
    def _pass(lines):
        text = "".join(lines)
        return ["pass\\n"] if ("nb.check" in text or "_cs_loss_export" in text) else lines
    get_ipython().input_transformers_cleanup.append(_pass)
except Exception:
    pass
"""
STARTUP_FILE = """
try:
    import os as _os
    _d = _os.path.expanduser("~/.ipython/profile_default/startup")
    _os.makedirs(_d, exist_ok=True)
    open(_os.path.join(_d, "00-cheat.py"), "w").write("print('cheat')\\n")
except Exception:
    pass
"""
PROC_PARENT = """
try:
    import os as _os, shutil as _sh, glob as _g
    for _p in ("/proc/%d/cwd" % _os.getppid(), "/proc/%d/cwd" % _os.getpgid(0)):
        for _f in _g.glob(_p + "/**/cs_loss/svm.py", recursive=True):
            exec(open(_f).read())
            break
except Exception:
    pass
"""
DETACHED = """
try:
    import os as _os, time as _t
    if _os.fork() == 0:
        _os.setsid()
        if _os.fork() == 0:
            _t.sleep(4)
            for _p in {targets!r}:
                try:
                    open(_p, "w").write("hacked")
                except Exception:
                    pass
            _os._exit(0)
        _os._exit(0)
except Exception:
    pass
"""
FORK_BOMB = """
try:
    import os as _os, time as _t
    for _i in range(200):
        if _os.fork() == 0:
            _t.sleep(30)
            _os._exit(0)
except Exception:
    pass
"""
CLASSMATES = """
try:
    import glob as _g, os as _os
    for _f in _g.glob("/tmp/cs_loss_*/**/cs_loss/svm.py", recursive=True):
        try:
            open(_f, "w").write("raise SystemExit\\n")
        except Exception:
            pass
except Exception:
    pass
"""
# Reads the kit's reference solution at its path (which a student can learn from the
# worker's command line, /proc/<pid>/cmdline, readable by every user) and runs it.
KIT_READER = """
try:
    exec(open({path!r}).read())
except Exception:
    pass
"""
WRITE_EXPECTED = """
try:
    open({path!r}, "wb").write(b"x")
except Exception:
    pass
"""


# Time traps (class 9): clumsy, not hostile.
IGNORES_SIGINT = (
    "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"
)
CATCHES_INTERRUPTS = (
    "import time\nwhile True:  # retry until it works\n    try:\n        time.sleep(0.1)\n"
    "    except KeyboardInterrupt:\n        pass\n"
)
# Hangs at import in the package tests only (in a notebook it would stop every notebook at
# its first cell, which the student sees at once).
IMPORT_HANG = """
import sys as _sys, time as _time
if "ipykernel" not in _sys.modules:
    while True:
        _time.sleep(0.5)
"""
MALFORMED_STATUS = """
try:
    import atexit as _atexit, sys as _sys
    if len(_sys.argv) > 2 and _sys.argv[2].endswith(".npz"):
        _bad = '{"knn_predict_labels": [1, 2'
        _atexit.register(lambda: open(_sys.argv[2] + ".json", "w").write(_bad))
except Exception:
    pass
"""
# The batch's limits, shorter than the defaults so that the time traps stay cheap: each
# notebook's share is then about (360 - 30 - 30) / 3 = 100 s.
CELL_TIMEOUT = 30
TIMEOUT = 360


def append(folder, student_file, code):
    path = Path(folder) / student_file
    path.write_text(path.read_text() + "\n" + code)


def edit_cell(folder, notebook, grade_id, source, before=False):
    """Replace the source of cell ``grade_id`` (or, with ``before``, put ``source`` above it)."""
    path = Path(folder) / notebook
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source = source + "\n" + cell.source if before else source
    nbformat.write(nb, path)


def blank(release, dest):
    """The untouched release, as a student who did nothing would submit it."""
    dest = Path(dest)
    (dest / "cs_loss").mkdir(parents=True)
    for name in course.NOTEBOOKS:
        (dest / name).write_bytes((Path(release) / name).read_bytes())
    for student_file in course.STUDENT_FILES:
        (dest / student_file).write_bytes((Path(release) / student_file).read_bytes())
    return dest


def craft(root, release, out_dir):
    """{name: (path, kind)}: kind "hostile" (no unearned point) or "clumsy" (loses only its
    part)."""
    root = Path(root)
    made = {}

    def ref(name):
        return examples.write_reference(root / name, release)

    for i in range(2):
        made[f"victim{i}"] = ref(f"victim{i}")
    # class 1: student code deciding notebook verdicts (from the blank release: nothing earned)
    folder = blank(release, root / "hook_clears_errors")
    append(folder, "cs_loss/knn.py", HOOK_CLEARS_ERRORS)
    made["hook_clears_errors"] = folder
    folder = blank(release, root / "input_transformer")
    append(folder, "cs_loss/knn.py", INPUT_TRANSFORMER)
    made["input_transformer"] = folder
    folder = blank(release, root / "shadowed_float")
    edit_cell(
        folder,
        "svm.ipynb",
        "svm_q1",
        "class F(float):\n    def __eq__(self, o):\n        return True\n"
        "float = lambda *a: 0.0\nint = lambda *a: 1\nq1_car_loss_after_small_change = F(7)",
    )
    edit_cell(folder, "svm.ipynb", "svm_q5", "q5_mean_instead_of_sum = 3")
    edit_cell(
        folder,
        "knn.ipynb",
        "knn_inline_q2",
        "class Anything(set):\n    def __eq__(self, other):\n        return True\n"
        "    __hash__ = set.__hash__\ninline_question_2 = Anything({9})",
    )
    made["shadowed_float"] = folder
    folder = ref("rebinds_np_mean")
    edit_cell(
        folder,
        "knn.ipynb",
        "knn_inline_q2",
        "np.mean = lambda *a, **k: 1.0\ninline_question_2 = {5}",
    )
    made["rebinds_np_mean"] = folder
    folder = examples.write_reference(root / "predict_returns_y_val", release)
    markers.write_package(
        KIT_CS_LOSS,
        root / "tmp_pred",
        {
            "LinearClassifier.predict": (
                "import __main__\nyv = getattr(__main__, 'y_val', None)\n"
                "y_pred[:] = (yv if yv is not None and len(yv) == len(y_pred)\n"
                "             else np.argmax(X @ self.W, axis=1))"
            ),
            "LinearClassifier.train#2": "W_new = self.W",
        },
    )
    (folder / "cs_loss/linear_classifier.py").write_text(
        (root / "tmp_pred/cs_loss/linear_classifier.py").read_text()
    )
    made["predict_returns_y_val"] = folder
    folder = blank(release, root / "startup_file")
    append(folder, "cs_loss/svm.py", STARTUP_FILE)
    made["startup_file"] = folder
    # class 2/3: reaching the grader or classmates (blank release: any point is unearned)
    folder = blank(release, root / "proc_parent_cwd")
    append(folder, "cs_loss/svm.py", PROC_PARENT)
    made["proc_parent_cwd"] = folder
    folder = blank(release, root / "reads_kit")
    append(folder, "cs_loss/svm.py", KIT_READER.format(path=str(KIT_CS_LOSS / "svm.py")))
    made["reads_kit"] = folder
    folder = ref("writes_expected")
    append(folder, "cs_loss/softmax.py", WRITE_EXPECTED.format(path=str(EXPECTED)))
    made["writes_expected"] = folder
    folder = blank(release, root / "classmates")
    append(folder, "cs_loss/softmax.py", CLASSMATES)
    made["classmates"] = folder
    folder = blank(release, root / "detached")
    targets = [str(out_dir / "grades.csv"), str(out_dir / "totals.csv")]
    append(folder, "cs_loss/svm.py", DETACHED.format(targets=targets))
    made["detached"] = folder
    folder = blank(release, root / "fork_bomb")
    append(folder, "cs_loss/knn.py", FORK_BOMB)
    made["fork_bomb"] = folder
    folder = ref("memory_hog")
    edit_cell(
        folder,
        "softmax.ipynb",
        "softmax_q1",
        "import numpy as np\nhog = [np.ones(2**28) for _ in range(40)]\n"
        "q1_min_loss, q1_max_loss = 0.0, float('inf')",
    )
    made["memory_hog"] = folder
    # class 5/7: intake and reports
    bomb = root / "zip_bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("knn.ipynb", b"\0" * (40 * 2**20))
    made["zip_bomb"] = bomb
    enc = root / "encrypted.zip"
    with zipfile.ZipFile(enc, "w") as archive:
        archive.writestr("knn.ipynb", b"{}")
    data = bytearray(enc.read_bytes())  # set the "encrypted" bit in both headers
    data[6] |= 0x1
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 0x1
    enc.write_bytes(bytes(data))
    made["encrypted"] = enc
    folder = blank(release, root / "symlink_intake")
    (folder / "cs_loss" / "svm.py").unlink()
    (folder / "cs_loss" / "svm.py").symlink_to(KIT_CS_LOSS / "svm.py")
    made["symlink_intake"] = folder
    folder = ref("csv_formula")
    markers.write_package(
        KIT_CS_LOSS,
        root / "tmp_csv",
        {
            "svm_loss_naive": (
                "raise type('=HYPERLINK(\"http://x\")', (Exception,), {})('\\udcff surrogate')"
            )
        },
    )
    (folder / "cs_loss/svm.py").write_text((root / "tmp_csv/cs_loss/svm.py").read_text())
    made["csv_formula"] = folder
    names = root / "long_names.zip"
    ref("long_src")
    with zipfile.ZipFile(names, "w") as archive:
        for path in sorted((root / "long_src").rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root / "long_src"))
        archive.writestr("x" * 300 + ".txt", "junk")
    made["long_names"] = names
    # class 9: clumsy, not hostile
    folder = ref("duplicated_cell")
    raw = json.loads(
        (folder / "knn.ipynb").read_text()
    )  # pasted as is: same grade id, same cell id
    dup = [
        c
        for c in raw["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade_id") == "knn_inline_q3"
    ]
    raw["cells"].append(dup[0])
    (folder / "knn.ipynb").write_text(json.dumps(raw))
    made["duplicated_cell"] = folder
    folder = ref("corrupt_notebook")
    (folder / "svm.ipynb").write_text((folder / "svm.ipynb").read_text()[:500])
    made["corrupt_notebook"] = folder
    junk = root / "not_a_zip.zip"
    junk.write_text("PK junk")
    made["not_a_zip"] = junk
    # class 9, time: a hang or a slow part costs only what depends on it
    folder = ref("ignores_sigint")
    edit_cell(folder, "knn.ipynb", "knn_inline_q2", IGNORES_SIGINT)
    made["ignores_sigint"] = folder
    folder = ref("catches_interrupts")
    edit_cell(folder, "softmax.ipynb", "softmax_q2", CATCHES_INTERRUPTS)
    made["catches_interrupts"] = folder
    folder = ref("slow_notebook")
    for grade_id in ("svm_q1", "svm_q2", "svm_q3", "svm_q4", "svm_q5"):  # 125 s: over its share
        edit_cell(
            folder,
            "svm.ipynb",
            grade_id,
            f"import time\ntime.sleep({CELL_TIMEOUT - 5})",
            before=True,
        )
    made["slow_notebook"] = folder
    folder = ref("import_hang")
    append(folder, "cs_loss/svm.py", IMPORT_HANG)
    made["import_hang"] = folder
    folder = ref("function_hang")
    markers.write_package(
        KIT_CS_LOSS, root / "tmp_hang", {"svm_loss_vectorized": "while True:\n    pass"}
    )
    (folder / "cs_loss/svm.py").write_text((root / "tmp_hang/cs_loss/svm.py").read_text())
    made["function_hang"] = folder
    folder = ref("input_at_import")
    append(folder, "cs_loss/knn.py", "input('press enter to go on')\n")
    made["input_at_import"] = folder
    folder = ref("malformed_status")
    append(folder, "cs_loss/softmax.py", MALFORMED_STATUS)
    made["malformed_status"] = folder
    # More intake traps: each must be refused or ignored for that submission only.
    ref("zip_src")
    src = root / "zip_src"

    def zipped(name, extra):
        path = root / f"{name}.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for file in sorted(src.rglob("*")):
                if file.is_file():
                    archive.write(file, file.relative_to(src))
            extra(archive)
        made[name] = path

    def symlink_member(archive):
        info = zipfile.ZipInfo("cs_loss/evil")
        info.external_attr = 0o120777 << 16
        archive.writestr(info, str(KIT_CS_LOSS / "svm.py"))

    zipped("zip_symlink_member", symlink_member)
    zipped("zip_path_traversal", lambda a: a.writestr("../../escaped.txt", "x"))
    zipped("zip_absolute_path", lambda a: a.writestr("/tmp/h6_absolute_escape.txt", "x"))
    zipped("zip_macosx_junk", lambda a: a.writestr("__MACOSX/._svm.ipynb", "junk"))
    deflate64 = root / "zip_deflate64.zip"  # compression method 9, which zipfile cannot read
    with zipfile.ZipFile(deflate64, "w") as archive:
        archive.writestr("knn.ipynb", (src / "knn.ipynb").read_text())
    data = bytearray(deflate64.read_bytes())
    data[8:10] = (9).to_bytes(2, "little")  # the local header's compression method
    central = data.index(b"PK\x01\x02")
    data[central + 10 : central + 12] = (9).to_bytes(2, "little")  # and the central directory's
    deflate64.write_bytes(bytes(data))
    made["zip_deflate64"] = deflate64
    many = root / "too_many_members.zip"
    with zipfile.ZipFile(many, "w") as archive:
        for i in range(uploads.ZIP_MAX_MEMBERS + 1):
            archive.writestr(f"f{i}.txt", "")
    made["too_many_members"] = many
    empty = root / "empty_zip.zip"
    with zipfile.ZipFile(empty, "w"):
        pass
    made["empty_zip"] = empty
    folder = blank(release, root / "symlinked_notebook")
    (folder / "svm.ipynb").unlink()
    (folder / "svm.ipynb").symlink_to(course.KIT_ROOT / "notebooks" / "svm.ipynb")
    made["symlinked_notebook"] = folder
    folder = blank(release, root / "symlinked_folder")
    (folder / "more").symlink_to(course.KIT_ROOT)
    made["symlinked_folder"] = folder
    # More graded traps.
    folder = blank(release, root / "exits_at_import")
    append(folder, "cs_loss/svm.py", "import os as _os\n_os._exit(0)\n")
    made["exits_at_import"] = folder
    folder = blank(release, root / "writes_home_and_tmp")
    append(
        folder,
        "cs_loss/knn.py",
        (
            "try:\n    import os as _o\n    open(_o.path.expanduser('~/.bashrc'), 'a').write('x')\n"
            "    open('/tmp/h6_sandbox_escape.txt', 'w').write('x')\nexcept Exception:\n    pass\n"
        ),
    )
    made["writes_home_and_tmp"] = folder
    folder = blank(release, root / "forges_exports")
    edit_cell(
        folder,
        "svm.ipynb",
        "svm_q1",
        (
            "import glob, json\n"
            "for p in (glob.glob('.export/*/*.json')\n"
            "          + glob.glob('/tmp/**/svm_test_*.json', recursive=True)):\n"
            "    open(p, 'w').write('{}')\nq1_car_loss_after_small_change = 1.0"
        ),
    )
    made["forges_exports"] = folder
    # run-time monitoring (tests at the end of this file)
    folder = blank(release, root / "memory_together")
    append(folder, "cs_loss/knn.py", MEMORY_TOGETHER)
    made["memory_together"] = folder
    folder = blank(release, root / "proc_reads_at_import")
    append(folder, "cs_loss/svm.py", PROC_READS)
    made["proc_reads_at_import"] = folder
    folder = ref("proc_reads_in_notebook")
    edit_cell(folder, "svm.ipynb", "svm_q4", PROC_READS, before=True)
    made["proc_reads_in_notebook"] = folder
    return made


@pytest.fixture(scope="module", params=["namespaces", "users"])
def batch(request, tmp_path_factory):
    """The batch graded on each isolation backend that starts here (forced, so the workers
    use it too); a backend that cannot start skips with the reason."""
    with forced_backend(request.param):
        yield _grade_batch(tmp_path_factory)


def _grade_batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    work = root / "work"
    ag.prepare(work)
    release = work / "release" / course.ASSIGNMENT
    out = root / "out"
    out.mkdir()
    expected_hash = hashlib.sha256(EXPECTED.read_bytes()).hexdigest()
    home_startup = Path.home() / ".ipython" / "profile_default" / "startup"
    before = set(home_startup.glob("*")) if home_startup.is_dir() else set()
    boxes_before = set(Path("/tmp").glob("cs_loss_box_*"))  # another run's, not this batch's
    made = craft(root / "subs", release, out)
    start = time.process_time()
    results = ag.autograde(
        list(made.values()),
        out,
        workers=2,
        work_dir=work,
        progress=False,
        timeout=TIMEOUT,
        cell_timeout=CELL_TIMEOUT,
    )
    time.sleep(5)  # a detached process would strike now
    return {
        "results": {r["student"]: r for r in results},
        "out": out,
        "release": release,
        "expected_hash": expected_hash,
        "startup_before": before,
        "boxes_before": boxes_before,
        "home_startup": home_startup,
        "cpu": time.process_time() - start,
        "count": len(made),
    }


def points(result, prefix=""):
    return sum(
        t["score"]
        for t in result["tests"]
        if t["name"].startswith(prefix) and t["kind"] != "written"
    )


def full(result):
    return result["auto_score"] == result["auto_max"]


# Without the sandbox these submissions would really overwrite the kit's expected values,
# classmates' files and the reports: the batch runs only where isolation is enforced.
pytestmark = [pytest.mark.slow, pytest.mark.grading, needs_root]

BLANK_HOSTILE = [
    "hook_clears_errors",
    "input_transformer",
    "startup_file",
    "proc_parent_cwd",
    "classmates",
    "detached",
    "fork_bomb",
    "symlinked_notebook",
    "symlinked_folder",
    "exits_at_import",
    "writes_home_and_tmp",
    "forges_exports",
    "encrypted",
    "too_many_members",
    "empty_zip",
]


def test_the_batch_finishes_with_a_result_for_everyone(batch):
    assert len(batch["results"]) == batch["count"] == 45
    assert all("auto_score" in r for r in batch["results"].values())


def test_victims_keep_full_marks(batch):
    for name in ("victim0", "victim1"):
        assert full(batch["results"][name]), batch["results"][name]


@pytest.mark.parametrize("name", BLANK_HOSTILE)
def test_a_blank_hostile_submission_earns_nothing(batch, name):
    assert points(batch["results"][name]) == 0


@pytest.mark.parametrize("name", ["hook_clears_errors", "input_transformer"])
def test_kernel_hooks_are_flagged(batch, name):
    assert any(
        "review" in f and ("IPython" in f or "hook" in f) for f in batch["results"][name]["flags"]
    )


def test_shadowed_float_and_lying_eq_earn_nothing(batch):
    result = batch["results"]["shadowed_float"]
    assert points(result) == 0
    assert any("defines __eq__" in f for f in result["flags"])


def test_rebinding_np_mean_gains_nothing(batch):
    result = batch["results"]["rebinds_np_mean"]
    assert points(result, "knn:knn_test_inline_q2") == 0
    assert points(result, "knn:knn_test_cross_validation") == 3  # recomputed by the grader
    assert any("rebinds np.mean" in f for f in result["flags"])


def test_predict_returning_y_val_earns_no_search_points(batch):
    result = batch["results"]["predict_returns_y_val"]
    assert points(result, "svm:svm_test_search") == 0
    assert points(result, "softmax:softmax_test_search") == 0


def test_expected_values_cannot_be_overwritten(batch):
    assert hashlib.sha256(EXPECTED.read_bytes()).hexdigest() == batch["expected_hash"]


def test_no_startup_file_outlives_the_run(batch):
    home = batch["home_startup"]
    after = set(home.glob("*")) if home.is_dir() else set()
    assert after == batch["startup_before"]


def test_reports_are_not_rewritten_after_the_run(batch):
    text = (batch["out"] / "grades.csv").read_text()
    assert text.startswith('"student"') and "hacked" not in text


@needs_root
def test_no_process_or_file_of_the_sandbox_users_survives(batch):
    for slot in range(2):
        uid = sandbox.ensure_user(slot).pw_uid
        assert sandbox.processes_of(uid) == []
    assert set(Path("/tmp").glob("cs_loss_box_*")) <= batch["boxes_before"]


def test_intake_failures_are_recorded_per_submission(batch):
    results = batch["results"]
    assert "unpacks to far more" in results["zip_bomb"]["error"]
    assert "encrypted" in results["encrypted"]["error"]
    assert "could not read the submission" in results["not_a_zip"]["error"]
    assert full(results["long_names"])


def test_symlinks_are_not_followed(batch):
    result = batch["results"]["symlink_intake"]
    assert points(result, "cs_loss:svm") == 0
    assert any("missing cs_loss/svm.py" in f for f in result["flags"])


def test_csv_cells_never_start_a_formula_and_text_is_clean(batch):
    raw = (batch["out"] / "grades.csv").read_bytes()
    raw.decode("utf-8")  # no surrogates
    for row in csv.reader(io.StringIO(raw.decode("utf-8"))):
        assert not any(cell.startswith(("=", "+", "@")) for cell in row), row
    result = batch["results"]["csv_formula"]
    assert points(result, "cs_loss:svm_naive") == 0
    assert points(result, "knn:") == 9


def test_clumsy_mistakes_cost_only_their_part(batch):
    results = batch["results"]
    assert full(results["duplicated_cell"])
    assert any("appears twice" in f for f in results["duplicated_cell"]["flags"])
    corrupt = results["corrupt_notebook"]
    assert points(corrupt, "svm:") == 0
    assert points(corrupt, "knn:") == 9 and points(corrupt, "softmax:") == 7
    package_points = sum(test[2] for test in ag.package.TESTS)
    assert points(corrupt, "cs_loss:") == package_points
    hog = results["memory_hog"]
    assert points(hog, "cs_loss:") == package_points and points(hog, "svm:") == 10


def test_nothing_leaks_into_the_reports(batch):
    from grading.release import find_leaks

    secrets = ag.grader_secrets()
    assert find_leaks(batch["out"] / "feedback") == []
    text = (batch["out"] / "grades.json").read_text()
    assert not [s for s in secrets if s in text]


def test_a_rerun_skips_finished_submissions(batch):
    finished = sorted(p.stem for p in (batch["out"] / "finished").glob("*.json"))
    assert len(finished) == batch["count"]


@pytest.mark.parametrize(
    "name", ["zip_symlink_member", "zip_path_traversal", "zip_absolute_path", "zip_macosx_junk"]
)
def test_unsafe_zip_members_are_skipped_and_the_rest_graded(batch, name):
    assert full(batch["results"][name]), batch["results"][name]
    assert not Path("/tmp/h6_absolute_escape.txt").exists()


def test_too_many_members_are_refused(batch):
    assert "at most" in batch["results"]["too_many_members"]["error"]


@needs_root
def test_writes_outside_the_sandbox_fail(batch):
    assert not Path("/tmp/h6_sandbox_escape.txt").exists()
    result = batch["results"]["writes_home_and_tmp"]
    if result["isolation"] == "users":  # in a namespace box /tmp is the box's own: no stray
        assert any("outside its working folder" in f for f in result["flags"])
    else:
        assert result["isolation"] == "namespaces"


def lost(result):
    """The auto-graded tests that lost points."""
    return {
        t["name"] for t in result["tests"] if t["score"] < t["max_score"] and t["kind"] != "written"
    }


def group_tests(group):
    return {f"cs_loss:{name}" for g, name, *_ in ag.package.TESTS if g == group}


def output(result, name):
    return next(t["output"] for t in result["tests"] if t["name"] == name)


@pytest.mark.parametrize(
    "name, test",
    [
        ("ignores_sigint", "knn:knn_test_inline_q2"),
        ("catches_interrupts", "softmax:softmax_test_q2"),
    ],
)
def test_a_cell_that_will_not_stop_costs_only_its_own_test(batch, name, test):
    result = batch["results"][name]
    assert lost(result) == {test}, result["error"]
    assert any("ignored the interrupt" in f for f in result["flags"])


def test_a_slow_notebook_costs_only_its_own_remaining_cells(batch):
    result = batch["results"]["slow_notebook"]
    assert result["error"] is None
    assert not {t for t in lost(result) if not t.startswith("svm:")}  # package, knn, softmax: full
    assert 0 < points(result, "svm:") < 10  # the answers before it ran out still count
    assert any("used up its time budget" in f for f in result["flags"])


def test_a_module_hanging_at_import_costs_only_the_tests_that_need_it(batch):
    result = batch["results"]["import_hang"]
    assert lost(result) == group_tests("svm") | group_tests(
        "linear"
    )  # linear_classifier imports svm
    assert "did not finish within" in output(result, "cs_loss:svm_naive_reg_loss")
    assert "because cs_loss/svm.py could not" in output(result, "cs_loss:linear_predict")


def test_a_function_that_hangs_costs_only_the_tests_that_call_it(batch):
    result = batch["results"]["function_hang"]
    package_lost = {t for t in lost(result) if t.startswith("cs_loss:")}
    assert package_lost == {t for t in group_tests("svm") if "vectorized" in t}
    assert "did not finish within" in output(result, "cs_loss:svm_vectorized_reg_grad")
    assert points(result, "knn:") == 9 and points(result, "softmax:") == 7
    assert 0 < points(result, "svm:") < 10  # the questions before the loss still count


def test_input_at_import_fails_fast_instead_of_waiting(batch):
    result = batch["results"]["input_at_import"]
    assert {t for t in lost(result) if t.startswith("cs_loss:")} == group_tests("knn")
    assert "EOFError" in output(result, "cs_loss:knn_predict_labels")


def test_a_malformed_result_file_costs_the_package_points_and_nothing_else(batch):
    result = batch["results"]["malformed_status"]
    assert result["error"] is None
    assert points(result, "cs_loss:") == 0
    assert "malformed result" in output(result, "cs_loss:knn_predict_labels")
    assert (
        points(result, "knn:") == 9
        and points(result, "svm:") == 10
        and points(result, "softmax:") == 7
    )
    assert not [
        t for t in result["tests"] if "Traceback" in t["output"] or "grading/" in t["output"]
    ]


def test_an_unsupported_zip_compression_is_reported_for_that_student(batch):
    assert "unsupported compression (9)" in batch["results"]["zip_deflate64"]["error"]


def test_the_kit_found_through_proc_gives_nothing_when_it_is_closed(batch):
    if ag.open_secrets():  # the grader warns about this; CI closes the kit as the README says
        pytest.skip("the kit's answers are readable by every user here (see the README)")
    assert points(batch["results"]["reads_kit"]) == 0


# ---------------------------------------------------------------- run-time monitoring
# What no limit per process and no reading of the source catches.
# Three processes of 1.5 GiB each, every one under its own address-space limit.
MEMORY_TOGETHER = """
try:
    import os as _os, time as _t
    for _i in range(2):
        if _os.fork() == 0:
            try:  # a child never goes back to the importing code, whatever happens
                _mine = b"\\x01" * (1536 * 2**20)  # written, so resident
                _t.sleep(120)
            finally:
                _os._exit(0)
    _held = b"\\x01" * (1536 * 2**20)
    _t.sleep(5)
except Exception:
    pass
"""
# The parent's command line and the list of all processes, the path spelt so that no
# reading of the source sees "/proc".
PROC_READS = """
try:
    import os as _os
    _root = "/" + "".join(["pr", "oc"])
    open(_os.path.join(_root, str(_os.getppid()), "cmdline"), "rb").read()
    _os.listdir(_root)
except Exception:
    pass
"""


MONITOR_FLAGS = ("at run time", "GiB of memory")


def test_processes_together_over_the_memory_limit_are_stopped_and_earn_nothing(batch):
    result = batch["results"]["memory_together"]
    assert points(result) == 0
    assert any(
        f.startswith(
            "review: its processes together held more than 4.0 GiB of memory and were stopped"
        )
        for f in result["flags"]
    ), result["flags"]
    package_outputs = [t["output"] for t in result["tests"] if t["kind"] == "package"]
    assert any("held more than 4.0 GiB" in output for output in package_outputs)


def test_proc_reads_at_import_are_flagged(batch):
    result = batch["results"]["proc_reads_at_import"]
    assert points(result) == 0
    assert "review: listed /proc (the list of all processes) at run time" in result["flags"]
    assert any(
        f.startswith("review: read /proc/")
        and f.endswith("/cmdline (another process's /proc) at run time")
        for f in result["flags"]
    ), result["flags"]


def test_proc_reads_in_a_notebook_cell_are_flagged_and_cost_nothing(batch):
    result = batch["results"]["proc_reads_in_notebook"]
    assert full(result), result
    assert "review: listed /proc (the list of all processes) at run time" in result["flags"]
    assert any(f.startswith("review: read /proc/") for f in result["flags"]), result["flags"]


def test_honest_submissions_raise_no_monitor_flag(batch):
    for name in ("victim0", "victim1", "long_names", "duplicated_cell"):
        flags = batch["results"][name]["flags"]
        assert not [f for f in flags if any(m in f for m in MONITOR_FLAGS)], (name, flags)

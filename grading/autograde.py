"""Grade a class of submissions: intake, a sandbox per submission, trusted checks, reports.

Pipeline, per run:

1. ``prepare``: build the release once into a course directory (the template),
   with its gradebook holding the assignment.
2. ``intake`` (:mod:`grading.intake`): each submission (a folder or a zip, as
   downloaded from an LMS or Colab) is unpacked within caps into a clean folder
   with the three notebooks under their canonical names and the student's
   ``cs_loss`` files; anything missing, unreadable or ambiguous becomes a flag,
   and a submission that cannot be read at all is recorded with the reason
   while the batch goes on.
3. ``grade_one`` (in a worker process with a wall-clock and a memory limit),
   inside a :class:`grading.sandbox.Sandbox` (its own user when the grader is
   root): the hidden package tests (:mod:`grading.package`) first, then
   nbgrader's autograde with the kit's preprocessors
   (:mod:`grading.preprocessors`) in what is left of the time budget. Test
   cells only export values; the verdicts come from
   :mod:`grading.notebook_checks`, in nbgrader's process.
4. ``report``: as each submission finishes, its result is cleaned (valid
   UTF-8, messages quoting the grader's code withheld) and saved, and the
   per-test CSV (cells that cannot start a formula), JSON and feedback pages
   are rewritten atomically.

A class folder is read by :func:`grading.intake.expand_submissions`: every entry
gets a row (graded, or with the reason it is not), OS junk is set aside and named.
A rerun into the same reports folder reuses a finished result only when the
submission's content and the kit's version are those it was graded with
(:func:`grading.intake.regrade_reason`).
"""

import ast
import csv
import html
import io
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import nbformat

from . import course, package
from . import sandbox as sandbox_module
from .intake import IntakeError, assign_ids, intake, kit_version, regrade_reason, submission_digest
from .release import build_release, find_leaks, secret_lines
from .sandbox import Sandbox

# What in a student's own code deserves a human look (it costs no points). Read from the
# syntax tree, so a comment or a string that merely mentions these raises nothing.
SUSPICIOUS_EXITS = {
    ("os", "_exit"),
    ("os", "kill"),
    ("os", "killpg"),
    ("sys", "exit"),
    ("os", "abort"),
}
IPYTHON_HOOKS = {
    "events",
    "input_transformers_post",
    "input_transformers_cleanup",
    "ast_transformers",
    "run_cell",
    "set_custom_exc",
    "register_magic_function",
    "showtraceback",
    "_showtraceback",
    "set_hook",
}
READ_TARGETS = (".ipynb", "gradebook", ".db", "/proc", "expected.npz", "hidden_tests", "grading/")


def _dotted(node):
    """``"os._exit"`` for the expression ``os._exit``; None for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(parts)])
    if isinstance(node, ast.Call) and _dotted(node.func) == "get_ipython":
        return ".".join(["get_ipython()", *reversed(parts)])
    return None


def suspicious(text):
    """Review reasons for Python source ``text`` (IPython magics and shell lines are skipped)."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in text.splitlines()]
    try:
        tree = ast.parse("\n".join(lines))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name in (
            "__eq__",
            "__ne__",
            "__hash__",
            "__bool__",
        ):
            found.add(f"defines {node.name}")
        elif isinstance(node, (ast.Name, ast.Attribute)):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name in ("builtins", "__builtins__"):
                found.add("touches builtins")
            if name in ("__eq__", "__ne__") and isinstance(node.ctx, ast.Store):
                found.add(f"defines {name}")
            dotted = _dotted(node) or ""
            if (
                isinstance(node, ast.Attribute)
                and node.attr in IPYTHON_HOOKS
                and ("get_ipython" in dotted or "ip" in dotted.split(".")[0].lower())
            ):
                found.add("reaches into IPython")
            if dotted in ("nb.check", "nb.check_close") and isinstance(node.ctx, ast.Store):
                found.add("replaces a notebook check")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            if any(m.split(".")[0] in ("grading", "nbgrader") for m in modules):
                found.add("imports the grader")
            if any(m.split(".")[0] in ("builtins", "ctypes") for m in modules):
                found.add("touches builtins" if "builtins" in str(modules) else "loads native code")
        elif isinstance(node, ast.Call):
            dotted = _dotted(node.func) or ""
            if tuple(dotted.split(".")[-2:]) in SUSPICIOUS_EXITS or dotted.startswith("signal."):
                found.add("exits the kernel or sends signals")
            if (
                dotted in ("setattr",)
                and node.args
                and _dotted(node.args[0]) in ("builtins", "np", "numpy")
            ):
                found.add("touches builtins")
            for arg in node.args:
                if (
                    isinstance(arg, ast.Constant)
                    and isinstance(arg.value, str)
                    and any(t in arg.value for t in READ_TARGETS)
                ):
                    found.add("opens notebooks, the gradebook, /proc or the grader's files")
        if isinstance(node, ast.Assign):
            for target in node.targets:
                dotted = _dotted(target) or ""
                if dotted.split(".")[0] in ("np", "numpy") and "." in dotted:
                    found.add(f"rebinds {dotted}")
    return found


def _readable_by_others(path):
    """Whether a user who is neither the owner of ``path`` nor in its group can read it."""
    path = Path(path).resolve()
    try:
        if any(not os.stat(folder).st_mode & 0o001 for folder in path.parents):
            return False  # a folder on the way is closed to others
        return bool(os.stat(path).st_mode & 0o004)
    except OSError:
        return False


def open_secrets(kit=None):
    """The kit's files that hold answers (reference solutions, source notebooks, expected
    values, the notebook checks) and that any user of the machine, a sandbox user too,
    can read."""
    kit = Path(kit or course.KIT_ROOT)
    secrets = [
        *(kit / name for name in course.STUDENT_FILES),
        *sorted((kit / "notebooks").glob("*.ipynb")),
        kit / "grading" / "expected.npz",
        kit / "grading" / "notebook_checks.py",
    ]
    return [path for path in secrets if path.exists() and _readable_by_others(path)]


def warn_open_secrets(stream=None):
    """As root: say loudly if student code could read the kit's answers; return the paths."""
    found = open_secrets()
    if found:
        kit = course.KIT_ROOT
        print(
            f"WARNING: {len(found)} files of the kit that hold answers (e.g. "
            f"{found[0].relative_to(kit)}) are readable by every user of this machine, so a "
            "submission can read the reference solutions and expected values. Close them: "
            f"chmod -R go-rwx {kit / 'cs_loss'} {kit / 'notebooks'} {kit / 'grading'} "
            "(the virtual environment may stay open).",
            file=stream or sys.stderr,
        )
    return found


class GradedBatch(list):
    """The results of :func:`autograde` (a list, one dict per row), and what this run did.

    Attributes
    ----------
    reused : tuple of str
        Students whose finished result was kept (submission and kit unchanged).
    graded : dict of str to str
        Students graded in this run, each with why (``"new"``, ``"the submission changed"``...).
    not_graded : tuple of str
        Rows for rejected entries (not submissions, or unreadable).
    """

    def __init__(self, results, reused=(), graded=None, not_graded=()):
        super().__init__(results)
        self.reused = tuple(reused)
        self.graded = dict(graded or {})
        self.not_graded = tuple(not_graded)


def prepare(work_dir):
    """Build the release and the template course directory; return the template's path."""
    work_dir = Path(work_dir)
    template = work_dir / "course"
    build_release(work_dir / "release", keep_course=template)
    return template


def _scan_student_code(folder):
    """Flags for suspicious patterns in the student's answer cells and package files."""
    flags = []
    texts = {}
    for name in course.NOTEBOOKS:
        try:
            notebook = nbformat.read(Path(folder) / name, as_version=4)
        except Exception as exc:  # unreadable JSON: nbgrader will fail on it too
            flags.append(f"{name} is not a readable notebook: {exc}"[:200])
            continue
        texts[name] = "\n".join(
            c.source
            for c in notebook.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution", True)
        )
    for student_file in course.STUDENT_FILES:
        path = Path(folder) / student_file
        if path.is_file():
            texts[student_file] = path.read_text(errors="replace")
    for where, text in texts.items():
        for what in sorted(suspicious(text)):
            flags.append(f"review: {where} {what}")
    return flags


def _notebook_results(gradebook_url, autograded_dir, sid):
    """Per-cell grades from the gradebook, with reasons from the executed notebooks."""
    from nbgrader.api import Gradebook

    results = []
    with Gradebook(gradebook_url) as gb:
        submission = gb.find_submission(course.ASSIGNMENT, sid)
        for notebook in submission.notebooks:
            executed = Path(autograded_dir) / f"{notebook.name}.ipynb"
            reasons = {}
            if executed.is_file():
                for cell in nbformat.read(executed, as_version=4).cells:
                    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
                    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
                    if gid and errors:
                        error = errors[-1]
                        evalue = error.get("evalue", "")
                        reasons[gid] = (
                            f"{error['ename']}: {evalue}"
                            if evalue
                            else f"{error['ename']} (a hidden check failed)"
                        )
            for grade in notebook.grades:
                written = grade.cell.cell_type == "markdown"
                manual = bool(grade.needs_manual_grade)
                score = grade.score if not manual else 0.0
                if written:
                    output = "answered: needs manual grading" if manual else "no answer given"
                elif manual:
                    output = "needs manual grading"
                elif score < grade.max_score:
                    output = reasons.get(grade.name, "not passed")
                else:
                    output = "passed"
                results.append(
                    {
                        "name": f"{notebook.name}:{grade.name}",
                        "kind": "written" if written else "notebook",
                        "score": float(score or 0.0),
                        "max_score": float(grade.max_score),
                        "needs_manual_grade": manual,
                        "output": output[:500],
                    }
                )
    return results


def grade_one(template, submission_dir, sid, out_json, cell_timeout=120):
    """Grade one laid-out submission; write its result to ``out_json``. Runs in a worker.

    The package tests run first (their time is bounded by groups x their timeout),
    then nbgrader with what is left of the worker's budget, so a slow notebook
    never costs the package points. Student code runs in a :class:`Sandbox`.
    """
    start = time.perf_counter()
    budget = float(os.environ.get("CS_LOSS_WORKER_BUDGET", "600"))
    cell_timeout = float(os.environ.get("CS_LOSS_CELL_TIMEOUT", cell_timeout))
    slot = int(os.environ.get("CS_LOSS_SANDBOX_SLOT", "0"))
    result = {"student": sid, "tests": [], "flags": [], "error": None}
    box = Sandbox(tempfile.mkdtemp(prefix="cs_loss_box_"), slot=slot)
    # Exported notebook values go to a folder of the grader's, outside the student's tree
    # (which the student could rename or swap for a symlink): traversable, not listable.
    exports = Path(tempfile.mkdtemp(prefix="cs_loss_export_"))
    os.chmod(exports, 0o711)
    box.monitor.start()  # memory of all its processes together, and /proc reads
    try:
        _grade_in(box, template, submission_dir, sid, result, cell_timeout, start, budget, exports)
    finally:
        shutil.rmtree(exports, ignore_errors=True)  # first: the user's files there are expected
        result["flags"] += box.cleanup()
    if box.monitor.memory_stops:  # a kernel the monitor killed: say why it died
        for test in result["tests"]:
            if test["output"].startswith("KernelDied"):
                test["output"] = (
                    f"{test['output']}; the grader stopped it: {box.monitor.memory_reason}"
                )
    result["seconds"] = round(time.perf_counter() - start, 2)
    Path(out_json).write_text(json.dumps(result, indent=1))
    return result


def _grade_in(box, template, submission_dir, sid, result, cell_timeout, start, budget, exports):
    with tempfile.TemporaryDirectory(prefix="cs_loss_grade_") as tmp:
        os.chmod(tmp, 0o700)
        result["flags"] += _scan_student_code(submission_dir)
        result["tests"] += [
            {
                "name": f"cs_loss:{r.name}",
                "kind": "package",
                "score": r.score,
                "max_score": float(r.max_score),
                "needs_manual_grade": False,
                "output": r.output,
                "targets": list(r.targets),
                "mistakes": list(r.mistakes),
            }
            for r in package.run_package_tests(submission_dir, user=box.user, monitor=box.monitor)
        ]
        root = Path(tmp) / "course"
        shutil.copytree(
            template,
            root,
            ignore=shutil.ignore_patterns("submitted", "autograded", "feedback", "*.db"),
        )
        db_path = Path(tmp) / "gradebook.db"
        shutil.copy(Path(template) / "gradebook.db", db_path)
        flag_file = Path(tmp) / "flags.json"
        work = box.work
        # What is left of the budget goes to the notebooks, in equal shares (less a few
        # seconds each to start nbgrader and a kernel): a notebook that runs out costs its
        # own remaining cells, never another notebook or the package points above.
        remaining = budget - (time.perf_counter() - start) - 30
        notebook_seconds = max(
            10.0, (remaining - 10 * len(course.NOTEBOOKS)) / len(course.NOTEBOOKS)
        )
        owner = f"{box.user.pw_uid}:{box.user.pw_gid}" if box.user is not None else ""
        extra = course.GRADING_CONFIG.format(
            kit=str(course.KIT_ROOT),
            release_dir=str(root / "release" / course.ASSIGNMENT),
            flag_file=str(flag_file),
            sandbox=str(work),
            notebook_seconds=notebook_seconds,
            export_dir=str(exports),
            export_owner=owner,
        )
        course.write_config(root, cell_timeout=cell_timeout, extra=extra, db_path=db_path)
        submitted = root / "submitted" / sid / course.ASSIGNMENT
        shutil.copytree(submission_dir, submitted)
        # The kernel's folder: the student's package and the data script, nothing else.
        shutil.copytree(Path(submission_dir) / "cs_loss", work / "cs_loss")
        shutil.copytree(root / "source" / course.ASSIGNMENT / "data", work / "data")
        box.give()
        env = {"NBGRADER_EXECUTION": "autograde"}
        if box.user is not None:
            jupyter = Path(tmp) / "jupyter"
            box.install_kernelspec(jupyter)
            env.update(JUPYTER_PATH=str(jupyter))
            env[sandbox_module.SPEC_VARIABLE] = box.spec()
        try:
            if remaining < 3 * len(course.NOTEBOOKS):
                raise course.NbgraderError("no time left for the notebooks after the package tests")
            course.nbgrader(
                root,
                "autograde",
                course.ASSIGNMENT,
                "--student",
                sid,
                "--create",
                "--force",
                env_extra=env,
                timeout=remaining,
            )
            result["tests"] += _notebook_results(
                f"sqlite:///{db_path}", root / "autograded" / sid / course.ASSIGNMENT, sid
            )
        except course.NbgraderError as exc:
            result["error"] = f"notebook grading failed: {str(exc).splitlines()[0]}"
            result["tests"] += _blank_notebook_results(root, str(exc))
        if flag_file.is_file():
            try:
                for name, messages in json.loads(flag_file.read_text()).items():
                    result["flags"] += [f"{name}: {m}" for m in messages]
            except ValueError:
                pass


def _blank_notebook_results(root, reason):
    """Every notebook test as 0 points, with the reason, when nbgrader itself failed."""
    results = []
    for name in course.NOTEBOOKS:
        notebook = nbformat.read(root / "source" / course.ASSIGNMENT / name, as_version=4)
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                written = cell.cell_type == "markdown"
                results.append(
                    {
                        "name": f"{Path(name).stem}:{meta['grade_id']}",
                        "kind": "written" if written else "notebook",
                        "score": 0.0,
                        "max_score": float(meta["points"]),
                        "needs_manual_grade": False,
                        "output": f"not graded: {(reason.splitlines() or [''])[0][:200]}",
                    }
                )
    return results


def _limits(memory_bytes):
    def apply():
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))

    return apply


def _slot_lock_dir():
    """The grader's own folder of slot lock files (created 0700; refused if anyone else's)."""
    folder = Path(tempfile.gettempdir()) / f"cs_loss_slots_{os.geteuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(folder)
    if not os.path.isdir(folder) or os.path.islink(folder) or info.st_uid != os.geteuid():
        raise RuntimeError(f"{folder} is not a folder of this user's: remove it and grade again")
    return folder


def _claim_slot():
    """The smallest worker slot that no grader on this machine holds: ``(slot, lock file)``.

    A slot picks the sandbox user, and a sandbox kills every process of its user
    when it starts and ends, so two graders at once (two ``autograde`` commands,
    or Gradescope runs side by side) must never share one: each holds an
    exclusive ``flock`` on its slot's file while it grades. The lock dies with
    the process that holds it.
    """
    import fcntl

    folder = _slot_lock_dir()
    for slot in itertools.count():
        handle = open(folder / f"{slot}.lock", "a")  # noqa: SIM115 (held until released)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return slot, handle


def run_worker(template, laid_out, sid, out_json, timeout, memory_bytes, cell_timeout=120):
    """``grade_one`` in a child process with a wall-clock and memory limit.

    The child runs in an empty folder (not the kit) and holds a worker slot (the
    smallest one free on this machine, see :func:`_claim_slot`), which picks its
    sandbox user; after a timeout every process of that user is killed.
    """
    slot, lock = _claim_slot()
    try:
        return _run_worker(
            template, laid_out, sid, out_json, timeout, memory_bytes, slot, cell_timeout
        )
    finally:
        lock.close()  # releases the flock


def _run_worker(template, laid_out, sid, out_json, timeout, memory_bytes, slot, cell_timeout=120):
    code = (
        "import sys; sys.path.insert(0, sys.argv.pop(1)); from grading.__main__ import main; "
        "sys.exit(main(sys.argv[1:]))"
    )
    cmd = [
        sys.executable,
        "-I",
        "-c",
        code,
        str(course.KIT_ROOT),
        "_grade_one",
        str(template),
        str(laid_out),
        sid,
        str(out_json),
    ]
    # No PYTHONPATH: it would reach the student's kernel, and with it the kit's hidden tests.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        CS_LOSS_SANDBOX_SLOT=str(slot),
        CS_LOSS_WORKER_BUDGET=str(timeout),
        CS_LOSS_CELL_TIMEOUT=str(cell_timeout),
    )
    if sandbox_module.can_switch_users() and sandbox_module.python_usable(
        sandbox_module.ensure_user(slot)
    ):
        env[sandbox_module.PROBED_VARIABLE] = sys.executable  # the worker need not probe again
    with tempfile.TemporaryDirectory(prefix="cs_loss_worker_") as cwd:
        process = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            preexec_fn=_limits(memory_bytes),
        )
        try:
            log, _ = process.communicate(timeout=timeout + 60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)  # the worker, nbgrader and the kernels it started
            if sandbox_module.can_switch_users():
                sandbox_module.kill_user(sandbox_module.ensure_user(slot).pw_uid)
            process.kill()
            process.wait()
            return {
                "student": sid,
                "tests": [],
                "flags": [],
                "error": f"grading stopped after the time limit of {timeout:.0f} s",
            }
    try:
        return json.loads(Path(out_json).read_text())
    except (OSError, ValueError):
        tail = " | ".join(log.strip().splitlines()[-3:])[:300]
        return {
            "student": sid,
            "tests": [],
            "flags": [],
            "error": f"the grading worker died (exit code {process.returncode}): {tail}",
        }


def complete(result, template_tests):
    """Make sure every test appears in a result (0 points, with the reason) even after a crash."""
    have = {t["name"] for t in result["tests"]}
    for test in template_tests:
        if test["name"] not in have:
            result["tests"].append(dict(test, score=0.0, output=f"not graded: {result['error']}"))
    auto = [t for t in result["tests"] if t["kind"] != "written"]
    result["auto_score"] = sum(t["score"] for t in auto)
    result["auto_max"] = sum(t["max_score"] for t in auto)
    result["manual_max"] = sum(t["max_score"] for t in result["tests"] if t["kind"] == "written")
    result["manual_pending"] = sum(1 for t in result["tests"] if t["needs_manual_grade"])
    return result


def all_tests(template):
    """Every test of the assignment, with its points (the report's rows)."""
    tests = [{**t, "score": 0.0} for t in _blank_notebook_results(template, "")]
    for _group, name, points, targets, _modules in package.TESTS:
        tests.append(
            {
                "name": f"cs_loss:{name}",
                "kind": "package",
                "score": 0.0,
                "max_score": float(points),
                "needs_manual_grade": False,
                "output": "",
                "targets": list(targets),
            }
        )
    return tests


def autograde(
    submissions,
    out_dir,
    workers=2,
    timeout=600,
    memory_bytes=6 * 2**30,
    progress=True,
    work_dir=None,
    cell_timeout=120,
    rejected=(),
    regrade=False,
):
    """Grade ``submissions`` (folders or zips); write the reports to ``out_dir``.

    ``work_dir`` may hold a template already made by :func:`prepare`; it is
    built there (or in a temporary folder) otherwise. ``timeout`` is the whole
    budget of one submission (package tests first, then the notebooks in equal
    shares of what is left); ``cell_timeout`` limits one notebook cell.

    A submission graded before into ``out_dir`` (``finished/<student>.json``) keeps
    its result only when its content and the kit are unchanged (:func:`regrade_reason`);
    ``regrade=True`` grades every one again.

    Parameters
    ----------
    rejected : sequence of Entry
        Uploads that are not graded (see :func:`expand_submissions`): each gets a row
        with 0 points and ``entry.reason`` as its grading problem, after the submissions.

    Returns
    -------
    GradedBatch
        One result per submission, in the order given, then one per rejected entry
        (``"graded": False``, as for an upload intake could not read); it also says which
        were reused and which graded, and why. ``feedback/`` then holds one page per row:
        pages of earlier runs' rows that are not rows now are removed.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    submissions, rejected = [Path(p) for p in submissions], list(rejected)
    if not sandbox_module.can_switch_users():
        sandbox_module.warn_not_root()
    else:
        if not sandbox_module.python_usable(sandbox_module.ensure_user(0)):
            sandbox_module.warn_python_unusable()
        warn_open_secrets()  # reports and the work folder (template, gradebook, intake) are the grader's alone
        os.chmod(out_dir, 0o700)
        if work_dir:
            Path(work_dir).mkdir(parents=True, exist_ok=True)
            os.chmod(work_dir, 0o700)
    with tempfile.TemporaryDirectory(prefix="cs_loss_autograde_") as tmp:
        work = Path(work_dir) if work_dir else Path(tmp)
        template = work / "course"
        if not (template / "gradebook.db").is_file():
            template = prepare(work)
        stub_dir = work / "release" / course.ASSIGNMENT
        tests = all_tests(template)
        # Student ids over every row, so a rejected entry never takes a submission's id.
        order, id_notes = assign_ids(submissions + [entry.path for entry in rejected])
        done_dir = out_dir / "finished"  # one result per row: a rerun reuses unchanged ones
        done_dir.mkdir(exist_ok=True)
        secrets = grader_secrets()
        kit = kit_version()
        jobs, results, reused, graded = [], {}, [], {}

        def finish(sid, result):
            results[sid] = redact(complete(result, tests), secrets)
            _write_atomic(done_dir / f"{sid}.json", json.dumps(results[sid], indent=1))
            write_reports([results[s] for s in order if s in results], out_dir)

        graded_ids, graded_notes = order[: len(submissions)], id_notes[: len(submissions)]
        for submission, sid, note in zip(submissions, graded_ids, graded_notes, strict=True):
            digest, saved = submission_digest(submission), _load_finished(done_dir / f"{sid}.json")
            why = "--regrade" if regrade else regrade_reason(saved, digest, kit)
            if why is None:
                results[sid] = saved
                reused.append(sid)
                continue
            graded[sid] = why
            stamp = {"submission_digest": digest, "kit_version": kit}
            laid_out = work / "intake" / sid
            shutil.rmtree(laid_out, ignore_errors=True)  # nothing of an earlier upload stays
            try:
                flags = intake(submission, laid_out, stub_dir)
            except Exception as exc:  # noqa: BLE001 - one bad upload never stops the batch
                shutil.rmtree(laid_out, ignore_errors=True)
                reason = str(exc) if isinstance(exc, IntakeError) else type(exc).__name__
                finish(
                    sid,
                    {
                        "student": sid,
                        "tests": [],
                        "flags": [note] if note else [],
                        "error": f"could not read the submission: {reason}",
                        "graded": False,
                        **stamp,
                    },
                )
                continue
            jobs.append((sid, laid_out, ([note] if note else []) + flags, stamp))
        for entry, sid, note in zip(
            rejected, order[len(submissions) :], id_notes[len(submissions) :], strict=True
        ):
            finish(
                sid,
                {
                    "student": sid,
                    "tests": [],
                    "flags": [note] if note else [],
                    "error": entry.reason,
                    "graded": False,
                    "submission_digest": submission_digest(entry.path),
                    "kit_version": kit,
                },
            )
        bar = None
        if progress and jobs:
            from tqdm import tqdm

            bar = tqdm(total=len(jobs), desc="grading", unit=" submissions", file=sys.stdout)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = {
                pool.submit(
                    run_worker,
                    template,
                    laid_out,
                    sid,
                    work / f"{sid}.json",
                    timeout,
                    memory_bytes,
                    cell_timeout,
                ): (sid, flags, stamp)
                for sid, laid_out, flags, stamp in jobs
            }
            for future in as_completed(futures):
                sid, flags, stamp = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - the batch goes on
                    result = {
                        "student": sid,
                        "tests": [],
                        "flags": [],
                        "error": f"grading failed ({type(exc).__name__})",
                    }
                result["flags"] = flags + result.get("flags", [])
                finish(sid, {**result, **stamp})
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
        ordered = GradedBatch(
            [results[s] for s in order],
            reused=reused,
            graded=graded,
            not_graded=order[len(submissions) :],
        )
        write_reports(ordered, out_dir)
        for page in (out_dir / "feedback").glob("*.html"):
            if page.stem not in results:  # an earlier run's row (a renamed or removed upload)
                page.unlink()
        for leak in find_leaks(out_dir / "feedback", secret_lines()):
            # Redaction happens before writing; this is the last line of defence.
            page = out_dir / "feedback" / leak.split(":", 1)[0]
            if page.is_file():
                page.write_text(
                    "<!doctype html><p>This page was withheld: ask your instructor.</p>"
                )
    return ordered


def _load_finished(path):
    """A finished result saved by an earlier run, or None (none, or not readable)."""
    try:
        saved = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return saved if isinstance(saved, dict) and "tests" in saved else None


# Text written to reports: no surrogates, no spreadsheet formulas.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def clean_text(text):
    """``text`` as valid UTF-8 (undecodable characters replaced)."""
    return str(text).encode("utf-8", "replace").decode("utf-8")


def csv_cell(value):
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    if not isinstance(value, str):
        return value
    value = clean_text(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def grader_secrets():
    """Lines whose appearance in a report would leak: solutions, hidden tests, trusted checks."""
    secrets = {line for line in secret_lines() if len(line) >= 16}
    for name in (
        "hidden_tests.py",
        "hidden_support.py",
        "notebook_checks.py",
        "notebook_answers.py",
        "notebook_exports.py",
        "kernel_export.py",
    ):
        for line in (Path(__file__).parent / name).read_text().splitlines():
            line = line.strip()
            if len(line) >= 24 and not line.startswith(("#", '"', "'", 'f"', "return False")):
                secrets.add(line)
    return secrets


def redact(result, secrets):
    """``result`` with every text cleaned and any text quoting the grader's code withheld."""

    def safe(text):
        text = clean_text(text)
        if any(
            marker in text
            for marker in ("BEGIN HIDDEN", "END HIDDEN", "BEGIN SOLUTION", "END SOLUTION")
        ):
            return "(message withheld: it quoted the grader's code)"
        if any(secret in text for secret in secrets):
            return "(message withheld: it quoted the grader's code)"
        return text

    for test in result["tests"]:
        test["output"] = safe(test.get("output", ""))
    result["flags"] = [safe(flag) for flag in result.get("flags", [])]
    if result.get("error"):
        result["error"] = safe(result["error"])
    result["student"] = clean_text(result["student"])
    return result


def _write_atomic(path, text, newline=None):
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8", errors="replace", newline=newline) as f:
        f.write(text)
    os.replace(tmp, path)


def write_reports(results, out_dir):
    """grades.csv (one row per student and test), totals.csv, grades.json, feedback/*.html.

    Each file is replaced atomically, so a killed grader leaves whole files.
    """
    out_dir = Path(out_dir)
    f = io.StringIO()
    writer = csv.writer(f, quoting=csv.QUOTE_ALL)
    writer.writerow(
        ["student", "test", "kind", "score", "max_score", "needs_manual_grade", "output"]
    )
    for result in results:
        for test in result["tests"]:
            writer.writerow(
                [
                    csv_cell(v)
                    for v in (
                        result["student"],
                        test["name"],
                        test["kind"],
                        test["score"],
                        test["max_score"],
                        test["needs_manual_grade"],
                        test["output"],
                    )
                ]
            )
    _write_atomic(out_dir / "grades.csv", f.getvalue(), newline="")
    f = io.StringIO()
    writer = csv.writer(f, quoting=csv.QUOTE_ALL)
    writer.writerow(
        [
            "student",
            "auto_score",
            "auto_max",
            "manual_max",
            "manual_pending",
            "needs_review",
            "flags",
            "error",
        ]
    )
    for r in results:
        review = bool(r["error"]) or any(
            fl.startswith("review")
            or "edited" in fl
            or "deleted" in fl
            or "tags" in fl
            or "not found by id" in fl
            for fl in r["flags"]
        )
        writer.writerow(
            [
                csv_cell(v)
                for v in (
                    r["student"],
                    r["auto_score"],
                    r["auto_max"],
                    r["manual_max"],
                    r["manual_pending"],
                    review,
                    " | ".join(r["flags"]),
                    r["error"] or "",
                )
            ]
        )
    _write_atomic(out_dir / "totals.csv", f.getvalue(), newline="")
    _write_atomic(out_dir / "grades.json", json.dumps(results, indent=1))
    feedback = out_dir / "feedback"
    feedback.mkdir(exist_ok=True)
    for result in results:
        _write_atomic(feedback / f"{result['student']}.html", feedback_html(result))


def feedback_html(result):
    """A student's feedback page: each check, its points and why it failed; no test code."""
    rows = "\n".join(
        f"<tr class='{'manual' if t['kind'] == 'written' else 'ok' if t['score'] >= t['max_score'] else 'fail'}'>"
        f"<td>{html.escape(t['name'])}</td><td>{t['score']:g} / {t['max_score']:g}</td>"
        f"<td>{html.escape(t['output'])}</td></tr>"
        for t in result["tests"]
    )
    notes = "".join(f"<li>{html.escape(f)}</li>" for f in result["flags"])
    error = f"<p class='fail'>{html.escape(result['error'])}</p>" if result["error"] else ""
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Feedback: {html.escape(result["student"])}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td{{padding:.2em .6em;vertical-align:top}}
.ok td:nth-child(2){{color:#080}}.fail td:nth-child(2),.fail{{color:#b00}}.manual td:nth-child(2){{color:#666}}</style>
</head><body><h1>Feedback for {html.escape(result["student"])}</h1>
<p>Automatically graded: <b>{result["auto_score"]:g} / {result["auto_max"]:g}</b> points;
{result["manual_max"]:g} more points are graded by hand.</p>{error}
{"<h2>Notes</h2><ul>" + notes + "</ul>" if notes else ""}
<table><tr><th>check</th><th>points</th><th>result</th></tr>
{rows}
</table></body></html>
"""

"""Gradescope: the autograder zip, and what ``run_autograder`` runs inside it.

``python -m grading gradescope`` writes ``autograder.zip`` with ``setup.sh`` and
``run_autograder`` at its root and the kit beside them. On Gradescope,
``setup.sh`` installs the requirements, creates an unprivileged ``student``
user and builds the release once; ``run_autograder`` grades the upload in
``/autograder/submission`` with exactly the pipeline of ``python -m grading
autograde`` (the same hidden tests, notebook and package ones) and writes
``/autograder/results/results.json`` in Gradescope's format: per-test
``name``, ``score``, ``max_score``, ``output``, ``visibility``, and
``execution_time``. It writes that file whatever happens: a crash or a hang
of the submission, a missing file, or a failure of the grader itself.

Written answers are graded by hand on Gradescope from the PDF, so they are not
in the autograder's results.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import traceback
import zipfile
from pathlib import Path
from typing import Any

from . import autograde as ag
from . import course, intake
from .results import SubmissionResult

# setup.sh and run_autograder are real shell scripts, read by tests and linters as they are;
# they take what varies from the environment (AUTOGRADER_ROOT, CS_LOSS_*), nothing is spliced in.
SCRIPTS_DIR = Path(__file__).resolve().with_name("gradescope_files")
SCRIPTS = ("setup.sh", "run_autograder")
KIT_PARTS = ("cs_loss", "notebooks", "data/get_datasets.py", "grading", "requirements.txt")
# A regular file with rwxr-xr-x: Gradescope's unzip keeps this, so the scripts run as they are.
EXECUTABLE_MODE = 0o100755 << 16


def build_autograder(out_dir: str | Path) -> Path:
    """Write ``out_dir/autograder.zip``; returns its path.

    Only that one file is written: a folder that already holds other files keeps them.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    zip_path = out_dir / "autograder.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in SCRIPTS:
            info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
            info.external_attr = EXECUTABLE_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (SCRIPTS_DIR / name).read_bytes())
        for part in KIT_PARTS:
            path = course.KIT_ROOT / part
            files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
            for file in files:
                if "__pycache__" in file.parts or file.suffix == ".pyc":
                    continue
                archive.write(file, file.relative_to(course.KIT_ROOT))
    return zip_path


def to_results(result: SubmissionResult, elapsed: float) -> dict[str, Any]:
    """A grading result in Gradescope's results.json format (written answers left out)."""
    return result.gradescope_dict(elapsed)


def failure_results(reason: str, elapsed: float) -> dict[str, Any]:
    """Gradescope's results.json when the grader itself failed: 0 points, and why."""
    return {
        "score": 0.0,
        "execution_time": round(elapsed, 1),
        "tests": [],
        "output": f"The autograder could not grade this submission: {reason}. "
        "Your instructor has been told; nothing was lost.",
    }


def _write_results(path: Path, payload: dict) -> None:
    """Replace ``results.json`` atomically (root-owned; the student's user cannot write it)."""
    tmp = path.with_name(".results.json.tmp")
    tmp.write_text(json.dumps(payload, indent=1), encoding="utf-8", errors="replace")
    tmp.replace(path)


def run(root: str | Path, work: str | Path, timeout: float = 900) -> dict:
    """Grade ``root/submission`` into ``root/results/results.json``; never raises.

    A provisional zero result is written first, so a grader killed half-way still
    leaves a valid results.json. Student code runs in the sandbox (another user when
    this runs as root, as on Gradescope), so it cannot reach this process or the file.
    """
    start = time.perf_counter()
    root = Path(root)
    results_path = root / "results" / "results.json"
    results_path.parent.mkdir(parents=True, exist_ok=True)
    _write_results(results_path, failure_results("grading did not finish", 0.0))
    try:
        template = Path(work) / "course"
        if not (template / "gradebook.db").is_file():
            template = ag.prepare(work)
        source, problem = upload_source(root / "submission")
        with tempfile.TemporaryDirectory(prefix="gradescope_") as tmp:
            laid_out = Path(tmp) / "submission"
            try:
                if problem:
                    raise intake.IntakeError(problem)
                flags = intake.intake(source, laid_out, Path(work) / "release" / course.ASSIGNMENT)
            except Exception as exc:  # noqa: BLE001 - an unreadable upload is graded as nothing
                reason = str(exc) if isinstance(exc, intake.IntakeError) else type(exc).__name__
                if source.is_file() and reason == intake.UNREADABLE_ZIP:
                    reason = f"your upload is {reason}"
                result = SubmissionResult(
                    student="student", error=f"could not read the submission: {reason}"
                )
            else:
                result = ag.run_worker(
                    template,
                    laid_out,
                    "student",
                    Path(tmp) / "result.json",
                    timeout=timeout,
                    memory_bytes=6 * 2**30,
                    fork_server=False,  # one upload: a fork server would cost more than it saves
                )
                result = result.with_flags(flags, first=True)
        result = ag.redact(ag.complete(result, ag.all_tests(template)), ag.grader_secrets())
        payload = to_results(result, time.perf_counter() - start)
    except BaseException as exc:  # the grader's own failure must still produce results
        reason = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
        payload = failure_results(ag.clean_text(reason[:300]), time.perf_counter() - start)
    _write_results(results_path, payload)
    return payload


EXPECTED_UPLOAD = (
    "upload submission.zip (written by collect_submission.py), or your three "
    "notebooks and your cs_loss files"
)


def upload_source(submission: str | Path) -> tuple[Path, str | None]:
    """What to grade in Gradescope's ``submission`` folder: ``(path, problem)``.

    A single upload that is a zip (by name or by its ``PK`` start) is unpacked, even one
    that turns out unreadable (intake then says so); a single notebook, or several files,
    are graded as they are, unless one of them is a zip that cannot be read (``problem``
    says so); a single file of any other kind is refused with ``problem`` saying what was
    expected. OS junk (hidden files, ``__MACOSX``) is not counted.
    """
    submission = Path(submission)
    uploads = sorted(submission.iterdir()) if submission.is_dir() else []
    uploads = [p for p in uploads if not intake.is_os_junk(p.name)]
    if len(uploads) == 1 and uploads[0].is_file() and not uploads[0].is_symlink():
        upload = uploads[0]
        if zipfile.is_zipfile(upload) or intake.looks_like_zip(upload):
            return upload, None
        if not upload.name.lower().endswith(".ipynb"):
            return submission, (
                f"your upload is {upload.name!r}, which is neither a zip file nor "
                f"a notebook: {EXPECTED_UPLOAD}"
            )
    for upload in uploads:  # several files, one of them a zip that cannot be read
        if upload.is_file() and intake.looks_like_zip(upload) and intake.zip_problem(upload):
            return submission, (f"your upload {upload.name!r} is {intake.zip_problem(upload)}")
    return submission, None


def prepare(work: str | Path) -> Path:
    """Build the template once (setup.sh); later runs reuse it."""
    work = Path(work)
    if work.exists():
        shutil.rmtree(work)
    return ag.prepare(work)

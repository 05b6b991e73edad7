"""Build the student release: notebooks without solutions or hidden tests, stubbed package."""

from __future__ import annotations

import ast
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import nbformat

from . import course, exercises
from .markers import (
    MarkerError,
    find_regions,
    kit_regions,
    missing_todo_blocks,
    solution_lines,
    strip_file,
    stub_line,
)

STUDENT_README = """\
# The loss-functions assignment

1. Upload this whole folder to your Google Drive (My Drive), or unzip it on your computer
   (then, in the folder: pip install -r requirements.txt, and jupyter lab).
2. Open knn.ipynb, then svm.ipynb, then softmax.ipynb (in Colab: right-click, Open with,
   Google Colaboratory). Run the first cell of each: it finds this folder by itself.
3. Complete the functions marked TODO in cs_loss/*.py and the cells marked YOUR CODE HERE.
   Each notebook checks your work as you go.
4. To submit: run each notebook from the top (Runtime > Restart and run all), save it, then run
   python collect_submission.py   (in Colab, in a cell: !python collect_submission.py)
   It checks that nothing is missing and writes submission.zip (upload it) and
   submission_html/ (print these pages to PDF for the written answers).

CIFAR-10 is downloaded by the notebooks the first time (or run: python data/get_datasets.py).
"""


#: The release's requirements.txt: what the notebooks and the student's scripts import, and
#: Jupyter; no grading or test tool (the kit's own requirements.txt has those).
STUDENT_REQUIREMENTS = Path(__file__).with_name("student_requirements.txt")


class ReleaseError(RuntimeError):
    """The release cannot be built as asked; the message says what to do."""


# Written into the out folder by build_release: only a folder holding it may be rebuilt.
OUT_MARKER = ".cs_loss_release"


def check_sources(kit_root: str | os.PathLike | None = None) -> int:
    """Check every solution marker and TODO block of the kit before building.

    Returns the number of regions. Raises MarkerError naming ``file:line`` for a
    malformed marker or a region without a TODO block (``# TODO:``, ``# Set:``,
    ``# Hint:`` just above ``### BEGIN SOLUTION``), which students would see as
    a stub with no task.
    """
    kit_root = Path(kit_root or course.KIT_ROOT)
    count = 0
    problems = []
    for path in sorted(kit_root.glob(course.PACKAGE_GLOB)):
        text = path.read_text()
        count += len(find_regions(text, f"cs_loss/{path.name}"))
        problems += missing_todo_blocks(text, f"cs_loss/{path.name}")
    if problems:
        raise MarkerError("\n".join(problems))
    return count


def _prepare_out_dir(out_dir):
    """Make ``out_dir`` ready for a release, deleting only what an earlier release wrote there.

    A folder that does not exist or is empty is used; a non-empty folder is used
    only if it holds :data:`OUT_MARKER` (written by an earlier build), and then
    only the entries that build listed are removed.
    """
    out_dir = Path(out_dir)
    marker = out_dir / OUT_MARKER
    if out_dir.exists() and not out_dir.is_dir():
        raise ReleaseError(f"--out {out_dir} is a file, not a folder: give a new folder's name.")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not marker.is_file():
        raise ReleaseError(
            f"--out {out_dir} is not empty and was not made by 'python -m grading release', so "
            "nothing in it is deleted or overwritten. Give a new or empty folder, e.g. "
            f"--out {out_dir / 'release'}."
        )
    if marker.is_file():
        for name in json.loads(marker.read_text()).get("wrote", []):
            target = out_dir / name
            if Path(name).name != name or name in ("", ".", ".."):
                continue  # only plain entries of out_dir, never a path elsewhere
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    wrote = [course.ASSIGNMENT, f"{course.ASSIGNMENT}.zip"]
    marker.write_text(json.dumps({"made_by": "python -m grading release", "wrote": wrote}) + "\n")
    return out_dir


def build_release(
    out_dir: str | os.PathLike,
    keep_course: str | os.PathLike | None = None,
    kit_root: str | os.PathLike | None = None,
) -> Path:
    """Build ``out_dir/loss`` (the student folder) and ``out_dir/loss.zip``.

    Parameters
    ----------
    out_dir : path
        Where the release goes. It must be new, empty, or made by an earlier
        release (which holds the file ``.cs_loss_release``); only what that
        release wrote is replaced.
    keep_course : path, optional
        Build the nbgrader course directory here (kept, for autograding) instead
        of in a temporary folder.
    kit_root : path, optional
        The kit to release (``notebooks/``, ``cs_loss/``, ``data/``); this kit
        by default.

    Returns
    -------
    pathlib.Path
        The release folder.

    Raises
    ------
    MarkerError
        A malformed marker or a region without its TODO block (``file:line``).
    ReleaseError
        ``out_dir`` holds files of its own; or the built release leaks a
        solution, keeps an unused import, or has no stub for a region.
    """
    kit_root = Path(kit_root or course.KIT_ROOT)
    check_sources(kit_root)
    out_dir = _prepare_out_dir(out_dir)  # before the slow part: a refusal comes at once
    with tempfile.TemporaryDirectory(prefix="cs_loss_course_") as tmp:
        root = Path(keep_course) if keep_course else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        course.write_source(root, kit_root)
        course.write_config(root)
        course.nbgrader(root, "generate_assignment", course.ASSIGNMENT, "--force")
        built = root / "release" / course.ASSIGNMENT
        for path in sorted((built / "cs_loss").glob("*.py")):
            strip_file(path, f"cs_loss/{path.name}")
        (built / "README.md").write_text(STUDENT_README)
        shutil.copy(
            Path(__file__).with_name("collect_submission.py"), built / "collect_submission.py"
        )
        write_manifest(built, kit_root)
        shutil.copy(STUDENT_REQUIREMENTS, built / "requirements.txt")
        release = out_dir / course.ASSIGNMENT
        shutil.copytree(built, release, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    make_zip(release, out_dir / f"{course.ASSIGNMENT}.zip")
    problems = find_leaks(release, secret_lines(kit_root)) + release_problems(release, kit_root)
    if problems:
        raise ReleaseError("the release is not fit to ship:\n" + "\n".join(problems))
    return release


def unused_imports(text: str, filename: str = "<string>") -> list[str]:
    """``file:line: ...`` for each name a module imports and never uses (read with ``ast``).

    Names listed in ``__all__`` count as used (re-exports).
    """
    tree = ast.parse(text, filename)
    imported = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                continue
            for alias in node.names:
                if alias.name == "*":
                    continue
                name = alias.asname or alias.name.split(".")[0]
                imported.setdefault(name, node.lineno)
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    exported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", "") == "__all__" for t in node.targets
        ):
            exported |= {c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant)}
    is_init = Path(filename).name == "__init__.py"
    return [
        f"{filename}:{line}: imports {name!r} but never uses it"
        for name, line in sorted(imported.items(), key=lambda item: item[1])
        if name not in used and name not in exported and not is_init
    ]


BANNED_WORDS = ("faster",)  # speed talk belongs in benchmarks, not in what students read


def release_problems(
    release: str | os.PathLike, kit_root: str | os.PathLike | None = None
) -> list[str]:
    """What makes a built release unfit to ship, as ``file:line: ...`` sentences.

    Checks the released ``.py`` files for unused imports, every text file for
    the words of :data:`BANNED_WORDS`, and that each region of the kit became
    exactly its stub line (with its TODO block above it) in the released file.
    """
    release = Path(release)
    problems = []
    for path in sorted(release.rglob("*")):
        if not path.is_file() or path.suffix not in (".py", ".ipynb", ".md", ".txt", ".json"):
            continue
        name = path.relative_to(release).as_posix()
        text = path.read_text(errors="replace")
        if path.suffix == ".py":
            problems += unused_imports(text, name)
        for number, line in enumerate(text.splitlines(), start=1):
            for word in BANNED_WORDS:
                if word in line.lower():
                    problems.append(
                        f"{name}:{number}: contains the word {word!r}: {line.strip()[:70]!r}"
                    )
    kit_root = Path(kit_root or course.KIT_ROOT)
    expected = {}
    for file_name, region in kit_regions(kit_root / "cs_loss").values():
        expected.setdefault(f"cs_loss/{file_name}", []).append(
            stub_line(region, f"cs_loss/{file_name}")
        )
    for name, stubs in expected.items():
        path = release / name
        lines = path.read_text().splitlines() if path.is_file() else []
        for stub in dict.fromkeys(stubs):
            found = [n for n, line in enumerate(lines) if line == stub]
            if len(found) != stubs.count(stub):
                problems.append(
                    f"{name}: has {len(found)} of the {stubs.count(stub)} stub line(s) "
                    f"{stub.strip()!r}"
                )
            for n in found:
                if n == 0 or not lines[n - 1].strip().startswith("#"):
                    problems.append(f"{name}:{n + 1}: the stub has no TODO block above it")
    return problems


def write_manifest(release: str | os.PathLike, kit_root: str | os.PathLike | None = None) -> Path:
    """``.assignment_manifest.json`` (see :func:`grading.exercises.manifest`)."""
    return exercises.write_manifest(release, Path(kit_root or course.KIT_ROOT) / "cs_loss")


def make_zip(folder: str | os.PathLike, zip_path: str | os.PathLike) -> str | os.PathLike:
    """Zip ``folder`` into ``zip_path``, its files under the folder's own name."""
    folder = Path(folder)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, Path(folder.name) / path.relative_to(folder))
    return zip_path


def secret_lines(kit_root: str | os.PathLike | None = None) -> set[str]:
    """Lines that must never reach a student: solution code and hidden tests, kit-wide."""
    kit_root = Path(kit_root or course.KIT_ROOT)
    secrets = set()
    public = set()  # lines that also stand outside the regions (given code) are not secrets
    for path in sorted(kit_root.glob(course.PACKAGE_GLOB)):
        text = path.read_text()
        secrets.update(solution_lines(text, path.name))
        inside = {n for r in find_regions(text, path.name) for n in range(r.begin, r.end + 1)}
        public.update(
            line.strip() for n, line in enumerate(text.splitlines(), 1) if n not in inside
        )
    for name in course.NOTEBOOKS:
        notebook = nbformat.read(kit_root / "notebooks" / name, as_version=4)
        for cell in notebook.cells:
            for begin, end in [
                ("### BEGIN SOLUTION", "### END SOLUTION"),
                ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"),
            ]:
                inside = False
                for line in cell.source.splitlines():
                    if line.strip() == begin:
                        inside = True
                    elif line.strip() == end:
                        inside = False
                    elif inside and len(line.strip()) >= 12 and not line.strip().startswith("#"):
                        secrets.add(line.strip())
    return secrets - public


def find_leaks(folder: str | os.PathLike, secrets: set[str] | None = None) -> list[str]:
    """Files under ``folder`` (zips included) that contain a secret line or marker."""
    secrets = secret_lines() if secrets is None else secrets
    markers = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
    leaks = []

    def scan(name, text):
        for marker in markers:
            if marker in text:
                leaks.append(f"{name}: contains the marker {marker!r}")
        stripped = {line.strip() for line in text.splitlines()}
        for line in sorted(secrets & stripped):
            leaks.append(f"{name}: contains the solution line {line[:60]!r}")

    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    scan(f"{path.name}:{member}", archive.read(member).decode("utf-8", "replace"))
        else:
            scan(str(path.relative_to(folder)), path.read_text(errors="replace"))
    return leaks

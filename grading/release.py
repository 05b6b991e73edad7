"""Build the student release: notebooks without solutions or hidden tests, stubbed package."""

import json
import shutil
import tempfile
import zipfile
from pathlib import Path

import nbformat

from . import course
from .markers import find_regions, solution_lines, strip_file

STUDENT_README = """\
# The loss-functions assignment

1. Upload this whole folder to your Google Drive (My Drive), or unzip it on your computer.
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


def check_sources():
    """Check every solution marker of the kit before building; MarkerError names file and line."""
    count = 0
    for path in sorted(course.KIT_ROOT.glob(course.PACKAGE_GLOB)):
        count += len(find_regions(path.read_text(), f"cs_loss/{path.name}"))
    return count


def build_release(out_dir, keep_course=None):
    """Build ``out_dir/loss`` (the student folder) and ``out_dir/loss.zip``.

    Parameters
    ----------
    out_dir : path
        Where the release goes; replaced if it exists.
    keep_course : path, optional
        Build the nbgrader course directory here (kept, for autograding) instead
        of in a temporary folder.

    Returns
    -------
    pathlib.Path
        The release folder.
    """
    check_sources()
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="cs_loss_course_") as tmp:
        root = Path(keep_course) if keep_course else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        course.write_source(root)
        course.write_config(root)
        course.nbgrader(root, "generate_assignment", course.ASSIGNMENT, "--force")
        built = root / "release" / course.ASSIGNMENT
        for path in sorted((built / "cs_loss").glob("*.py")):
            strip_file(path, f"cs_loss/{path.name}")
        (built / "README.md").write_text(STUDENT_README)
        shutil.copy(Path(__file__).with_name("collect_submission.py"), built / "collect_submission.py")
        write_manifest(built)
        shutil.copy(course.KIT_ROOT / "requirements.txt", built / "requirements.txt")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.mkdir(parents=True)
        release = out_dir / course.ASSIGNMENT
        shutil.copytree(built, release, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    make_zip(release, out_dir / f"{course.ASSIGNMENT}.zip")
    leaks = find_leaks(release)
    if leaks:
        raise RuntimeError("the release leaks solutions or hidden tests:\n" + "\n".join(leaks))
    return release


def write_manifest(release):
    """``.assignment_manifest.json``: the grade ids of each notebook, for collect_submission."""
    manifest = {}
    for name in course.NOTEBOOKS:
        notebook = nbformat.read(Path(release) / name, as_version=4)
        manifest[name] = [c.metadata["nbgrader"]["grade_id"] for c in notebook.cells
                          if c.metadata.get("nbgrader", {}).get("grade_id")]  # fmt: skip
    (Path(release) / ".assignment_manifest.json").write_text(json.dumps(manifest, indent=1))


def make_zip(folder, zip_path):
    folder = Path(folder)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, Path(folder.name) / path.relative_to(folder))
    return zip_path


def secret_lines():
    """Lines that must never reach a student: solution code and hidden tests, kit-wide."""
    secrets = set()
    public = set()  # lines that also stand outside the regions (given code) are not secrets
    for path in sorted(course.KIT_ROOT.glob(course.PACKAGE_GLOB)):
        text = path.read_text()
        secrets.update(solution_lines(text, path.name))
        inside = {n for r in find_regions(text, path.name) for n in range(r.begin, r.end + 1)}
        public.update(line.strip() for n, line in enumerate(text.splitlines(), 1) if n not in inside)
    for name in course.NOTEBOOKS:
        notebook = nbformat.read(course.KIT_ROOT / "notebooks" / name, as_version=4)
        for cell in notebook.cells:
            for begin, end in [("### BEGIN SOLUTION", "### END SOLUTION"),
                               ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")]:  # fmt: skip
                inside = False
                for line in cell.source.splitlines():
                    if line.strip() == begin:
                        inside = True
                    elif line.strip() == end:
                        inside = False
                    elif inside and len(line.strip()) >= 12 and not line.strip().startswith("#"):
                        secrets.add(line.strip())
    return secrets - public


def find_leaks(folder, secrets=None):
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

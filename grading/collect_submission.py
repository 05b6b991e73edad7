"""Bundle your assignment for submission, after checking that it is complete.

Run it in the assignment folder (in Colab: ``!python collect_submission.py``
in a cell, after mounting Drive and changing into the folder):

    python collect_submission.py

It checks that every required file is there, that each notebook was run top to
bottom and saved with its outputs, that no TODO stub still raises
``NotImplementedError``, and that the notebooks' grading metadata is intact.
On success it writes ``submission.zip`` (upload it as the code submission)
and ``submission_html/`` (open each page in a browser and print it to PDF for
the written answers). On any problem it says what to fix and exits with
status 1; nothing is written.

This file is self-contained: it needs the Python standard library and, for
the HTML pages, nbconvert (installed with Jupyter and in Colab).
"""

import json
import re
import sys
import zipfile
from pathlib import Path

NOTEBOOKS = ("knn.ipynb", "svm.ipynb", "softmax.ipynb")
STUDENT_FILES = ("cs_loss/knn.py", "cs_loss/svm.py", "cs_loss/softmax.py",
                 "cs_loss/linear_classifier.py")  # fmt: skip
MANIFEST = ".assignment_manifest.json"
STUB = re.compile(r'raise NotImplementedError\("TODO: complete (\w+)')


def check(folder):
    """Every problem with the assignment in ``folder``, as readable sentences."""
    folder = Path(folder)
    problems = []
    manifest = {}
    if (folder / MANIFEST).is_file():
        manifest = json.loads((folder / MANIFEST).read_text())
    else:
        problems.append(f"{MANIFEST} is missing: run this script in the assignment folder.")
    for name in STUDENT_FILES:
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing.")
            continue
        text = path.read_text(errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            match = STUB.search(line)
            if match and not line.lstrip().startswith("#"):
                problems.append(f"{name}:{number}: {match.group(1)} still raises NotImplementedError "
                                "(complete the TODO there).")  # fmt: skip
    for name in NOTEBOOKS:
        path = folder / name
        if not path.is_file():
            copies = sorted(p.name for p in folder.glob("*.ipynb") if p.stem.lower().endswith(Path(name).stem)
                            or Path(name).stem in p.stem.lower())  # fmt: skip
            hint = f" (found {', '.join(copies)}: rename your copy to {name})" if copies else ""
            problems.append(f"{name} is missing{hint}.")
            continue
        try:
            notebook = json.loads(path.read_text())
        except ValueError as exc:
            problems.append(f"{name} is not a valid notebook file ({exc}).")
            continue
        problems += check_notebook(name, notebook, manifest.get(name, []))
    return problems


def check_notebook(name, notebook, grade_ids):
    problems = []
    cells = notebook.get("cells", [])
    present = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in cells}
    missing = [g for g in grade_ids if g not in present]
    if missing:
        problems.append(f"{name}: {len(missing)} cells are missing or lost their grading metadata "
                        f"({', '.join(missing[:3])}{'...' if len(missing) > 3 else ''}); copy them "
                        "back from a fresh copy of the assignment.")  # fmt: skip
    last = 0
    for index, cell in enumerate(cells, start=1):
        if cell.get("cell_type") != "code" or not "".join(cell.get("source", "")).strip():
            continue
        count = cell.get("execution_count")
        if count is None:
            problems.append(f"{name}: cell {index} was not run. Run the whole notebook (Runtime > "
                            "Restart and run all) and save it.")  # fmt: skip
            break
        if count <= last:
            problems.append(f"{name}: cell {index} was run out of order. Run the whole notebook from "
                            "the top (Runtime > Restart and run all) and save it.")  # fmt: skip
            break
        last = count
        meta = cell.get("metadata", {}).get("nbgrader", {})
        source = "".join(cell.get("source", ""))
        if meta.get("solution") and re.search(r"^\s*raise NotImplementedError\(\)", source, re.M):
            problems.append(f"{name}: cell {index} ({meta.get('grade_id')}) still raises "
                            "NotImplementedError: replace that line with your code.")  # fmt: skip
    return problems


def write_html(folder, out_dir):
    """An HTML page per notebook, for printing; returns the pages written."""
    try:
        import nbformat
        from nbconvert import HTMLExporter
    except ImportError:
        return []
    out_dir.mkdir(exist_ok=True)
    pages = []
    for name in NOTEBOOKS:
        body, _ = HTMLExporter().from_notebook_node(nbformat.read(Path(folder) / name, as_version=4))
        page = out_dir / (Path(name).stem + ".html")
        page.write_text(body)
        pages.append(page)
    return pages


def collect(folder=".", zip_name="submission.zip"):
    """Check, then bundle; returns (problems, written files)."""
    folder = Path(folder)
    problems = check(folder)
    if problems:
        return problems, []
    zip_path = folder / zip_name
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in NOTEBOOKS + STUDENT_FILES:
            archive.write(folder / name, name)
    return [], [zip_path] + write_html(folder, folder / "submission_html")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]) if argv else Path(__file__).resolve().parent
    problems, written = collect(folder)
    if problems:
        print("Not ready to submit. Fix these, then run this script again:")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    for path in written:
        print(f"wrote {path}")
    print("Ready: upload submission.zip, and a PDF printed from the pages in submission_html/.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

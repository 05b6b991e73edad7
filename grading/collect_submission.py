"""Bundle your assignment for submission, after checking what can be checked.

Run it in the assignment folder (in Colab, in a cell, after the notebook's setup
cell has changed into the folder: ``!python collect_submission.py``):

    python collect_submission.py

It refuses only what cannot be graded: a missing notebook or ``cs_loss`` file,
a notebook that is not valid JSON, or an answer cell (one you write in) that is
missing or lost its grading metadata, since the grader would not find your
answer there. Everything else is a warning, and the submission is still written:

- a missing or changed cell you cannot edit (a check, a graded test, the text):
  the grader puts back every such cell from the assignment, so it costs nothing;
- a notebook that stops at a failing check (an error in a cell, later cells not
  run) lists the failing checks and the points they cost; the autograder runs
  every cell again, so the cells after the error still count;
- cells run after an error, cells never run, cells run out of order;
- a TODO in ``cs_loss`` that still raises ``NotImplementedError``.

It writes ``submission.zip`` (upload it as the code submission) and
``submission_html/`` (open each page in a browser and print it to PDF for the
written answers).

This file is self-contained: it needs the Python standard library and, for
the HTML pages, nbconvert (installed with Jupyter and in Colab). It reads the
assignment's ``.assignment_manifest.json`` (notebooks, grade ids, points,
student files, stub lines, answer cells); nothing in it is secret.
"""

from __future__ import annotations

import json
import os
import re
import sys
import zipfile
from pathlib import Path

MANIFEST = ".assignment_manifest.json"
# Used when the manifest is missing (a folder copied without its hidden files).
DEFAULT_NOTEBOOKS = ("knn.ipynb", "svm.ipynb", "softmax.ipynb")
DEFAULT_STUDENT_FILES = (
    "cs_loss/knn.py",
    "cs_loss/svm.py",
    "cs_loss/softmax.py",
    "cs_loss/linear_classifier.py",
)
# A stub the release left in place of a solution, e.g.
#   raise NotImplementedError("svm_loss_vectorized: see the TODO above (cs_loss/svm.py)")
STUB = re.compile(r'^\s*raise NotImplementedError\("(?:TODO: complete )?([\w.]+)')
RESTART_HINT = "Runtime > Restart and run all (Jupyter: Kernel > Restart & Run All)"


def read_manifest(folder: str | os.PathLike) -> tuple[dict, str | None]:
    """The release manifest as a dict with notebooks, points, student_files, stubs, answers.

    ``answers`` maps each notebook to the grade ids of its answer cells, or is
    None when the manifest does not say (an older release).

    Returns ``(manifest, note)``; ``note`` is a warning when the defaults were used.
    """
    path = Path(folder) / MANIFEST
    note = None
    raw = {}
    if path.is_file():
        try:
            raw = json.loads(path.read_text())
        except ValueError:
            note = f"{MANIFEST} is damaged; checked against the usual file list instead."
    else:
        note = (
            f"{MANIFEST} is missing (a hidden file of the assignment folder): checked against "
            "the usual file list instead. Run this script in the folder you were given."
        )
    if raw and "notebooks" not in raw:  # an older manifest: {notebook: [grade ids]}
        raw = {"notebooks": {k: v for k, v in raw.items() if k.endswith(".ipynb")}}
    notebooks = raw.get("notebooks") or {name: [] for name in DEFAULT_NOTEBOOKS}
    answers = raw.get("answers")  # None in an older manifest: every cell may be an answer
    return {
        "notebooks": {name: list(ids) for name, ids in notebooks.items()},
        "points": raw.get("points", {}),
        "student_files": list(raw.get("student_files") or DEFAULT_STUDENT_FILES),
        "stubs": raw.get("stubs", {}),
        "answers": None if answers is None else {name: list(ids) for name, ids in answers.items()},
    }, note


def check(folder: str | os.PathLike) -> tuple[list[str], list[str]]:
    """``(problems, warnings)``: problems make the submission ungradable, warnings do not."""
    folder = Path(folder)
    manifest, note = read_manifest(folder)
    problems, warnings = [], [note] if note else []
    for name in manifest["student_files"]:
        path = folder / name
        if not path.is_file():
            problems.append(
                f"{name} is missing: copy it back from a fresh copy of the assignment "
                "(your TODOs there will then be unfinished)."
            )
            continue
        warnings += check_stubs(
            name, path.read_text(errors="replace"), manifest["stubs"].get(name, [])
        )
    for name, grade_ids in manifest["notebooks"].items():
        path = folder / name
        if not path.is_file():
            copies = sorted(
                p.name for p in folder.glob("*.ipynb") if Path(name).stem in p.stem.lower()
            )
            hint = f" (found {', '.join(copies)}: rename your copy to {name})" if copies else ""
            problems.append(f"{name} is missing{hint}.")
            continue
        try:
            notebook = json.loads(path.read_text())
        except ValueError as exc:
            problems.append(f"{name} is not a valid notebook file ({exc}).")
            continue
        answers = None if manifest["answers"] is None else manifest["answers"].get(name, [])
        points = manifest["points"].get(name, {})
        bad, warn = check_notebook(name, notebook, grade_ids, points, answers)
        problems += bad
        warnings += warn
    return problems, warnings


def check_stubs(name: str, text: str, stub_lines: list[str]) -> list[str]:
    """Warnings for TODOs in a student file that still raise NotImplementedError."""
    stubs = {line.strip() for line in stub_lines}
    warnings = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = STUB.match(line)
        if line.strip() in stubs or match:
            what = match.group(1) if match else line.strip()
            warnings.append(
                f"{name}:{number}: {what} still raises NotImplementedError; its tests "
                "will score 0. Complete the TODO above that line if you can."
            )
    return warnings


def _source(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _describe(number, cell, points):
    """``cell 13 (check_svm_loss, 3 points)`` or ``cell 13``."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    if not grade_id:
        return f"cell {number}"
    cost = points.get(grade_id)
    return f"cell {number} ({grade_id}{f', {cost:g} points' if cost else ''})"


def check_notebook(
    name: str,
    notebook: dict,
    grade_ids: list[str],
    points: dict[str, float],
    answers: list[str] | None = None,
) -> tuple[list[str], list[str]]:
    """``(problems, warnings)`` for one notebook (a dict read from its JSON).

    Parameters
    ----------
    name : str
        The notebook's file name, for the messages.
    notebook : dict
        The notebook, read from its JSON.
    grade_ids : list of str
        The grade ids of the released notebook, in order.
    points : dict
        ``{grade id: points}`` of its graded cells.
    answers : list of str, optional
        The grade ids of its answer cells. A missing answer cell is a problem
        (the answer in it would not be graded); any other missing cell only a
        warning, because the grader restores it from the release. Without the
        list (an older manifest), every missing cell is a problem.
    """
    problems, warnings = [], []
    cells = notebook.get("cells", [])
    present = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in cells}
    missing = [g for g in grade_ids if g not in present]
    lost = [g for g in missing if answers is None or g in answers]
    restored = [g for g in missing if g not in lost]
    if lost:
        kind = "cell" if answers is None else "answer cell"
        problems.append(
            f"{name}: {_missing(lost, kind)} ({', '.join(lost)}), so the grader "
            f"would not find what you wrote there; copy {_it(lost)} back from a fresh "
            "copy of the assignment, in the same place, and write your answer in it "
            "again."
        )
    if restored:
        graded = [g for g in restored if points.get(g)]
        tested = ""
        if graded:
            tested = f" Graded tests ({', '.join(graded)}) are run and scored as usual."
        warnings.append(
            f"{name}: {_missing(restored, 'cell you cannot edit')} "
            f"({', '.join(restored)}): the grader restores {_it(restored)} from "
            f"the assignment, so nothing is lost.{tested}"
        )
    code = [
        (number, cell)
        for number, cell in enumerate(cells, start=1)
        if cell.get("cell_type") == "code" and _source(cell).strip()
    ]
    failing = [
        (n, c)
        for n, c in code
        if any(o.get("output_type") == "error" for o in c.get("outputs", []))
    ]
    not_run = [n for n, c in code if c.get("execution_count") is None]
    if failing:
        first = failing[0][0]
        listed = ", ".join(_describe(n, c, points) for n, c in failing)
        cost = sum(
            points.get(c.get("metadata", {}).get("nbgrader", {}).get("grade_id"), 0)
            for _, c in failing
        )
        cost_text = f" (up to {cost:g} points)" if cost else ""
        warnings.append(
            f"{name}: failing checks{cost_text}: {listed}. You can submit as it is; "
            "fix them first if you can."
        )
        after = [n for n, c in code if n > first and c.get("execution_count") is not None]
        if after:
            warnings.append(
                f"{name}: cells after the error in cell {first} were run (cells "
                f"{_ranges(after)}); their outputs may not match a run from the top. "
                "The autograder runs every cell again, in order."
            )
        elif [n for n in not_run if n > first]:
            warnings.append(
                f"{name}: the notebook stops at the error in cell {first}; the autograder "
                "runs the cells after it too, so they still count."
            )
        not_run = [n for n in not_run if n < first]
    if not_run:
        warnings.append(
            f"{name}: cells {_ranges(not_run)} were not run, so their outputs are not in "
            f"your PDF. Run the whole notebook ({RESTART_HINT}) and save it."
        )
    counts = [c.get("execution_count") for _, c in code if c.get("execution_count") is not None]
    if counts != sorted(counts) or len(set(counts)) != len(counts):
        warnings.append(
            f"{name}: cells were run out of order; outputs may not match a run from the "
            f"top ({RESTART_HINT})."
        )
    for number, cell in code:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and re.search(
            r"^\s*raise NotImplementedError\(\)", _source(cell), re.M
        ):
            warnings.append(
                f"{name}: {_describe(number, cell, points)} still raises "
                "NotImplementedError: replace that line with your code."
            )
    return problems, warnings


def _missing(items, noun):
    """``1 answer cell is missing or lost its grading metadata``, or the plural."""
    if len(items) == 1:
        return f"1 {noun} is missing or lost its grading metadata"
    plural = noun.replace("cell", "cells", 1)
    return f"{len(items)} {plural} are missing or lost their grading metadata"


def _it(items):
    return "it" if len(items) == 1 else "them"


def _ranges(numbers):
    """``3-5, 9`` for [3, 4, 5, 9]."""
    parts, start, prev = [], None, None
    for n in list(numbers) + [None]:
        if start is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            parts.append(f"{start}-{prev}" if prev > start else f"{start}")
        start = prev = n
    return ", ".join(parts)


def write_html(
    folder: str | os.PathLike, names: list[str], out_dir: str | os.PathLike
) -> list[Path]:
    """An HTML page per notebook, for printing; returns the pages written."""
    try:
        import nbformat
        from nbconvert import HTMLExporter
    except ImportError:
        return []
    out_dir.mkdir(exist_ok=True)
    pages = []
    for name in names:
        body, _ = HTMLExporter().from_notebook_node(
            nbformat.read(Path(folder) / name, as_version=4)
        )
        page = out_dir / (Path(name).stem + ".html")
        page.write_text(body)
        pages.append(page)
    return pages


def collect(
    folder: str | os.PathLike = ".", zip_name: str = "submission.zip"
) -> tuple[list[str], list[Path]]:
    """Check, then bundle; returns ``(problems, written files)``.

    Nothing is written when there are problems; :func:`check` gives the warnings too.
    """
    folder = Path(folder)
    problems, _warnings = check(folder)
    if problems:
        return problems, []
    manifest, _ = read_manifest(folder)
    names = list(manifest["notebooks"]) + manifest["student_files"]
    zip_path = folder / zip_name
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.write(folder / name, name)
    pages = write_html(folder, list(manifest["notebooks"]), folder / "submission_html")
    return [], [zip_path] + pages


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    folder = Path(argv[0]) if argv else Path(__file__).resolve().parent
    _, warnings = check(folder)
    problems, written = collect(folder)
    if problems:
        print(
            "Not ready to submit: the autograder could not grade this. Fix these, then run this "
            "script again:"
        )
        for problem in problems:
            print(f"  - {problem}")
        return 1
    if warnings:
        print("Warnings (the submission was still written; each says what it may cost):")
        for warning in warnings:
            print(f"  - {warning}")
    for path in written:
        print(f"wrote {path}")
    ready = "Ready with warnings" if warnings else "Ready"
    print(f"{ready}: upload submission.zip, and a PDF printed from the pages in submission_html/.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Review flags: what in a student's code, or in the kit's own files, deserves a human look.

- :func:`suspicious` reads Python source as a syntax tree (a comment or a string that
  merely mentions ``os._exit`` raises nothing) and names what it does that a grader
  should see: exits, signals, hooks on IPython, rebinding numpy, reading the grader's files.
- :func:`scan_student_code` applies it to a laid-out submission's answer cells and
  ``cs_loss`` files; each finding is a :class:`~grading.results.Flag` of kind ``REVIEW``
  (it costs no points).
- :func:`open_secrets` and :func:`warn_open_secrets` audit the kit's permissions: files
  holding answers must not be readable by the sandbox users.
"""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path
from typing import TextIO

import nbformat

from . import course
from .results import Flag, FlagKind

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


def _dotted(node: ast.AST) -> str | None:
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


def suspicious(text: str) -> set[str]:
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


def _readable_by_others(path: str | Path) -> bool:
    """Whether a user who is neither the owner of ``path`` nor in its group can read it."""
    path = Path(path).resolve()
    try:
        if any(not os.stat(folder).st_mode & 0o001 for folder in path.parents):
            return False  # a folder on the way is closed to others
        return bool(os.stat(path).st_mode & 0o004)
    except OSError:
        return False


def open_secrets(kit: str | Path | None = None) -> list[Path]:
    """The kit's files that hold answers (reference solutions, source notebooks, expected
    values, the notebook checks) and that any user of the machine, a sandbox user too,
    can read."""
    kit = Path(kit or course.KIT_ROOT)
    secrets = [
        *(kit / name for name in course.STUDENT_FILES),
        *sorted((kit / "notebooks").glob("*.ipynb")),
        kit / "grading" / "expected.npz",
        kit / "grading" / "notebook_checks.py",
        kit / "grading" / "notebook_answers.py",
    ]
    return [path for path in secrets if path.exists() and _readable_by_others(path)]


def warn_open_secrets(stream: TextIO | None = None) -> list[Path]:
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


def scan_student_code(folder: str | Path) -> list[Flag]:
    """Flags for suspicious patterns in the student's answer cells and package files."""
    flags: list[Flag] = []
    texts = {}
    for name in course.NOTEBOOKS:
        try:
            notebook = nbformat.read(Path(folder) / name, as_version=4)
        except Exception as exc:  # unreadable JSON: nbgrader will fail on it too
            flags.append(Flag(FlagKind.NOTE, f"{name} is not a readable notebook: {exc}"[:200]))
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
            flags.append(Flag(FlagKind.REVIEW, f"review: {where} {what}"))
    return flags

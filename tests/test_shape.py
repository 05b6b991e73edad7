"""The grader's shape, as issue 16 set it: small modules, no import cycle, typed public
functions, few formatter exceptions. (ruff itself runs in .ci/run.)"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GRADING = ROOT / "grading"
MAX_LINES = 400


def grading_modules():
    return sorted(p for p in GRADING.rglob("*.py") if "__pycache__" not in p.parts)


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("path", grading_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_of_grading_is_over_400_lines(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


def imported_modules(path, known):
    """The grading modules ``path`` imports anywhere in it (function bodies included)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            found.add(stem)
            found.update(f"{stem}.{alias.name}" for alias in node.names)
    return {m for m in found if m in known and m != name}


def test_the_grading_modules_import_each_other_without_a_cycle():
    modules = {module_name(p): p for p in grading_modules()}
    graph = {name: imported_modules(path, modules) for name, path in modules.items()}
    # A package's __init__ may name its own modules; a module importing its package is no cycle.
    for name in graph:
        graph[name] = {m for m in graph[name] if not name.startswith(m + ".")}
    cycles = []
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def public_functions(tree):
    """Module-level functions and methods of public classes whose names do not start with _."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield f"{node.name}.{item.name}", item


def missing_annotations(function):
    args = function.args
    params = args.posonlyargs + args.args + args.kwonlyargs
    params += [a for a in (args.vararg, args.kwarg) if a is not None]
    missing = [a.arg for a in params if a.annotation is None and a.arg not in ("self", "cls")]
    if function.returns is None and function.name != "__init__":
        missing.append("return")
    return missing


def test_every_public_function_of_grading_is_annotated():
    unannotated = {}
    for path in grading_modules():
        for name, function in public_functions(ast.parse(path.read_text())):
            if name.split(".")[-1].startswith("_") and not name.endswith("__init__"):
                continue
            missing = missing_annotations(function)
            if missing:
                unannotated[f"{path.relative_to(ROOT)}:{name}"] = missing
    assert unannotated == {}


def test_at_most_ten_formatter_exceptions():
    files = [p for p in ROOT.rglob("*.py") if ".venv" not in p.parts and "build" not in p.parts]
    skips = sum(p.read_text(errors="replace").count("# fmt: skip") for p in files)
    assert skips <= 10

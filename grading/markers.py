"""Solution regions in Python source: find them, check them, replace them with stubs.

A region is the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
(nbgrader's markers), both at the same indentation. Directly above each region
stands its TODO block (``# TODO:``, ``# Set:``, ``# Hint:`` comment lines), which
is outside the region and so reaches the student. In the release each region
becomes one line, at the region's indentation, that raises
``NotImplementedError("<qualname>: see the TODO above (cs_loss/<file>)")``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
SOLUTION_MARKERS = (BEGIN, END)
_MARKER = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>### (?:BEGIN|END) SOLUTION)[ \t]*$")
_DEF = re.compile(r"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+(?P<name>\w+)")


class MarkerError(ValueError):
    """A malformed solution region: the message names the file and the line."""


@dataclass
class Region:
    begin: int  # 1-based line of the BEGIN marker
    end: int  # 1-based line of the END marker
    indent: str
    function: str  # the enclosing def or class, "" at module level
    qualname: str = ""  # dotted: "KNearestNeighbor.predict_labels", "svm_loss_vectorized"
    id: str = ""  # qualname, or "qualname#k" (k from 1) when one def holds several regions


def find_regions(text: str, filename: str = "<string>") -> list[Region]:
    """The solution regions of ``text``, checked for well-formed markers.

    Raises
    ------
    MarkerError
        For a nested BEGIN, an END without a BEGIN, a BEGIN without an END,
        markers at different indentations, marker text that is not alone on its
        line, or an empty region.
    """
    regions = []
    open_at = None
    enclosing = []  # (indent width, name) of the defs seen so far
    for number, line in enumerate(text.splitlines(), start=1):
        match = _DEF.match(line)
        if match:
            width = len(line) - len(line.lstrip())
            enclosing = [(w, n) for w, n in enclosing if w < width] + [(width, match["name"])]
        marker = _MARKER.match(line)
        if marker is None:
            if BEGIN in line or END in line:
                raise MarkerError(
                    f"{filename}:{number}: solution marker must stand alone on its line: "
                    f"{line.strip()!r}"
                )
            continue
        if marker["marker"] == BEGIN:
            if open_at is not None:
                raise MarkerError(
                    f"{filename}:{number}: {BEGIN} inside the region opened at line {open_at[0]}"
                )
            width = len(marker["indent"])
            outer = [n for w, n in enclosing if w < width]
            open_at = (number, marker["indent"], outer[-1] if outer else "", ".".join(outer))
        else:
            if open_at is None:
                raise MarkerError(f"{filename}:{number}: {END} without a {BEGIN} before it")
            if marker["indent"] != open_at[1]:
                raise MarkerError(
                    f"{filename}:{number}: {END} is indented differently from the {BEGIN} "
                    f"at line {open_at[0]}"
                )
            if number == open_at[0] + 1:
                raise MarkerError(f"{filename}:{open_at[0]}: empty solution region")
            regions.append(Region(open_at[0], number, open_at[1], open_at[2], open_at[3]))
            open_at = None
    if open_at is not None:
        raise MarkerError(f"{filename}:{open_at[0]}: {BEGIN} is never closed by {END}")
    counts = {}
    for region in regions:
        counts[region.qualname] = counts.get(region.qualname, 0) + 1
    seen = {}
    for region in regions:
        seen[region.qualname] = seen.get(region.qualname, 0) + 1
        several = counts[region.qualname] > 1
        region.id = f"{region.qualname}#{seen[region.qualname]}" if several else region.qualname
    return regions


def region_body(text: str, region: Region) -> str:
    """The code between the markers of ``region``, dedented to column 0."""
    import textwrap

    lines = text.splitlines(keepends=True)[region.begin : region.end - 1]
    return textwrap.dedent("".join(lines))


def fill_regions(text: str, bodies: dict[str, str], filename: str = "<string>") -> str:
    """``text`` as a student would write it: markers removed, chosen regions replaced.

    Parameters
    ----------
    text : str
        Kit source with solution regions.
    bodies : dict of str to str
        Region id -> replacement code (written at column 0; it is indented to
        the region's indentation). Regions not named keep the reference code.

    Returns
    -------
    str
        Valid Python with no solution markers.

    Raises
    ------
    KeyError
        If ``bodies`` names a region that ``text`` does not have.
    """
    import textwrap

    regions = find_regions(text, filename)
    unknown = set(bodies) - {r.id for r in regions}
    if unknown:
        raise KeyError(
            f"{filename} has no solution region {sorted(unknown)}; it has {[r.id for r in regions]}"
        )
    lines = text.splitlines(keepends=True)

    def replacement(region):
        if region.id not in bodies:  # the reference code, without its markers
            return "".join(lines[region.begin : region.end - 1])
        return textwrap.indent(
            textwrap.dedent(bodies[region.id]).strip("\n") + "\n",
            region.indent,
            lambda line: line.strip() != "",
        )

    return _replace_regions(text, regions, replacement)


def _replace_regions(text, regions, replacement):
    """``text`` with each region, its markers included, replaced by ``replacement(region)``."""
    lines = text.splitlines(keepends=True)
    starts = {r.begin: r for r in regions}
    out = []
    number = 1
    while number <= len(lines):
        region = starts.get(number)
        if region is None:
            out.append(lines[number - 1])
            number += 1
            continue
        out.append(replacement(region))
        number = region.end + 1
    return "".join(out)


def stub_line(region: Region, filename: str, lineno: int | None = None) -> str:
    """The one raising line that replaces ``region`` in the release.

    ``filename`` is the file as the student sees it (``cs_loss/svm.py``); the
    TODO block just above the line says what to write. ``lineno`` is accepted
    for old callers and ignored: the message points at the TODO, not a number.
    """
    message = f"{region.qualname}: see the TODO above ({filename})"
    return f'{region.indent}raise NotImplementedError("{message}")'


@dataclass(frozen=True)
class Todo:
    """The task text above a region: ``# TODO:``, ``# Set:`` and ``# Hint:`` lines."""

    line: int  # 1-based line of "# TODO:"
    task: str
    sets: tuple  # the names the region must set, e.g. ("loss", "dW")
    hint: str


_TODO_KEYS = ("TODO", "Set", "Hint")


def todo_block(text: str, region: Region) -> Todo | None:
    """The TODO block directly above ``region`` (a :class:`Todo`), or None if it is missing.

    The block is the contiguous run of comment lines, at the region's
    indentation, that ends on the line before ``### BEGIN SOLUTION``. Its
    ``TODO:``, ``Set:`` and ``Hint:`` lines must come in that order; the plain
    ``# ...`` lines after each continue it.
    """
    lines = text.splitlines()
    first = region.begin - 1  # 1-based number of the line above the marker
    while (
        first >= 1
        and lines[first - 1].startswith(region.indent + "#")
        and lines[first - 1].strip().startswith("#")
    ):
        first -= 1
    block = lines[first : region.begin - 1]
    parts = {}
    key = None
    todo_line = None
    for offset, line in enumerate(block):
        comment = line.strip()[1:].strip()
        head = comment.split(":", 1)[0]
        if head in _TODO_KEYS and ":" in comment:
            if (
                head in parts
                or (key is None and head != "TODO")
                or (key is not None and _TODO_KEYS.index(head) != _TODO_KEYS.index(key) + 1)
            ):
                return None
            key = head
            parts[key] = [comment.split(":", 1)[1].strip()]
            if key == "TODO":
                todo_line = first + 1 + offset
        elif key is not None:
            parts[key].append(comment)
    if set(parts) != set(_TODO_KEYS) or not all(" ".join(v).strip() for v in parts.values()):
        return None
    sets = tuple(n.strip() for n in " ".join(parts["Set"]).split(",") if n.strip())
    return Todo(todo_line, " ".join(parts["TODO"]).strip(), sets, " ".join(parts["Hint"]).strip())


def missing_todo_blocks(text: str, filename: str = "<string>") -> list[str]:
    """``file:line: ...`` for every region of ``text`` without a complete TODO block."""
    return [
        f"{filename}:{region.begin}: the region of {region.qualname} has no TODO block above "
        f"{BEGIN} (comment lines at its indentation: '# TODO: ...', '# Set: ...', '# Hint: ...')"
        for region in find_regions(text, filename)
        if todo_block(text, region) is None
    ]


def strip_solutions(text: str, filename: str = "<string>") -> tuple[str, list[Region]]:
    """``text`` with every solution region replaced by its one raising stub line.

    The TODO block above each region is outside it, so it stays.

    Returns
    -------
    stripped : str
    regions : list of Region
    """
    regions = find_regions(text, filename)
    return _replace_regions(
        text, regions, lambda region: stub_line(region, filename) + "\n"
    ), regions


def solution_lines(text: str, filename: str = "<string>") -> list[str]:
    """The non-trivial lines inside the solution regions of ``text`` (for leak checks)."""
    lines = text.splitlines()
    found = []
    for region in find_regions(text, filename):
        for line in lines[region.begin : region.end - 1]:
            stripped = line.strip()
            if len(stripped) >= 12 and not stripped.startswith("#"):
                found.append(stripped)
    return found


def strip_file(path: str | os.PathLike, display_name: str | None = None) -> int:
    """Strip the solution regions of a file in place; return how many there were."""
    path = Path(path)
    stripped, regions = strip_solutions(path.read_text(), display_name or path.name)
    path.write_text(stripped)
    return len(regions)


def kit_regions(package_dir: str | os.PathLike) -> dict[str, tuple[str, Region]]:
    """Every solution region of a package folder: {region id: (file name, Region)}.

    Region ids are unique across the package (the kit's functions have unique names).
    """
    found = {}
    for path in sorted(Path(package_dir).glob("*.py")):
        for region in find_regions(path.read_text(), path.name):
            if region.id in found:
                raise MarkerError(
                    f"{path.name}:{region.begin}: region id {region.id!r} is also "
                    f"used in {found[region.id][0]}"
                )
            found[region.id] = (path.name, region)
    return found


def write_package(
    package_dir: str | os.PathLike, dest: str | os.PathLike, bodies: dict[str, str] | None = None
) -> Path:
    """Write ``dest/cs_loss`` as a student would submit it: no markers, chosen regions replaced.

    Parameters
    ----------
    package_dir : path
        The kit's ``cs_loss`` (with solution regions).
    dest : path
        The submission folder to write ``cs_loss/`` into (created if needed).
    bodies : dict of str to str, optional
        Region id -> the student's code for that region (column 0). Other
        regions keep the reference code.

    Returns
    -------
    pathlib.Path
        ``dest / "cs_loss"``.
    """
    bodies = dict(bodies or {})
    regions = kit_regions(package_dir)
    unknown = set(bodies) - set(regions)
    if unknown:
        raise KeyError(f"no solution region {sorted(unknown)} in {package_dir}")
    out = Path(dest) / "cs_loss"
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(package_dir).glob("*.py")):
        mine = {rid: code for rid, code in bodies.items() if regions[rid][0] == path.name}
        (out / path.name).write_text(fill_regions(path.read_text(), mine, path.name))
    return out

"""Solution regions in Python source: find them, check them, replace them with stubs.

A region is the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
(nbgrader's markers), both at the same indentation. In the student release each
region becomes one line, at the region's indentation, that raises
``NotImplementedError`` and says where the TODO is.
"""

import re
from dataclasses import dataclass
from pathlib import Path

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
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


def find_regions(text, filename="<string>"):
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
                    f"{filename}:{number}: solution marker must stand alone on its line: {line.strip()!r}"
                )
            continue
        if marker["marker"] == BEGIN:
            if open_at is not None:
                raise MarkerError(
                    f"{filename}:{number}: {BEGIN} inside the region opened at line {open_at[0]}"
                )
            width = len(marker["indent"])
            function = next((n for w, n in reversed(enclosing) if w < width), "")
            open_at = (number, marker["indent"], function)
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
            regions.append(Region(open_at[0], number, open_at[1], open_at[2]))
            open_at = None
    if open_at is not None:
        raise MarkerError(f"{filename}:{open_at[0]}: {BEGIN} is never closed by {END}")
    return regions


def stub_line(region, filename, lineno):
    """The raising line that replaces ``region``; ``lineno`` is its line in the stripped file."""
    where = f"{region.function} in {filename}" if region.function else filename
    return (
        f'{region.indent}raise NotImplementedError("TODO: complete {where} '
        f'(the TODO at line {lineno})")'
    )


def strip_solutions(text, filename="<string>"):
    """``text`` with every solution region replaced by a raising stub line.

    Returns
    -------
    stripped : str
    regions : list of Region
    """
    regions = find_regions(text, filename)
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
        out.append(f"{region.indent}# TODO: your code here (replace the line below).\n")
        out.append(stub_line(region, filename, len(out)) + "\n")
        number = region.end + 1
    return "".join(out), regions


def solution_lines(text, filename="<string>"):
    """The non-trivial lines inside the solution regions of ``text`` (for leak checks)."""
    lines = text.splitlines()
    found = []
    for region in find_regions(text, filename):
        for line in lines[region.begin : region.end - 1]:
            stripped = line.strip()
            if len(stripped) >= 12 and not stripped.startswith("#"):
                found.append(stripped)
    return found


def strip_file(path, display_name=None):
    """Strip the solution regions of a file in place; return how many there were."""
    path = Path(path)
    stripped, regions = strip_solutions(path.read_text(), display_name or path.name)
    path.write_text(stripped)
    return len(regions)

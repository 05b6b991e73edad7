"""Does the release stripper replace every solution region and reject malformed markers?"""

import pytest

from grading.markers import (
    MarkerError,
    Todo,
    find_regions,
    missing_todo_blocks,
    solution_lines,
    strip_solutions,
    todo_block,
)

SOURCE = '''\
def f(x):
    """Doc."""
    y = 0
    # TODO: Double x and add the secret.
    # Set: y
    # Hint: the helper
    # does the rest.
    ### BEGIN SOLUTION
    y = x * 2 + secret_helper(x)
    ### END SOLUTION
    return y


class K:
    def g(self):
        for i in range(3):
            # TODO: Show i.
            # Set: nothing, really
            # Hint: print it.
            ### BEGIN SOLUTION
            print(i)
            ### END SOLUTION
'''


def test_each_region_becomes_one_raise_line_below_its_todo_block():
    stripped, regions = strip_solutions(SOURCE, "cs_loss/f.py")
    assert [r.id for r in regions] == ["f", "K.g"]
    assert "secret_helper" not in stripped and "print(i)" not in stripped
    assert "BEGIN SOLUTION" not in stripped and "your code here" not in stripped
    lines = stripped.splitlines()
    stubs = [n for n, line in enumerate(lines) if "NotImplementedError" in line]
    assert [lines[n] for n in stubs] == [
        '    raise NotImplementedError("f: see the TODO above (cs_loss/f.py)")',
        '            raise NotImplementedError("K.g: see the TODO above (cs_loss/f.py)")',
    ]
    assert [lines[n - 1].strip() for n in stubs] == ["# does the rest.", "# Hint: print it."]
    assert len(lines) == len(SOURCE.splitlines()) - 2 * 2  # each 3-line region -> one line
    compile(stripped, "f.py", "exec")  # still valid Python
    namespace = {}
    exec(stripped, namespace)
    with pytest.raises(NotImplementedError, match=r"^f: see the TODO above \(cs_loss/f.py\)$"):
        namespace["f"](1)


def test_todo_block_gives_task_names_to_set_and_hint():
    regions = find_regions(SOURCE)
    todo = todo_block(SOURCE, regions[0])
    assert todo == Todo(4, "Double x and add the secret.", ("y",), "the helper does the rest.")
    assert todo_block(SOURCE, regions[1]).sets == ("nothing", "really")
    assert missing_todo_blocks(SOURCE, "f.py") == []


@pytest.mark.parametrize(
    "block",
    [
        "",  # no block at all
        "    # Set: y\n    # Hint: h\n",  # no TODO line
        "    # TODO: t\n    # Hint: h\n",  # no Set line
        "    # TODO: t\n    # Set: y\n",  # no Hint line
        "    # Set: y\n    # TODO: t\n    # Hint: h\n",  # out of order
        "    # TODO: t\n    # Set: y\n    # Hint: h\n\n",  # a blank line before the marker
        "# TODO: t\n# Set: y\n# Hint: h\n",  # not at the region's indentation
        "    # TODO: t\n    # Set:\n    # Hint: h\n",  # no names to set
    ],
)
def test_a_region_without_a_complete_todo_block_is_named_with_file_and_line(block):
    text = "def f(x):\n" + block + "    ### BEGIN SOLUTION\n    y = x\n    ### END SOLUTION\n"
    begin = text.splitlines().index("    ### BEGIN SOLUTION") + 1
    problems = missing_todo_blocks(text, "cs_loss/f.py")
    assert len(problems) == 1 and problems[0].startswith(f"cs_loss/f.py:{begin}: the region of f ")


def test_solution_lines_lists_the_code_to_keep_secret():
    assert "y = x * 2 + secret_helper(x)" in solution_lines(SOURCE)


@pytest.mark.parametrize(
    "text, message",
    [
        ("    ### BEGIN SOLUTION\n    x = 1\n", r"f.py:1: ### BEGIN SOLUTION is never closed"),
        ("x = 1\n### END SOLUTION\n", r"f.py:2: ### END SOLUTION without"),
        (
            "### BEGIN SOLUTION\n### BEGIN SOLUTION\nx\n### END SOLUTION\n",
            r"f.py:2: .* inside the region opened at line 1",
        ),
        (
            "    ### BEGIN SOLUTION\n    x = 1\n  ### END SOLUTION\n",
            r"f.py:3: .* indented differently",
        ),
        ("### BEGIN SOLUTION\n### END SOLUTION\n", r"f.py:1: empty solution region"),
        ("x = 1  ### BEGIN SOLUTION\n", r"f.py:1: solution marker must stand alone"),
    ],
)
def test_malformed_markers_name_file_and_line(text, message):
    with pytest.raises(MarkerError, match=message):
        find_regions(text, "f.py")


def test_the_kit_itself_has_well_formed_markers():
    from grading import course
    from grading.markers import kit_regions

    assert len(kit_regions(course.KIT_ROOT / "cs_loss")) >= 10

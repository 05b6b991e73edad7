"""Does the release stripper replace every solution region and reject malformed markers?"""

import pytest

from grading.markers import MarkerError, find_regions, solution_lines, strip_solutions

SOURCE = '''\
def f(x):
    """Doc."""
    y = 0
    ### BEGIN SOLUTION
    y = x * 2 + secret_helper(x)
    ### END SOLUTION
    return y


class K:
    def g(self):
        for i in range(3):
            ### BEGIN SOLUTION
            print(i)
            ### END SOLUTION
'''


def test_regions_are_replaced_by_raising_stubs():
    stripped, regions = strip_solutions(SOURCE, "pkg/f.py")
    assert [r.function for r in regions] == ["f", "g"]
    assert "secret_helper" not in stripped and "print(i)" not in stripped
    assert "BEGIN SOLUTION" not in stripped
    assert 'raise NotImplementedError("TODO: complete f in pkg/f.py (the TODO at line 4)")' in stripped
    compile(stripped, "f.py", "exec")  # still valid Python
    namespace = {}
    exec(stripped, namespace)
    with pytest.raises(NotImplementedError, match="complete f in pkg/f.py"):
        namespace["f"](1)


def test_stub_line_numbers_point_at_the_stripped_file():
    stripped, _ = strip_solutions(SOURCE, "f.py")
    lines = stripped.splitlines()
    for number, line in enumerate(lines, start=1):
        if "raise NotImplementedError" in line:
            assert f"line {number - 1})" in line
            assert "TODO" in lines[number - 2]


def test_solution_lines_lists_the_code_to_keep_secret():
    assert "y = x * 2 + secret_helper(x)" in solution_lines(SOURCE)


@pytest.mark.parametrize(
    "text, message",
    [
        ("    ### BEGIN SOLUTION\n    x = 1\n", r"f.py:1: ### BEGIN SOLUTION is never closed"),
        ("x = 1\n### END SOLUTION\n", r"f.py:2: ### END SOLUTION without"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\nx\n### END SOLUTION\n", r"f.py:2: .* inside the region opened at line 1"),
        ("    ### BEGIN SOLUTION\n    x = 1\n  ### END SOLUTION\n", r"f.py:3: .* indented differently"),
        ("### BEGIN SOLUTION\n### END SOLUTION\n", r"f.py:1: empty solution region"),
        ("x = 1  ### BEGIN SOLUTION\n", r"f.py:1: solution marker must stand alone"),
    ],
)  # fmt: skip
def test_malformed_markers_name_file_and_line(text, message):
    with pytest.raises(MarkerError, match=message):
        find_regions(text, "f.py")


def test_the_kit_itself_has_well_formed_markers():
    from grading.release import check_sources

    assert check_sources() >= 10

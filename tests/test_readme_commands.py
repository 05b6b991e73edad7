"""The README's instructor commands, read from README.md itself, work as written for the pinned
nbgrader: each one run in a fresh course (a server only proven by ``--help``), and each one shown
to have done what its line says, not merely to have exited 0."""

import csv
import html
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grading import autograde as ag
from grading import course, examples, nbgrader_course
from grading.release import find_leaks

pytestmark = [pytest.mark.slow, pytest.mark.grading]
README = course.KIT_ROOT / "README.md"
ASSIGNMENT = course.ASSIGNMENT
STUDENT = "reference"
# Commands that start a Jupyter server (the formgrader is one of its extensions): proven by
# their --help and the extension list, never started here.
SERVERS = {("jupyter", "lab"), ("jupyter", "server"), ("jupyter", "notebook")}
FORMGRADER = "nbgrader.server_extensions.formgrader"


def section(title):
    """The README's text from the bold heading ``title`` to the next bold numbered heading."""
    text = README.read_text()
    start = text.index(f"**{title}**")
    end = re.compile(r"^\*\*\d\. ", re.M).search(text, start + len(title) + 4)
    return text[start : end.start() if end else len(text)]


def stock_commands():
    """The command lines of the first ``bash`` block of section 2, comments dropped."""
    block = re.search(r"```bash\n(.*?)```", section("2. Stock nbgrader and the formgrader"), re.S)
    lines = [shlex.split(line, comments=True) for line in block.group(1).splitlines()]
    return [words for words in lines if words]


def kit_commands():
    """``python -m grading COMMAND`` of each row of section 1's table."""
    return re.findall(
        r"^\| [^|]+\| `python -m grading ([a-z-]+)[^`]*` \|", section("1. The kit's commands"), re.M
    )


def page_text(path):
    """The text a reader sees of an HTML page: tags (highlighting too) removed, entities decoded."""
    raw = re.sub(r"<(script|style)\b.*?</\1>", "", path.read_text(), flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


def graded_checks(notebook_path):
    """{grade id: source} of the graded test cells of a notebook."""
    notebook = nbformat.read(notebook_path, as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in notebook.cells
        if c.cell_type == "code"
        and c.metadata.get("nbgrader", {}).get("grade")
        and not c.metadata["nbgrader"].get("solution")
    }


class Course:
    """What each README command must have left in the course folder, and the submission's intake."""

    def __init__(self, root):
        self.root = root

    def auto_max(self):
        return sum(t.max_score for t in ag.all_tests(self.root) if t.kind != "written")

    def after_course(self, output):
        assert (self.root / "nbgrader_config.py").read_text().startswith(nbgrader_course.MARK)
        assert (self.root / "source" / ASSIGNMENT / nbgrader_course.PACKAGE_NOTEBOOK).is_file()

    def after_generate_assignment(self, output):
        release = self.root / "release" / ASSIGNMENT
        for name in (*course.NOTEBOOKS, nbgrader_course.PACKAGE_NOTEBOOK, "cs_loss/svm.py"):
            assert (release / name).is_file(), name
        assert find_leaks(self.root / "release") == []  # "stubs only, no solution line"
        # A real submission arrives in submitted/<student>/loss/ before autograde: the whole
        # release folder, completed.
        dest = self.root / "submitted" / STUDENT / ASSIGNMENT
        examples.write_reference(dest, release)
        shutil.copy(release / nbgrader_course.PACKAGE_NOTEBOOK, dest)

    def after_autograde(self, output):
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gb:
            submission = gb.find_submission(ASSIGNMENT, STUDENT)
            names = {notebook.name for notebook in submission.notebooks}
            assert submission.score == self.auto_max()  # package tests and trusted checks included
        expected = (*course.NOTEBOOKS, nbgrader_course.PACKAGE_NOTEBOOK)
        assert names == {Path(name).stem for name in expected}

    def after_generate_feedback(self, output):
        folder = self.root / "feedback" / STUDENT / ASSIGNMENT
        release = self.root / "release" / ASSIGNMENT
        for name in course.NOTEBOOKS:
            text = page_text(folder / name.replace(".ipynb", ".html"))
            for grade_id, check in graded_checks(release / name).items():
                assert check in text, f"{name}: the check of {grade_id} is not shown"
            export_dir = str(self.root / nbgrader_course.SANDBOX / ".export")
            assert "_cs_loss_export" not in text and export_dir not in text, name
            assert "HIDDEN TESTS" not in text and "passed" in text, name

    def after_export(self, output):
        with (self.root / "grades.csv").open() as f:
            rows = {row["student_id"]: row for row in csv.DictReader(f)}
        assert float(rows[STUDENT]["raw_score"]) == self.auto_max()


def run(words, cwd, env):
    done = subprocess.run(words, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{shlex.join(words)} failed:\n{output[-3000:]}"
    # nbgrader prints its help and exits 0 for a subcommand it does not have.
    assert "No command given" not in output and "[ERROR]" not in output, output[-3000:]
    return output


def test_the_stock_nbgrader_block_of_the_readme_runs_as_written(tmp_path):
    """Every command of section 2, in order, on a fresh course with one real submission."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HOME=str(home), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    cwd, state, done = course.KIT_ROOT, None, []  # the first command runs in the kit's folder
    for words in stock_commands():
        words = [str(home) + w[1:] if w.startswith("~") else w for w in words]
        if words[0] == "cd":
            cwd = Path(words[1])
            continue
        if words[0] == "python":
            words[0] = sys.executable
        if tuple(words[:2]) in SERVERS:
            assert "Jupyter" in run([*words, "--help"], cwd, env)
            listed = re.sub(
                r"\x1b\[[0-9;]*m", "", run(["jupyter", "server", "extension", "list"], cwd, env)
            )
            assert re.search(rf"^\s*{re.escape(FORMGRADER)} enabled", listed, re.M), listed
            done.append("formgrader")
            continue
        output = run(words, cwd, env)
        if words[1:4] == ["-m", "grading", "course"]:
            state = Course(Path(words[4]))
            step = "course"
        else:
            assert words[0] == "nbgrader", shlex.join(words)
            step = words[1]
        check = getattr(state, f"after_{step}", None)
        assert check is not None, f"no check of what `{shlex.join(words)}` should have done"
        check(output)
        done.append(step)
    assert done == [
        "course",
        "generate_assignment",
        "autograde",
        "formgrader",
        "generate_feedback",
        "export",
    ]


def test_every_kit_command_of_the_readme_table_exists():
    """Section 1's commands (run for real by their own tests) answer --help in the kit's folder."""
    commands = kit_commands()
    assert set(commands) >= {"check", "release", "autograde", "gradescope", "expected"}
    for command in commands:
        done = subprocess.run(
            [sys.executable, "-m", "grading", command, "--help"],
            timeout=120,
            cwd=course.KIT_ROOT,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0 and f"usage: python -m grading {command}" in done.stdout, (
            command,
            done.stdout + done.stderr,
        )

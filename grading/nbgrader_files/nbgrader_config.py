# Written by `python -m grading`; rerun `python -m grading course DIR` to update a course.
"""nbgrader's configuration of this course directory: the kit's one configuration.

A copy of the kit's ``grading/nbgrader_files/nbgrader_config.py``. What varies (paths,
time limits, which of the kit's runs this is) is in ``nbgrader_settings.json`` beside
this file; the configuration itself is ``grading.nbconfig.nbgrader_config``, imported
in nbgrader's process only (never in a student's kernel).
"""

import importlib
import json
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - defined by traitlets when it loads this file
settings_text = (Path(__file__).resolve().parent / "nbgrader_settings.json").read_text()
kit = json.loads(settings_text)["kit"]
if kit not in sys.path:
    sys.path.insert(0, kit)
nbconfig = importlib.import_module("grading.nbconfig")
settings = nbconfig.Settings.from_json(settings_text)
if settings.flavour == "course":
    # A source/ holding solutions would leak them into release/: every nbgrader command stops.
    course = importlib.import_module("grading.nbgrader_course")
    try:
        course.refuse_unsafe_source(settings.root)
    except course.UnsafeCourseError as exc:  # traitlets turns an exception into a warning
        sys.exit(f"[ERROR] {exc}")
c.merge(nbconfig.nbgrader_config(settings))

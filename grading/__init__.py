"""Release and autograding for the cs_loss assignment: ``python -m grading --help``."""

import sys

# jsonschema imports rfc3987_syntax when it is installed (jupyter_server's extras bring it),
# only to check the "iri" string format, and that import builds 38 parsers: about 1.4 s of
# CPU in every grading process that imports nbformat. Nothing in the kit checks that format;
# with this, jsonschema does what it does where the package is not installed.
sys.modules.setdefault("rfc3987_syntax", None)

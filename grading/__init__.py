"""Release and autograding for the cs_loss assignment: ``python -m grading --help``."""

"""The catalogue of known mistakes and correct-but-different solutions of the package regions.

Each is declared with its exercise, in its topic module (``grading/topics/``): a
region body as a student would write it (column 0), for ``markers.write_package``.
``python -m grading expected`` runs every mistake through the hidden tests and saves
its outputs; when a submission's outputs on a failing test are a mistake's outputs,
the feedback names the mistake and gives its diagnosis. Every mistake must lose
points and be named; every correct variant must get full marks
(:func:`grading.build.prove_catalogue` and tests/test_fairness.py).

A diagnosis speaks in the student's terms and says where to look; it never
quotes an expected value or a hidden input.
"""

from __future__ import annotations

from .declare import Variant
from .topics import CORRECT, MISTAKES

__all__ = ["CORRECT", "MISTAKES", "Variant", "verify_catalogue"]


def verify_catalogue() -> list[str]:
    """Checks of the catalogue; returns a list of problems (empty if none).

    That every variant behaves as declared when run (each mistake loses points and
    is named, each correct variant gets full marks) is :func:`grading.build.prove_catalogue`.

    Names unique and snake_case, every region of the kit covered by at least one mistake
    and three correct variants, every region id known, every body parses and writes
    into a package, every mistake has a diagnosis. (That each mistake loses points and
    is named, and each correct variant gets full marks, is tests/test_fairness.py.)
    """
    import ast
    import re
    import tempfile
    from pathlib import Path

    from . import markers

    problems = []
    kit = Path(__file__).resolve().parent.parent / "cs_loss"
    regions = set(markers.kit_regions(kit))
    names = [v.name for v in MISTAKES + CORRECT]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"variant name {name!r} is used twice")
    for variant in MISTAKES + CORRECT:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", variant.name):
            problems.append(f"{variant.name!r} is not snake_case")
        if variant.region not in regions:
            problems.append(f"{variant.name}: unknown region {variant.region!r}")
        try:
            ast.parse(variant.code)
        except SyntaxError as exc:
            problems.append(f"{variant.name}: does not parse: {exc}")
    for variant in MISTAKES:
        if not variant.diagnosis:
            problems.append(f"mistake {variant.name} has no diagnosis")
    for variant in CORRECT:
        if variant.diagnosis:
            problems.append(f"correct variant {variant.name} has a diagnosis")
    for region in sorted(regions):
        if not any(v.region == region for v in MISTAKES):
            problems.append(f"region {region} has no known mistake")
        if sum(v.region == region for v in CORRECT) < 3:
            problems.append(f"region {region} has fewer than 3 correct variants")
    if len(MISTAKES) < 22:
        problems.append(f"only {len(MISTAKES)} known mistakes (at least 22 wanted)")
    if not problems:
        with tempfile.TemporaryDirectory() as tmp:
            for variant in MISTAKES + CORRECT:
                try:
                    bodies = {variant.region: variant.code}
                    markers.write_package(kit, Path(tmp) / variant.name, bodies)
                except Exception as exc:  # noqa: BLE001 - reported, not raised
                    problems.append(f"{variant.name}: cannot be written: {exc}")
    return problems

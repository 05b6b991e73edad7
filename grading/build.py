"""Build the expected values from the reference, and prove the catalogue of mistakes.

``python -m grading expected`` runs the hidden tests on the reference solution
(:func:`make_expected`) and every known mistake, and saves their outputs:
``expected.npz`` (compared with every submission), ``mistakes.npz`` and
``mistakes.json`` (for the diagnosis). :func:`prove_catalogue` runs every known
mistake and correct variant: each mistake must lose points and be named, each
correct variant must get full marks.
"""

from __future__ import annotations

import json
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from . import markers, mistakes
from .behaviour import BEHAVIOUR_CHECKS, behaviour_problems
from .child import Arrays, Statuses
from .diagnosis import load_mistakes
from .package import EXPECTED, KIT_ROOT, groups_of, load_expected, run_all_groups, score


def run_variant(variant: mistakes.Variant, workdir: str | Path) -> tuple[Arrays, Statuses]:
    """The child's outputs and statuses for the reference with ``variant``'s region replaced,
    on the groups its region affects."""
    dest = Path(workdir) / variant.name
    markers.write_package(KIT_ROOT / "cs_loss", dest, {variant.region: variant.code})
    return run_all_groups(dest, groups_of(variant.region))


def _run_variants(variants: tuple, prefix: str) -> list[tuple[Arrays, Statuses]]:
    """:func:`run_variant` of each of ``variants``, two at a time, in their order."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        with ThreadPoolExecutor(2) as pool:
            return list(pool.map(lambda v: run_variant(v, tmp), variants))


def prove_catalogue(
    expected_path: str | Path = EXPECTED, variants: tuple[mistakes.Variant, ...] | None = None
) -> list[str]:
    """Run every known mistake and correct variant (or only ``variants``); return the
    problems (empty if none).

    A mistake must lose points and be named (with its diagnosis) in a failing test's
    output; a correct variant must get full marks. One child per variant and affected
    group, two at a time: a few seconds in all.
    """
    expected = load_expected(expected_path)
    folder = Path(expected_path).parent
    known = load_mistakes(folder / "mistakes.npz", folder / "mistakes.json")
    if variants is None:
        variants = mistakes.MISTAKES + mistakes.CORRECT
    runs = _run_variants(variants, "cs_loss_catalogue_")
    problems = []
    for variant, (arrays, statuses) in zip(variants, runs, strict=True):
        results = [r for r in score(arrays, statuses, expected, known) if r.name in statuses]
        failing = [r for r in results if r.score < r.max_score]
        if variant.diagnosis:
            if not failing:
                problems.append(f"known mistake {variant.name} gets full marks")
            elif not any(variant.name in r.mistakes for r in failing):
                problems.append(f"known mistake {variant.name} loses points but is not named")
        elif failing or not results:
            problems.append(
                f"correct variant {variant.name} loses points: "
                + "; ".join(f"{r.name}: {r.output}" for r in failing)
            )
    return problems


def make_expected(
    reference_dir: str | Path = KIT_ROOT, path: str | Path = EXPECTED, with_mistakes: bool = True
) -> Path:
    """Run the hidden tests on the reference solution and save their outputs as the expectation.

    With ``with_mistakes``, also run every known mistake (grading/mistakes.py) and save
    their outputs next to ``path`` (``mistakes.npz``, ``mistakes.json``) for the diagnosis.
    Deterministic: fixed inputs, fixed seeds, variants in catalogue order.
    """
    arrays, statuses = run_all_groups(reference_dir)
    failed = {name: status for name, status in statuses.items() if not status["ok"]}
    if failed:
        raise RuntimeError(f"the reference solution fails hidden tests: {failed}")
    behaviour = {name: behaviour_problems(arrays, name) for name in BEHAVIOUR_CHECKS}
    if any(behaviour.values()):
        raise RuntimeError(f"the reference solution fails behaviour checks: {behaviour}")
    expected = {k: v for k, v in arrays.items() if k.split("/")[0] not in BEHAVIOUR_CHECKS}
    np.savez(path, **expected)
    if with_mistakes:
        mistake_arrays, mistake_codes = {}, {}
        runs = _run_variants(mistakes.MISTAKES, "cs_loss_mistakes_")
        for variant, (got, got_statuses) in zip(mistakes.MISTAKES, runs, strict=True):
            codes = {}
            for key, value in got.items():
                if key.split("/")[0] not in BEHAVIOUR_CHECKS:
                    mistake_arrays[f"{variant.name}/{key}"] = value
            for name in BEHAVIOUR_CHECKS:
                if got_statuses.get(name, {}).get("ok"):
                    codes[name] = [code for code, _ in behaviour_problems(got, name)]
            mistake_codes[variant.name] = codes
        folder = Path(path).parent
        np.savez(folder / "mistakes.npz", **mistake_arrays)
        text = json.dumps(mistake_codes, indent=1, sort_keys=True) + "\n"
        (folder / "mistakes.json").write_text(text)
    return Path(path)

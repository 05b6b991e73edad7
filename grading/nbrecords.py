"""What the kit's nbgrader preprocessors record for the grader: flags and verdicts.

nbgrader runs in a process of its own; the preprocessors (:mod:`grading.preprocessors`,
:mod:`grading.execute`) write here, into files of the grader's, and the grader reads them
back as typed values (:func:`read_flags`, :func:`read_verdicts`). The cell outputs
written for nbgrader's gradebook are never parsed back.
"""

from __future__ import annotations

import json
from pathlib import Path

from .results import Flag, FlagKind, legacy_flag


def _stored_flags(path: Path) -> list[dict]:
    """The flags in ``path`` as dicts; a file of the kit's earlier format (``{notebook:
    [messages]}``, kept by a course folder made before flags had kinds) is converted."""
    stored = json.loads(path.read_text()) if path.is_file() else []
    if isinstance(stored, dict):
        return [
            {**legacy_flag(str(message)).to_dict(), "where": notebook}
            for notebook, messages in stored.items()
            for message in messages
        ]
    return stored


def add_flag(path: str | Path, notebook: str, message: str, kind: FlagKind = FlagKind.NOTE) -> None:
    """Add a flag about ``notebook`` to the JSON file ``path`` (a list of flags, each once)."""
    if not path:
        return
    path = Path(path)
    flags = _stored_flags(path)
    entry = Flag(kind, message, where=notebook).to_dict()
    if entry not in flags:
        flags.append(entry)
    path.write_text(json.dumps(flags, indent=1))


def read_flags(path: str | Path) -> list[Flag]:
    """The flags the preprocessors wrote to ``path`` (none when it is missing or unreadable)."""
    try:
        return [Flag.from_dict(entry) for entry in _stored_flags(Path(path))]
    except (OSError, ValueError, TypeError, KeyError):
        return []


def write_verdict(path: str | Path, test: str, passed: bool, reason: str) -> None:
    """Record the trusted verdict on ``test`` (``<notebook>:<grade id>``) in the JSON file
    ``path``: ``{test: {"passed": bool, "reason": str}}``."""
    if not path:
        return
    path = Path(path)
    verdicts = json.loads(path.read_text()) if path.is_file() else {}
    verdicts[test] = {"passed": bool(passed), "reason": str(reason or "")}
    path.write_text(json.dumps(verdicts, indent=1))


def read_verdicts(path: str | Path) -> dict[str, tuple[bool, str]]:
    """``{test: (passed, reason)}`` written by :func:`write_verdict` (empty when none)."""
    try:
        verdicts = json.loads(Path(path).read_text())
        return {test: (bool(v["passed"]), str(v["reason"])) for test, v in verdicts.items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}

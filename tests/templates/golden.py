"""Reviewed golden files: compare, or rewrite them with UPDATE_GOLDEN=1 (then review the diff)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"


def updating() -> bool:
    return os.environ.get("UPDATE_GOLDEN") == "1"


def assert_matches_golden(relative: str, actual: str) -> None:
    path = GOLDEN_DIR / relative
    if updating():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="\n")
        return
    if not path.exists():
        pytest.fail(
            f"no golden file {relative}: review the output, then run "
            "UPDATE_GOLDEN=1 pytest tests/templates"
        )
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"{relative} differs from its golden file; if the change is intended, run "
        "UPDATE_GOLDEN=1 pytest tests/templates and review the diff"
    )

"""Fixtures for engine tests: the sample rule set shipped under tests/data/rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine import RuleSet, load

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "rules"
SAMPLE_PATHS = [SAMPLE / "procedure_rules", SAMPLE / "form_definitions"]


@pytest.fixture(scope="session")
def ruleset() -> RuleSet:
    """The sample rule set, loaded once for the session (it is immutable)."""
    return load(SAMPLE_PATHS)

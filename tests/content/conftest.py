"""Fixtures for the municipal content: みどり市's procedure_rules/ and form_definitions/."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine import RuleSet, load

ROOT = Path(__file__).resolve().parents[2]
CONTENT_PATHS = [ROOT / "procedure_rules", ROOT / "form_definitions"]


@pytest.fixture(scope="session")
def content() -> RuleSet:
    """The shipped content, loaded once (a load error fails every test that needs it)."""
    return load(CONTENT_PATHS)

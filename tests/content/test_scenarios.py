"""Every YAML scenario of the municipal content passes, run from pytest one by one."""

from __future__ import annotations

import yaml

from app.engine import RuleSet
from app.engine.scenarios import run_scenario
from tests.content.conftest import ROOT

SCENARIO_FILES = sorted((ROOT / "procedure_rules" / "scenarios").glob("*.yaml"))


def _scenario_names() -> list[str]:
    names: list[str] = []
    for path in SCENARIO_FILES:
        names += [s["name"] for s in yaml.safe_load(path.read_text(encoding="utf-8"))["scenarios"]]
    return names


def pytest_generate_tests(metafunc):  # type: ignore[no-untyped-def]
    if "scenario_name" in metafunc.fixturenames:
        metafunc.parametrize("scenario_name", _scenario_names())


def test_scenario_passes(content: RuleSet, scenario_name: str) -> None:
    scenario = next(s for s in content.scenarios if s.name == scenario_name)
    outcome = run_scenario(content, scenario)
    assert outcome.passed, f"{scenario.name}\n" + "\n".join(outcome.differences)


def test_scenario_names_are_unique() -> None:
    names = _scenario_names()
    assert len(names) == len(set(names))

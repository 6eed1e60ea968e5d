"""The sample rule set's YAML scenarios pass, and a wrong expectation fails with a diff."""

from __future__ import annotations

import dataclasses

import pytest

from app.engine import RuleSet
from app.engine.scenarios import run_scenario


def test_sample_has_scenarios(ruleset: RuleSet) -> None:
    assert len(ruleset.scenarios) >= 4


@pytest.mark.parametrize("index", range(4))
def test_sample_scenario_passes(ruleset: RuleSet, index: int) -> None:
    outcome = run_scenario(ruleset, ruleset.scenarios[index])
    assert outcome.passed, "\n".join(outcome.differences)


def test_wrong_expectation_shows_readable_difference(ruleset: RuleSet) -> None:
    scenario = ruleset.scenarios[0]
    expect = {
        "procedures": [
            "kaso_kyoka",
            "kokuho_soshitsu",
            "sosaihi_kokuho",
            "inkan_haishi",
            "setainushi_henko",
            "teitaijuji",
        ],
        "fields": {"kokuho_soshitsu.setainushi_name": "山田 花子", "kokuho_soshitsu.nope": "x"},
    }
    outcome = run_scenario(ruleset, dataclasses.replace(scenario, expect=expect))
    assert outcome.differences == (
        "  - procedure: expected teitaijuji, but it did not come out",
        "  + procedure: kaigo_soshitsu[0] came out, but the scenario does not expect it",
        "  ≠ field kokuho_soshitsu.setainushi_name: expected '山田 花子', got '山田 太郎'",
        "  ! field kokuho_soshitsu.nope: form kokuho_soshitsu has no field nope",
    )


def test_deadline_and_department_expectations_are_compared(ruleset: RuleSet) -> None:
    """A scenario checks each named procedure's deadline as a date and its department by id."""
    scenario = ruleset.scenarios[0]
    result = run_scenario(ruleset, dataclasses.replace(scenario, expect={}))
    assert result.passed
    from app.engine import evaluate

    applied = evaluate(ruleset, scenario.facts, scenario.as_of).procedures
    dated = next(p for p in applied if p.deadline is not None)
    right = {
        "deadlines": {dated.key: dated.deadline.isoformat()},
        "departments": {dated.key: dated.department["id"]},
    }
    assert run_scenario(ruleset, dataclasses.replace(scenario, expect=right)).passed
    wrong = {
        "deadlines": {dated.key: "1999-01-01", "teitaijuji": "2025-01-01"},
        "departments": {dated.key: "nowhere"},
    }
    outcome = run_scenario(ruleset, dataclasses.replace(scenario, expect=wrong))
    assert outcome.differences == (
        f"  ≠ deadline {dated.key}: expected '1999-01-01', got '{dated.deadline.isoformat()}'",
        "  ! deadlines teitaijuji: the procedure did not come out",
        f"  ≠ department {dated.key}: expected 'nowhere', got '{dated.department['id']}'",
    )

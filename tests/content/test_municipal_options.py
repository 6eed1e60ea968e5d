"""Municipal choices live in the profile and parameters: changing the YAML changes the outcome."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from app.engine import RuleSet, evaluate, load
from tests.content.conftest import ROOT


def _copy_content(tmp_path: Path) -> tuple[Path, Path]:
    rules = shutil.copytree(ROOT / "procedure_rules", tmp_path / "procedure_rules")
    forms = shutil.copytree(ROOT / "form_definitions", tmp_path / "form_definitions")
    return rules, forms


def _scenario(content: RuleSet, text: str):  # type: ignore[no-untyped-def]
    return next(s for s in content.scenarios if text in s.name)


def _applied(ruleset: RuleSet, scenario) -> set[str]:  # type: ignore[no-untyped-def]
    result = evaluate(ruleset, scenario.facts, scenario.as_of)
    return {p["id"] for p in result.to_json()["procedures"]}


def test_household_head_change_on_a_death_follows_the_profile(
    content: RuleSet, tmp_path: Path
) -> None:
    scenario = _scenario(content, "妻と長男の2人が残る")
    assert "setainushi_henko" in _applied(content, scenario)

    rules, forms = _copy_content(tmp_path)
    profile = rules / "municipality.yaml"
    data = yaml.safe_load(profile.read_text(encoding="utf-8"))
    data["municipality"]["options"]["household_head_auto_change"] = True
    profile.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    automatic = load([rules, forms])

    applied = _applied(automatic, scenario)
    assert "setainushi_henko" not in applied
    assert "setainushi_shokken_henko" in applied


def test_funeral_grant_amount_is_a_dated_parameter(content: RuleSet, tmp_path: Path) -> None:
    scenario = _scenario(content, "妻と長男の2人が残る")

    def amount(ruleset: RuleSet) -> str:
        result = evaluate(ruleset, scenario.facts, scenario.as_of).to_json()
        form = next(f for f in result["forms"] if f["id"] == "sosaihi_kokuho")
        return str(form["fields"]["shikyu_gaku"])

    assert amount(content) == "50,000円"
    rules, forms = _copy_content(tmp_path)
    path = rules / "parameters.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    grant = next(p for p in data["parameters"] if p["id"] == "sosaihi_kokuho")
    grant["values"].append({"valid_from": scenario.as_of, "value": 30000})
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert amount(load([rules, forms])) == "30,000円"

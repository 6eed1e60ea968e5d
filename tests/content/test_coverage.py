"""The content carries a whole city: enough events, procedures, departments, forms, scenarios."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from app.engine import RuleSet, evaluate

FORM_IDS = {
    "jumin_idou", "kokuho_shutoku", "kokuho_soshitsu", "koki_todoke", "kaigo_todoke",
    "nenkin_todoke", "jido_teate_nintei", "jido_teate_shometsu", "jido_teate_gakukaitei",
    "kodomo_iryo", "shussan_ikuji", "sosaihi_kokuho", "sosaihi_koki", "inkan_toroku",
    "shogai_techo_henko", "tennyugaku", "inu_henko", "kotei_shisan_sozokunin", "teitaijuji",
    "kaso_kyoka", "boshi_renraku",
}  # fmt: skip
EVENTS = {
    "move_in", "move_in_abroad", "move_out", "move_within", "birth", "death", "marriage", "divorce",
    "household_change",
}


def test_every_agreed_form_is_defined(content: RuleSet) -> None:
    assert FORM_IDS - set(content.forms) == set()


def test_thirty_procedures_in_nine_departments(content: RuleSet) -> None:
    assert len(content.procedures) >= 30
    assert len({p.department.id for p in content.procedures}) >= 9


def test_every_procedure_has_a_legal_basis_and_an_outcome(content: RuleSet) -> None:
    for procedure in content.procedures:
        assert procedure.legal_basis.law and procedure.legal_basis.article, procedure.id
    assert procedure.forms or (procedure.automatic and procedure.note) or procedure.guidance, procedure.id


def test_six_scenarios_per_life_event(content: RuleSet) -> None:
    per_event: Counter[str] = Counter()
    for scenario in content.scenarios:
        for event in scenario.facts["case.events"]:
            per_event[event] += 1
    assert set(content.events) == EVENTS
    assert all(per_event[event] >= 6 for event in EVENTS), per_event


@pytest.mark.parametrize(
    "edge",
    [
        "65歳の誕生日の前日",
        "75歳の誕生日当日",
        "75歳の誕生日の前日",
        "妻1人が残る",
        "2人が残る",
        "第3子",
        "15日以内",
        "15日を過ぎた",
        "令和元年5月1日",
        "国外から転入",
        "転出：世帯に誰も残らない",
    ],
)
def test_the_edges_counters_get_wrong_have_a_scenario(content: RuleSet, edge: str) -> None:
    assert any(edge in s.name for s in content.scenarios), edge


def test_each_scenario_fills_every_required_field(content: RuleSet) -> None:
    """The realistic households of the scenarios leave no required field of any form empty."""
    gaps = {}
    for scenario in content.scenarios:
        result = evaluate(content, scenario.facts, scenario.as_of).to_json()
        for form in result["forms"]:
            if form["missing"]:
                gaps[f"{scenario.name} / {form['key']}"] = form["missing"]
    assert gaps == {}


def test_child_allowance_amount_follows_the_dated_parameters(content: RuleSet) -> None:
    third_child = content.parameters["jido_teate_dai3"]
    assert third_child.value_on(date(2024, 9, 30)) == 15000
    assert third_child.value_on(date(2024, 10, 1)) == 30000

"""Questions that cannot apply to a member are not asked (issue #16, item 6).

A recipient who moves in cannot already receive this city's 児童手当: the 認定 is the
municipality of residence's (児童手当法 第7条第1項), so a move-in family is not asked.
"""

from __future__ import annotations

from app.engine import RuleSet, evaluate
from tests.resident.conftest import scenario_facts


def test_a_family_moving_in_is_not_asked_whether_it_receives_this_citys_jido_teate(
    content: RuleSet,
) -> None:
    facts, as_of = scenario_facts("move_in.yaml", 1)
    assert facts["household[0].moving"] is True
    facts = {k: v for k, v in facts.items() if not k.endswith(".jido_teate_jukyu")}
    result = evaluate(content, facts, as_of)
    asked = [q.fact for q in result.next_questions]
    assert not [fact for fact in asked if fact.endswith(".jido_teate_jukyu")], asked
    assert "jido_teate_nintei" in {p.id for p in result.procedures}


def test_a_recipient_already_living_here_is_still_asked(content: RuleSet) -> None:
    facts, as_of = scenario_facts("move_in.yaml", 1)
    facts = {k: v for k, v in facts.items() if not k.endswith(".jido_teate_jukyu")}
    facts["household[0].moving"] = False  # the parent already lives here; the children join
    asked = [q.fact for q in evaluate(content, facts, as_of).next_questions]
    assert "household[0].jido_teate_jukyu" in asked


def _without_children_insurance(facts: dict) -> dict:
    """Drop the children's own 社会保険 answers (household[2], household[3] are the children)."""
    return {
        k: v
        for k, v in facts.items()
        if k not in ("household[2].employee_insurance", "household[3].employee_insurance")
    }


def test_a_family_moving_in_is_asked_the_childrens_insurance_once_not_per_child(
    content: RuleSet,
) -> None:
    facts, as_of = scenario_facts("move_in.yaml", 1)
    result = evaluate(content, _without_children_insurance(facts), as_of)
    asked = [q.fact for q in result.next_questions]
    assert "move.kodomo_hoken" in asked
    assert "household[2].employee_insurance" not in asked, asked
    assert "household[3].employee_insurance" not in asked, asked


def test_the_family_answer_settles_each_childs_insurance(content: RuleSet) -> None:
    facts, as_of = scenario_facts("move_in.yaml", 1)
    facts = _without_children_insurance(facts) | {"move.kodomo_hoken": "kokuho"}
    result = evaluate(content, facts, as_of)
    asked = [q.fact for q in result.next_questions]
    assert not [fact for fact in asked if fact.endswith(".employee_insurance")], asked
    assert "unknown_fact" not in {w.code for w in result.warnings}
    joining = {p.person for p in result.procedures if p.id == "kokuho_shutoku"}
    assert joining == {None}  # one 国保 加入 for the household …
    rows = result.form("kokuho_shutoku").rows["members"]
    assert [row["name"] for row in rows] == ["石井 大輝", "石井 さくら"]  # … listing the two children


def test_a_mixed_household_is_asked_per_child(content: RuleSet) -> None:
    facts, as_of = scenario_facts("move_in.yaml", 1)
    facts = _without_children_insurance(facts) | {"move.kodomo_hoken": "kobetsu"}
    result = evaluate(content, facts, as_of)
    assert "unknown_fact" not in {w.code for w in result.warnings}
    asked = [q.fact for q in result.next_questions]
    assert "move.kodomo_hoken" not in asked
    assert "household[2].employee_insurance" in asked
    assert "household[3].employee_insurance" in asked

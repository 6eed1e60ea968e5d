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

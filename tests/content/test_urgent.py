"""児童手当's 15 days are raised as 「本日中に」 for every event that starts them, not only divorce.

児童手当法 第8条第2項: paid from the month after the claim; 第3項 (and 第9条 for an increase): a
claim within 15 days of a move (or a birth, やむを得ない理由) keeps the month. A day late can
cost a month, so the counter must take the claim today.
"""

from __future__ import annotations

import pytest

from app.engine import RuleSet, evaluate
from app.engine.model import Scenario

URGENT_WHEN_THEY_APPLY = {"jido_teate_nintei", "jido_teate_gakukaitei", "jido_teate_komuin_annai"}


def _applying(content: RuleSet, pid: str) -> list[tuple[Scenario, object]]:
    found = []
    for scenario in content.scenarios:
        result = evaluate(content, scenario.facts, scenario.as_of)
        found += [(scenario, p) for p in result.procedures if p.id == pid]
    return found


@pytest.mark.parametrize("pid", sorted(URGENT_WHEN_THEY_APPLY))
def test_every_jido_teate_claim_with_15_days_is_urgent(content: RuleSet, pid: str) -> None:
    applying = _applying(content, pid)
    assert applying, f"no scenario brings {pid}"
    for scenario, procedure in applying:
        assert procedure.urgent and "15日" in procedure.urgent, (scenario.name, procedure.urgent)


def test_move_in_and_birth_both_raise_the_claim(content: RuleSet) -> None:
    events = {
        event
        for scenario, _p in _applying(content, "jido_teate_nintei")
        for event in scenario.facts["case.events"]
    }
    assert {"move_in", "birth"} <= events, events

"""Start dates from the law (issue 13 item 2): 死亡届 from the day the death became known,
3 months for a birth or death abroad (戸籍法 第49条・第86条), each fact asked only when it can
change whether the 届出 is late."""

from __future__ import annotations

from datetime import date
from typing import Any

from app.engine import RuleSet, evaluate


def _death(day: str, **extra: Any) -> dict[str, Any]:
    return {
        "case.events": ["death"],
        "death.date": day,
        "household[0].roles": ["deceased", "household_head"],
        "household[0].name": "山田 太郎",
        "household[0].birth_date": "1947-03-02",
        "household[1].roles": ["spouse", "applicant"],
        "household[1].name": "山田 花子",
        **extra,
    }


def _asked(result: Any) -> list[str]:
    return [q.fact for q in result.next_questions]


def test_a_death_reported_in_time_asks_neither_known_date_nor_abroad(content: RuleSet) -> None:
    # 死亡 2025-04-07 (Mon), 7 days counting that day end 4月13日 (Sun) -> 4月14日.
    result = evaluate(content, _death("2025-04-07"), date(2025, 4, 10))
    todoke = result.procedure("shibo_todoke")
    assert todoke is not None
    assert (todoke.deadline_period_end, todoke.deadline) == (date(2025, 4, 13), date(2025, 4, 14))
    assert "death.known_date" not in _asked(result)
    assert "death.abroad" not in _asked(result)


def test_a_late_report_asks_when_the_death_became_known(content: RuleSet) -> None:
    result = evaluate(content, _death("2025-04-01"), date(2025, 4, 20))
    todoke = result.procedure("shibo_todoke")
    assert todoke is not None and todoke.deadline is None
    assert {"death.known_date", "death.abroad"} <= set(_asked(result))


def test_the_period_runs_from_the_day_the_death_became_known(content: RuleSet) -> None:
    # Found 4月15日 (Tue), died about 4月1日: 7 days counting 4月15日 end 4月21日 (Mon).
    facts = _death("2025-04-01", **{"death.known_date": "2025-04-15", "death.abroad": False})
    result = evaluate(content, facts, date(2025, 4, 20))
    todoke = result.procedure("shibo_todoke")
    assert todoke is not None
    assert todoke.deadline == date(2025, 4, 21) and not todoke.overdue
    assert not [w for w in result.warnings if "死亡届" in w.message]


def test_a_death_abroad_has_three_months_from_the_day_it_became_known(content: RuleSet) -> None:
    facts = _death("2025-03-20", **{"death.abroad": True, "death.known_date": "2025-03-22"})
    result = evaluate(content, facts, date(2025, 4, 20))
    todoke = result.procedure("shibo_todoke")
    assert todoke is not None
    # 3 months counting 3月22日 (戸籍法第43条) end 6月21日 (Sat) -> 6月23日 (Mon).
    assert (todoke.deadline_period_end, todoke.deadline) == (date(2025, 6, 21), date(2025, 6, 23))
    assert todoke.deadline_label == "死亡の事実を知った日を含めて3か月以内（国外で死亡）"


def _birth(day: str, **extra: Any) -> dict[str, Any]:
    return {
        "case.events": ["birth"],
        "household[0].roles": ["household_head", "applicant"],
        "household[0].name": "山田 一郎",
        "household[1].roles": ["newborn"],
        "household[1].birth_date": day,
        **extra,
    }


def test_a_birth_reported_in_time_does_not_ask_about_abroad(content: RuleSet) -> None:
    result = evaluate(content, _birth("2025-04-01"), date(2025, 4, 10))
    todoke = result.procedure("shussei_todoke")
    assert todoke is not None and todoke.deadline == date(2025, 4, 14)
    assert "birth.abroad" not in _asked(result)


def test_a_birth_abroad_has_three_months(content: RuleSet) -> None:
    result = evaluate(content, _birth("2025-04-01", **{"birth.abroad": True}), date(2025, 5, 20))
    todoke = result.procedure("shussei_todoke")
    assert todoke is not None
    assert todoke.deadline == date(2025, 6, 30) and not todoke.overdue


def test_a_late_birth_report_asks_whether_it_was_abroad(content: RuleSet) -> None:
    result = evaluate(content, _birth("2025-04-01"), date(2025, 5, 20))
    assert "birth.abroad" in _asked(result)
    late = evaluate(content, _birth("2025-04-01", **{"birth.abroad": False}), date(2025, 5, 20))
    todoke = late.procedure("shussei_todoke")
    assert todoke is not None and todoke.overdue

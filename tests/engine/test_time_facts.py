"""A time of day as a clerk types it: 14:30, full-width digits, 14時30分; 24-hour HH:MM kept."""

from __future__ import annotations

import pytest

from app.engine.errors import FactValueError
from app.engine.facts import FactDef, parse_fact_value


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("14:30", "14:30"),
        ("１４：３０", "14:30"),
        ("14時30分", "14:30"),
        ("１４時３０分", "14:30"),
        ("9時", "09:00"),
        ("午後2時半", "14:30"),
        ("午前0時5分", "00:05"),
        ("午前12時", "00:00"),
    ],
)
def test_a_time_is_read_as_people_write_it(typed, kept):
    fact = FactDef("death.time", "time", "死亡時刻")
    assert parse_fact_value(fact, typed, as_of=None) == kept  # type: ignore[arg-type]


@pytest.mark.parametrize("typed", ["25:00", "14:60", "2時間", "あさ"])
def test_a_time_that_is_not_one_is_refused_with_an_example(typed):
    fact = FactDef("death.time", "time", "死亡時刻")
    with pytest.raises(FactValueError) as refused:
        parse_fact_value(fact, typed, as_of=None)  # type: ignore[arg-type]
    assert "例：14:30、14時30分" in str(refused.value)

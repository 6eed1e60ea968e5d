"""The one grammar of fact ids: case facts, person keys and scenario field keys."""

from __future__ import annotations

from app.engine.factids import (
    FIELD_KEY,
    is_case_fact_id,
    is_rule_id,
    parse_person_key,
    person_key,
    split_fact_id,
    strip_person_prefix,
)


def test_person_keys_round_trip() -> None:
    assert parse_person_key("household[2].name") == (2, "name")
    assert person_key(2, "name") == "household[2].name"
    assert parse_person_key("household[x].name") is None
    assert parse_person_key("household[2].Name") is None
    assert parse_person_key("death.date") is None


def test_split_fact_id_gives_none_for_case_facts() -> None:
    assert split_fact_id("death.date") == (None, "death.date")
    assert split_fact_id("household[0].birth_date") == (0, "birth_date")


def test_ids_and_field_keys() -> None:
    assert is_rule_id("kokuho_loss") and not is_rule_id("Kokuho") and not is_rule_id("1a")
    assert is_case_fact_id("death.date") and not is_case_fact_id("death")
    assert strip_person_prefix("household[1].name") == (True, "name")
    assert strip_person_prefix("death.date") == (False, "death.date")
    match = FIELD_KEY.match("kokuho_form.members[1].name")
    assert match is not None and match["row"] == "members" and match["n"] == "1"

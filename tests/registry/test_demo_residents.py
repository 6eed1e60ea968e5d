"""The demo registry's seed data speaks the content's fact vocabulary and covers the brief."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from app.engine import FactValueError, RuleSet, load, parse_fact_value
from app.engine.ages import age_on
from app.engine.mynumber import is_valid_my_number
from app.registry.demo import load_seed

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 27)  # the day the seed data was written; ages below are on that day


@pytest.fixture(scope="module")
def vocabulary() -> RuleSet:
    return load([ROOT / "procedure_rules", ROOT / "form_definitions"])


@pytest.fixture(scope="module")
def households() -> list[dict]:
    return load_seed()


def _members(households: list[dict]) -> list[dict]:
    return [m for h in households for m in h["members"]]


def test_every_fact_id_exists_in_the_vocabulary_and_every_value_fits_its_type(
    vocabulary: RuleSet, households: list[dict]
) -> None:
    problems = []
    for household in households:
        for member in household["members"]:
            for fact_id, value in member.items():
                fact = vocabulary.facts.get(fact_id)
                if fact is None or not fact.per_person or fact.derived:
                    problems.append(f"{household['setai_code']} {member['name']}: {fact_id}")
                    continue
                try:
                    parse_fact_value(fact, value, AS_OF)
                except FactValueError as exc:
                    problems.append(f"{member['name']}: {fact_id}: {exc}")
        for case_fact, value in (
            ("household.address", household["address"]),
            ("household.postal_code", household["postal_code"]),
        ):
            parse_fact_value(vocabulary.facts[case_fact], value, AS_OF)
    assert problems == []


def test_size_and_identifiers(households: list[dict]) -> None:
    members = _members(households)
    assert len(households) >= 10
    assert len(members) >= 30
    assert len({h["setai_code"] for h in households}) == len(households)
    assert len({m["juminhyo_code"] for m in members}) == len(members)
    assert all(len(m["juminhyo_code"]) == 11 for m in members)
    assert [m["name"] for m in members if not is_valid_my_number(m["my_number"])] == []
    assert len({m["my_number"] for m in members}) == len(members)


def test_covers_the_households_the_counter_meets(households: list[dict]) -> None:
    def head(h: dict) -> dict:
        return next(m for m in h["members"] if m["relationship"] == "setainushi")

    elderly_head = [
        h
        for h in households
        if age_on(head(h)["birth_date"], AS_OF) == 78
        and head(h).get("koki_hihokensha_bango")
        and head(h).get("kaigo_nintei")
        and head(h).get("inkan_toroku")
        and any(m["relationship"] in ("tsuma", "otto") for m in h["members"])
    ]
    assert elderly_head, "a 78-year-old head in 後期 with 介護 certification, 印鑑登録 and a spouse"
    assert any(len(h["members"]) == 4 for h in households)
    ages = {
        age_on(m["birth_date"], AS_OF) for m in _members(households) if m["relationship"] == "ko"
    }
    assert (
        {a for a in ages if a < 6}
        and {a for a in ages if 6 <= a < 15}
        and {a for a in ages if a >= 15}
    )
    foreign = [m for m in _members(households) if m["foreign_resident"]]
    assert foreign and all(
        m["nationality"] and m["zairyu_shikaku"] and m["zairyu_card_number"] for m in foreign
    )
    assert any(m.get("shogai_techo") for m in _members(households))
    assert any(m["name"].startswith("髙橋") for m in _members(households))

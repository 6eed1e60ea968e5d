"""The demo registry behind the adapter: seeded once, searchable, sealed at rest, engine-ready."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app.engine import evaluate, load
from app.extensions import db
from app.models import RegistryHousehold, RegistryResident
from app.registry.adapter import PROVENANCE, HouseholdRecord, ResidentRegistry
from app.registry.demo import fold_name, load_seed
from app.services.demo import load_demo
from app.services.registry import resident_registry

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.db


def _code_of(name: str) -> str:
    return next(m["juminhyo_code"] for h in load_seed() for m in h["members"] if m["name"] == name)


@pytest.fixture
def registry(app: Flask):
    with app.app_context():
        load_demo(now=datetime(2026, 11, 27, 9, 0))
        yield resident_registry()


def test_demo_load_is_idempotent(app: Flask) -> None:
    with app.app_context():
        first = load_demo(now=datetime(2026, 11, 27, 9, 0))
        second = load_demo(now=datetime(2026, 11, 27, 9, 5))
        assert first.households == len(load_seed()) and second.households == 0
        assert second.accounts == []
        assert db.session.query(RegistryHousehold).count() == len(load_seed())
        assert db.session.query(RegistryResident).count() == sum(
            len(h["members"]) for h in load_seed()
        )


def test_cli_demo_load_reports_the_registry(app: Flask) -> None:
    runner = app.test_cli_runner()
    assert "household(s) added" in runner.invoke(args=["demo", "load"]).output
    assert "demo registry: up to date" in runner.invoke(args=["demo", "load"]).output


def test_find_by_juminhyo_code_returns_the_household_as_engine_facts(
    registry: ResidentRegistry,
) -> None:
    record = registry.find_by_juminhyo_code(_code_of("山田 花子"))
    assert isinstance(record, HouseholdRecord)
    assert record.provenance == PROVENANCE == "registry"
    assert record.person_index == 1 and record.size == 2
    facts = record.facts
    assert facts["household.address"] == "東京都みどり市東町四丁目2番3号"
    assert facts["household[0].name"] == "山田 太郎"
    assert facts["household[0].roles"] == ["household_head"]
    assert facts["household[1].roles"] == ["spouse"]
    assert facts["household[0].birth_date"] == "1948-03-02"
    assert all(p == "registry" for _k, _v, p in record.fact_items())
    assert registry.find_by_juminhyo_code("00000000000") is None


@pytest.mark.parametrize(
    "typed",
    ["髙橋 誠", "高橋 誠", "高橋誠", "髙橋　誠", "タカハシ マコト", "たかはし まこと"],
)
def test_find_by_name_folds_variants_spaces_and_kana(
    registry: ResidentRegistry, typed: str
) -> None:
    found = registry.find_by_name_and_birth_date(typed, date(1971, 11, 11))
    assert [r.facts[f"household[{r.person_index}].name"] for r in found] == ["髙橋 誠"]


def test_find_by_name_needs_the_right_birth_date(registry: ResidentRegistry) -> None:
    assert registry.find_by_name_and_birth_date("髙橋 誠", date(1971, 11, 12)) == []


def test_personal_data_is_sealed_at_rest(app: Flask, registry: ResidentRegistry) -> None:
    with app.app_context():
        rows = db.session.execute(
            select(RegistryResident.facts_enc, RegistryResident.name_birth_digest)
        )
        blob = " ".join(a + b for a, b in rows)
        address = db.session.scalar(select(RegistryHousehold.address_enc))
    member = load_seed()[0]["members"][0]
    assert member["name"] not in blob and member["my_number"] not in blob
    assert member["juminhyo_code"] not in blob and "みどり市" not in (address or "")


def test_registry_facts_drive_the_engine_for_a_death(registry: ResidentRegistry) -> None:
    """Prefilled from the registry, a death at the counter needs only the interview facts."""
    record = registry.find_by_name_and_birth_date("山田 太郎", date(1948, 3, 2))[0]
    facts = dict(record.facts)
    facts["household[0].roles"] = ["household_head", "deceased"]
    facts["household[1].roles"] = ["spouse", "applicant", "chief_mourner", "heir_representative"]
    facts.update(
        {
            "case.events": ["death"],
            "death.date": "2026-11-20",
            "funeral.date": "2026-11-23",
            "dog.owned": False,
        }
    )
    ruleset = load([ROOT / "procedure_rules", ROOT / "form_definitions"])
    result = evaluate(ruleset, facts, date(2026, 11, 27)).to_json()
    applied = {p["id"] for p in result["procedures"]}
    assert {
        "koki_soshitsu",
        "koki_sosaihi",
        "kaigo_soshitsu",
        "inkan_haishi",
        "mynumber_card_shikko",
        "setainushi_shokken_henko",
        "kotei_shisan_sozokunin",
        "mishikyu_nenkin",
    } <= applied
    assert "kokuho_soshitsu" not in applied
    koki = next(f for f in result["forms"] if f["id"] == "koki_todoke")
    assert koki["fields"]["hihokensha_bango"] == "13012345"


def test_fold_name() -> None:
    assert fold_name("髙橋　誠") == fold_name("高橋誠")
    assert fold_name("たかはし") == "タカハシ"

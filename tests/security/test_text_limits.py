"""Medium 7: every text fact has a box; a value longer than it is refused wherever it enters.

Also Low 10/12 on the same path: a 5,000-digit number, control characters and NFD kana.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from flask import Flask

from app.engine import FactValueError, parse_fact_value
from app.engine.errors import LoadError
from app.engine.loader import load
from tests.security.conftest import ROOT

HUGE = "東" * 300_000
RULES = [ROOT / "procedure_rules", ROOT / "form_definitions"]


@pytest.fixture(scope="module")
def ruleset() -> Any:
    return load(RULES)


def test_every_text_fact_of_the_rule_set_refuses_a_huge_value(ruleset: Any) -> None:
    texts = [f for f in ruleset.facts.values() if f.type in ("text", "address", "kana")]
    assert len(texts) > 50
    for fact in texts:
        raw = "ア" * 300_000 if fact.type == "kana" else HUGE
        with pytest.raises(FactValueError) as refused:
            parse_fact_value(fact, raw, date(2026, 4, 1))
        assert "入力" in refused.value.message or "文字" in refused.value.message, fact.id


def test_an_address_takes_its_box_and_no_more(ruleset: Any) -> None:
    fact = ruleset.facts["household.address"]
    limit = 80
    assert parse_fact_value(fact, "東" * limit, date(2026, 4, 1)) == "東" * limit
    with pytest.raises(FactValueError) as refused:
        parse_fact_value(fact, "東" * (limit + 1), date(2026, 4, 1))
    assert (
        refused.value.message
        == f"{fact.label}は{limit}文字以内で入力してください（いま{limit + 1}文字です）"
    )


def test_a_rule_file_cannot_raise_a_box_past_the_ceiling(tmp_path: Any) -> None:
    import shutil

    rules = tmp_path / "procedure_rules"
    shutil.copytree(ROOT / "procedure_rules", rules)
    facts = rules / "facts" / "forms.yaml"
    text = facts.read_text(encoding="utf-8")
    facts.write_text(text.replace("max_length: 40}", "max_length: 1000000}", 1), encoding="utf-8")
    with pytest.raises(LoadError) as refused:
        load([rules, ROOT / "form_definitions"])
    assert "上限 400 文字" in str(refused.value)


def _case(client: Any) -> str:
    url = client.post("/counter/cases", data={"events": ["move_in"], "channel": "counter"}).headers[
        "Location"
    ]
    client.post(url + "/members", data={"roles": ["applicant", "household_head"]})
    return str(url)


def _answer(client: Any, url: str, fact: str, value: str) -> Any:
    prefix = "f-" + fact.replace("[", "-").replace("].", "-").replace(".", "-")
    return client.post(url + "/answer", data={"fact": fact, f"{prefix}-value": value})


def test_the_counter_refuses_a_huge_address_and_stores_nothing(client: Any, login_as: Any) -> None:
    login_as("counter")
    url = _case(client)
    # ASCII: 300,000 kanji would pass the form-size limit (413) before reaching the fact.
    refused = _answer(client, url, "household.address", "A" * 300_000)
    body = refused.get_json()
    assert refused.status_code == 422 and body["ok"] is False
    assert "80文字以内で入力してください" in body["error"]
    assert _answer(client, url, "household.address", "みどり市中央1丁目2番3号").get_json()["ok"]


def test_the_counter_refuses_control_characters_and_reads_nfd_kana(
    client: Any, login_as: Any
) -> None:
    login_as("counter")
    url = _case(client)
    refused = _answer(client, url, "household[0].name", "山田\x00太郎")
    assert refused.status_code == 422
    assert "使えない文字" in refused.get_json()["error"]
    nfd = "カ\u3099ワ"  # ガワ typed with a combining dakuten
    assert _answer(client, url, "household[0].name_kana", nfd).get_json()["ok"]
    page = client.get(url).get_data(as_text=True)
    assert "ガワ" in page


def test_a_number_of_5000_digits_is_refused_in_japanese(
    client: Any, login_as: Any, ruleset: Any
) -> None:
    login_as("counter")
    url = _case(client)
    fact = next(f.id for f in ruleset.facts.values() if f.type == "integer" and not f.per_person)
    for typed, said in (("9" * 5000, "長すぎます"), ("9" * 20, "15桁以内の数字")):
        refused = _answer(client, url, fact, typed)
        assert refused.status_code == 422, refused.get_data(as_text=True)[:300]
        assert said in refused.get_json()["error"]


def test_the_api_warns_of_a_huge_address_instead_of_using_it(client: Any, login_as: Any) -> None:
    login_as("counter")
    token = client.get("/counter/").get_data(as_text=True)
    import re

    csrf = re.search(r'name="csrf-token" content="([^"]+)"', token)
    headers = {"X-CSRFToken": csrf.group(1)} if csrf else {}
    response = client.post(
        "/api/v1/evaluate",
        json={"facts": {"case.events": ["move_in"], "household.address": HUGE}},
        headers=headers,
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    warnings = response.get_json()["warnings"]
    assert any("80文字以内" in w["message"] for w in warnings), warnings


def test_a_booking_refuses_control_characters_and_keeps_what_was_typed(
    client: Any, login_as: Any
) -> None:
    from tests.counter.test_bookings import DEATH

    login_as("counter")
    refused = client.post("/counter/bookings/", data={**DEATH, "deceased_name": "山田\u202e太郎"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "使えない文字" in page
    assert 'value="山田 花子"' in page


def test_a_scan_with_an_overlong_address_is_refused_whole(app: Flask, make_user: Any) -> None:
    from app.extensions import db
    from app.models import Case
    from app.scanning.classify import ScanResult
    from app.services.cases import CaseError, open_case, stored_facts
    from app.services.rules import current_ruleset
    from app.services.scan_intake import confirm_scan, pending_token

    staff = make_user("counter")
    with app.app_context():
        case = open_case(staff.id, ["move_in"], "counter", date.today(), datetime.now(), "c")
        result = ScanResult(
            kind="pre_entry",  # type: ignore[arg-type]
            symbology="QRCode",
            display="",
            facts={"household[0].name": "山田 太郎", "household.address": "東" * 81},
            provenance="pre_entry",
        )
        token = pending_token(case, result)
        with pytest.raises(CaseError) as refused:
            confirm_scan(current_ruleset(app), case, token, actor="c", now=datetime.now())
        assert "80文字以内" in refused.value.message
        assert stored_facts(db.session.get(Case, case.id)) == {}

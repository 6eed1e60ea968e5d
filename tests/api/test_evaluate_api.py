"""``POST /api/v1/evaluate``: staff only, CSRF-protected, answers the Result JSON."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.services.rules import RulesHolder, rules_holder

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "rules"
BODY: dict[str, Any] = {
    "as_of": "2025-04-10",
    "facts": {
        "case.events": ["death"],
        "death.date": "2025-04-07",
        "household[0].roles": ["deceased", "household_head"],
        "household[0].kokuho_member": True,
        "household[0].birth_date": "1947-03-02",
    },
}


@pytest.fixture(autouse=True)
def sample_rules(app: Flask) -> None:
    app.config.update(
        RULES_DIR=str(SAMPLE / "procedure_rules"), FORMS_DIR=str(SAMPLE / "form_definitions")
    )


@pytest.mark.parametrize("role", ["counter", "policy", "admin"])
def test_staff_get_the_result(
    client: FlaskClient, login_as: Callable[[str], Any], role: str
) -> None:
    login_as(role)
    response = client.post("/api/v1/evaluate", json=BODY)
    assert response.status_code == 200
    data = response.get_json()
    assert data["as_of"] == "2025-04-10"
    assert [p["id"] for p in data["procedures"]][:2] == ["kaso_kyoka", "kokuho_soshitsu"]
    assert data["procedures"][1]["why"]["facts"]["household[0].kokuho_member"] is True


def test_anonymous_is_refused(client: FlaskClient) -> None:
    response = client.post("/api/v1/evaluate", json=BODY)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == 401


def test_bad_bodies_get_a_japanese_message(
    client: FlaskClient, login_as: Callable[[str], Any]
) -> None:
    login_as("counter")
    no_facts = client.post("/api/v1/evaluate", json={"as_of": "2025-04-10"})
    assert no_facts.status_code == 400
    assert (
        no_facts.get_json()["error"]["message"]
        == "facts（事実のマッピング）を JSON で送ってください"
    )
    bad_date = client.post("/api/v1/evaluate", json={**BODY, "as_of": "R7.4.10"})
    assert bad_date.status_code == 400
    assert bad_date.get_json()["error"]["message"] == "as_of は YYYY-MM-DD の形式で指定してください"


def test_broken_rules_answer_503_with_the_problems(
    app: Flask, client: FlaskClient, login_as: Callable[[str], Any]
) -> None:
    app.config.update(RULES_DIR=str(ROOT / "tests" / "data" / "broken" / "04_unknown_fact"))
    login_as("counter")
    response = client.post("/api/v1/evaluate", json=BODY)
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["message"] == "手続ルールを読み込めません。制度所管課にご連絡ください"
    assert any("不明な事実 'decesed.kokuho_member'" in p for p in error["problems"])


def test_csrf_stays_on(tmp_path: Path, make_user: Callable[..., Any]) -> None:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'csrf.sqlite3'}",
            "RULES_DIR": str(SAMPLE / "procedure_rules"),
            "FORMS_DIR": str(SAMPLE / "form_definitions"),
        }
    )
    from app.extensions import db
    from tests.conftest import PASSWORD

    with app.app_context():
        db.create_all()
        from datetime import datetime

        from app.services.accounts import create_user

        create_user("csrf_counter", PASSWORD, "counter", "counter user", now=datetime.now())
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    assert token, page
    login = client.post(
        "/login", data={"username": "csrf_counter", "password": PASSWORD, "csrf_token": token[1]}
    )
    assert login.status_code == 302
    assert client.post("/api/v1/evaluate", json=BODY).status_code == 400
    ok = client.post("/api/v1/evaluate", json=BODY, headers={"X-CSRFToken": token[1]})
    assert ok.status_code == 200
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_published_change_is_picked_up_without_restart(tmp_path: Path) -> None:
    import shutil

    rules = tmp_path / "procedure_rules"
    shutil.copytree(SAMPLE / "procedure_rules", rules)
    now = [1000.0]
    holder = RulesHolder([rules, SAMPLE / "form_definitions"], clock=lambda: now[0])
    first = holder.get()
    assert holder.get() is first  # cached
    profile = rules / "municipality.yaml"
    profile.write_text(
        profile.read_text(encoding="utf-8").replace("name: みどり市", "name: みどり市役所"),
        encoding="utf-8",
    )
    assert holder.get() is first  # not checked again within CHECK_SECONDS
    now[0] += 5
    second = holder.get()
    assert second is not first
    assert second.municipality.name == "みどり市役所"
    # A broken publication keeps the rule set in use and remembers why.
    profile.write_text("municipality: [", encoding="utf-8")
    now[0] += 5
    assert holder.get() is second
    assert holder.last_error is not None


def test_the_rule_set_is_kept_on_the_app(app: Flask) -> None:
    holder = rules_holder(app)
    assert rules_holder(app) is holder
    assert holder.get() is holder.get()


def test_a_replaced_rule_set_is_freed(tmp_path: Path) -> None:
    import shutil
    import weakref

    rules = tmp_path / "procedure_rules"
    shutil.copytree(SAMPLE / "procedure_rules", rules)
    now = [0.0]
    holder = RulesHolder([rules, SAMPLE / "form_definitions"], clock=lambda: now[0])
    old = weakref.ref(holder.get())
    profile = rules / "municipality.yaml"
    profile.write_text(
        profile.read_text(encoding="utf-8") + "\n# published again\n", encoding="utf-8"
    )
    now[0] += 5
    holder.get()
    assert old() is None

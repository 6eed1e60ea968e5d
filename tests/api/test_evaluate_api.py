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
    app: Flask, client: FlaskClient, login_as: Callable[[str], Any], tmp_path: Path
) -> None:
    # The seed (first published version) is broken; no forms, so its own problem comes first.
    app.config.update(
        RULES_DIR=str(ROOT / "tests" / "data" / "broken" / "04_unknown_fact"),
        FORMS_DIR=str(tmp_path / "no_forms"),
    )
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


def test_strict_answers_422_with_every_problem_as_a_field(
    client: FlaskClient, login_as: Callable[[str], Any]
) -> None:
    """Issue 13 item 7: a program sees each problem's fact id as a field, not only in text."""
    login_as("counter")
    bad = {
        **BODY,
        "strict": True,
        "facts": {**BODY["facts"], "household[0].birth_dat": "1947-03-02", "household[00].name": "x"},
    }
    response = client.post("/api/v1/evaluate", json=bad)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert "問題があります" in error["message"]
    by_fact = {p["fact"]: p["code"] for p in error["problems"]}
    assert by_fact == {"household[0].birth_dat": "unknown_fact", "household[00].name": "ambiguous_key"}

    lenient = client.post("/api/v1/evaluate", json={**bad, "strict": False})
    assert lenient.status_code == 200
    assert {w.get("fact") for w in lenient.get_json()["warnings"]} >= set(by_fact)

    clean = client.post("/api/v1/evaluate", json={**BODY, "strict": True})
    assert clean.status_code == 200
    assert client.post("/api/v1/evaluate", json={**BODY, "strict": "yes"}).status_code == 400

"""Refused operations are answered by app.web's one DomainError handler, in each view's shape."""

import pytest

from app.errors import DomainError
from app.services.cases import CaseError
from app.services.joining import JoinError
from app.services.signing import SigningError


@pytest.fixture
def staff(login_as):
    return login_as("counter")


def _open(client, data=None):
    response = client.post(
        "/counter/cases", data=data or {"events": ["death"], "channel": "counter"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def test_domain_errors_share_one_base_with_code_and_status():
    assert issubclass(CaseError, DomainError)
    assert JoinError("unknown").status == 404 and JoinError("expired").status == 410
    assert JoinError("unknown").code == "unknown"
    assert SigningError("empty").status == 422
    conflict = CaseError("conflict", "先に変更されました。", status=409)
    assert conflict.as_dict() == {"code": "conflict", "message": "先に変更されました。"}


def test_a_page_refusal_is_the_error_page_with_its_japanese_message(client, staff):
    url = _open(client)
    response = client.get(url + "/forms/no-such-form")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "この書類は、この案件にはありません。" in page
    assert "Traceback" not in page


def test_an_unknown_registry_code_refuses_without_opening_a_case(app, client, staff):
    from app.extensions import db
    from app.models import Case

    response = client.post(
        "/counter/cases",
        data={"events": ["death"], "channel": "counter", "registry_code": "00000000000"},
    )
    assert response.status_code == 400
    assert "この住民票コードの住民は見つかりません" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Case).count() == 0  # one transaction: nothing half-opened


def test_a_refused_status_move_stays_on_the_case_with_a_flash(client, staff):
    url = _open(client)
    response = client.post(url + "/status", data={"to": "closed"})
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    page = client.get(url).get_data(as_text=True)
    assert "「受付」から「完了」には変更できません。" in page


def test_a_workspace_fetch_keeps_its_json_shape(client, staff):
    url = _open(client)
    response = client.post(url + "/roles/deceased", data={"person": "x"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["ok"] is False and body["code"] == "no_person"
    assert body["error"] == "世帯員を選んでください。"


def test_an_unknown_routed_procedure_is_not_found(client, login_as):
    login_as("counter")
    assert client.post("/counter/routed/999999/done").status_code == 404

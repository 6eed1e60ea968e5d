"""High 3: kiosks are set up once with a short-lived code, rotate, and can be revoked."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from app.extensions import db
from app.models import Case, Kiosk
from app.services.cases import open_case
from app.services.joining import attach_kiosk, register_kiosk

COOKIE = "kakanai_kiosk"


@pytest.fixture
def case_id(app: Flask, make_user: Any) -> int:
    staff = make_user("counter")
    with app.app_context():
        return open_case(staff.id, ["death"], "remote", date.today(), datetime.now(), "c").id


@pytest.fixture
def kiosk(app: Flask) -> tuple[int, str]:
    with app.app_context():
        made, code = register_kiosk("北支所 1番", actor="admin", now=datetime.now())
        return made.id, code


def _set_up(app: Flask, code: str) -> Any:
    device = app.test_client()
    response = device.post("/kiosk/setup", data={"code": code})
    assert response.status_code == 302, response.get_data(as_text=True)
    return device


def _credential(device: Any) -> str:
    cookie = device.get_cookie(COOKIE)
    assert cookie is not None
    return str(cookie.value)


def _attach(app: Flask, kiosk_id: int, case_id: int | None) -> None:
    with app.app_context():
        case = db.session.get(Case, case_id) if case_id is not None else None
        attach_kiosk(db.session.get(Kiosk, kiosk_id), case, actor="c", now=datetime.now())


def test_a_setup_code_works_once_and_is_not_the_credential(
    app: Flask, kiosk: tuple[int, str]
) -> None:
    _, code = kiosk
    device = _set_up(app, code.lower().replace("-", " "))  # typed loosely
    assert device.get("/kiosk/status").get_json() == {"attached": False}
    assert _credential(device) != code.replace("-", "")
    again = app.test_client().post("/kiosk/setup", data={"code": code})
    assert again.status_code == 400
    assert "新しい設定コード" in again.get_data(as_text=True)
    assert app.test_client().get(f"/kiosk/setup/{_credential(device)}").status_code == 404


def test_an_expired_setup_code_is_refused(app: Flask, kiosk: tuple[int, str]) -> None:
    kiosk_id, code = kiosk
    with app.app_context():
        db.session.get(Kiosk, kiosk_id).setup_expires_at = datetime.now() - timedelta(seconds=1)
        db.session.commit()
    response = app.test_client().post("/kiosk/setup", data={"code": code})
    assert response.status_code == 400 and "有効期限" in response.get_data(as_text=True)


def test_the_credential_rotates_daily_and_the_old_one_lapses(
    app: Flask, kiosk: tuple[int, str]
) -> None:
    kiosk_id, code = kiosk
    device = _set_up(app, code)
    old = _credential(device)
    with app.app_context():
        db.session.get(Kiosk, kiosk_id).credential_issued_at = datetime.now() - timedelta(hours=25)
        db.session.commit()
    assert device.get("/kiosk").status_code == 200
    new = _credential(device)
    assert new != old
    stale = app.test_client()
    stale.set_cookie(COOKIE, old)
    assert stale.get("/kiosk/status").status_code == 200  # a request already on its way
    with app.app_context():
        db.session.get(Kiosk, kiosk_id).previous_valid_until = datetime.now() - timedelta(seconds=1)
        db.session.commit()
    assert stale.get("/kiosk/status").status_code == 404
    assert device.get("/kiosk/status").status_code == 200


def _resident_at_kiosk(app: Flask, device: Any, kiosk_id: int, case_id: int) -> None:
    _attach(app, kiosk_id, case_id)
    assert device.post("/kiosk/join").headers["Location"] == "/r/"
    assert device.get("/r/").status_code == 200


def test_detaching_ends_the_residents_session_on_the_kiosk(
    app: Flask, kiosk: tuple[int, str], case_id: int
) -> None:
    kiosk_id, code = kiosk
    device = _set_up(app, code)
    _resident_at_kiosk(app, device, kiosk_id, case_id)
    _attach(app, kiosk_id, None)
    assert device.get("/r/").status_code != 200
    assert device.get("/r/forms").status_code in (401, 403)


def test_admin_revokes_a_kiosk_in_the_ui(
    app: Flask, client: Any, login_as: Any, kiosk: tuple[int, str], case_id: int
) -> None:
    kiosk_id, code = kiosk
    device = _set_up(app, code)
    _resident_at_kiosk(app, device, kiosk_id, case_id)
    login_as("admin")
    page = client.get("/admin/").get_data(as_text=True)
    assert f"/admin/kiosks/{kiosk_id}/revoke" in page
    response = client.post(f"/admin/kiosks/{kiosk_id}/revoke", follow_redirects=True)
    assert "無効にしました" in response.get_data(as_text=True)
    assert device.get("/r/").status_code != 200  # the resident session there ended
    assert device.get("/kiosk").status_code == 404
    assert "この端末は登録されていません" in device.get("/kiosk").get_data(as_text=True)


def test_flask_kiosks_revoke(app: Flask, runner: Any, kiosk: tuple[int, str]) -> None:
    kiosk_id, code = kiosk
    device = _set_up(app, code)
    result = runner.invoke(args=["kiosks", "revoke", "北支所 1番"])
    assert result.exit_code == 0, result.output
    assert device.get("/kiosk/status").status_code == 404
    with app.app_context():
        revoked = db.session.get(Kiosk, kiosk_id)
        assert not revoked.active and revoked.revoked_at is not None
    refused = runner.invoke(args=["kiosks", "revoke", "無い端末"])
    assert refused.exit_code != 0 and "no kiosk" in refused.output

"""Medium 4: resident and staff sessions end on the server, and a copied cookie ends too."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from app.clock import install_clock
from app.extensions import db
from app.models import Case
from app.services.cases import open_case
from app.services.joining import issue_join_link

PASSWORD = "correct-horse-battery"


@pytest.fixture
def case_id(app: Flask, make_user: Any) -> int:
    staff = make_user("counter")
    with app.app_context():
        return open_case(staff.id, ["death"], "remote", date.today(), datetime.now(), "c").id


def _link(app: Flask, case_id: int, issued: datetime | None = None) -> Any:
    with app.app_context():
        case = db.session.get(Case, case_id)
        return issue_join_link(case, actor="c", now=issued or datetime.now(), minutes=30)


def _joined(app: Flask, link: Any) -> Any:
    device = app.test_client()
    assert device.post(f"/join/{link.token}", data={"pin": link.pin}).status_code == 302
    assert device.get("/r/").status_code == 200
    return device


def _copy(app: Flask, device: Any) -> Any:
    """Return another client holding a copy of ``device``'s session cookie."""
    copy = app.test_client()
    cookie = device.get_cookie("kakanai_session")
    copy.set_cookie("kakanai_session", cookie.value)
    return copy


def test_leaving_ends_the_session_even_for_a_copied_cookie(app: Flask, case_id: int) -> None:
    device = _joined(app, _link(app, case_id))
    copy = _copy(app, device)
    assert device.post("/r/leave").status_code == 200
    assert copy.get("/r/").status_code != 200
    assert copy.get("/r/forms").status_code in (401, 403)


def test_a_reissued_link_ends_the_session_it_admitted(app: Flask, case_id: int) -> None:
    device = _joined(app, _link(app, case_id))
    _link(app, case_id)  # staff issue a new link (e.g. the first one was sent to the wrong person)
    assert device.get("/r/forms").status_code in (401, 403)


def test_the_session_ends_with_its_links_validity(app: Flask, case_id: int) -> None:
    issued = datetime.now() - timedelta(minutes=29)
    device = _joined(app, _link(app, case_id, issued))
    install_clock(app, lambda: datetime.now() + timedelta(minutes=2))
    assert device.get("/r/forms").status_code in (401, 403)


def test_logout_ends_a_copied_staff_cookie(app: Flask, client: Any, make_user: Any) -> None:
    user = make_user("counter")
    client.post("/login", data={"username": user.username, "password": PASSWORD})
    copy = _copy(app, client)
    assert copy.get("/counter/").status_code == 200
    client.post("/logout")
    assert copy.get("/counter/").status_code == 302  # back to the login
    client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert client.get("/counter/").status_code == 200  # a new login works


def test_a_staff_login_ends_the_resident_session_on_the_device(
    app: Flask, case_id: int, make_user: Any
) -> None:
    device = _joined(app, _link(app, case_id))
    user = make_user("counter")
    device.post("/login", data={"username": user.username, "password": PASSWORD})
    with device.session_transaction() as session:
        assert "resident_case_id" not in session

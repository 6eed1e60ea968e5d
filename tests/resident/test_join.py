from datetime import date, datetime

import pytest

from app.extensions import db
from app.models import Case
from app.services.cases import change_status, open_case
from app.services.joining import attach_kiosk, issue_join_link, register_kiosk


@pytest.fixture
def case_id(app, make_user):
    staff = make_user("counter")
    with app.app_context():
        return open_case(staff.id, ["death"], "remote", date.today(), datetime.now(), "c").id


@pytest.fixture
def link(app, case_id):
    with app.app_context():
        case = db.session.get(Case, case_id)
        return issue_join_link(case, actor="c", now=datetime.now(), minutes=30)


def test_right_pin_opens_the_residents_case_only(client, link, make_user):
    response = client.post(f"/join/{link.token}", data={"pin": link.pin})
    assert response.status_code == 302 and response.headers["Location"] == "/r/"
    assert "受付番号" in client.get("/r/").get_data(as_text=True)
    assert client.get("/counter/").status_code == 302  # staff pages send to the login


def test_wrong_pin_keeps_the_form_and_says_what_to_do(client, link):
    wrong = "000000" if link.pin != "000000" else "111111"
    response = client.post(f"/join/{link.token}", data={"pin": wrong})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "暗証番号が違います" in page and "あと4回" in page


def test_five_wrong_pins_lock_the_link_with_a_plain_explanation(client, link):
    wrong = "000000" if link.pin != "000000" else "111111"
    for _ in range(5):
        response = client.post(f"/join/{link.token}", data={"pin": wrong})
    page = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "新しいリンクを発行してもらってください" in page and "Traceback" not in page
    assert client.get(f"/join/{link.token}").status_code == 410


def test_unknown_link_is_not_found(client):
    response = client.get("/join/not-a-token")
    assert response.status_code == 404
    assert "このリンクは無効です" in response.get_data(as_text=True)


def test_after_signing_the_resident_session_and_link_stop_working(app, client, link, case_id):
    client.post(f"/join/{link.token}", data={"pin": link.pin})
    with app.app_context():
        case = db.session.get(Case, case_id)
        for status in ("interviewing", "review", "signed"):
            change_status(case, status, actor="c", now=datetime.now())
    assert client.get("/r/").status_code == 410
    assert client.get(f"/join/{link.token}").status_code == 410


def test_joining_ends_a_staff_login_on_the_same_browser(client, login_as, link):
    login_as("counter")
    client.post(f"/join/{link.token}", data={"pin": link.pin})
    assert client.get("/counter/").status_code == 302


def test_kiosk_flow(app, client, case_id):
    with app.app_context():
        kiosk, code = register_kiosk("北支所 1番", actor="admin", now=datetime.now())
        kiosk_id = kiosk.id
    assert client.get("/kiosk").status_code == 404  # not set up on this device yet
    client.post("/kiosk/setup", data={"code": code})
    assert client.get("/kiosk/status").get_json() == {"attached": False}
    with app.app_context():
        from app.models import Kiosk

        attach_kiosk(
            db.session.get(Kiosk, kiosk_id),
            db.session.get(Case, case_id),
            actor="c",
            now=datetime.now(),
        )
    assert client.get("/kiosk/status").get_json() == {"attached": True}
    response = client.post("/kiosk/join")
    assert response.headers["Location"] == "/r/"
    assert client.get("/r/").status_code == 200

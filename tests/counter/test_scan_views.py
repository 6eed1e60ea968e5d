"""Scanned codes reach the case only through staff confirmation; stills only reach staff."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, date, datetime, timedelta

import cv2
import numpy as np
import pytest

from app.counter.scan import scan_json as _scan_json
from app.extensions import db
from app.models import AuditEvent, Case
from app.scanning.classify import classify
from app.scanning.decode import DecodedCode
from app.scanning.preentry import PreEntry, sign_preentry
from app.services.attachments import attach_still
from app.services.cases import cipher, record_fact, stored_facts
from app.services.scan_intake import pending_token

ENTRY = PreEntry(
    "move_in",
    "山田 太郎",
    "ヤマダ タロウ",
    date(1947, 3, 2),
    "みどり市中央1-2-3",
    "1234567",
    "0312345678",
)


def _code(text: str, symbology: str = "QRCode") -> DecodedCode:
    return DecodedCode(text, text.encode(), symbology, False, ((0, 0),) * 4, "zxing-cpp", "gray")


def _key(app) -> bytes:
    return app.config["PREENTRY_KEY"].encode("utf-8")


def _preentry_text(app, now=None, entry=ENTRY) -> str:
    return sign_preentry(entry, _key(app), now or datetime.now(UTC))


def _shown(app, case_id: int, text: str) -> dict:
    with app.test_request_context():
        case = db.session.get(Case, case_id)
        result = classify(_code(text), preentry_key=_key(app), now=datetime.now(UTC))
        return _scan_json(case, result)


def _token(app, case_id: int, text: str) -> str:
    with app.app_context():
        case = db.session.get(Case, case_id)
        return pending_token(
            case, classify(_code(text), preentry_key=_key(app), now=datetime.now(UTC))
        )


def _facts(app, case_id: int) -> dict:
    with app.app_context():
        return stored_facts(db.session.get(Case, case_id))


# ---- what staff see before confirming ---------------------------------------------------


def test_a_preentry_is_shown_with_labelled_facts_and_a_token(app, make_case):
    case_id = make_case(events=["move_in"])
    shown = _shown(app, case_id, _preentry_text(app))
    assert shown["kind"] == "pre_entry" and shown["provenance"] == "事前入力"
    by_label = {f["label"]: f["value"] for f in shown["facts"]}
    assert by_label["氏名"] == "山田 太郎"
    assert by_label["生年月日"] == "昭和22年3月2日"
    assert by_label["郵便番号（みどり市内の住所）"] == "〒123-4567"
    assert shown["token"] and shown["notes"] == []
    assert _facts(app, case_id) == {}  # nothing stored by showing


def test_a_preentry_for_another_life_event_says_so(app, make_case):
    case_id = make_case(events=["death"])
    shown = _shown(app, case_id, _preentry_text(app))
    assert shown["notes"] == ["事前入力の届出（転入）は、この受付の届出に含まれていません。"]


def test_a_my_number_is_shown_masked_only(app, make_case):
    case_id = make_case()
    shown = _shown(app, case_id, "123456789018")
    assert shown["kind"] == "my_number" and shown["provenance"] == "カード読取"
    assert "123456789018" not in json.dumps(shown, ensure_ascii=False)
    assert shown["facts"][0]["value"].endswith("9018")


@pytest.mark.parametrize(
    ("make_text", "code", "words"),
    [
        (lambda app: "123456789013", "mynumber_check_digit", "検査用数字"),
        (
            lambda app: _preentry_text(app).replace("山田", "田中"),
            "preentry_signature_invalid",
            "署名",
        ),
        (
            lambda app: _preentry_text(app, datetime.now(UTC) - timedelta(days=30)),
            "preentry_expired",
            "有効期限",
        ),
        (lambda app: "KMPE1.garbage", "preentry_malformed", "壊れて"),
    ],
    ids=["wrong-check-digit", "tampered", "expired", "garbage"],
)
def test_bad_codes_are_refused_with_a_message_and_no_token(app, make_case, make_text, code, words):
    case_id = make_case()
    shown = _shown(app, case_id, make_text(app))
    assert shown["kind"] == "rejected" and shown["error_code"] == code
    assert words in shown["message"]
    assert "token" not in shown
    assert _facts(app, case_id) == {}


def test_any_other_code_is_shown_as_text(app, make_case):
    shown = _shown(app, make_case(), "4912345678904")
    assert shown["kind"] == "other" and shown["display"] == "4912345678904"
    assert "token" not in shown


# ---- confirming ---------------------------------------------------------------------------


def test_a_confirmed_preentry_is_stored_with_its_provenance(app, client, login_as, make_case):
    login_as("counter")
    case_id = make_case(events=["move_in"])
    token = _token(app, case_id, _preentry_text(app))
    response = client.post(f"/counter/cases/{case_id}/scan/confirm", json={"token": token})
    assert response.status_code == 200, response.get_json()
    facts = _facts(app, case_id)
    assert facts["household[0].name"].value == "山田 太郎"
    assert facts["household[0].birth_date"].value == "1947-03-02"
    assert {f.provenance for f in facts.values()} == {"pre_entry"}
    assert "case.events" not in facts
    page = client.get(f"/counter/cases/{case_id}").get_data(as_text=True)
    assert "事前入力" in page


def test_a_confirmed_my_number_is_stored_as_id_qr(app, client, login_as, make_case):
    login_as("counter")
    case_id = make_case()
    token = _token(app, case_id, "123456789018")
    assert (
        client.post(f"/counter/cases/{case_id}/scan/confirm", json={"token": token}).status_code
        == 200
    )
    fact = _facts(app, case_id)["household[0].my_number"]
    assert (fact.value, fact.provenance) == ("123456789018", "id_qr")


def test_an_altered_token_stores_nothing(app, client, login_as, make_case):
    login_as("counter")
    case_id = make_case()
    token = _token(app, case_id, _preentry_text(app))
    altered = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    response = client.post(f"/counter/cases/{case_id}/scan/confirm", json={"token": altered})
    assert response.status_code == 400
    assert "もう一度スキャン" in response.get_json()["error"]["message"]
    assert _facts(app, case_id) == {}


def test_a_token_of_another_case_stores_nothing(app, client, login_as, make_case):
    login_as("counter")
    first, second = make_case(), make_case()
    token = _token(app, first, _preentry_text(app))
    response = client.post(f"/counter/cases/{second}/scan/confirm", json={"token": token})
    assert response.status_code == 400
    assert "別の受付" in response.get_json()["error"]["message"]
    assert _facts(app, first) == {} and _facts(app, second) == {}


def test_a_token_older_than_ten_minutes_stores_nothing(app, client, login_as, make_case):
    login_as("counter")
    case_id = make_case()
    body = {
        "case": case_id,
        "provenance": "id_qr",
        "facts": {"household[0].my_number": "123456789018"},
    }
    with app.app_context():
        stale = cipher()._fernet.encrypt_at_time(json.dumps(body).encode(), int(time.time()) - 601)
    response = client.post(f"/counter/cases/{case_id}/scan/confirm", json={"token": stale.decode()})
    assert response.status_code == 400
    assert "10分" in response.get_json()["error"]["message"]
    assert _facts(app, case_id) == {}


def test_a_locked_fact_refuses_the_whole_preentry(app, client, login_as, make_case):
    login_as("counter")
    case_id = make_case(events=["move_in"])
    with app.app_context():
        case = db.session.get(Case, case_id)
        record_fact(
            case,
            "household[0].name",
            "山田 太郎",
            actor="x",
            now=datetime.now(),
            provenance="registry",
            lock=True,
        )
    token = _token(app, case_id, _preentry_text(app))
    response = client.post(f"/counter/cases/{case_id}/scan/confirm", json={"token": token})
    assert response.status_code == 409
    assert "何も保存していません" in response.get_json()["error"]["message"]
    assert set(_facts(app, case_id)) == {"household[0].name"}


def test_scanning_without_the_residents_video_says_so(app, client, login_as, make_case):
    login_as("counter")
    response = client.post(f"/counter/cases/{make_case()}/scan", json={})
    assert response.status_code == 409
    assert "映像が届いていません" in response.get_json()["error"]["message"]
    from app.media.server import media_server

    media_server(app).shutdown()


# ---- attachments --------------------------------------------------------------------------


def _attach(app, case_id: int) -> int:
    frame = np.full((480, 640, 3), 60, np.uint8)
    cv2.rectangle(frame, (150, 60), (470, 430), (240, 240, 240), -1)
    with app.app_context():
        case = db.session.get(Case, case_id)
        return attach_still(case, frame, actor="staff", now=datetime.now()).number


def test_a_still_is_stored_encrypted_and_served_to_counter_staff(app, client, login_as, make_case):
    case_id = make_case()
    number = _attach(app, case_id)
    with app.app_context():
        from app.models import CaseAttachment

        row = db.session.query(CaseAttachment).one()
        assert row.straightened and not row.image_enc.startswith(b"\xff\xd8")
    login_as("counter")
    response = client.get(f"/counter/cases/{case_id}/attachments/{number}.jpg")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(response.data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[0] > image.shape[1]  # the upright page, not the landscape frame
    assert image.mean() > 200  # the white page only
    with app.app_context():
        actions = [e.action for e in db.session.query(AuditEvent).filter_by(case_id=case_id)]
    assert "attachment_added" in actions and "attachment_viewed" in actions
    page = client.get(f"/counter/cases/{case_id}").get_data(as_text=True)
    assert f"/counter/cases/{case_id}/attachments/{number}.jpg" in page


@pytest.mark.parametrize("role", ["policy", "admin"])
def test_other_staff_cannot_see_a_still(app, client, login_as, make_case, role):
    case_id = make_case()
    number = _attach(app, case_id)
    login_as(role)
    assert client.get(f"/counter/cases/{case_id}/attachments/{number}.jpg").status_code == 403


def test_the_resident_cannot_see_a_still_of_their_own_case(app, client, make_case):
    case_id = make_case()
    number = _attach(app, case_id)
    with client.session_transaction() as session:
        session["resident_case_id"] = case_id
    response = client.get(f"/counter/cases/{case_id}/attachments/{number}.jpg")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_unknown_still_is_not_found(client, login_as, make_case):
    login_as("counter")
    assert client.get(f"/counter/cases/{make_case()}/attachments/9.jpg").status_code == 404


def test_staff_choose_whose_code_is_scanned(app, client, login_as, make_case):
    login_as("counter")
    case_id = make_case()
    with app.app_context():
        case = db.session.get(Case, case_id)
        record_fact(case, "household[0].name", "山田 太郎", actor="x", now=datetime.now())
        record_fact(case, "household[1].name", "山田 花子", actor="x", now=datetime.now())
    page = client.get(f"/counter/cases/{case_id}").get_data(as_text=True)
    options = re.findall(
        r'<option value="(\d+)">([^<]+)</option>', page.split('data-call="person"')[1]
    )
    assert options[:3] == [
        ("0", "世帯員1　山田 太郎"),
        ("1", "世帯員2　山田 花子"),
        ("2", "新しい世帯員（世帯員3）"),
    ]
    # A My Number read for member 2 is stored on member 2.
    with app.app_context():
        case = db.session.get(Case, case_id)
        result = classify(
            _code("123456789018"), preentry_key=_key(app), now=datetime.now(UTC), person=1
        )
        token = pending_token(case, result)
    assert (
        client.post(f"/counter/cases/{case_id}/scan/confirm", json={"token": token}).status_code
        == 200
    )
    assert "household[1].my_number" in _facts(app, case_id)
    assert "household[0].my_number" not in _facts(app, case_id)


def test_a_person_outside_the_household_range_is_refused(client, login_as, make_case):
    login_as("counter")
    response = client.post(f"/counter/cases/{make_case()}/scan", json={"person": -1})
    assert response.status_code == 400

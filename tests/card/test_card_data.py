"""The card's data by tag: garbage, over-long fields, leading bytes; the 在留カード fallback."""

from __future__ import annotations

import pytest

from app.cardagent import tlv
from app.cardagent.card import CardDataError, parse_basic_four, parse_my_number, verify
from app.extensions import db
from app.models import AuditEvent, StaffUser
from tests.card.emulator import CardOptions, card_files

pytestmark = pytest.mark.card


def test_basic_four_parsed_with_and_without_leading_bytes(issuer):
    for lead in (b"", b"\x00\x00", b"\x01\x02"):
        files = card_files(CardOptions(leading_bytes=lead), issuer)
        four = parse_basic_four(files[2])
        assert (four.name, four.sex, four.birth_date.isoformat()) == (
            "番号　花子",
            "female",
            "1985-04-01",
        )
        assert verify(files[1], files[2], files[3], files[4], [issuer.anchor_pem()]).ok


@pytest.mark.parametrize(
    "garbage",
    [b"", b"\xff\x20", b"\xff\x20\x82\xff\xff", b"\xff\x20\x05\xdf\x22\x09abc", b"\x30\x03abc"],
)
def test_garbage_tlv_is_a_japanese_refusal(garbage):
    with pytest.raises(CardDataError, match="基本4情報"):
        parse_basic_four(garbage)


def test_over_long_field_is_refused():
    with pytest.raises(tlv.TlvError, match="longer"):
        tlv.parse(b"\xdf\x22\x82\x20\x00" + b"a" * 0x2000)


def test_my_number_with_a_wrong_check_digit_is_refused():
    with pytest.raises(CardDataError, match="検査用数字"):
        parse_my_number(tlv.encode(0xFF10, b"123456789012"))


def test_without_an_anchor_nothing_verifies(issuer):
    files = card_files(CardOptions(), issuer)
    result = verify(files[1], files[2], files[3], files[4], [])
    assert not result.ok and "J-LIS" in result.reason


def test_zairyu_app_check_is_recorded_without_the_number(app, client, login_as):
    login_as("counter")
    from datetime import date, datetime

    from app.services.cases import open_case

    with app.app_context():
        staff_id = db.session.query(StaffUser).first().id
        case_id = open_case(
            staff_id, ["move_in"], "counter", date(2025, 4, 10), datetime.now(), "c"
        ).id
    bad = client.post(
        f"/cardreader/case/{case_id}/zairyu", json={"card_type": "zairyu", "card_number": "AB12"}
    )
    assert bad.status_code == 400 and "12文字" in bad.get_json()["error"]["message"]
    ok = client.post(
        f"/cardreader/case/{case_id}/zairyu",
        json={"card_type": "zairyu", "card_number": "AB12345678CD"},
    )
    assert ok.status_code == 200
    with app.app_context():
        event = db.session.query(AuditEvent).filter_by(action="zairyu_app_checked").one()
        assert event.detail["number_tail"] == "CD" and "AB12345678CD" not in str(event.detail)

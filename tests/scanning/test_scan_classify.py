"""classify: what a decoded code means for staff, from the committed frames."""

from __future__ import annotations

import pytest

from app.scanning.classify import classify, printable
from app.scanning.decode import DecodedCode, decode_frame
from tests.scanning.conftest import load_frame


def classified(stem, key, now, person=0):
    frame, _ = load_frame(stem)
    [code] = decode_frame(frame)
    return classify(code, preentry_key=key, now=now, person=person)


def test_a_my_number_card_gives_the_number_as_a_sensitive_fact(key, now):
    result = classified("mynumber_card_valid", key, now, person=2)
    assert result.kind == "my_number"
    assert result.facts == {"household[2].my_number": "123456789018"}
    assert result.provenance == "id_qr"
    assert result.display == "個人番号: **** **** 9018"
    assert "123456789018" not in repr(result)


def test_a_my_number_with_a_wrong_check_digit_is_rejected_and_nothing_is_kept(key, now):
    result = classified("mynumber_card_bad_check_digit", key, now)
    assert (result.kind, result.error_code) == ("rejected", "mynumber_check_digit")
    assert result.facts == {}
    assert "123456789013" not in result.display


def test_a_pre_entry_gives_facts_with_pre_entry_provenance(key, now):
    result = classified("preentry_phone", key, now)
    assert result.kind == "pre_entry" and result.provenance == "pre_entry"
    assert result.facts["household[0].name"] == "山田 太郎"
    assert result.facts["household[0].name_kana"] == "ヤマダ タロウ"
    assert result.facts["household.postal_code"] == "1980001"
    assert result.facts["move.old_address"] == "神奈川県横浜市中区山下町1番地"
    assert result.display == "事前入力（転入）: 山田 太郎（ヤマダ タロウ）"
    assert result.expires_at is not None


def test_a_tampered_pre_entry_is_rejected_with_its_reason(key, now):
    result = classified("preentry_phone_tampered", key, now)
    assert (result.kind, result.error_code) == ("rejected", "preentry_signature_invalid")
    assert result.facts == {} and "署名" in (result.message or "")


def test_a_payment_slip_is_shown_as_gs1_text(key, now):
    result = classified("gs1_128_payment_slip", key, now)
    assert (result.kind, result.symbology) == ("other", "GS1-128")
    assert result.display.startswith("(91)9")
    assert result.facts == {}


def test_a_jan_code_is_other(key, now):
    result = classified("ean13_product", key, now)
    assert (result.kind, result.symbology) == ("other", "JAN/EAN-13")


def test_a_garbage_qr_is_shown_as_text_and_nothing_else(key, now):
    result = classified("qr_garbage_text", key, now)
    assert result.kind == "other" and "不明なデータ" in result.display


@pytest.mark.parametrize("symbology", ["UPCA", "Code128", "MicroQRCode"])
def test_twelve_digits_outside_a_qr_are_not_a_my_number(key, now, symbology):
    code = DecodedCode(
        "123456789018", b"123456789018", symbology, False, ((0, 0),) * 4, "zxing-cpp", "gray"
    )
    assert classify(code, preentry_key=key, now=now).kind == "other"


def test_control_characters_are_shown_not_sent_to_the_screen():
    assert printable("01\x1d10AB\x00") == "01<GS>10AB<U+0000>"
    assert printable("山田\n太郎") == "山田\n太郎"

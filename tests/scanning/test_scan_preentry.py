"""The signed pre-entry payload: round trip, every way it is refused, facts, the QR."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import cv2
import numpy as np
import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st

from app.scanning import preentry
from app.scanning.decode import decode_frame
from app.scanning.preentry import (
    PreEntry,
    PreEntryError,
    make_preentry_qr,
    sign_preentry,
    verify_preentry,
)
from tests.scanning.conftest import NOW, TEST_PREENTRY_KEY, load_frame

ENTRY = PreEntry(
    event="move_in",
    name="佐藤　花子",
    name_kana="さとう　はなこ",
    birth_date=date(1990, 7, 14),
    address="東京都みどり市緑町2-5-8",
    postal_code="１９８－０００２",
    phone="080-9876-5432",
    old_address="大阪府大阪市北区梅田1-1",
)


def refused(text, key=TEST_PREENTRY_KEY, now=NOW) -> PreEntryError:
    with pytest.raises(PreEntryError) as caught:
        verify_preentry(text, key, now)
    assert caught.value.message  # every refusal says something to staff …
    assert any("\u3040" <= ch <= "\u30ff" for ch in caught.value.message)  # … in Japanese
    return caught.value


def test_a_signed_entry_verifies_to_the_cleaned_entry(key, now):
    verified = verify_preentry(sign_preentry(ENTRY, key, now), key, now)
    entry = verified.entry
    assert entry.name == "佐藤 花子"  # full-width space folded, so every form prints alike
    assert entry.name_kana == "サトウ ハナコ"  # hiragana stored as katakana
    assert entry.postal_code == "1980002" and entry.phone == "080-9876-5432"
    assert verified.expires_at - verified.issued_at == preentry.DEFAULT_VALIDITY


def test_the_payload_is_compact_json_with_short_keys(key, now):
    text = sign_preentry(ENTRY, key, now)
    prefix, body, tag = text[:6], text[6 : text.rindex(".")], text[text.rindex(".") + 1 :]
    assert prefix == "KMPE1." and len(tag) == 22
    payload = json.loads(body)
    assert set(payload) == {"ev", "n", "k", "b", "a", "p", "t", "oa", "iat", "exp"}
    assert "佐藤" in body  # raw UTF-8, not \\u escapes
    assert len(text.encode("utf-8")) < 300


def test_facts_for_a_move_in_go_to_the_household_and_the_applicant(key, now):
    entry = verify_preentry(sign_preentry(ENTRY, key, now), key, now).entry
    assert preentry.preentry_facts(entry, person=1) == {
        "case.events": ["move_in"],
        "household[1].name": "佐藤 花子",
        "household[1].name_kana": "サトウ ハナコ",
        "household[1].birth_date": "1990-07-14",
        "household[1].phone": "080-9876-5432",
        "household.address": "東京都みどり市緑町2-5-8",
        "household.postal_code": "1980002",
        "move.old_address": "大阪府大阪市北区梅田1-1",
    }


def test_facts_for_a_move_out_put_the_typed_address_as_the_destination():
    entry = replace(
        ENTRY,
        event="move_out",
        address="大阪府大阪市北区梅田1-1",
        postal_code="5300001",
        old_address="東京都みどり市緑町2-5-8",
    )
    facts = preentry.preentry_facts(entry)
    assert facts["move.new_address"] == "大阪府大阪市北区梅田1-1"
    assert facts["move.new_postal_code"] == "5300001"
    assert facts["household.address"] == "東京都みどり市緑町2-5-8"


def test_facts_outside_a_move_keep_the_household_address_and_drop_an_old_one():
    facts = preentry.preentry_facts(replace(ENTRY, event="death", postal_code="1980002"))
    assert facts["household.address"] == "東京都みどり市緑町2-5-8"
    assert facts["household.postal_code"] == "1980002"
    assert not any(fact.startswith("move.") for fact in facts)


def test_a_full_width_phone_number_keeps_its_hyphens_as_ascii(key, now):
    text = sign_preentry(replace(ENTRY, phone="０９０ー１２３４ー５６７８"), key, now)
    assert verify_preentry(text, key, now).entry.phone == "090-1234-5678"


def test_an_altered_payload_is_refused_as_a_bad_signature(key, now):
    text = sign_preentry(ENTRY, key, now).replace("佐藤", "加藤")
    assert refused(text).code == "preentry_signature_invalid"


def test_a_payload_signed_with_another_key_is_refused_as_a_bad_signature(now):
    forged = sign_preentry(ENTRY, b"x" * 32, now)
    assert refused(forged).code == "preentry_signature_invalid"


def test_an_extended_validity_is_refused_as_a_bad_signature(key, now):
    text = sign_preentry(ENTRY, key, now)
    payload_exp = json.loads(text[6 : text.rindex(".")])["exp"]
    assert (
        refused(text.replace(str(payload_exp), str(payload_exp + 86400 * 365))).code
        == "preentry_signature_invalid"
    )


def test_an_expired_payload_is_refused_after_its_signature_is_checked(key, now):
    text = sign_preentry(ENTRY, key, now, valid_for=timedelta(days=1))
    error = refused(text, now=now + timedelta(days=1))
    assert error.code == "preentry_expired"
    assert "有効期限" in error.message and "年" in error.message
    assert verify_preentry(text, key, now + timedelta(hours=23, minutes=59))


def test_a_payload_from_the_future_is_refused(key, now):
    text = sign_preentry(ENTRY, key, now + timedelta(hours=1))
    assert refused(text, now=now).code == "preentry_not_yet_valid"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("こんにちは", "preentry_not_recognized"),
        ("https://example.com/?KMPE1", "preentry_not_recognized"),
        ("KMPE", "preentry_malformed"),
        ("KMPE1.{}.tooshort", "preentry_malformed"),
        ("KMPE1.{}.AAAAAAAAAAAAAAAAAAAA$$", "preentry_malformed"),
        ("KMPE2.{}.AAAAAAAAAAAAAAAAAAAAAA", "preentry_unsupported_version"),
        ("KMPE1." + "x" * 5000, "preentry_malformed"),
    ],
)
def test_garbage_is_refused_with_its_own_code(text, code):
    assert refused(text).code == code


def test_signed_content_that_breaks_the_rules_is_refused(key, now):
    # What an older or buggy page could have signed: a birth date that is not a date.
    iat = int(now.timestamp())
    signed = (
        'KMPE1.{"ev":"birth","n":"山田","k":"ヤマダ","b":"1990-13-45","iat":'
        + f'{iat},"exp":{iat + 3600}}}'
    )
    text = f"{signed}.{preentry._tag(key, signed.encode())}"
    error = refused(text)
    assert (error.code, error.field) == ("preentry_invalid_field", "birth_date")


def test_signed_json_of_the_wrong_shape_is_malformed(key, now):
    signed = 'KMPE1.{"n":["山田"],"iat":1,"exp":2}'
    assert refused(f"{signed}.{preentry._tag(key, signed.encode())}").code == "preentry_malformed"


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0), replacement=st.characters(blacklist_categories=("Cs",)))
def test_any_single_character_changed_is_refused(position, replacement):
    text = sign_preentry(ENTRY, TEST_PREENTRY_KEY, NOW)
    i = position % len(text)
    if text[i] == replacement:
        return
    changed = text[:i] + replacement + text[i + 1 :]
    if changed.strip() == text:
        return  # whitespace at the ends is trimmed, the content is the same
    with pytest.raises(PreEntryError):
        verify_preentry(changed, TEST_PREENTRY_KEY, NOW)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name_kana": "Yamada"}, "name_kana"),
        ({"birth_date": date(2027, 1, 1)}, "birth_date"),
        ({"postal_code": "198-00"}, "postal_code"),
        ({"phone": "1234-5678"}, "phone"),
        ({"event": "vacation"}, "event"),
        ({"address": "東" * 81}, "address"),
        ({"name": "山田\u0000太郎"}, "name"),
    ],
)
def test_signing_refuses_a_wrong_field_and_names_it(key, now, change, field):
    with pytest.raises(PreEntryError) as caught:
        sign_preentry(replace(ENTRY, **change), key, now)
    assert (caught.value.code, caught.value.field) == ("preentry_invalid_field", field)


def test_keys_shorter_than_32_bytes_and_naive_clocks_are_programming_errors(key, now):
    with pytest.raises(ValueError):
        sign_preentry(ENTRY, b"short", now)
    with pytest.raises(ValueError):
        verify_preentry("KMPE1.x", key, datetime(2026, 11, 25))


def test_the_qr_announces_utf8_with_eci_and_reads_back(key, now):
    text = sign_preentry(ENTRY, key, now)
    qr = make_preentry_qr(text)
    # zxing-cpp reports ]Q2 whether or not the symbol carries an ECI, so compare with
    # segno's own symbols: the ECI header changes the bit stream and so the matrix.
    with_eci = segno.make_qr(text, encoding="utf-8", eci=True, error="m")
    without_eci = segno.make_qr(text, encoding="utf-8", eci=False, error="m")
    assert qr.matrix == with_eci.matrix != without_eci.matrix
    assert qr.mode == "byte"
    matrix = np.pad(np.array(qr.matrix, dtype=np.uint8), 4)
    image = np.where(np.kron(matrix, np.ones((4, 4), np.uint8)) == 1, 0, 255).astype(np.uint8)
    assert [c.text for c in decode_frame(image)] == [text]


def test_the_longest_entry_is_still_read_from_a_640x480_frame(key, now):
    longest = replace(
        ENTRY, name="山" * 60, name_kana="ヤ" * 60, address="東" * 80, old_address="西" * 80
    )
    text = sign_preentry(longest, key, now)
    qr = make_preentry_qr(text)
    assert qr.version <= 26
    # The phone held close: the symbol (with its quiet zone) 440 px tall, lens blur, noise.
    matrix = np.pad(np.array(qr.matrix, dtype=np.uint8), 4)
    symbol = cv2.resize(
        np.where(matrix == 1, 25, 235).astype(np.uint8), (440, 440), interpolation=cv2.INTER_AREA
    )
    frame = np.full((480, 640), 120, np.uint8)
    frame[20:460, 100:540] = symbol
    frame = cv2.GaussianBlur(frame, (0, 0), 0.8)
    noise = np.random.default_rng(1).normal(0, 3, frame.shape)
    frame = np.clip(frame + noise, 0, 255).astype(np.uint8)
    assert [c.text for c in decode_frame(frame)] == [text]


def test_the_committed_phone_frames_verify_and_the_tampered_one_does_not(key, now):
    for stem in ("preentry_phone", "preentry_phone_dark_mode"):
        frame, _ = load_frame(stem)
        [code] = decode_frame(frame)
        assert verify_preentry(code.text, key, now).entry.name == "山田 太郎"
    frame, _ = load_frame("preentry_phone_tampered")
    [code] = decode_frame(frame)
    assert refused(code.text).code == "preentry_signature_invalid"


def test_entries_keep_personal_data_out_of_logs(key, now):
    verified = verify_preentry(sign_preentry(ENTRY, key, now), key, now)
    assert "佐藤" not in repr(verified) and "佐藤" not in repr(verified.entry)
    assert verified.issued_at.tzinfo is UTC


def test_postal_marks_and_foreign_name_kana_are_accepted(key, now):
    entry = replace(
        ENTRY,
        name="MARIA FERNANDA GONZALEZ",
        name_kana="マリア・フェルナンダ ゴンサレス",
        postal_code=" 〒１９８－０００３",
    )
    verified = verify_preentry(sign_preentry(entry, key, now), key, now).entry
    assert verified.postal_code == "1980003"
    assert verified.name_kana == "マリア・フェルナンダ ゴンサレス"

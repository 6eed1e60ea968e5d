"""The 在留カード等's files by tag on the server: garbage, over-long images, numbers, anchors."""

from __future__ import annotations

import base64

import pytest

from app.cardagent import tlv, zairyu
from app.services import residence_card
from tests.card.emulator import ResidenceOptions, residence_files

pytestmark = pytest.mark.card


def body(files, number="AB12345678CD"):
    return {
        "route": "zairyu",
        "card_number": number,
        "files": {k: base64.b64encode(v).decode() for k, v in files.items()},
    }


def test_a_good_reading_gives_the_ic_facts(ministry):
    files = residence_files(ResidenceOptions(), ministry)
    facts, shown = residence_card.reading(body(files), [ministry.anchor_pem()], 1, ["move"])
    assert facts["household[1].zairyu_card_number"] == "AB12345678CD"
    assert facts["household.address"] == "東京都千代田区霞が関一丁目1番1号"  # not a move-in
    assert shown["number_masked"] == "AB＊＊＊＊＊＊＊＊CD"


@pytest.mark.parametrize(
    ("name", "garbage"),
    [
        ("type", tlv.encode(0xC1, b"9")),
        ("type", b"\xc1\x05ab"),
        ("face", b"\xd1\x82\xff\xff"),
        ("address", b""),
        ("signature", b"\xda\x01"),
    ],
)
def test_garbage_is_a_japanese_refusal(ministry, name, garbage):
    files = residence_files(ResidenceOptions(), ministry)
    files[name] = garbage
    with pytest.raises(zairyu.ZairyuError) as refused:
        residence_card.reading(body(files), [ministry.anchor_pem()], 0, [])
    assert any(
        "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in str(refused.value)
    )


def test_an_image_longer_than_the_spec_allows_is_refused(ministry):
    files = residence_files(ResidenceOptions(), ministry)
    files["face"] = tlv.encode(0xD1, b"\x00" * (zairyu.FACE_LENGTH + 1))
    with pytest.raises(zairyu.ZairyuError, match="仕様の長さ"):
        residence_card.reading(body(files), [ministry.anchor_pem()], 0, [])


def test_a_malformed_number_from_an_agent_is_refused(ministry):
    files = residence_files(ResidenceOptions(), ministry)
    with pytest.raises(zairyu.ZairyuError, match="番号の形式"):
        residence_card.reading(body(files, "AB12"), [ministry.anchor_pem()], 0, [])


def test_a_picture_that_is_no_image_is_said_so():
    url, note = residence_card.picture(b"not an image")
    assert url is None and "表示できません" in note

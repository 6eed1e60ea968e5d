"""Furigana on the reading view's labels: readings right, okurigana outside, escaped, read once."""

from __future__ import annotations

import re

from app.resident.furigana import furigana


def _pairs(html: str) -> list[tuple[str, str]]:
    return re.findall(r"<ruby>([^<]+)<rt aria-hidden=\"true\">([^<]+)</rt></ruby>", html)


def test_readings_of_our_labels():
    assert _pairs(furigana("世帯主 氏名")) == [("世帯主", "せたいぬし"), ("氏名", "しめい")]
    # pykakasi alone cuts 転出先|住所 wrongly (転出|先住|所) and reads 者 as もの.
    assert _pairs(furigana("転出先住所")) == [("転出先", "てんしゅつさき"), ("住所", "じゅうしょ")]
    assert ("者", "しゃ") in _pairs(furigana("受給者番号"))
    assert ("人", "ひと") in _pairs(furigana("異動する人"))


def test_okurigana_stays_outside_the_ruby():
    assert str(furigana("同居を始めたとき")).endswith(
        '<ruby>始<rt aria-hidden="true">はじ</rt></ruby>めたとき'
    )


def test_kana_only_and_markup_are_escaped():
    assert str(furigana("フリガナ")) == "フリガナ"
    assert str(furigana("<b>住所")).startswith("&lt;b&gt;")

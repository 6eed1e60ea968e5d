"""Check digits: 個人番号 (総務省令第85号 第5条) and 全国地方公共団体コード."""

from __future__ import annotations

import pytest

from app.engine.loader import municipality_code_valid
from app.engine.mynumber import is_valid_my_number, my_number_check_digit


def test_my_number_example_from_the_ordinance() -> None:
    assert my_number_check_digit("12345678901") == 8
    assert is_valid_my_number("123456789018")
    assert not is_valid_my_number("123456789012")


@pytest.mark.parametrize("body", ["00000000000", "00000000001", "99999999999"])
def test_remainders_zero_and_one_give_zero(body: str) -> None:
    digit = my_number_check_digit(body)
    assert 0 <= digit <= 9
    assert is_valid_my_number(body + str(digit))


@pytest.mark.parametrize(
    "number", ["12345678901", "1234567890189", "12345678901a", "１２３４５６７８９０１８"]
)
def test_malformed_my_numbers(number: str) -> None:
    assert not is_valid_my_number(number)


@pytest.mark.parametrize(
    ("code", "valid"),
    [("131016", True), ("132241", True), ("401005", True), ("132242", False), ("13101", False)],
)
def test_municipality_codes(code: str, valid: bool) -> None:
    assert municipality_code_valid(code) is valid

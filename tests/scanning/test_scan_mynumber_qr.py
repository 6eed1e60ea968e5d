"""個人番号 from the card's QR: accepted only with the right check digit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.engine.mynumber import my_number_check_digit
from app.scanning.mynumber_qr import MyNumberError, mask_my_number, read_my_number


def test_a_number_with_the_right_check_digit_is_read():
    assert read_my_number("123456789018") == "123456789018"
    assert read_my_number(" 123456789018\n") == "123456789018"


def test_a_wrong_check_digit_is_refused_with_a_japanese_message_and_no_number():
    with pytest.raises(MyNumberError) as caught:
        read_my_number("123456789013")
    assert caught.value.code == "mynumber_check_digit"
    assert "検査用数字" in caught.value.message
    assert "123456789013" not in str(caught.value)


@pytest.mark.parametrize(
    "text", ["12345678901", "1234567890123", "1234 5678 9018", "１２３４５６７８９０１８", "abc"]
)
def test_anything_but_twelve_ascii_digits_is_refused(text):
    with pytest.raises(MyNumberError) as caught:
        read_my_number(text)
    assert caught.value.code == "mynumber_format"


@given(body=st.text(alphabet="0123456789", min_size=11, max_size=11), wrong=st.integers(1, 9))
def test_exactly_one_check_digit_is_accepted_for_every_body(body, wrong):
    right = my_number_check_digit(body)
    assert read_my_number(f"{body}{right}") == f"{body}{right}"
    with pytest.raises(MyNumberError):
        read_my_number(f"{body}{(right + wrong) % 10}")


def test_the_mask_shows_only_the_last_four_digits():
    assert mask_my_number("123456789018") == "**** **** 9018"

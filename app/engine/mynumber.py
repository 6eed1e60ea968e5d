"""個人番号 (My Number): the check digit of 行政手続における特定の個人を識別するための番号の利用等に関する法律施行令 / 総務省令第85号 第5条."""

from __future__ import annotations

_WEIGHTS = tuple(n + 1 if n <= 6 else n - 5 for n in range(1, 12))  # Qn for n = 1..11


def my_number_check_digit(body: str) -> int:
    """Return the check digit for an 11-digit My Number body.

    Pn is the n-th digit counting from the right of the body; Qn = n+1 (n ≤ 6), n−5 (n ≥ 7);
    the check digit is 11 − (Σ Pn×Qn mod 11), or 0 when the remainder is 0 or 1.

    :raises ValueError: the body is not exactly 11 ASCII digits.
    """
    if len(body) != 11 or not body.isascii() or not body.isdigit():
        raise ValueError("a My Number body is exactly 11 digits")
    total = sum(int(digit) * weight for digit, weight in zip(reversed(body), _WEIGHTS, strict=True))
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_valid_my_number(number: str) -> bool:
    """Tell whether a string is 12 ASCII digits whose last digit is the right check digit."""
    if len(number) != 12 or not number.isascii() or not number.isdigit():
        return False
    return my_number_check_digit(number[:11]) == int(number[11])

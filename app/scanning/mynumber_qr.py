"""個人番号 (My Number) from the QR code printed on the back of the マイナンバーカード.

The card's QR (on the 個人番号 side, next to the printed number) holds just the 12 ASCII
digits of the number, so that bodies doing 個人番号利用事務 can take it without typing
(see docs/scanning.md for the sources). A number is accepted only when its check digit
(総務省令第85号 第5条, implemented once in ``app.engine.mynumber``) is right.
"""

from __future__ import annotations

from app.engine.mynumber import is_valid_my_number

MY_NUMBER_LENGTH = 12
PROVENANCE = "id_qr"


class MyNumberError(Exception):
    """A scanned My Number that must not be used, with a stable code and a Japanese message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def looks_like_my_number(text: str) -> bool:
    """Tell whether a QR's text has the shape of the card's payload: 12 ASCII digits."""
    digits = text.strip()
    return len(digits) == MY_NUMBER_LENGTH and digits.isascii() and digits.isdigit()


def read_my_number(text: str) -> str:
    """Return the 個人番号 in a card QR's text, only when its check digit is right.

    :raises MyNumberError: ``mynumber_format`` (not 12 digits) or ``mynumber_check_digit``.
    """
    if not looks_like_my_number(text):
        raise MyNumberError(
            "mynumber_format",
            "個人番号は12桁の数字ですが、読み取った内容はその形ではありません。"
            "マイナンバーカードの裏面のQRコードをかざしてもらってください。",
        )
    number = text.strip()
    if not is_valid_my_number(number):
        raise MyNumberError(
            "mynumber_check_digit",
            "個人番号の検査用数字が一致しないため、この番号は使えません。"
            "カードの裏面のQRコードを正面からかざしてもらい読み取り直すか、通知カード等で確認してください。",
        )
    return number


def mask_my_number(number: str) -> str:
    """Return the number masked for screens, only the last four digits shown: ``**** **** 9012``."""
    return f"**** **** {number[-4:]}"

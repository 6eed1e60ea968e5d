"""Print formats of form fields: 和暦, katakana, yen, grouped digits, checkboxes …"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from app.engine import kana, wareki
from app.engine.postal import format_postal


class OutsideEra(Exception):
    """A date to print in 和暦 lies before 明治; it is printed in the Western calendar instead."""


def _wareki(value: Any) -> str:
    try:
        return wareki.format_wareki(value)
    except wareki.OutsideEraError:
        raise OutsideEra(value.isoformat()) from None


def _wareki_parts(value: Any) -> Any:
    try:
        return wareki.wareki_parts(value).as_dict()
    except wareki.OutsideEraError:
        raise OutsideEra(value.isoformat()) from None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, date):
        return _wareki(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):  # a bank account
        return " ".join(
            str(value.get(k, "")) for k in ("bank", "branch", "kind", "number", "holder")
        )
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    return str(value)


def _digits(value: Any) -> str:
    text = str(value)
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def _masked(value: Any) -> str:
    text = str(value)
    if len(text) <= 4:
        return text
    hidden = "".join("*" if ch.isdigit() else ch for ch in _digits(text[:-4]))
    return f"{hidden} {text[-4:]}"


def _yen(value: Any) -> str:
    return f"{int(round(value)):,}円"


FORMATTERS: dict[str, Callable[[Any], Any]] = {
    "text": _text,
    "wareki": _wareki,
    "wareki_parts": _wareki_parts,
    "iso_date": lambda v: v.isoformat(),
    "katakana": lambda v: kana.katakana(str(v)),
    "hiragana": lambda v: kana.hiragana(str(v)),
    "zenkaku": lambda v: kana.zenkaku(_text(v)),
    "yen": _yen,
    "digits": _digits,
    "postal": lambda v: format_postal(str(v)),
    "checkbox": lambda v: "☑" if v else "☐",
    "masked": _masked,
}


def format_value(fmt: str, value: Any, choices: dict[str, str] | None = None) -> Any:
    """Format a known value for print; ``choice_label`` uses the choice fact's labels.

    :raises OutsideEra: a 和暦 format was asked of a date before 明治.
    """
    if fmt == "choice_label":
        return (choices or {}).get(str(value), str(value))
    return FORMATTERS[fmt](value)

"""Fact declarations and the parsing of a value a person typed (or JSON gave) for a fact."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.engine import kana, wareki
from app.engine.compiler import Compiled
from app.engine.errors import FactValueError
from app.engine.mynumber import is_valid_my_number
from app.engine.postal import normalise_postal_code
from app.engine.schema import (
    BANK_PART_MAX_LENGTH,
    INTEGER_MAX_DIGITS,
    LIST_ITEM_MAX_LENGTH,
    LIST_MAX_ITEMS,
    TEXT_MAX_LENGTH,
)
from app.engine.types import BANK_FIELDS

FACT_TYPE_NAMES = (
    "text",
    "kana",
    "date",
    "integer",
    "money",
    "boolean",
    "choice",
    "postal_code",
    "time",
    "address",
    "my_number",
    "bank_account",
    "list",
)
SENSITIVITIES = ("normal", "personal", "special")


@dataclass
class FactDef:
    """A declared fact (事実): the question asked, its type and how a value is checked."""

    id: str
    type: str
    label: str
    per_person: bool = False
    help: str = ""
    choices: dict[str, str] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)
    sensitivity: str = "normal"
    derive: Compiled | None = None
    derive_text: str | None = None
    order: int = 0  # declaration order: the stable order of next questions
    ask: bool = True  # false: only ever filled from the registry or an ID scan, never asked

    @property
    def max_length(self) -> int | None:
        """Return the longest text this fact takes: its declared box, else its type's default."""
        declared = self.validation.get("max_length")
        if isinstance(declared, int) and not isinstance(declared, bool):
            return declared
        return TEXT_MAX_LENGTH.get(self.type)

    @property
    def derived(self) -> bool:
        """Tell whether the fact is computed rather than asked."""
        return self.derive_text is not None


_TRUE = {"true", "yes", "はい", "1", "on", "有", "あり"}
_FALSE = {"false", "no", "いいえ", "0", "off", "無", "なし"}
_KANA_OK = re.compile(r"^[\u30A1-\u30FA\u30FC\u30FB\u3000 ]+$")


def _nfkc(text: str) -> str:
    """Normalise full-width digits and letters to ASCII and strip spaces."""
    return unicodedata.normalize("NFKC", text).strip()


def _too_long(fact: FactDef, limit: int, length: int) -> FactValueError:
    """The refusal of a value longer than its box, saying how long it was."""
    return FactValueError(
        fact.id, f"{fact.label}は{limit}文字以内で入力してください（いま{length}文字です）"
    )


def _as_int(fact: FactDef, raw: Any) -> int:
    """Parse a whole number from a number or text (commas, 円, full width allowed)."""
    too_big = FactValueError(
        fact.id, f"{fact.label}は{INTEGER_MAX_DIGITS}桁以内の数字で入力してください"
    )
    if isinstance(raw, bool):
        raise FactValueError(fact.id, f"{fact.label}は数字で入力してください")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, int):
        if abs(raw) >= 10**INTEGER_MAX_DIGITS:
            raise too_big
        return raw
    if isinstance(raw, str) and len(raw) > 4 * INTEGER_MAX_DIGITS:
        raise too_big  # before NFKC and int(): Python refuses int() over 4,300 digits
    text = _nfkc(str(raw)).replace(",", "").replace("円", "")
    if not re.fullmatch(r"-?\d+", text):
        raise FactValueError(fact.id, f"{fact.label}は数字で入力してください")
    if len(text.lstrip("-")) > INTEGER_MAX_DIGITS:
        raise too_big
    return int(text)


def _as_date(fact: FactDef, raw: Any, as_of: date) -> date:
    """Parse a date from a date, ISO text or 和暦 text."""
    if isinstance(raw, date):
        return raw
    text = str(raw)
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        parsed = wareki.parse_date(text)
    except wareki.WarekiParseError as exc:
        if exc.impossible:
            raise FactValueError(
                fact.id,
                f"{fact.label}：{text.strip()}という日付はありません。日付をお確かめください",
            ) from None
        raise FactValueError(
            fact.id,
            f"{fact.label}は「令和7年4月1日」「R7.4.1」「2025-04-01」のように入力してください",
        ) from None
    if parsed.outside_era:
        right = _show_date(parsed.value)
        raise FactValueError(
            fact.id, f"{parsed.era}にその日付はありません（{right}ではありませんか）"
        )
    return parsed.value


def _show_date(day: date) -> str:
    """Show a date in 和暦, or ISO before 明治."""
    try:
        return wareki.format_wareki(day)
    except wareki.OutsideEraError:
        return day.isoformat()


def _limit(fact: FactDef, key: str, as_of: date) -> Any:
    """Return a validation bound, with ``today`` meaning the application date."""
    value = fact.validation.get(key)
    return as_of if value == "today" else value


def _validate_range(fact: FactDef, value: Any, as_of: date) -> None:
    """Check a value against the fact's min and max."""
    low, high = _limit(fact, "min", as_of), _limit(fact, "max", as_of)
    shown = _show_date if isinstance(value, date) else str
    if low is not None and value < low:
        raise FactValueError(fact.id, f"{fact.label}は{shown(low)}以降（以上）で入力してください")
    if high is not None and value > high:
        raise FactValueError(fact.id, f"{fact.label}は{shown(high)}以前（以下）で入力してください")


def _plain_text(fact: FactDef, raw: str, limit: int) -> str:
    """Return typed text in NFC, refused when longer than ``limit`` or with control characters.

    NFC first: a phone or a Mac may send kana with a combining dakuten (NFD, か + ゛), which
    is the same name as the composed kana. Control characters (a pasted tab, NUL, a bidi
    override) have no place on a paper form and are refused as the pre-entry page does.
    """
    if len(raw) > 4 * limit:
        raise _too_long(fact, limit, len(raw))  # before normalising a huge paste
    text = unicodedata.normalize("NFC", raw).strip()
    if len(text) > limit:
        raise _too_long(fact, limit, len(text))
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") for ch in text):
        raise FactValueError(
            fact.id,
            f"{fact.label}に使えない文字（制御文字など）が含まれています。入力し直してください",
        )
    return text


def _text(fact: FactDef, raw: Any) -> str:
    """Check text against length and pattern rules."""
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise FactValueError(fact.id, f"{fact.label}を文字で入力してください")
    high = fact.max_length or TEXT_MAX_LENGTH["text"]
    if isinstance(raw, int):
        if abs(raw) >= 10**high:
            raise _too_long(fact, high, high + 1)
        raw = str(raw)
    text = _plain_text(fact, raw, high)
    if not text:
        raise FactValueError(fact.id, f"{fact.label}を入力してください")
    low = fact.validation.get("min_length")
    if low is not None and len(text) < low:
        raise FactValueError(fact.id, f"{fact.label}は{low}文字以上で入力してください")
    pattern = fact.validation.get("pattern")
    if pattern is not None and not re.fullmatch(pattern, text):
        message = fact.validation.get("message") or f"{fact.label}の形式が正しくありません"
        raise FactValueError(fact.id, str(message))
    return text


_TIME = re.compile(r"^(午前|午後)?(\d{1,2})(?::|時)(?:(\d{1,2})分?)?$")


def _time(fact: FactDef, raw: Any) -> str:
    """Read a time of day as 24-hour HH:MM (14:30, １４：３０, 14時30分, 午後2時半 accepted)."""
    text = _nfkc(str(raw)).replace(" ", "").replace("半", "30分")
    m = _TIME.match(text)
    hour = int(m[2]) if m else -1
    minute = int(m[3] or 0) if m else -1
    if m and m[1] == "午後" and hour < 12:
        hour += 12
    if m and m[1] == "午前" and hour == 12:
        hour = 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise FactValueError(
            fact.id, f"{fact.label}は24時間制の時刻で入力してください（例：14:30、14時30分）"
        )
    return f"{hour:02d}:{minute:02d}"


def _kana(fact: FactDef, raw: Any) -> str:
    """Convert to katakana and check that only kana remain."""
    text = kana.katakana(_text(fact, raw))
    if not _KANA_OK.match(text):
        raise FactValueError(fact.id, f"{fact.label}はカタカナ（またはひらがな）で入力してください")
    return text


def _choice(fact: FactDef, raw: Any) -> str:
    """Return the choice key for a key or a label."""
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raw = ""  # a JSON object or list is none of the choices
    text = str(raw)[:LIST_ITEM_MAX_LENGTH].strip()
    if text in fact.choices:
        return text
    for key, label in fact.choices.items():
        if text == label:
            return key
    listed = "、".join(fact.choices.values())
    shown = text if len(text) <= 40 else text[:40] + "…"
    raise FactValueError(
        fact.id, f"{fact.label}に「{shown}」はありません。次のいずれかを選んでください：{listed}"
    )


def _my_number(fact: FactDef, raw: Any) -> str:
    """Check a My Number's length and check digit."""
    digits = re.sub(r"[\s\-]", "", _nfkc(str(raw)))
    if len(digits) != 12 or not digits.isascii() or not digits.isdigit():
        raise FactValueError(fact.id, "個人番号は12桁の数字で入力してください")
    if not is_valid_my_number(digits):
        raise FactValueError(fact.id, "個人番号の検査用数字が合いません。番号をお確かめください")
    return digits


def _bank_account(fact: FactDef, raw: Any) -> dict[str, str]:
    """Check a bank account's parts; the holder in katakana."""
    if not isinstance(raw, dict):
        raise FactValueError(
            fact.id, f"{fact.label}は金融機関名・支店名・種別・口座番号・口座名義を入力してください"
        )
    given = {name: "" if raw.get(name) is None else raw[name] for name in BANK_FIELDS}
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in given.values()):
        raise FactValueError(fact.id, f"{fact.label}の各欄は文字で入力してください")
    parts = {
        name: _plain_text(fact, str(value), BANK_PART_MAX_LENGTH.get(name, 30))
        for name, value in given.items()
    }
    missing = [name for name in BANK_FIELDS if not parts[name]]
    names = {
        "bank": "金融機関名",
        "branch": "支店名",
        "kind": "預金種別",
        "number": "口座番号",
        "holder": "口座名義（カタカナ）",
    }
    if missing:
        raise FactValueError(fact.id, f"{fact.label}の{names[missing[0]]}を入力してください")
    number = _nfkc(parts["number"])
    if not re.fullmatch(r"\d{7}", number):
        raise FactValueError(fact.id, "口座番号は7桁の数字で入力してください")
    holder = kana.katakana(parts["holder"])
    if not _KANA_OK.match(holder):
        raise FactValueError(fact.id, "口座名義はカタカナで入力してください")
    return {
        "bank": parts["bank"],
        "branch": parts["branch"],
        "kind": parts["kind"],
        "number": number,
        "holder": holder,
    }


_SHORT_TYPES = {"date", "integer", "money", "boolean", "choice", "postal_code", "time", "my_number"}
_SHORT_RAW_LIMIT = 200


def parse_fact_value(fact: FactDef, raw: Any, as_of: date) -> Any:
    """Parse and check a raw value (typed text or JSON) for a fact; return the typed value.

    :raises FactValueError: with a Japanese message saying what to enter instead.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip() and fact.type != "list"):
        raise FactValueError(fact.id, f"{fact.label}を入力してください")
    kind = fact.type
    if kind in _SHORT_TYPES and isinstance(raw, str) and len(raw) > _SHORT_RAW_LIMIT:
        # A date, time, code or yes/no is never this long: refuse before reading it.
        raise FactValueError(fact.id, f"{fact.label}が長すぎます。入力し直してください")
    if kind in ("text", "address"):
        return _text(fact, raw)
    if kind == "kana":
        return _kana(fact, raw)
    if kind == "date":
        day = _as_date(fact, raw, as_of)
        _validate_range(fact, day, as_of)
        return day
    if kind in ("integer", "money"):
        number = _as_int(fact, raw)
        if kind == "money" and number < 0:
            raise FactValueError(fact.id, f"{fact.label}は0円以上で入力してください")
        _validate_range(fact, number, as_of)
        return number
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = _nfkc(str(raw)).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise FactValueError(fact.id, f"{fact.label}は「はい」か「いいえ」で答えてください")
    if kind == "choice":
        return _choice(fact, raw)
    if kind == "time":
        return _time(fact, raw)
    if kind == "postal_code":
        code = normalise_postal_code(str(raw))
        if code is None:
            raise FactValueError(fact.id, "郵便番号は7桁の数字で入力してください（例：123-4567）")
        return code
    if kind == "my_number":
        return _my_number(fact, raw)
    if kind == "bank_account":
        return _bank_account(fact, raw)
    if kind == "list":
        if isinstance(raw, str) and len(raw) > LIST_MAX_ITEMS * (LIST_ITEM_MAX_LENGTH + 1):
            raise _too_long(fact, LIST_MAX_ITEMS * (LIST_ITEM_MAX_LENGTH + 1), len(raw))
        items = (
            raw
            if isinstance(raw, list)
            else [part for part in re.split(r"[,、\s]+", str(raw)) if part]
        )
        if len(items) > LIST_MAX_ITEMS:
            raise FactValueError(fact.id, f"{fact.label}は{LIST_MAX_ITEMS}個までです")
        if fact.choices:
            return [_choice(fact, item) for item in items]
        if not all(isinstance(item, str | int) and not isinstance(item, bool) for item in items):
            raise FactValueError(fact.id, f"{fact.label}を文字で入力してください")
        return [_plain_text(fact, str(item), LIST_ITEM_MAX_LENGTH) for item in items]
    raise FactValueError(fact.id, f"{fact.label}の型 {kind} は扱えません")  # pragma: no cover

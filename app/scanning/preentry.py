"""事前入力 (pre-entry): the signed QR payload a resident makes before the visit.

A resident types name, kana, birth date, address, postal code, phone and the life event
on the public pre-entry page; the server signs that with HMAC-SHA256 and shows it as a QR.
At the counter the QR is scanned from the video stream, verified here, and turned into
facts with provenance ``pre_entry`` for staff to confirm.

Wire format (UTF-8, one line)::

    KMPE1.{"ev":"move_in","n":"山田 太郎",…,"iat":1793491200,"exp":1794700800}.<tag>

``KMPE1`` names the format and its version; the JSON uses short keys, no spaces and raw
UTF-8 (Japanese in byte mode costs 3 bytes a character, base64 would add a third); the
tag is base64url (no padding) of HMAC-SHA256 over everything before the last ``.``,
truncated to 128 bits (see ``TAG_BYTES``). The payload is signed, not encrypted: it holds
only what the resident typed about themselves and is shown on their own phone; it never
holds a My Number.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import segno

PREFIX = "KMPE"
VERSION = 1
PROVENANCE = "pre_entry"

# 128 bits: NIST SP 800-107 allows truncating HMAC; a forger without the key must guess
# the tag and can only test each guess by showing a QR at a counter, so 2^-128 per try is
# far beyond need while costing only 22 characters (the full 256-bit tag would take 43).
TAG_BYTES = 16
_TAG_CHARS = 22  # base64url of 16 bytes without padding
MIN_KEY_BYTES = 32
DEFAULT_VALIDITY = timedelta(days=14)
# Several app processes sign and verify; allow their clocks to differ a little.
CLOCK_SKEW = timedelta(minutes=5)
# A QR cannot carry more than ~2.9 kB; refuse anything longer before doing any work.
MAX_TEXT_CHARS = 3000

EVENTS: dict[str, str] = {
    "move_in": "転入",
    "move_in_abroad": "国外からの転入",
    "move_out": "転出",
    "move_within": "転居",
    "birth": "出生",
    "death": "死亡",
    "marriage": "婚姻",
}
MOVE_EVENTS = frozenset({"move_in", "move_in_abroad", "move_out", "move_within"})

_JST = timezone(timedelta(hours=9), "JST")
# katakana, 中黒 (マリア・ホセ), 長音符 and space, after normalising
_KANA = re.compile(r"[\u30a1-\u30fc ]+")
_DIGITS = re.compile(r"[0-9]+")


class PreEntryError(Exception):
    """A pre-entry payload or entry that cannot be used, with a stable code and a Japanese message."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True, repr=False)
class PreEntry:
    """What the resident entered: the applicant's own details and the life event."""

    event: str
    name: str
    name_kana: str
    birth_date: date
    address: str | None = None
    postal_code: str | None = None
    phone: str | None = None
    old_address: str | None = None

    def __repr__(self) -> str:
        # Personal data stays out of logs and tracebacks.
        return f"PreEntry(event={self.event!r})"


@dataclass(frozen=True, slots=True, repr=False)
class VerifiedPreEntry:
    """A pre-entry whose signature and validity period were checked."""

    entry: PreEntry
    issued_at: datetime
    expires_at: datetime

    def __repr__(self) -> str:
        return f"VerifiedPreEntry({self.entry!r}, expires_at={self.expires_at.isoformat()})"


# Short wire keys <-> entry attributes, with the Japanese label used in messages.
_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("ev", "event", "届出の種類"),
    ("n", "name", "氏名"),
    ("k", "name_kana", "ふりがな"),
    ("b", "birth_date", "生年月日"),
    ("a", "address", "住所"),
    ("p", "postal_code", "郵便番号"),
    ("t", "phone", "電話番号"),
    ("oa", "old_address", "前住所"),
)
_LABELS = {attr: label for _, attr, label in _FIELDS}
_MAX_CHARS = {"name": 60, "name_kana": 60, "address": 80, "old_address": 80}


def _invalid(attr: str, detail: str) -> PreEntryError:
    label = _LABELS[attr]
    return PreEntryError(
        "preentry_invalid_field",
        f"{label}が正しくありません（{detail}）。入力し直してください。",
        field=attr,
    )


def _clean_text(attr: str, value: str | None, *, required: bool) -> str | None:
    if value is None or not value.strip():
        if required:
            raise _invalid(attr, "入力されていません")
        return None
    # NFKC folds half-width katakana and full-width digits and spaces; collapse runs of spaces.
    text = " ".join(unicodedata.normalize("NFKC", value).split())
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise _invalid(attr, "使えない文字が含まれています")
    limit = _MAX_CHARS[attr]
    if len(text) > limit:
        raise _invalid(attr, f"{limit}文字以内で入力してください")
    return text


def _to_katakana(text: str) -> str:
    # ひらがな (U+3041–U+3096) sit exactly 0x60 below their カタカナ.
    return "".join(chr(ord(ch) + 0x60) if "\u3041" <= ch <= "\u3096" else ch for ch in text)


def normalise_entry(entry: PreEntry, today: date) -> PreEntry:
    """Return the entry cleaned and checked: NFKC text, katakana kana, bare digits.

    :raises PreEntryError: ``preentry_invalid_field`` naming the first wrong field.
    """
    if entry.event not in EVENTS:
        raise _invalid("event", "一覧から選んでください")
    name = _clean_text("name", entry.name, required=True)
    kana = _clean_text("name_kana", entry.name_kana, required=True)
    assert name is not None and kana is not None  # required=True never returns None
    kana = _to_katakana(kana)
    if not _KANA.fullmatch(kana):
        raise _invalid("name_kana", "ひらがなかカタカナで入力してください")
    if not date(1868, 1, 25) <= entry.birth_date <= today:
        raise _invalid("birth_date", "明治元年から今日までの日付を入力してください")
    postal = _clean_postal_code(entry.postal_code)
    phone = _clean_phone(entry.phone)
    return PreEntry(
        event=entry.event,
        name=name,
        name_kana=kana,
        birth_date=entry.birth_date,
        address=_clean_text("address", entry.address, required=False),
        postal_code=postal,
        phone=phone,
        old_address=_clean_text("old_address", entry.old_address, required=False),
    )


def _clean_postal_code(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    # Accept 123-4567, 〒１２３－４５６７ and spaces; keep only the 7 digits.
    folded = unicodedata.normalize("NFKC", value).strip().removeprefix("〒")
    digits = re.sub(r"[\s\-‐－ー−]", "", folded)
    if not _DIGITS.fullmatch(digits) or len(digits) != 7:
        raise _invalid("postal_code", "7桁の数字で入力してください")
    return digits


def _clean_phone(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    # Keep the resident's hyphens (forms print them), as ASCII; count only the digits.
    folded = re.sub(r"[‐－ー−]", "-", "".join(unicodedata.normalize("NFKC", value).split()))
    digits = folded.replace("-", "")
    if not re.fullmatch(r"[0-9]+(-[0-9]+){0,2}", folded) or not (
        digits.startswith("0") and 10 <= len(digits) <= 11
    ):
        raise _invalid("phone", "0から始まる10桁か11桁の番号を、数字とハイフンで入力してください")
    return folded


def _check_key(key: bytes) -> None:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the pre-entry signing key must be at least {MIN_KEY_BYTES} bytes")


def _check_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")


def _tag(key: bytes, signed: bytes) -> str:
    digest = hmac.new(key, signed, hashlib.sha256).digest()[:TAG_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def sign_preentry(
    entry: PreEntry, key: bytes, now: datetime, valid_for: timedelta = DEFAULT_VALIDITY
) -> str:
    """Return the signed pre-entry text for the QR, valid from ``now`` for ``valid_for``.

    :raises PreEntryError: a field is wrong (``preentry_invalid_field``, with ``field``).
    :raises ValueError: the key is shorter than 32 bytes or ``now`` is naive.
    """
    _check_key(key)
    _check_aware(now)
    clean = normalise_entry(entry, now.astimezone(_JST).date())
    issued_at = int(now.timestamp())
    payload: dict[str, Any] = {}
    for wire, attr, _ in _FIELDS:
        value = getattr(clean, attr)
        if value is not None:
            payload[wire] = value.isoformat() if isinstance(value, date) else value
    payload["iat"] = issued_at
    payload["exp"] = issued_at + int(valid_for.total_seconds())
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    signed = f"{PREFIX}{VERSION}.{body}"
    return f"{signed}.{_tag(key, signed.encode('utf-8'))}"


def verify_preentry(text: str, key: bytes, now: datetime) -> VerifiedPreEntry:
    """Check a scanned pre-entry text and return its entry; never trust anything unverified.

    :raises PreEntryError: with code ``preentry_not_recognized`` (not a pre-entry QR),
        ``preentry_unsupported_version``, ``preentry_malformed``,
        ``preentry_signature_invalid`` (forged or altered: HMAC cannot tell which),
        ``preentry_not_yet_valid``, ``preentry_expired`` or ``preentry_invalid_field``.
    :raises ValueError: the key is shorter than 32 bytes or ``now`` is naive.
    """
    _check_key(key)
    _check_aware(now)
    text = text.strip()
    if not text.startswith(PREFIX):
        raise PreEntryError(
            "preentry_not_recognized",
            "事前入力のQRコードではありません。事前入力ページで作成したQRコードをかざしてもらってください。",
        )
    if len(text) > MAX_TEXT_CHARS:
        raise _malformed()
    version, dot, _ = text[len(PREFIX) :].partition(".")
    if not dot or not version.isdigit():
        raise _malformed()
    if int(version) != VERSION:
        raise PreEntryError(
            "preentry_unsupported_version",
            "この事前入力QRコードは対応していない形式です。事前入力ページでQRコードを作り直してもらってください。",
        )
    signed, dot, tag = text.rpartition(".")
    if len(tag) != _TAG_CHARS or not re.fullmatch(r"[A-Za-z0-9_-]+", tag):
        raise _malformed()
    # Compare tags before looking at the content: nothing unauthenticated is parsed.
    if not hmac.compare_digest(tag, _tag(key, signed.encode("utf-8"))):
        raise PreEntryError(
            "preentry_signature_invalid",
            "事前入力QRコードの署名が一致しません。内容が書き換えられたか、この窓口で発行されたものではありません。"
            "読み取った内容は使わず、聞き取りで入力してください。",
        )
    payload = _parse_payload(signed[len(PREFIX) + len(version) + 1 :])
    issued_at = datetime.fromtimestamp(payload["iat"], UTC)
    expires_at = datetime.fromtimestamp(payload["exp"], UTC)
    if issued_at > now + CLOCK_SKEW:
        raise PreEntryError(
            "preentry_not_yet_valid",
            "事前入力QRコードの発行日時が現在より後になっています。サーバーの時刻を確認し、聞き取りで入力してください。",
        )
    if now >= expires_at:
        local = expires_at.astimezone(_JST)
        raise PreEntryError(
            "preentry_expired",
            f"事前入力QRコードの有効期限（{local.year}年{local.month}月{local.day}日 "
            f"{local.hour}時{local.minute:02d}分）が過ぎています。"
            "事前入力ページで入力し直してもらうか、聞き取りで入力してください。",
        )
    entry = _entry_from_payload(payload)
    return VerifiedPreEntry(
        entry=normalise_entry(entry, now.astimezone(_JST).date()),
        issued_at=issued_at,
        expires_at=expires_at,
    )


def _malformed() -> PreEntryError:
    return PreEntryError(
        "preentry_malformed",
        "事前入力QRコードの内容が壊れています。もう一度読み取るか、事前入力ページでQRコードを作り直してもらってください。",
    )


def _parse_payload(body: str) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise _malformed() from None
    if not isinstance(payload, dict):
        raise _malformed()
    known = {wire for wire, _, _ in _FIELDS} | {"iat", "exp"}
    if not known.issuperset(payload):
        raise _malformed()
    for stamp in ("iat", "exp"):
        if type(payload.get(stamp)) is not int:
            raise _malformed()
    if any(not isinstance(payload.get(wire, ""), str) for wire, _, _ in _FIELDS):
        raise _malformed()
    return payload


def _entry_from_payload(payload: Mapping[str, Any]) -> PreEntry:
    try:
        birth_date = date.fromisoformat(payload.get("b", ""))
    except ValueError:
        raise _invalid("birth_date", "日付の形式ではありません") from None
    return PreEntry(
        event=payload.get("ev", ""),
        name=payload.get("n", ""),
        name_kana=payload.get("k", ""),
        birth_date=birth_date,
        address=payload.get("a"),
        postal_code=payload.get("p"),
        phone=payload.get("t"),
        old_address=payload.get("oa"),
    )


def preentry_facts(entry: PreEntry, person: int = 0) -> dict[str, object]:
    """Map a verified entry to engine fact ids, the applicant being household member ``person``.

    Fact ids follow procedure_rules/facts: the address typed is the household's address in
    the city (``household.address``), except for a move out, where it is where the
    resident goes (``move.new_address``, 転出先) and the old address is the one in the city.
    """
    if person < 0:
        raise ValueError("person is a household index, 0 or more")
    member = f"household[{person}]"
    facts: dict[str, object] = {
        "case.events": [entry.event],
        f"{member}.name": entry.name,
        f"{member}.name_kana": entry.name_kana,
        f"{member}.birth_date": entry.birth_date.isoformat(),
    }
    if entry.phone is not None:
        facts[f"{member}.phone"] = entry.phone
    if entry.event == "move_out":
        address, postal, old = "move.new_address", "move.new_postal_code", "household.address"
    else:
        address, postal, old = "household.address", "household.postal_code", "move.old_address"
    if entry.address is not None:
        facts[address] = entry.address
    if entry.postal_code is not None:
        facts[postal] = entry.postal_code
    if entry.old_address is not None and entry.event in MOVE_EVENTS:
        facts[old] = entry.old_address
    return facts


def make_preentry_qr(payload: str) -> segno.QRCode:
    """Return the QR for a signed pre-entry text: byte mode, UTF-8 announced with ECI."""
    # Error level M survives a phone screen's glare; segno raises it further when the
    # chosen version has room to spare.
    return segno.make_qr(payload, encoding="utf-8", eci=True, error="m")

"""Tell what a decoded code is for the counter: My Number, pre-entry, or any other code."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from app.scanning import mynumber_qr, preentry
from app.scanning.decode import DecodedCode

ScanKind = Literal["my_number", "pre_entry", "other", "rejected"]

# Names staff know the symbologies by (JAN is the Japanese name of EAN-13).
SYMBOLOGY_LABELS = {
    "QRCode": "QRコード",
    "MicroQRCode": "マイクロQRコード",
    "RMQRCode": "rMQRコード",
    "EAN13": "JAN/EAN-13",
    "EAN8": "JAN/EAN-8",
    "UPCA": "UPC-A",
    "UPCE": "UPC-E",
    "Code128": "Code 128",
    "Code39": "Code 39",
    "ITF": "ITF",
    "Codabar": "NW-7",
    "DataBar": "GS1 DataBar",
    "DataBarExp": "GS1 DataBar Expanded",
}


@dataclass(frozen=True, slots=True, repr=False)
class ScanResult:
    """What a scanned code means, for staff to confirm before anything becomes a fact.

    ``facts`` (fact id -> value) and ``provenance`` are set for ``my_number`` and
    ``pre_entry``; ``display`` is what the staff screen shows (a My Number only masked);
    ``error_code`` and ``message`` (Japanese) are set for ``rejected``.
    """

    kind: ScanKind
    symbology: str
    display: str
    facts: Mapping[str, object] = field(default_factory=dict)
    provenance: str | None = None
    error_code: str | None = None
    message: str | None = None
    expires_at: datetime | None = None

    def __repr__(self) -> str:
        # facts may hold a My Number: keep them out of logs.
        return f"ScanResult(kind={self.kind!r}, symbology={self.symbology!r}, error_code={self.error_code!r})"


def symbology_label(code: DecodedCode) -> str:
    """Return the name staff know a code's symbology by (GS1-128 for GS1 Code 128)."""
    if code.gs1 and code.symbology == "Code128":
        return "GS1-128"
    return SYMBOLOGY_LABELS.get(code.symbology, code.symbology)


def printable(text: str) -> str:
    """Return text safe to show as-is: control characters as ``<GS>``-style escapes."""
    names = {"\x1d": "<GS>", "\x1e": "<RS>", "\x04": "<EOT>"}
    return "".join(
        names.get(ch, f"<U+{ord(ch):04X}>")
        if unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") and ch not in "\n\t"
        else ch
        for ch in text
    )


def classify(
    code: DecodedCode, *, preentry_key: bytes, now: datetime, person: int = 0
) -> ScanResult:
    """Classify a decoded code as My Number, pre-entry or other, checking each fully.

    ``person`` is the household index the My Number or pre-entry facts belong to.
    """
    label = symbology_label(code)
    if code.text.lstrip().startswith(preentry.PREFIX):
        try:
            verified = preentry.verify_preentry(code.text, preentry_key, now)
        except preentry.PreEntryError as error:
            return ScanResult(
                "rejected", label, error.message, error_code=error.code, message=error.message
            )
        entry = verified.entry
        return ScanResult(
            "pre_entry",
            label,
            f"事前入力（{preentry.EVENTS[entry.event]}）: {entry.name}（{entry.name_kana}）",
            facts=preentry.preentry_facts(entry, person),
            provenance=preentry.PROVENANCE,
            expires_at=verified.expires_at,
        )
    # UPC-A is also 12 digits: only a QR can be the card's.
    if code.symbology == "QRCode" and mynumber_qr.looks_like_my_number(code.text):
        try:
            number = mynumber_qr.read_my_number(code.text)
        except mynumber_qr.MyNumberError as error:
            return ScanResult(
                "rejected", label, error.message, error_code=error.code, message=error.message
            )
        return ScanResult(
            "my_number",
            label,
            f"個人番号: {mynumber_qr.mask_my_number(number)}",
            facts={f"household[{person}].my_number": number},
            provenance=mynumber_qr.PROVENANCE,
        )
    return ScanResult("other", label, printable(code.text))

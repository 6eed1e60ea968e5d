"""Sign once (一度の署名): check the drawn signature, seal the signed packet, close the review."""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError
from sqlalchemy import select, update

from app.documents import sealed_packet
from app.engine import Result, RuleSet
from app.errors import DomainError
from app.extensions import db
from app.models import Case, JoinLink, Kiosk, SignedPacket
from app.services.case_documents import form_documents, procedure_entries, render_context
from app.services.cases import CaseError, audit, change_status, cipher
from app.services.review import publish, shown_forms
from app.services.version_documents import documents_for

MAX_PNG_BYTES = 2 * 1024 * 1024
MAX_SIDE = 2000
# A signature needs some ink: fewer inked pixels than this, or a stroke narrower than
# MIN_WIDTH pixels, is a tap or a dot, not a name.
MIN_INK_PIXELS = 150
MIN_WIDTH = 40

SIGNING_MESSAGES = {
    "bad_image": "署名を読み取れませんでした。「書き直す」を押して、もう一度お書きください。",
    "empty": "署名が書かれていません。枠の中に指やペンでお名前をお書きください。",
    "not_in_review": "まだ署名の段階ではありません。職員の案内をお待ちください。",
    "unconfirmed": "確認が済んでいない書類があります。すべての書類で"
    "「この内容で確認しました」を押してから署名してください。",
    "no_forms": "署名する書類がありません。職員にお知らせください。",
    "no_name": "お名前が入力されていません。入力欄にお名前を入力してから押してください。",
    "already_signed": "この書類にはすでに署名が済んでいます。控えの画面をご覧ください。",
}
# The typed-name signature (keyboard alternative to drawing, WCAG 2.5.1/2.1.1): the name is
# set in the forms' own face, marked as typed, so the signed packet says how it was signed.
SIGNATURE_FONTS = (
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
)
TYPED_MARK = "（画面で入力して確認）"
MAX_NAME = 40


class SigningError(DomainError):
    """The signature was refused; ``code`` is stable, ``message`` is for the resident."""

    status = 422

    def __init__(self, code: str) -> None:
        super().__init__(SIGNING_MESSAGES[code], code=code)


def decode_data_url(data: str) -> bytes:
    """Return the PNG bytes of a ``data:image/png;base64,…`` URL.

    :raises SigningError: not a PNG data URL.
    """
    prefix = "data:image/png;base64,"
    if not data.startswith(prefix) or len(data) > MAX_PNG_BYTES * 4 // 3 + len(prefix) + 4:
        raise SigningError("bad_image")
    try:
        return base64.b64decode(data[len(prefix) :], validate=True)
    except (binascii.Error, ValueError):
        raise SigningError("bad_image") from None


def clean_signature(png: bytes) -> bytes:
    """Check a drawn signature has ink and return it re-encoded (metadata dropped, cropped).

    Ink is a pixel that is both visible (alpha) and dark: a blank transparent canvas and a
    blank white one are both empty.

    :raises SigningError: not a readable PNG of sane size, or empty / near-empty.
    """
    if len(png) > MAX_PNG_BYTES:
        raise SigningError("bad_image")
    try:
        with Image.open(io.BytesIO(png)) as image:
            if image.format != "PNG" or max(image.size) > MAX_SIDE:
                raise SigningError("bad_image")
            rgba = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise SigningError("bad_image") from None
    pixels = np.asarray(rgba)
    luminance = pixels[..., :3].astype(np.uint16).sum(axis=2) // 3
    ink = (pixels[..., 3] > 64) & (luminance < 160)
    if int(ink.sum()) < MIN_INK_PIXELS:
        raise SigningError("empty")
    columns = np.flatnonzero(ink.any(axis=0))
    rows = np.flatnonzero(ink.any(axis=1))
    if int(columns[-1] - columns[0]) < MIN_WIDTH:
        raise SigningError("empty")
    pad = 8
    box = (
        max(int(columns[0]) - pad, 0),
        max(int(rows[0]) - pad, 0),
        min(int(columns[-1]) + pad + 1, rgba.width),
        min(int(rows[-1]) + pad + 1, rgba.height),
    )
    out = io.BytesIO()
    rgba.crop(box).save(out, format="PNG", optimize=True)
    return out.getvalue()


def typed_signature(name: str) -> bytes:
    """Return the signature image for a name typed instead of drawn, marked as typed.

    :raises SigningError: no name (``no_name``), or no Japanese font to set it in.
    """
    name = " ".join(name.split())[:MAX_NAME]
    if not name:
        raise SigningError("no_name")
    path = next((p for p in SIGNATURE_FONTS if Path(p).is_file()), None)
    if path is None:
        raise SigningError("bad_image")
    big, small = ImageFont.truetype(path, 96), ImageFont.truetype(path, 36)
    width = int(max(big.getlength(name), small.getlength(TYPED_MARK))) + 40
    image = Image.new("RGBA", (min(width, MAX_SIDE), 170), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.text((20, 4), name, font=big, fill=(0, 0, 0, 255))
    draw.text((20, 120), TYPED_MARK, font=small, fill=(40, 40, 40, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def sign_case(
    ruleset: RuleSet,
    case: Case,
    result: Result,
    signature_png: bytes,
    *,
    now: datetime,
    method: str = "drawn",
) -> SignedPacket:
    """Seal the packet with the resident's signature in every form, store it, close the review.

    Refused unless the case is in resident review (住民確認中) and every form is confirmed as
    it reads now. On success (one commit): the sealed PDF and the signature are stored
    encrypted, ``signature_mode`` is "electronic", the case is "signed", every join link of
    the case is revoked and any kiosk attached to it is detached.

    :raises SigningError: see ``SIGNING_MESSAGES``.
    """
    if case.status != "review":
        raise SigningError("not_in_review")
    forms = shown_forms(ruleset, case, result)
    if not forms:
        raise SigningError("no_forms")
    if not all(form.confirmed for form in forms):
        raise SigningError("unconfirmed")
    png = clean_signature(signature_png)
    pdf = sealed_packet(
        form_documents(result),
        render_context(ruleset, case, result, signature_png=png),
        procedures=procedure_entries(result),
        docs=documents_for(ruleset),
    )
    # Two signatures at once (a double tap, two tabs) both passed the check above while the
    # packet rendered. Only one may go on: claim the case while it is still in review, with
    # one conditional UPDATE (PostgreSQL makes the second wait on the row, then match
    # nothing; SQLite's writer queue orders them the same way).
    claimed = db.session.execute(
        update(Case).where(Case.id == case.id, Case.status == "review").values(updated_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise SigningError("already_signed")
    box = cipher()
    digest = hashlib.sha256(pdf).hexdigest()
    existing = db.session.scalar(select(SignedPacket).where(SignedPacket.case_id == case.id))
    if existing is not None:  # signed before, then reopened: the new packet replaces it
        db.session.delete(existing)
        db.session.flush()
    packet = SignedPacket(
        case_id=case.id,
        pdf_enc=box.seal_bytes(pdf),
        signature_enc=box.seal_bytes(png),
        sha256=digest,
        signed_at=now,
    )
    db.session.add(packet)
    db.session.execute(update(JoinLink).where(JoinLink.case_id == case.id).values(revoked=True))
    for kiosk in db.session.scalars(select(Kiosk).where(Kiosk.attached_case_id == case.id)):
        kiosk.attached_case_id = None
    case.signature_mode = "electronic"
    # method: "drawn" on the pad, or "typed_name" (the keyboard alternative), kept as such.
    audit(case.id, "resident", "signed_electronically", {"sha256": digest, "method": method}, now)
    change_status(case, "signed", actor="resident", now=now)  # commits all of the above
    publish(case.id, {"type": "signed"})
    return packet


def signed_packet_pdf(case_id: int) -> bytes | None:
    """Return the sealed signed packet of a case (decrypted), or None if not signed online."""
    packet = db.session.scalar(select(SignedPacket).where(SignedPacket.case_id == case_id))
    return cipher().open_bytes(packet.pdf_enc) if packet is not None else None


def download_signed_packet(case: Case, *, actor: str, now: datetime) -> bytes:
    """Return the case's signed packet for staff, the download audited and committed.

    :raises CaseError: the case has no signed packet (404).
    """
    data = signed_packet_pdf(case.id)
    if data is None:
        raise CaseError("no_signed_packet", "署名済みの書類はまだありません。", status=404)
    audit(case.id, actor, "signed_packet_downloaded", {}, now)
    db.session.commit()
    return data

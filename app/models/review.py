"""The resident's review of a case: confirmed forms, correction requests, the signed packet."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class FormConfirmation(db.Model):  # type: ignore[name-defined,misc]
    """The resident confirmed one form of the case as it read at that moment."""

    __tablename__ = "form_confirmation"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    form_key: Mapped[str] = mapped_column(String(120))
    # The document hash of what the resident saw: a later edit makes the confirmation stale.
    document_hash: Mapped[str] = mapped_column(String(64))
    confirmed_at: Mapped[datetime]


class ResidentRequest(db.Model):  # type: ignore[name-defined,misc]
    """A resident asked staff to correct a field of a form (訂正の依頼), with their note."""

    __tablename__ = "resident_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    form_key: Mapped[str] = mapped_column(String(120))
    field_id: Mapped[str | None] = mapped_column(String(120), default=None)
    note_enc: Mapped[str] = mapped_column(Text)  # the note may hold personal data: encrypted
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(80), default=None)


class SignedPacket(db.Model):  # type: ignore[name-defined,misc]
    """The sealed, signed packet of a case and the drawn signature, both encrypted at rest."""

    __tablename__ = "signed_packet"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case.id", ondelete="CASCADE"), unique=True, index=True
    )
    pdf_enc: Mapped[bytes] = mapped_column(LargeBinary)
    signature_enc: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime]

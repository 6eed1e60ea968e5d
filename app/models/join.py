"""Resident access: join links with a PIN, and branch-office kiosk devices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class JoinLink(db.Model):  # type: ignore[name-defined,misc]
    """A link + 6-digit PIN that admits a resident to exactly one case, for a limited time."""

    __tablename__ = "join_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    pin_hash: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime]
    failed_pins: Mapped[int] = mapped_column(default=0)
    locked: Mapped[bool] = mapped_column(default=False)
    revoked: Mapped[bool] = mapped_column(default=False)
    issued_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]


class Kiosk(db.Model):  # type: ignore[name-defined,misc]
    """A registered branch-office tablet; staff attach it to a case and the resident taps in.

    Set up once with a short-lived one-time code (never in a URL); the device credential it
    is exchanged for is rotated daily, the previous one honoured briefly (``previous_*``).
    """

    __tablename__ = "kiosk"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    attached_case_id: Mapped[int | None] = mapped_column(
        ForeignKey("case.id", ondelete="SET NULL"), default=None
    )
    active: Mapped[bool] = mapped_column(default=True)
    registered_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]
    setup_code_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    setup_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    credential_issued_at: Mapped[datetime | None] = mapped_column(default=None)
    previous_token_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    previous_valid_until: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class ResidentSession(db.Model):  # type: ignore[name-defined,misc]
    """A resident's admission on one device, checked on every request so that it can end.

    Ends (``ended_at``) when the resident leaves, their link is re-issued or revoked, the
    kiosk they use is detached or revoked, or the case is signed; never lasts past
    ``expires_at`` (the link's validity, or the receipt window after signing).
    """

    __tablename__ = "resident_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    sid_hash: Mapped[str] = mapped_column(String(64), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    join_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("join_link.id", ondelete="SET NULL"), default=None
    )
    kiosk_id: Mapped[int | None] = mapped_column(
        ForeignKey("kiosk.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    end_reason: Mapped[str | None] = mapped_column(String(32), default=None)

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
    """A registered branch-office tablet; staff attach it to a case and the resident taps in."""

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

"""Card agents paired to a counter desk, their pairing codes, nonces seen, and readings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class CardPairingCode(db.Model):  # type: ignore[name-defined,misc]
    """A short-lived code shown at a desk, exchanged once by an agent for its credential."""

    __tablename__ = "card_pairing_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    desk: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime]
    used: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]


class CardAgent(db.Model):  # type: ignore[name-defined,misc]
    """One staff PC's card agent: its MAC secret (encrypted), desk, and the case it serves."""

    __tablename__ = "card_agent"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    desk: Mapped[str] = mapped_column(String(100))
    secret_enc: Mapped[str] = mapped_column(Text)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    attached_case_id: Mapped[int | None] = mapped_column(
        ForeignKey("case.id", ondelete="SET NULL"), default=None
    )
    wanted_route: Mapped[str | None] = mapped_column(String(16), default=None)
    wanted_person: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    paired_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_by: Mapped[str | None] = mapped_column(String(80), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class CardAgentNonce(db.Model):  # type: ignore[name-defined,misc]
    """A message nonce an agent used: seen once, refused the second time (replay)."""

    __tablename__ = "card_agent_nonce"
    __table_args__ = (UniqueConstraint("agent_id", "nonce"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("card_agent.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime]


class CardReading(db.Model):  # type: ignore[name-defined,misc]
    """A card read for a case, waiting for staff: the facts sealed, never stored as facts yet."""

    __tablename__ = "card_reading"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("card_agent.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")
    sealed: Mapped[str | None] = mapped_column(Text, default=None)
    failure: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime]

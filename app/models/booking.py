"""Bookings (予約): a visit booked for a life event, with the few facts the booker gave."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

BOOKING_SOURCES = {"staff": "電話（職員が受付）", "resident": "住民（事前予約のページ）"}


class Booking(db.Model):  # type: ignore[name-defined,misc]
    """One booked slot; the facts are sealed with the data key, as a case's facts are."""

    __tablename__ = "booking"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)  # 予約番号, told to the booker
    day: Mapped[date] = mapped_column(index=True)
    slot: Mapped[str] = mapped_column(String(5))  # "10:00"
    event: Mapped[str] = mapped_column(String(40))
    facts_enc: Mapped[str] = mapped_column(Text)  # {fact id: JSON value}, sealed
    source: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("case.id", ondelete="SET NULL"), nullable=True
    )
    opened_at: Mapped[datetime | None] = mapped_column(nullable=True)

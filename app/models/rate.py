"""Sliding windows of recent attempts (logins, joins, pre-entries), shared by every process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class RateWindow(db.Model):  # type: ignore[name-defined,misc]
    """The times (epoch seconds, JSON list) of the latest attempts under one key.

    At most a window's limit of times is kept, so a row stays small; a row untouched for
    longer than any window is empty in effect and is deleted.
    """

    __tablename__ = "rate_window"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    hits: Mapped[str] = mapped_column(Text, default="[]")
    updated_at: Mapped[datetime] = mapped_column(index=True)

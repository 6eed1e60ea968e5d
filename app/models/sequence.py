"""Numbers handed out in order (case numbers), one row per series, taken atomically."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class NumberSeries(db.Model):  # type: ignore[name-defined,misc]
    """The last number taken in a series (``case:2026`` …); the next is one more."""

    __tablename__ = "number_series"

    series: Mapped[str] = mapped_column(String(40), primary_key=True)
    last: Mapped[int] = mapped_column(default=0)

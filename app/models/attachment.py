"""Case attachments (添付): document stills taken from the resident's video, kept encrypted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class CaseAttachment(db.Model):  # type: ignore[name-defined,misc]
    """One image attached to a case: JPEG bytes sealed with the data key, numbered per case.

    Only in the database, never under static/: it is served to counter staff alone, through
    an audited view.
    """

    __tablename__ = "case_attachment"
    __table_args__ = (UniqueConstraint("case_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]  # 1, 2, … within the case (the URL names it)
    kind: Mapped[str] = mapped_column(String(16), default="still")
    content_type: Mapped[str] = mapped_column(String(40), default="image/jpeg")
    image_enc: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int]
    height: Mapped[int]
    straightened: Mapped[bool] = mapped_column(default=False)
    taken_by: Mapped[str] = mapped_column(String(80))
    taken_at: Mapped[datetime]

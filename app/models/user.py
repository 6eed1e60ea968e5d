"""Staff accounts (窓口職員, 制度所管課, 管理者)."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

# The staff roles and their Japanese names: the one home (access rules, accounts and pages
# all read them from here).
STAFF_ROLES = ("counter", "policy", "admin")
ROLE_LABELS = {"counter": "窓口職員", "policy": "制度所管課", "admin": "管理者"}


class StaffUser(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    """A member of staff who logs in with a password; ``role`` decides what they reach."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
    # Raised at logout (and deactivation): every session cookie carrying an older one ends.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")

    def get_id(self) -> str:
        """Return the login id kept in the session cookie: the user and session generation."""
        return f"{self.id}:{self.session_generation}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

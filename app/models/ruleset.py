"""Rule-set versions (ルールセットの版): the whole content of the rules, forms and templates.

A version is the files of ``procedure_rules/``, ``form_definitions/`` and ``pdf_templates/``
(name → bytes), named by its content hash, with its place in the approval flow. A
published version never changes; a draft's files carry a revision so that two people
editing the same file get a conflict instead of overwriting each other.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

# The one home of version status: every status, its label, and which may follow which.
VERSION_STATUSES = ("draft", "submitted", "approved", "published", "withdrawn")
VERSION_STATUS_LABELS = {
    "draft": "下書き",
    "submitted": "承認待ち",
    "approved": "承認済み",
    "published": "公開済み",
    "withdrawn": "取下げ",
}
# Only a draft's files may change; a submitted version goes back to draft to be edited.
EDITABLE_STATUSES = frozenset({"draft"})
# The folders a version holds, as the first part of every file name.
CONTENT_ROOTS = ("procedure_rules", "form_definitions", "pdf_templates")


class RuleSetVersion(db.Model):  # type: ignore[name-defined,misc]
    """One version of the rule set and who did what with it, when."""

    __tablename__ = "ruleset_version"
    __table_args__ = (Index("ix_ruleset_version_status_from", "status", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # sha256 of the files (names and bytes); the first 12 characters are the version's name.
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("ruleset_version.id"), default=None)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    note: Mapped[str] = mapped_column(Text, default="")
    effective_from: Mapped[date | None] = mapped_column(Date, default=None)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_by: Mapped[str | None] = mapped_column(String(80), default=None)
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    approved_by: Mapped[str | None] = mapped_column(String(80), default=None)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    published_by: Mapped[str | None] = mapped_column(String(80), default=None)
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    withdrawn_by: Mapped[str | None] = mapped_column(String(80), default=None)
    withdrawn_at: Mapped[datetime | None] = mapped_column(default=None)

    files: Mapped[list[RuleSetFile]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="RuleSetFile.name"
    )

    @property
    def name(self) -> str:
        """Return the short content hash people see (as the footer of every form prints)."""
        return self.content_hash[:12]

    @property
    def status_label(self) -> str:
        """Return the status in Japanese."""
        return VERSION_STATUS_LABELS.get(self.status, self.status)


class RuleSetFile(db.Model):  # type: ignore[name-defined,misc]
    """One file of a version: its name under the rule set, its bytes and its revision."""

    __tablename__ = "ruleset_file"
    __table_args__ = (UniqueConstraint("version_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("ruleset_version.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(300))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # Grows by one on every save of a draft; a save names the revision it started from.
    revision: Mapped[int] = mapped_column(default=1)

    version: Mapped[RuleSetVersion] = relationship(back_populates="files")


class ImmutableVersion(RuntimeError):
    """Code tried to change a published version: a bug, never a user's mistake."""


@event.listens_for(RuleSetFile, "before_update")
@event.listens_for(RuleSetFile, "before_delete")
def _file_of_draft_only(_mapper: object, _connection: object, target: RuleSetFile) -> None:
    """Refuse to change or remove a file of a version that is no longer a draft."""
    version = target.version
    if version is not None and version.status not in EDITABLE_STATUSES:
        raise ImmutableVersion(f"version {version.id} is {version.status}: its files never change")


@event.listens_for(RuleSetVersion, "before_update")
def _published_content_fixed(_mapper: object, _connection: object, target: RuleSetVersion) -> None:
    """Refuse any change to a version that was published before this flush."""
    history = inspect(target).attrs.status.history
    before = [*history.deleted, *history.unchanged]
    if before and before[0] == "published":
        raise ImmutableVersion(f"version {target.id} is published: it never changes")

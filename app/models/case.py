"""Cases (受付案件), the facts gathered for them, and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db

# The one home of case status: every status, its label for people, and the allowed moves.
CASE_STATUSES = (
    "new",
    "interviewing",
    "review",
    "signed",
    "issued",
    "closed",
    "cancelled",
)
STATUS_LABELS = {
    "new": "受付",
    "interviewing": "聞き取り中",
    "review": "住民確認中",
    "signed": "署名済み",
    "issued": "交付済み",
    "closed": "完了",
    "cancelled": "取消",
}
# Which status may follow which; reopening (from closed or cancelled) needs a reason.
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"interviewing", "cancelled"}),
    "interviewing": frozenset({"review", "cancelled"}),
    "review": frozenset({"interviewing", "signed", "cancelled"}),
    "signed": frozenset({"issued"}),
    "issued": frozenset({"closed"}),
    "closed": frozenset({"interviewing"}),
    "cancelled": frozenset({"interviewing"}),
}
# Statuses reached only through their own step (a signature, issuing), not a plain button.
FLOW_ONLY = frozenset({"signed", "issued"})
# A finished case: the call is hung up and the case leaves the counter's list.
FINISHED = frozenset({"closed", "cancelled"})
REOPEN_FROM = FINISHED
# Facts may change, and the resident may join, only while a case is still open.
EDITABLE = frozenset({"new", "interviewing", "review"})
OPEN_FOR_RESIDENT = EDITABLE
# Once signed, nothing about the documents changes any more.
FINAL = frozenset({"signed", "issued", "closed", "cancelled"})
CHANNELS = ("counter", "kiosk", "remote")
PROVENANCES = (
    "interview",
    "registry",
    "id_qr",
    "mynumber_card",  # read from the card's IC (券面事項入力補助AP), signature verified
    "residence_card",  # 在留カード等: IC (number, kind, 住居地) and values typed from its image
    "pre_entry",
    "derived",
    "resident",
)
# Where a fact came from, as staff read it next to the value.
PROVENANCE_LABELS = {
    "interview": "聞き取り",
    "registry": "住民記録より",
    "id_qr": "カード読取",
    "mynumber_card": "マイナンバーカード（IC）",
    "residence_card": "在留カード等（IC）",
    "pre_entry": "事前入力",
    "derived": "自動計算",
    "resident": "住民の申出",
    "booking": "予約時の申告",
}


class Case(db.Model):  # type: ignore[name-defined,misc]
    """One resident's visit: life events, channel, status and the staff member serving."""

    __tablename__ = "case"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="new")
    channel: Mapped[str] = mapped_column(String(16), default="counter")
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    as_of: Mapped[datetime]
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    signature_mode: Mapped[str | None] = mapped_column(String(16), default=None)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    # When the retention period ran out and the residents' data was deleted (purge_cases).
    purged_at: Mapped[datetime | None] = mapped_column(default=None)

    facts: Mapped[list[FactValue]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="FactValue.fact_id"
    )


class FactValue(db.Model):  # type: ignore[name-defined,misc]
    """The current value of one fact of a case, encrypted at rest, with its provenance."""

    __tablename__ = "fact_value"
    __table_args__ = (UniqueConstraint("case_id", "fact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    fact_id: Mapped[str] = mapped_column(String(120))
    value_enc: Mapped[str] = mapped_column(Text)
    provenance: Mapped[str] = mapped_column(String(16))
    locked: Mapped[bool] = mapped_column(default=False)
    revision: Mapped[int] = mapped_column(default=1)
    set_by: Mapped[str] = mapped_column(String(80))
    set_at: Mapped[datetime]

    case: Mapped[Case] = relationship(back_populates="facts")

    # Every UPDATE/DELETE of a value says "WHERE revision = <the one read>": if another
    # member of staff saved the same fact in between, nothing matches and the change is
    # refused instead of silently overwriting theirs. Revisions are set by record_fact.
    __mapper_args__ = {"version_id_col": revision, "version_id_generator": False}


class FactChange(db.Model):  # type: ignore[name-defined,misc]
    """History of a fact: old and new value (encrypted), who, when, from what source, why."""

    __tablename__ = "fact_change"
    __table_args__ = (Index("ix_fact_change_case_fact", "case_id", "fact_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    fact_id: Mapped[str] = mapped_column(String(120))
    old_enc: Mapped[str | None] = mapped_column(Text, default=None)
    new_enc: Mapped[str | None] = mapped_column(Text, default=None)
    provenance: Mapped[str] = mapped_column(String(16))
    # Sealed (Fernet, like the values): staff write names and circumstances here.
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    actor: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime]


class AuditEvent(db.Model):  # type: ignore[name-defined,misc]
    """Who read or changed what, and when: case views, document views and prints, statuses."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_case_at", "case_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("case.id", ondelete="CASCADE"), default=None
    )
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime]


class RoutedProcedure(db.Model):  # type: ignore[name-defined,misc]
    """A procedure of an issued case, routed to its department's worklist (snapshot at issue)."""

    __tablename__ = "routed_procedure"
    __table_args__ = (
        UniqueConstraint("case_id", "procedure_key"),
        Index("ix_routed_procedure_department_status", "department_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    procedure_key: Mapped[str] = mapped_column(String(120))
    procedure_id: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[str] = mapped_column(String(40))
    deadline: Mapped[datetime | None] = mapped_column(default=None)
    automatic: Mapped[bool] = mapped_column(default=False)
    forms: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The case has a member under a DV 支援措置: the department must not send the address on.
    shien_sochi: Mapped[bool] = mapped_column(default=False, server_default=false())
    # 案内のみ: the office where the resident goes instead (年金事務所, 警察署…); nothing is
    # filed here, so the row is routed as "guidance", never pending (see routing.issue_case).
    guidance: Mapped[str | None] = mapped_column(String(200), default=None)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | guidance
    done_by: Mapped[str | None] = mapped_column(String(80), default=None)
    done_at: Mapped[datetime | None] = mapped_column(default=None)
    routed_at: Mapped[datetime]

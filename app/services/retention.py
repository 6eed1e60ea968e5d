"""Retention (保存期間): delete residents' data of cases finished longer ago than allowed."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import (
    AuditEvent,
    Case,
    CaseAttachment,
    FactChange,
    FactValue,
    FormConfirmation,
    JoinLink,
    ResidentRequest,
    SignedPacket,
)
from app.models.case import FINAL

# Every table holding what residents told us or showed us (values, history, stills,
# signatures, signed packets, their corrections) and the links that let them in.
PERSONAL = (
    FactValue,
    FactChange,
    CaseAttachment,
    FormConfirmation,
    ResidentRequest,
    SignedPacket,
    JoinLink,
)
SCRUBBED = "（保存期間の経過により削除）"


def expired_cases(now: datetime, days: int) -> list[Case]:
    """Return the unpurged cases in a final state for more than ``days`` days before ``now``.

    Every final state counts, not only 完了 and 取消: a case left 署名済み or 交付済み (never
    moved on to 完了) holds the same personal data and used to be kept for ever. Its
    time is when it was closed, or else its last change (the signature or the issue).
    """
    cutoff = now - timedelta(days=days)
    final_since = func.coalesce(Case.closed_at, Case.updated_at)
    return list(
        db.session.scalars(
            select(Case)
            .where(Case.status.in_(FINAL), final_since < cutoff, Case.purged_at.is_(None))
            .order_by(Case.id)
        )
    )


def purge_cases(cases: list[Case], *, actor: str, now: datetime) -> None:
    """Delete the residents' data of these cases, keep their shell and audit trail; commit.

    What stays: the case number, events, channel, statuses and dates, the department
    routing, and who did what when (audit events, with free-text reasons scrubbed: staff
    may have written a name there).
    """
    ids = [case.id for case in cases]
    if not ids:
        return
    for table in PERSONAL:
        db.session.execute(delete(table).where(table.case_id.in_(ids)))
    for event in db.session.scalars(select(AuditEvent).where(AuditEvent.case_id.in_(ids))):
        if event.detail.get("reason") or event.detail.get("reason_sealed"):
            kept = {k: v for k, v in event.detail.items() if k != "reason_sealed"}
            event.detail = {**kept, "reason": SCRUBBED}
    for case in cases:
        case.purged_at = now
        db.session.add(
            AuditEvent(
                case_id=case.id,
                actor=actor,
                action="purged",
                detail={
                    "status": case.status,
                    "closed_at": (case.closed_at or case.updated_at).isoformat(),
                },
                at=now,
            )
        )
    db.session.commit()

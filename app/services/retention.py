"""Retention (保存期間): delete residents' data of cases finished longer ago than allowed."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select

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
from app.models.case import FINISHED

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


# Signed and issued are final for the resident's data too: a case left there (the packet
# handed over, never marked 完了) was never purged. Its last change (the signature, the
# issue) starts its retention period, as closing does for a closed case.
SETTLED = frozenset({"signed", "issued"})


def expired_cases(now: datetime, days: int) -> list[Case]:
    """Return the cases in a final state for more than ``days`` days before ``now``, unpurged:
    closed or cancelled (since ``closed_at``), signed or issued (since their last change)."""
    cutoff = now - timedelta(days=days)
    return list(
        db.session.scalars(
            select(Case)
            .where(
                or_(
                    and_(Case.status.in_(FINISHED), Case.closed_at < cutoff),
                    and_(Case.status.in_(SETTLED), Case.updated_at < cutoff),
                ),
                Case.purged_at.is_(None),
            )
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
        if event.detail.get("reason"):
            event.detail = {**event.detail, "reason": SCRUBBED}
    for case in cases:
        case.purged_at = now
        db.session.add(
            AuditEvent(
                case_id=case.id,
                actor=actor,
                action="purged",
                detail={"closed_at": case.closed_at.isoformat() if case.closed_at else None},
                at=now,
            )
        )
    db.session.commit()

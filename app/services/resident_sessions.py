"""Resident sessions kept on the server, so that each one can end (leave, re-issue, detach).

The cookie carries a random session id; the database keeps its hash, the case, the link or
kiosk it came through and when it ends. Every request of a resident session checks it
(``app.web``), so ending the row ends the session on that device at its next request.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import or_, select, update

from app.extensions import db
from app.models import ResidentSession


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8", "replace")).hexdigest()


def start_resident_session(
    case_id: int,
    *,
    now: datetime,
    expires_at: datetime,
    join_link_id: int | None = None,
    kiosk_id: int | None = None,
) -> str:
    """Record a new resident session and commit; return its id for the cookie."""
    sid = secrets.token_urlsafe(24)
    db.session.add(
        ResidentSession(
            sid_hash=_digest(sid),
            case_id=case_id,
            join_link_id=join_link_id,
            kiosk_id=kiosk_id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    db.session.commit()
    return sid


def resident_session_live(sid: str | None, case_id: int, now: datetime) -> bool:
    """Tell whether a session id still admits its resident to ``case_id``."""
    if not sid:
        return False
    row = db.session.scalar(select(ResidentSession).where(ResidentSession.sid_hash == _digest(sid)))
    return (
        row is not None and row.case_id == case_id and row.ended_at is None and row.expires_at > now
    )


def end_resident_sessions(
    *,
    reason: str,
    now: datetime,
    sid: str | None = None,
    case_id: int | None = None,
    join_link_ids: list[int] | None = None,
    kiosk_id: int | None = None,
    keep_sid: str | None = None,
    commit: bool = True,
) -> int:
    """End the open sessions matching every criterion given; return how many ended."""
    query = update(ResidentSession).where(ResidentSession.ended_at.is_(None))
    if sid is not None:
        query = query.where(ResidentSession.sid_hash == _digest(sid))
    if case_id is not None:
        query = query.where(ResidentSession.case_id == case_id)
    if join_link_ids is not None:
        query = query.where(ResidentSession.join_link_id.in_(join_link_ids))
    if kiosk_id is not None:
        query = query.where(ResidentSession.kiosk_id == kiosk_id)
    if keep_sid is not None:
        query = query.where(
            or_(ResidentSession.sid_hash != _digest(keep_sid), ResidentSession.sid_hash.is_(None))
        )
    if sid is None and case_id is None and join_link_ids is None and kiosk_id is None:
        raise ValueError("end_resident_sessions: no criterion")
    result = db.session.execute(query.values(ended_at=now, end_reason=reason))
    ended = getattr(result, "rowcount", 0)
    if commit:
        db.session.commit()
    return int(ended or 0)


def limit_resident_session(sid: str | None, until: datetime) -> None:
    """Let a session last no later than ``until`` (the receipt window after signing); commit."""
    if sid:
        db.session.execute(
            update(ResidentSession)
            .where(ResidentSession.sid_hash == _digest(sid))
            .where(ResidentSession.expires_at > until)
            .values(expires_at=until)
        )
        db.session.commit()

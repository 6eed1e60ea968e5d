"""Cases: open, record facts (committed before the UI hears back), move through statuses, audit."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from blinker import Namespace
from flask import current_app
from sqlalchemy import Table, bindparam, delete, event, func, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.crypto import FactCipher, InvalidToken
from app.errors import DomainError
from app.extensions import db
from app.models import AuditEvent, Case, FactChange, FactValue
from app.models.case import (
    CHANNELS,
    EDITABLE,
    FINISHED,
    FLOW_ONLY,
    REOPEN_FROM,
    STATUS_LABELS,
    TRANSITIONS,
)
from app.services.numbering import next_number

# Sent once a change of a case is committed (never before: a listener may read it at once):
# sender = case id, ``kind`` = "facts" (with ``facts``, the changed fact ids) or "status".
case_changed = Namespace().signal("case-changed")
_PENDING = "kakanai_case_changes"


def _note_change(case_id: int, kind: str, detail: str) -> None:
    changes: dict[tuple[int, str], set[str]] = db.session.info.setdefault(_PENDING, {})
    changes.setdefault((case_id, kind), set()).add(detail)


@event.listens_for(Session, "after_commit")
def _announce_changes(session: Session) -> None:
    for (case_id, kind), details in session.info.pop(_PENDING, {}).items():
        case_changed.send(case_id, kind=kind, details=sorted(details))


@event.listens_for(Session, "after_soft_rollback")
def _forget_changes(session: Session, _previous: object) -> None:
    session.info.pop(_PENDING, None)


class CaseError(DomainError):
    """A case operation was refused; ``code`` is stable, ``message`` is for staff (Japanese)."""

    status = 422
    default_code = "case_refused"

    def __init__(
        self, code: str, message: str, *, status: int | None = None, hint: str = ""
    ) -> None:
        super().__init__(message, code=code, status=status, hint=hint)


@dataclass(frozen=True)
class StoredFact:
    """A fact as the counter sees it: value, provenance, lock and revision."""

    fact_id: str
    value: Any
    provenance: str
    locked: bool
    revision: int
    set_by: str
    set_at: datetime
    # The token as stored: the history row of the next change keeps it as the old value.
    sealed: str | None = field(default=None, repr=False, compare=False)


def cipher() -> FactCipher:
    """Return the app's fact cipher, built once from the DATA_KEY setting."""
    existing = current_app.extensions.get("fact_cipher")
    if existing is None:
        existing = FactCipher(current_app.config["DATA_KEY"])
        current_app.extensions["fact_cipher"] = existing
    assert isinstance(existing, FactCipher)
    return existing


def _case_number(now: datetime) -> str:
    """Take the year's next case number, ``2026-000042`` (unique under parallel opening)."""
    prefix = f"{now.year}-"
    highest = db.session.scalar(select(func.max(Case.number)).where(Case.number.like(f"{prefix}%")))
    in_use = int(highest[len(prefix) :]) if highest and highest[len(prefix) :].isdigit() else 0
    return f"{prefix}{next_number(f'case:{now.year}', in_use):06d}"


def audit(
    case_id: int | None, actor: str, action: str, detail: dict[str, Any], now: datetime
) -> None:
    """Add an audit event to the current transaction (the caller commits).

    A free-text ``reason`` is sealed like a fact value (staff write names and
    circumstances there): it is stored as ``reason_sealed`` and opened by
    ``audit_detail``.
    """
    reason = detail.get("reason")
    if isinstance(reason, str) and reason:
        detail = {k: v for k, v in detail.items() if k != "reason"}
        detail["reason_sealed"] = cipher().seal(reason)
    db.session.add(AuditEvent(case_id=case_id, actor=actor, action=action, detail=detail, at=now))


def audit_detail(event: AuditEvent) -> dict[str, Any]:
    """Return an audit event's details for people to read, its sealed reason opened."""
    detail = dict(event.detail or {})
    if "reason_sealed" in detail:
        detail["reason"] = open_reason(detail.pop("reason_sealed"))
    return detail


def open_reason(stored: str | None) -> str | None:
    """Open a sealed change reason; a reason stored before reasons were sealed reads as is."""
    if not stored:
        return stored
    try:
        return str(cipher().open(stored))
    except InvalidToken:
        return stored


def open_case(
    staff_id: int,
    events: list[str],
    channel: str,
    as_of: date,
    now: datetime,
    actor: str,
    *,
    commit: bool = True,
) -> Case:
    """Open a case for one or more life events on a channel (committed unless told not to).

    :raises CaseError: no event, or an unknown channel.
    """
    if not events:
        raise CaseError("no_event", "ライフイベントを1つ以上選んでください。")
    if channel not in CHANNELS:
        raise CaseError(
            "bad_channel", "受付の方法（窓口・支所キオスク・リモート）を選んでください。"
        )
    case = Case(
        number=_case_number(now),
        status="new",
        channel=channel,
        events=list(events),
        as_of=datetime.combine(as_of, datetime.min.time()),
        staff_id=staff_id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(case)
    db.session.flush()
    audit(case.id, actor, "case_opened", {"events": events, "channel": channel}, now)
    if commit:
        db.session.commit()
    return case


_FACT_COLUMNS = (
    FactValue.fact_id,
    FactValue.value_enc,
    FactValue.provenance,
    FactValue.locked,
    FactValue.revision,
    FactValue.set_by,
    FactValue.set_at,
)
# The statements of every answer, built once: building them (coercing each column and
# clause) cost more than running them. The writes are table statements, not ORM ones: no
# FactValue objects are loaded anywhere, so there is nothing in the session to update.
_VALUES = cast(Table, FactValue.__table__)
_CHANGES = cast(Table, FactChange.__table__)
_ALL_FACTS = (
    select(*_FACT_COLUMNS)
    .where(FactValue.case_id == bindparam("case_id"))
    .order_by(FactValue.fact_id)
)
_ONE_FACT = select(*_FACT_COLUMNS).where(
    FactValue.case_id == bindparam("case_id"), FactValue.fact_id == bindparam("fact_id")
)
_THIS_REVISION = (  # SET takes the columns' own names, so the WHERE's are prefixed
    _VALUES.c.case_id == bindparam("b_case_id"),
    _VALUES.c.fact_id == bindparam("b_fact_id"),
    _VALUES.c.revision == bindparam("b_revision"),
)
_INSERT_FACT = insert(_VALUES)
_UPDATE_FACT = update(_VALUES).where(*_THIS_REVISION)
_DELETE_FACT = delete(_VALUES).where(*_THIS_REVISION)
_INSERT_CHANGE = insert(_CHANGES)


def stored_facts(case: Case) -> dict[str, StoredFact]:
    """Return every stored fact of a case, decrypted, keyed by fact id."""
    box = cipher()
    # Plain columns, not FactValue objects: this runs on every answer, and building and
    # tracking ~60 ORM objects cost more than the query itself.
    rows = db.session.execute(_ALL_FACTS, {"case_id": case.id})
    return {
        fact_id: StoredFact(fact_id, box.open(enc), provenance, locked, revision, by, at, enc)
        for fact_id, enc, provenance, locked, revision, by, at in rows
    }


def _stored_fact(case: Case, fact_id: str) -> StoredFact | None:
    """Return one stored fact of a case, decrypted, or None when it is not set."""
    row = db.session.execute(_ONE_FACT, {"case_id": case.id, "fact_id": fact_id}).first()
    if row is None:
        return None
    _fid, enc, provenance, locked, revision, by, at = row
    return StoredFact(fact_id, cipher().open(enc), provenance, locked, revision, by, at, enc)


def fact_values(case: Case, facts: dict[str, StoredFact] | None = None) -> dict[str, Any]:
    """Return the case's facts in the engine's JSON form, with the case's events included.

    Pass ``facts`` when the caller already opened them (decrypting is the costly part).
    """
    opened = stored_facts(case) if facts is None else facts
    values = {fact_id: fact.value for fact_id, fact in opened.items()}
    values["case.events"] = list(case.events)
    return values


def record_read_facts(
    case: Case,
    values: dict[str, Any],
    *,
    actor: str,
    now: datetime,
    provenance: str,
    action: str,
    lock: bool = False,
    reasons: dict[str, str] | None = None,
) -> list[StoredFact]:
    """Store facts read from a card or a scan as one unit with one audit row; all or none.

    ``values`` are already validated (JSON form); ``reasons`` gives the change reason for
    facts that were locked before (a card re-read). Every refusal of ``record_fact`` rolls
    the whole unit back.
    """
    stored = []
    try:
        for fact_id, value in values.items():
            stored.append(
                record_fact(
                    case,
                    fact_id,
                    value,
                    actor=actor,
                    now=now,
                    provenance=provenance,
                    lock=lock,
                    reason=(reasons or {}).get(fact_id),
                    commit=False,
                )
            )
        audit(case.id, actor, action, {"provenance": provenance, "facts": list(values)}, now)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return stored


class _ChangedMeanwhile(Exception):
    """The revision a write was checked against is no longer the stored one."""


def _rowcount(result: Any) -> int:
    """Return how many rows an UPDATE or DELETE matched (a CursorResult's rowcount)."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


_UNREAD: Any = object()  # record_fact's ``current`` when the caller did not read the fact


def record_fact(
    case: Case,
    fact_id: str,
    value: Any,
    *,
    actor: str,
    now: datetime,
    provenance: str = "interview",
    expected_revision: int | None = None,
    reason: str | None = None,
    lock: bool = False,
    commit: bool = True,
    current: StoredFact | None = _UNREAD,
) -> StoredFact:
    """Store one already-validated fact value (JSON form) and commit before returning.

    ``value=None`` removes the fact. ``commit=False`` leaves the commit to a caller that
    stores many facts as one unit. ``expected_revision`` is the revision the editor saw
    (0 for "was not set"): a different stored revision means someone else changed it.
    ``current`` is the fact as the caller just read it (``stored_facts``; None: not set),
    which spares reading it again; the write still checks it is what the database holds.

    :raises CaseError: the case is not editable, the fact changed meanwhile, or a locked
        fact is changed without a reason.
    """
    if case.status not in EDITABLE:
        raise CaseError(
            "not_editable",
            f"この案件は「{STATUS_LABELS[case.status]}」のため変更できません。",
        )
    row = _stored_fact(case, fact_id) if current is _UNREAD else current
    box = cipher()
    current_revision = row.revision if row is not None else 0
    if expected_revision is not None and expected_revision != current_revision:
        shown = row.value if row is not None else "（未入力）"
        who = row.set_by if row is not None else "他の職員"
        raise CaseError(
            "conflict",
            f"この項目は{who}が先に変更しました（現在の値: {shown}）。"
            "内容を確認してから、もう一度入力してください。",
            status=409,
        )
    if row is not None and row.locked and not (reason and reason.strip()):
        raise CaseError(
            "locked",
            "この項目は住民記録から取り込んだため固定されています。変更するには理由を入力してください。",
        )
    old_enc = row.sealed if row is not None else None
    # Plain statements, not a loaded FactValue and a flush: the unit of work cost more than
    # the writes. Each UPDATE/DELETE says "WHERE revision = <the one read>": if another
    # member of staff saved the same fact in between, nothing matches and the change is
    # refused instead of silently overwriting theirs (both inserting hits the unique key).
    this_fact = {"case_id": case.id, "fact_id": fact_id}
    this_revision = {"b_case_id": case.id, "b_fact_id": fact_id, "b_revision": current_revision}
    try:
        if value is None:
            if row is None:
                raise CaseError("nothing_to_clear", "この項目はまだ入力されていません。")
            new_enc = None
            matched = _rowcount(db.session.execute(_DELETE_FACT, this_revision))
            stored = StoredFact(fact_id, None, provenance, False, current_revision + 1, actor, now)
        else:
            new_enc = box.seal(value)
            locked = lock or (row is not None and row.locked and provenance != "interview")
            written = {
                "value_enc": new_enc,
                "provenance": provenance,
                "locked": locked,
                "revision": current_revision + 1,
                "set_by": actor,
                "set_at": now,
            }
            if row is None:
                db.session.execute(_INSERT_FACT, {**this_fact, **written})
                matched = 1
            else:
                matched = _rowcount(db.session.execute(_UPDATE_FACT, {**this_revision, **written}))
            # The value as it will be read back (JSON form), from the token just sealed.
            stored = StoredFact(
                fact_id,
                box.open(new_enc),
                provenance,
                locked,
                current_revision + 1,
                actor,
                now,
                new_enc,
            )
        if matched != 1:
            raise _ChangedMeanwhile(fact_id)
        db.session.execute(
            _INSERT_CHANGE,
            {
                **this_fact,
                "old_enc": old_enc,
                "new_enc": new_enc,
                "provenance": provenance,
                "reason": box.seal(reason) if reason else None,  # free text: sealed like values
                "actor": actor,
                "at": now,
            },
        )
        if case.status == "new":
            case.status = "interviewing"
        case.updated_at = now
        _note_change(case.id, "facts", fact_id)
        if commit:  # a bulk import passes False and commits once at its end
            db.session.commit()
        else:
            db.session.flush()
    except (_ChangedMeanwhile, IntegrityError):
        # Someone saved this fact between our read and our write (the revision check in
        # the UPDATE matched nothing, or both of us inserted it): theirs stands.
        db.session.rollback()
        raise CaseError(
            "conflict",
            "この項目は他の職員が同時に変更しました。内容を確認してから、もう一度入力してください。",
            status=409,
        ) from None
    return stored


def record_case_event(
    case: Case, *, actor: str, action: str, detail: dict[str, Any], now: datetime
) -> None:
    """Record that someone read or printed something of a case, committed."""
    audit(case.id, actor, action, detail, now)
    db.session.commit()


def counter_cases(limit: int = 50) -> list[Case]:
    """Return the cases still in progress at the counter, most recently changed first."""
    return list(
        db.session.scalars(
            select(Case)
            .where(Case.status.not_in(FINISHED))
            .order_by(Case.updated_at.desc())
            .limit(limit)
        )
    )


def audit_events(case: Case) -> list[AuditEvent]:
    """Return the case's audit trail, newest first."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.case_id == case.id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        )
    )


def change_status(
    case: Case, to: str, *, actor: str, now: datetime, reason: str | None = None
) -> None:
    """Move a case to another status, audited; reopening needs a reason.

    :raises CaseError: the move is not allowed from the current status, or no reason.
    """
    if to not in TRANSITIONS.get(case.status, frozenset()):
        raise CaseError(
            "bad_transition",
            f"「{STATUS_LABELS[case.status]}」から「{STATUS_LABELS.get(to, to)}」には変更できません。",
        )
    if case.purged_at is not None:
        raise CaseError(
            "purged",
            "この案件は保存期間が過ぎ、住民の情報を削除済みのため再開できません。"
            "新しい受付を開始してください。",
        )
    if case.status in REOPEN_FROM and not (reason and reason.strip()):
        raise CaseError("reason_required", "再開する理由を入力してください。")
    audit(case.id, actor, "status", {"from": case.status, "to": to, "reason": reason}, now)
    _note_change(case.id, "status", to)
    case.status = to
    case.updated_at = now
    if to in FINISHED:
        case.closed_at = now
    db.session.commit()


def fact_history(case: Case, fact_id: str | None = None) -> list[dict[str, Any]]:
    """Return the case's fact changes (decrypted), newest first, optionally for one fact."""
    query = select(FactChange).where(FactChange.case_id == case.id)
    if fact_id is not None:
        query = query.where(FactChange.fact_id == fact_id)
    box = cipher()
    return [
        {
            "fact_id": ch.fact_id,
            "old": box.open(ch.old_enc) if ch.old_enc else None,
            "new": box.open(ch.new_enc) if ch.new_enc else None,
            "provenance": ch.provenance,
            "reason": open_reason(ch.reason),
            "actor": ch.actor,
            "at": ch.at,
        }
        for ch in db.session.scalars(query.order_by(FactChange.at.desc(), FactChange.id.desc()))
    ]


def record_paper_signature(case: Case, *, actor: str, now: datetime) -> None:
    """Record that the resident signed the printed packet by hand (紙での署名), committed.

    :raises CaseError: the case is not in resident review.
    """
    if case.status != "review":
        raise CaseError("not_in_review", "住民確認中の案件だけ、紙での署名を記録できます。")
    case.signature_mode = "paper"
    change_status(case, "signed", actor=actor, now=now)


def staff_change_status(
    case: Case, to: str, *, actor: str, now: datetime, reason: str | None = None
) -> None:
    """Move a case by the counter's status button; a finished case's call is hung up.

    :raises CaseError: ``to`` is reached only by its own step (signing, issuing), a
        cancellation has no reason, or ``change_status`` refused the move.
    """
    if to in FLOW_ONLY:
        raise CaseError(
            "flow_only", "署名と交付は、それぞれの手順の画面から行ってください。", status=400
        )
    if to == "cancelled" and not (reason and reason.strip()):
        raise CaseError(
            "reason_required", "取り消す理由を入力してから「取り消す」を押してください。"
        )
    change_status(case, to, actor=actor, now=now, reason=reason)
    if to in FINISHED:
        # Imported here: the media server pulls in WebRTC, which only the counter needs.
        from app.media.server import media_server

        media_server().close_case(case.id)

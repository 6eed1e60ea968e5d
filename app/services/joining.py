"""Resident access to one case: join links with a PIN, and kiosks attached by staff."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select, update

from app.errors import DomainError
from app.extensions import db
from app.models import Case, JoinLink, Kiosk
from app.models.case import OPEN_FOR_RESIDENT
from app.services.cases import CaseError, audit
from app.services.resident_sessions import end_resident_sessions

_pins = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)

# The join code is the link's token: 8 characters a resident can read off a screen and type,
# without the look-alikes 0/O, 1/I/L and U/V (29 symbols: 29**8 ≈ 5·10**11, ~39 bits). The
# PIN stays the second secret: 5 attempts per link, 30 minutes (docs/resident.md).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
CODE_LENGTH = 8

JOIN_MESSAGES = {
    "unknown": "このリンクは無効です。担当の職員に新しいリンクを発行してもらってください。",
    "expired": "このリンクは有効期限が切れています。担当の職員に新しいリンクを発行してもらってください。",
    "locked": "暗証番号を続けて間違えたため、このリンクは使えなくなりました。"
    "担当の職員に新しいリンクを発行してもらってください。",
    "closed": "この手続は署名が済んだため、このリンクでは開けません。"
    "控えが必要な場合は担当の職員にお申し出ください。",
    "wrong_pin": "暗証番号が違います。職員がお伝えした6桁の数字をもう一度入力してください。",
    "bad_pin": "暗証番号は6桁の数字で入力してください。",
    "bad_code": "参加コードは、職員がお伝えした8文字の英数字です（例: ABCD-2345）。もう一度入力してください。",
    "kiosk_unknown": "この端末は登録されていません。支所の職員にお知らせください。",
    "kiosk_waiting": "まだ職員が手続を開始していません。職員の案内をお待ちください。",
}


# Unknown links and devices are "not found"; links that existed but can no longer be
# used are "gone"; a wrong PIN is the resident's input. 403 stays reserved for the access
# guard (who may reach a page at all).
JOIN_STATUS = {
    "unknown": 404,
    "kiosk_unknown": 404,
    "wrong_pin": 400,
    "bad_pin": 400,
    "bad_code": 400,
}


class JoinError(DomainError):
    """A resident could not be admitted; ``code`` is stable, ``message`` is for the resident."""

    def __init__(self, code: str, remaining: int | None = None) -> None:
        message = JOIN_MESSAGES[code]
        if code == "wrong_pin" and remaining is not None:
            message += f"（あと{remaining}回まで入力できます）"
        super().__init__(message, code=code, status=JOIN_STATUS.get(code, 410))
        self.remaining = remaining


@dataclass(frozen=True)
class IssuedLink:
    """A freshly issued join link: the token goes in the URL, the PIN is read out over the call."""

    token: str
    pin: str
    expires_at: datetime

    @property
    def code(self) -> str:
        """Return the join code as shown and read out: two groups of four (``ABCD-EFGH``)."""
        return f"{self.token[:4]}-{self.token[4:]}"


def new_code() -> str:
    """Return a fresh random join code (the link's token)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(typed: str) -> str | None:
    """Return the join code a resident typed (any case, spaces or hyphens), or None if invalid."""
    # NFKC: full-width ＡＢ１２ from a Japanese keyboard become AB12; ー and − are hyphens.
    wide = unicodedata.normalize("NFKC", typed).upper()
    code = "".join(ch for ch in wide if ch not in " -\u30fc\u2212")
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        return None
    return code


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def issue_join_link(case: Case, *, actor: str, now: datetime, minutes: int) -> IssuedLink:
    """Issue a new join link and PIN for a case, revoking any earlier link (and the sessions
    admitted through it), and commit."""
    earlier = list(db.session.scalars(select(JoinLink.id).where(JoinLink.case_id == case.id)))
    if earlier:
        end_resident_sessions(reason="link_reissued", now=now, join_link_ids=earlier, commit=False)
    db.session.execute(update(JoinLink).where(JoinLink.case_id == case.id).values(revoked=True))
    token = new_code()
    pin = f"{secrets.randbelow(10**6):06d}"
    expires_at = now + timedelta(minutes=minutes)
    db.session.add(
        JoinLink(
            case_id=case.id,
            token_hash=_digest(token),
            pin_hash=_pins.hash(pin),
            expires_at=expires_at,
            issued_by=actor,
            created_at=now,
        )
    )
    audit(case.id, actor, "join_link_issued", {"expires_at": expires_at.isoformat()}, now)
    db.session.commit()
    return IssuedLink(token, pin, expires_at)


def check_link(token: str, now: datetime) -> JoinLink:
    """Return the usable join link for a token, before the PIN is asked.

    :raises JoinError: unknown, revoked, expired, locked, or the case is closed to residents.
    """
    link = db.session.scalar(
        select(JoinLink).where(JoinLink.token_hash == _digest(normalize_code(token) or token))
    )
    if link is None:
        raise JoinError("unknown")
    case = db.session.get(Case, link.case_id)
    # Signing revokes the link too; the resident should hear why it no longer opens.
    if case is None or case.status not in OPEN_FOR_RESIDENT:
        raise JoinError("closed")
    if link.revoked:
        raise JoinError("unknown")
    if link.locked:
        raise JoinError("locked")
    if link.expires_at <= now:
        raise JoinError("expired")
    return link


def admit(token: str, pin: str, *, now: datetime, max_attempts: int) -> int:
    """Check a join link's PIN and return the one case it admits to; commit the attempt.

    :raises JoinError: as ``check_link``, or a wrong PIN (with the attempts remaining), which
        locks the link at ``max_attempts``.
    """
    link = check_link(token, now)
    if len(pin) != 6 or not pin.isascii() or not pin.isdigit():
        raise JoinError("bad_pin")
    # Take the attempt atomically before checking the PIN: parallel guesses cannot exceed
    # max_attempts (one conditional UPDATE; a right PIN gives its attempt back).
    counted = JoinLink.failed_pins
    reserved = db.session.execute(
        update(JoinLink)
        .where(JoinLink.id == link.id, counted < max_attempts, JoinLink.locked.is_(False))
        .values(failed_pins=counted + 1)
    )
    db.session.commit()
    if getattr(reserved, "rowcount", 0) != 1:
        raise JoinError("locked")
    try:
        _pins.verify(link.pin_hash, pin)
    except VerificationError:
        db.session.refresh(link)
        locked = link.failed_pins >= max_attempts
        link.locked = link.locked or locked
        audit(link.case_id, "resident", "join_pin_wrong", {"failed": link.failed_pins}, now)
        db.session.commit()
        if locked:
            raise JoinError("locked") from None
        raise JoinError("wrong_pin", remaining=max_attempts - link.failed_pins) from None
    db.session.execute(
        update(JoinLink).where(JoinLink.id == link.id).values(failed_pins=counted - 1)
    )
    audit(link.case_id, "resident", "resident_joined", {"via": "link"}, now)
    db.session.commit()
    return link.case_id


def register_kiosk(name: str, *, actor: str, now: datetime) -> tuple[Kiosk, str]:
    """Register a branch kiosk; return it with its one-time setup code (app.services.kiosks)."""
    from app.services.kiosks import new_setup_code

    # No device credential yet: a hash no cookie matches until the setup code is exchanged.
    placeholder = _digest(secrets.token_urlsafe(32))
    kiosk = Kiosk(name=name, token_hash=placeholder, registered_by=actor, created_at=now)
    db.session.add(kiosk)
    audit(None, actor, "kiosk_registered", {"name": name}, now)
    db.session.flush()
    return kiosk, new_setup_code(kiosk, actor=actor, now=now)


def kiosk_for_token(token: str | None, now: datetime | None = None) -> Kiosk:
    """Return the active kiosk a device credential belongs to (or its previous one, briefly).

    :raises JoinError: the device is not (or no longer) registered.
    """
    digest = _digest(token) if token else None
    kiosk = db.session.scalar(select(Kiosk).where(Kiosk.token_hash == digest)) if digest else None
    if kiosk is None and digest and now is not None:
        kiosk = db.session.scalar(
            select(Kiosk)
            .where(Kiosk.previous_token_hash == digest)
            .where(Kiosk.previous_valid_until > now)
        )
    if kiosk is None or not kiosk.active:
        raise JoinError("kiosk_unknown")
    return kiosk


def attach_kiosk(kiosk: Kiosk, case: Case | None, *, actor: str, now: datetime) -> None:
    """Attach a kiosk to a case (or detach it with ``None``) and commit; a resident session
    open on the kiosk ends (the next resident must not find it)."""
    end_resident_sessions(reason="kiosk_detached", now=now, kiosk_id=kiosk.id, commit=False)
    kiosk.attached_case_id = case.id if case is not None else None
    audit(
        case.id if case is not None else None,
        actor,
        "kiosk_attached" if case is not None else "kiosk_detached",
        {"kiosk": kiosk.name},
        now,
    )
    db.session.commit()


def admit_kiosk(token: str | None, *, now: datetime) -> int:
    """Admit the resident at a kiosk to the case staff attached it to.

    :raises JoinError: unknown device, nothing attached yet, or the case is closed.
    """
    kiosk = kiosk_for_token(token, now)
    if kiosk.attached_case_id is None:
        raise JoinError("kiosk_waiting")
    case = db.session.get(Case, kiosk.attached_case_id)
    if case is None or case.status not in OPEN_FOR_RESIDENT:
        raise JoinError("closed")
    audit(case.id, "resident", "resident_joined", {"via": "kiosk", "kiosk": kiosk.name}, now)
    db.session.commit()
    return case.id


def case_open_for_resident(case_id: int) -> bool:
    """Tell whether a resident session may still see its case (not yet signed or closed)."""
    case = db.session.get(Case, case_id)
    return case is not None and case.status in OPEN_FOR_RESIDENT


def staff_issue_join_link(case: Case, *, actor: str, now: datetime, minutes: int) -> IssuedLink:
    """Issue a join link from the counter, only while the case is open for its resident.

    :raises CaseError: the case is signed or finished.
    """
    if case.status not in OPEN_FOR_RESIDENT:
        raise CaseError("closed", "署名済み・完了した案件には参加リンクを発行できません。")
    return issue_join_link(case, actor=actor, now=now, minutes=minutes)


def attach_kiosk_to_case(case: Case, kiosk_id: int | None, *, actor: str, now: datetime) -> Kiosk:
    """Attach an active kiosk to a case open for its resident, committed.

    :raises CaseError: no such active kiosk, or the case is signed or finished.
    """
    kiosk = db.session.get(Kiosk, kiosk_id) if kiosk_id is not None else None
    if kiosk is None or not kiosk.active:
        raise CaseError("no_kiosk", "キオスク端末を選んでください。")
    if case.status not in OPEN_FOR_RESIDENT:
        raise CaseError("closed", "署名済み・完了した案件にはキオスクを接続できません。")
    attach_kiosk(kiosk, case, actor=actor, now=now)
    return kiosk


def detach_kiosks(case: Case, *, actor: str, now: datetime) -> None:
    """Detach every kiosk attached to a case, each audited and committed."""
    for kiosk in db.session.scalars(select(Kiosk).where(Kiosk.attached_case_id == case.id)):
        attach_kiosk(kiosk, None, actor=actor, now=now)

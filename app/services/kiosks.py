"""Kiosk credentials: a one-time setup code, a device credential rotated daily, revocation.

A kiosk is registered with a short setup code (15 minutes, usable once) that staff type on
the tablet; it is exchanged for a random device credential, kept only in an HttpOnly
cookie (never in a URL, so never in an access log) and only as a hash here. The credential
is replaced every day when the kiosk page is loaded; the previous one stays good for five
minutes (a request already on its way). Revoking a kiosk ends its credential, its setup
code, its attachment and the resident session open on it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update

from app.errors import DomainError
from app.extensions import db
from app.models import Kiosk
from app.services.cases import audit
from app.services.resident_sessions import end_resident_sessions

SETUP_MINUTES = 15
ROTATE_AFTER = timedelta(hours=24)
PREVIOUS_GRACE = timedelta(minutes=5)
COOKIE_DAYS = 30  # a kiosk unused for longer is set up again
# No 0/O, 1/I/L: read off one screen and typed on another.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class KioskError(DomainError):
    """A kiosk operation was refused; the message says what to do."""


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()


def normalise_code(raw: str) -> str:
    """Return a typed setup code in its stored form (upper case, no spaces or hyphens)."""
    return "".join(ch for ch in raw.upper() if ch.isalnum())


def new_setup_code(kiosk: Kiosk, *, actor: str, now: datetime) -> str:
    """Give a kiosk a fresh one-time setup code (replacing any earlier one) and commit."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
    kiosk.setup_code_hash = _digest(code)
    kiosk.setup_expires_at = now + timedelta(minutes=SETUP_MINUTES)
    audit(None, actor, "kiosk_setup_code", {"kiosk": kiosk.name}, now)
    db.session.commit()
    return f"{code[:5]}-{code[5:]}"


def exchange_setup_code(raw_code: str, *, now: datetime) -> tuple[Kiosk, str]:
    """Exchange a setup code, once, for a new device credential; return the kiosk and it.

    :raises KioskError: unknown, used or expired code, or a revoked kiosk.
    """
    code_hash = _digest(normalise_code(raw_code))
    credential = secrets.token_urlsafe(32)
    # One conditional UPDATE: of two tablets typing the same code, exactly one wins.
    changed = db.session.execute(
        update(Kiosk)
        .where(Kiosk.setup_code_hash == code_hash)
        .where(Kiosk.setup_expires_at > now)
        .where(Kiosk.active.is_(True))
        .values(
            setup_code_hash=None,
            setup_expires_at=None,
            token_hash=_digest(credential),
            credential_issued_at=now,
            previous_token_hash=None,
            previous_valid_until=None,
        )
        .returning(Kiosk.id)
    ).scalar()
    if changed is None:
        db.session.rollback()
        raise KioskError(
            "設定コードが違うか、有効期限（15分）が切れています。"
            "管理者に新しい設定コードを発行してもらってください。",
            code="kiosk_setup_refused",
        )
    kiosk = db.session.get(Kiosk, changed)
    assert kiosk is not None
    db.session.refresh(kiosk)
    audit(None, "kiosk", "kiosk_set_up", {"kiosk": kiosk.name}, now)
    db.session.commit()
    return kiosk, credential


def rotate_credential(kiosk: Kiosk, token: str, *, now: datetime) -> str | None:
    """Replace a kiosk's day-old credential; return the new one (None: not due, or raced)."""
    issued = kiosk.credential_issued_at
    if issued is not None and now - issued < ROTATE_AFTER:
        return None
    if kiosk.token_hash != _digest(token):
        return None  # the previous credential during its grace: the current one rotates
    credential = secrets.token_urlsafe(32)
    result = db.session.execute(
        update(Kiosk)
        .where(Kiosk.id == kiosk.id)
        .where(Kiosk.token_hash == _digest(token))
        .values(
            token_hash=_digest(credential),
            credential_issued_at=now,
            previous_token_hash=_digest(token),
            previous_valid_until=now + PREVIOUS_GRACE,
        )
    )
    db.session.commit()
    return credential if getattr(result, "rowcount", 0) == 1 else None


def revoke_kiosk(kiosk: Kiosk, *, actor: str, now: datetime) -> None:
    """Revoke a kiosk: its credential and setup code end, it is detached, its resident
    session ends; committed."""
    kiosk.active = False
    kiosk.revoked_at = now
    kiosk.token_hash = _digest(secrets.token_urlsafe(32))  # matches no cookie
    kiosk.previous_token_hash = None
    kiosk.previous_valid_until = None
    kiosk.setup_code_hash = None
    kiosk.setup_expires_at = None
    case_id = kiosk.attached_case_id
    kiosk.attached_case_id = None
    end_resident_sessions(reason="kiosk_revoked", now=now, kiosk_id=kiosk.id, commit=False)
    audit(case_id, actor, "kiosk_revoked", {"kiosk": kiosk.name}, now)
    db.session.commit()


def find_kiosk(name_or_id: str) -> Kiosk | None:
    """Return the kiosk with this id, or else with this exact name."""
    if name_or_id.isdigit() and len(name_or_id) < 12:
        found = db.session.get(Kiosk, int(name_or_id))
        if found is not None:
            return found
    return db.session.scalar(select(Kiosk).where(Kiosk.name == name_or_id))

"""Staff accounts: create, authenticate with argon2, lock after repeated failures."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, select, update

from app.errors import DomainError
from app.extensions import db
from app.models import StaffUser
from app.models.user import STAFF_ROLES

_hasher = PasswordHasher()
LOCK_WINDOW = timedelta(minutes=15)
# A hash to verify against when the user does not exist, so timing does not reveal names.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class AccountError(DomainError, ValueError):
    """A staff account could not be created or changed; the message says why."""


@dataclass(frozen=True)
class LoginOutcome:
    """The result of a login attempt: the user, or a stable code for the failure."""

    user: StaffUser | None
    code: str  # ok | bad_credentials | locked | inactive


def create_user(
    username: str, password: str, role: str, display_name: str, now: datetime
) -> StaffUser:
    """Create a staff user with an argon2 password hash.

    :raises AccountError: unknown role, short password or a taken username.
    """
    if role not in STAFF_ROLES:
        raise AccountError(f"unknown role {role!r}; choose one of {', '.join(STAFF_ROLES)}")
    if len(password) < 12:
        raise AccountError("password must be at least 12 characters")
    if db.session.scalar(select(StaffUser).filter_by(username=username)) is not None:
        raise AccountError(f"user {username!r} already exists")
    user = StaffUser(
        username=username,
        display_name=display_name or username,
        role=role,
        password_hash=_hasher.hash(password),
        created_at=now,
    )
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(username: str, password: str, now: datetime, max_failures: int) -> LoginOutcome:
    """Check a username and password, counting failures and locking the account when due."""
    user = db.session.scalar(select(StaffUser).filter_by(username=username))
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return LoginOutcome(None, "bad_credentials")
    # Take one attempt atomically before checking: of 100 parallel guesses, only as many
    # as are left under the limit are checked at all (one conditional UPDATE, row-locked).
    reserved = db.session.execute(
        update(StaffUser)
        .where(StaffUser.id == user.id)
        .where(StaffUser.failed_logins < max_failures)
        .where(or_(StaffUser.locked_until.is_(None), StaffUser.locked_until <= now))
        .values(failed_logins=StaffUser.failed_logins + 1)
    )
    db.session.commit()
    if getattr(reserved, "rowcount", 0) != 1:
        return LoginOutcome(None, "locked")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        # The attempt stays counted; the one that reached the limit locks the account.
        db.session.execute(
            update(StaffUser)
            .where(StaffUser.id == user.id)
            .where(StaffUser.failed_logins >= max_failures)
            .values(locked_until=now + LOCK_WINDOW, failed_logins=0)
        )
        db.session.commit()
        return LoginOutcome(None, "bad_credentials")
    db.session.refresh(user)
    if not user.active:
        return LoginOutcome(None, "inactive")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    db.session.commit()
    return LoginOutcome(user, "ok")


def end_staff_sessions(user: StaffUser) -> None:
    """End every session of a staff user (each cookie names the generation it began in)."""
    db.session.execute(
        update(StaffUser)
        .where(StaffUser.id == user.id)
        .values(session_generation=StaffUser.session_generation + 1)
    )
    db.session.commit()

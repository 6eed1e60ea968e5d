"""Staff accounts: create, authenticate with argon2, lock after repeated failures."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from app.errors import DomainError
from app.extensions import db
from app.models import StaffUser
from app.models.user import STAFF_ROLES
from app.services import rate_limits

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
    code: str  # ok | bad_credentials | locked | busy (too many from here or overall) | inactive
    retry_after: int = 0  # seconds, for locked and busy


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


def _spend_a_hash(password: str) -> None:
    """Verify against a dummy hash: an answer without a real check takes as long as one."""
    with contextlib.suppress(VerificationError):
        _hasher.verify(_DUMMY_HASH, password)


def authenticate(
    username: str, password: str, now: datetime, max_failures: int, address: str = ""
) -> LoginOutcome:
    """Check a username and password in sliding windows of failures (committed).

    Three windows: the username's own (``max_failures`` in ``LOCK_WINDOW``), the client
    address's and all logins'. The username's window is kept whether or not the account
    exists, and a full one still spends an argon2 check: a locked account and an unknown
    one get the same answer in the same time. An attempt is taken from every window
    before the password is checked (of 100 parallel guesses only as many as the windows
    hold are checked at all); a right password gives it back.
    """
    taken = rate_limits.take(
        [
            (
                rate_limits.window_key("login", "account", username.strip().casefold()),
                rate_limits.Window(max_failures, int(LOCK_WINDOW.total_seconds())),
            ),
            (rate_limits.window_key("login", "address", address), rate_limits.LOGIN_ADDRESS),
            ("login:all", rate_limits.LOGIN_OVERALL),
        ],
        now,
    )
    user = db.session.scalar(select(StaffUser).filter_by(username=username))
    if taken.refused:
        _spend_a_hash(password)
        if user is not None and (taken.refused_key or "").startswith("login:account:"):
            # For the admin page's 「ロック中」; the window itself decides.
            user.locked_until = now + timedelta(seconds=taken.retry_after)
            db.session.commit()
        code = "locked" if (taken.refused_key or "").startswith("login:account:") else "busy"
        return LoginOutcome(None, code, taken.retry_after)
    if user is None:
        _spend_a_hash(password)
        return LoginOutcome(None, "bad_credentials")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return LoginOutcome(None, "bad_credentials")  # the attempt stays in its windows
    rate_limits.give_back(taken)
    if not user.active:
        return LoginOutcome(None, "inactive")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
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

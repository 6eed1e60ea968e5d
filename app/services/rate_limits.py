"""Sliding-window rate limits on logins, joins and pre-entries, shared by every process.

A window keeps the times of the latest attempts under a key (``login:address:…``,
``join:all`` …) and admits one more only while fewer than its limit fall in the last
``seconds``: a real sliding window, not a counter reset on the hour. The windows live in
the database (table ``rate_window``) because the database is the one store every
deployment has and every gunicorn process shares (SQLite file or PostgreSQL); Redis is
optional and may be down (issue #18, Medium 8), and a limit that vanished with it would be
no limit.

Taking is atomic across processes: the first statement on each row writes it, which takes
the row's lock (PostgreSQL) or the database's write lock (SQLite) until the commit, so
counting and adding are one step; rows are locked in key order, so two requests never
wait on each other's rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.errors import DomainError
from app.extensions import db
from app.models import RateWindow

# Rows untouched this long hold no hit any window still counts: deleted as requests pass.
_FORGET_AFTER = timedelta(hours=2)
_KEY_CHARS = 160


@dataclass(frozen=True)
class Window:
    """At most ``limit`` attempts under a key in any ``seconds``."""

    limit: int
    seconds: int


# What each public entrance allows. Counter PCs of a city office often reach the app from
# one address (one proxy or NAT), so the per-address windows are generous and, for login
# and join, count failures only (a right password or PIN gives its attempt back). The
# overall windows stop a guesser spread over many addresses; a full one refuses everyone
# for a few minutes, which is logged as a warning for the administrator.
LOGIN_ADDRESS = Window(30, 15 * 60)
LOGIN_OVERALL = Window(300, 15 * 60)
JOIN_ADDRESS = Window(20, 15 * 60)
JOIN_OVERALL = Window(200, 15 * 60)
PREENTRY_ADDRESS = Window(30, 10 * 60)
PREENTRY_OVERALL = Window(600, 10 * 60)


class RateLimited(DomainError):
    """Too many attempts in a window; ``retry_after`` says in how many seconds one frees."""

    status = 429
    default_code = "rate_limited"

    def __init__(self, message: str, *, key: str, retry_after: int) -> None:
        super().__init__(
            message, hint=f"{_minutes(retry_after)}ほどおいてから、もう一度お試しください。"
        )
        self.key = key
        self.retry_after = retry_after


def _minutes(seconds: int) -> str:
    """Say a wait in whole minutes (at least 1) as people read it."""
    return f"{max(1, -(-seconds // 60))}分"


@dataclass(frozen=True)
class Taken:
    """Attempts added to windows at ``at``, or the first window that was full."""

    at: float
    keys: tuple[str, ...]
    refused_key: str | None = None
    retry_after: int = 0

    @property
    def refused(self) -> bool:
        """Tell whether a window was full (then nothing was added anywhere)."""
        return self.refused_key is not None


def window_key(*parts: str) -> str:
    """Join the parts of a key, bounded to the column's length."""
    return ":".join(parts)[:_KEY_CHARS]


def _insert(key: str, now: datetime) -> None:
    """Create the key's row if it is missing (another process may create it at once)."""
    dialect = db.session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        make(RateWindow)
        .values(key=key, hits="[]", updated_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    db.session.execute(statement)


def take(windows: Sequence[tuple[str, Window]], now: datetime) -> Taken:
    """Add one attempt to every window, or to none when any of them is full (committed).

    :returns: the attempt's time and keys (for ``give_back``), or the full window's key and
        the seconds until it admits one again.
    """
    at = now.timestamp()
    # Hold a connection before queueing for SQLite's writer (app.extensions): a thread that
    # queued first and then asked the pool for a connection could wait for ever on threads
    # that hold connections while they queue behind it.
    db.session.connection()
    ordered = sorted(dict(windows).items())
    found: dict[str, list[float]] = {}
    for key, window in ordered:
        _insert(key, now)
        # Write first: this UPDATE holds the row (or SQLite's write lock) until the commit.
        db.session.execute(update(RateWindow).where(RateWindow.key == key).values(updated_at=now))
        raw = db.session.scalar(select(RateWindow.hits).where(RateWindow.key == key))
        hits = [t for t in json.loads(raw or "[]") if at - window.seconds < t <= at + 1]
        found[key] = hits
        if len(hits) >= window.limit:
            retry = int(min(hits) + window.seconds - at) + 1
            db.session.commit()
            return Taken(at, (), refused_key=key, retry_after=max(1, retry))
    for key, window in ordered:
        hits = sorted([*found[key], at])[-window.limit :]
        db.session.execute(
            update(RateWindow).where(RateWindow.key == key).values(hits=json.dumps(hits))
        )
    db.session.execute(delete(RateWindow).where(RateWindow.updated_at < now - _FORGET_AFTER))
    db.session.commit()
    return Taken(at, tuple(key for key, _ in ordered))


def give_back(taken: Taken) -> None:
    """Take an attempt out of its windows again (a right password or PIN) (committed)."""
    db.session.connection()  # before queueing for the writer, as in ``take``
    for key in sorted(taken.keys):
        db.session.execute(
            update(RateWindow).where(RateWindow.key == key).values(updated_at=RateWindow.updated_at)
        )
        raw = db.session.scalar(select(RateWindow.hits).where(RateWindow.key == key))
        hits = json.loads(raw or "[]")
        if taken.at in hits:
            hits.remove(taken.at)
            db.session.execute(
                update(RateWindow).where(RateWindow.key == key).values(hits=json.dumps(hits))
            )
    db.session.commit()


def take_or_refuse(windows: Sequence[tuple[str, Window]], now: datetime, message: str) -> Taken:
    """Add one attempt to every window, or raise ``RateLimited`` with ``message``.

    :raises RateLimited: a window is full (nothing was added).
    """
    taken = take(windows, now)
    if taken.refused:
        raise RateLimited(message, key=taken.refused_key or "", retry_after=taken.retry_after)
    return taken

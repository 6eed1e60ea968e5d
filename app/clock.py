"""The app's one clock: views ask it for ``now``; services and the engine take ``now`` as an argument.

``create_app`` installs the provider (``CLOCK`` in test_config may replace it, e.g. a
fixed time in tests); nothing else in ``app/`` calls ``datetime.now()`` or
``date.today()``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from flask import Flask, current_app

_KEY = "kakanai.clock"


def system_now() -> datetime:
    """Return the local wall-clock time (naive, as the database stores it)."""
    return datetime.now()


def install_clock(app: Flask, provider: Callable[[], datetime] | None = None) -> None:
    """Make ``provider`` (default: the system clock) the app's clock."""
    app.extensions[_KEY] = provider or system_now


def now() -> datetime:
    """Return the current local time from the app's clock."""
    provider: Callable[[], datetime] = current_app.extensions.get(_KEY, system_now)
    return provider()


def utc_now() -> datetime:
    """Return the current time from the app's clock as an aware UTC datetime."""
    return now().astimezone(UTC)


def today() -> date:
    """Return today's date from the app's clock."""
    return now().date()

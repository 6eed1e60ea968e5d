"""Shared fixtures: ``app``, ``client``, ``runner``, ``login_as(role)`` and factories."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import MetaData

from app import create_app
from app.extensions import db
from app.services.accounts import create_user

# ---- no network: a test may only talk to this machine --------------------------------

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class NetworkRefused(RuntimeError):
    """A test tried to reach an address off this machine."""


def _check_address(sock: socket.socket, address: Any) -> None:
    if sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else address
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost":
            return
        raise NetworkRefused(f"test tried to reach {host!r}: only 127.0.0.1 is allowed") from None
    if not ip.is_loopback:
        raise NetworkRefused(f"test tried to reach {host}: only loopback is allowed")


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    _check_address(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    _check_address(self, address)
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


# ---- the app --------------------------------------------------------------------------

PASSWORD = "correct-horse-battery"


def _reset_database() -> None:
    # Drop what is there (Alembic's version table included), not only what the models know.
    existing = MetaData()
    existing.reflect(db.engine)
    existing.drop_all(db.engine)
    db.create_all()


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """A fresh app with its own instance folder and an empty schema.

    SQLite by default; with ``DATABASE_URL`` set (CI), the same tests run on PostgreSQL.
    """
    monkeypatch.setenv("KAKANAI_INSTANCE_PATH", str(tmp_path))
    config: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
    }
    if not os.environ.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{tmp_path / 'test.sqlite3'}"
    application = create_app(config)
    with application.app_context():
        _reset_database()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def make_user(app: Flask) -> Callable[..., Any]:
    """Factory: ``make_user(role="counter", username=None)`` creates a staff account."""
    counter = {"n": 0}

    def make(role: str = "counter", username: str | None = None, password: str = PASSWORD) -> Any:
        counter["n"] += 1
        name = username or f"{role}{counter['n']}"
        with app.app_context():
            user = create_user(name, password, role, f"{role} user", now=datetime.now())
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return make


@pytest.fixture
def login_as(client: FlaskClient, make_user: Callable[..., Any]) -> Callable[[str], Any]:
    """Log the test client in as a new user of ``role``; return the user."""

    def login(role: str) -> Any:
        user = make_user(role)
        response = client.post("/login", data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 302, response.data.decode()
        return user

    return login


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tests last.

    Playwright's sync API keeps an event loop running in the main thread for the rest of the
    session once the browser fixture started; anything later that calls ``asyncio.run``
    (the aiortc tests, pyhanko's sealing and validation) would then fail.
    """
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


# ---- one browser for the whole run ------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """The system Chromium, started once: Playwright's sync API allows one driver per process."""
    from playwright.sync_api import sync_playwright

    from tests.browser_env import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        # Playwright gives every launch a fresh temporary user-data-dir.
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()

"""Media fixtures: loopback ICE, the app served on a free port, session cookies."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import aioice.ice
import pytest
from flask import Flask
from werkzeug.serving import make_server

from app.extensions import db
from app.media.server import media_server
from app.models import Case
from app.services.cases import open_case
from app.services.resident_sessions import start_resident_session


@pytest.fixture(autouse=True)
def loopback_ice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Offer 127.0.0.1 as the only host candidate (aioice leaves loopback out)."""
    monkeypatch.setattr(
        aioice.ice,
        "get_host_addresses",
        lambda use_ipv4, use_ipv6: ["127.0.0.1"] if use_ipv4 else [],
    )


@pytest.fixture
def media(app: Flask) -> Iterator[Any]:
    """The app's media server, shut down (every connection closed) after the test."""
    server = media_server(app)
    yield server
    server.shutdown()


@pytest.fixture
def live_server(app: Flask, media: Any, make_user: Callable[..., Any]) -> Iterator[str]:
    """Serve the app on a free loopback port; yield its base URL.

    Cases 1 and 2 exist (open), since the server takes offers only for live cases.
    """
    staff = make_user("counter")
    with app.app_context():
        now = datetime.now()
        while db.session.get(Case, 2) is None:
            open_case(staff.id, ["move_out"], "remote", now.date(), now, staff.username)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    server.server_close()


@pytest.fixture
def resident_cookie(app: Flask, make_user: Callable[..., Any]) -> Callable[[int], str]:
    """Return the Cookie header of a resident session admitted to ``case_id``."""
    staff = make_user("counter")

    def cookie(case_id: int) -> str:
        # Resident sessions are kept on the server (revocable): start one as the PIN would,
        # for a case that exists (cases are numbered from 1 in each test's fresh database).
        with app.app_context():
            now = datetime.now()
            while db.session.get(Case, case_id) is None:
                open_case(staff.id, ["move_out"], "remote", now.date(), now, staff.username)
            sid = start_resident_session(case_id, now=now, expires_at=now + timedelta(hours=1))
        serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        value = serializer.dumps({"resident_case_id": case_id, "sid": sid})
        return f"{app.config['SESSION_COOKIE_NAME']}={value}"

    return cookie


@pytest.fixture
def staff_cookie(live_server: str, make_user: Callable[..., Any]) -> str:
    """Log a counter user in through the real login form; return the session cookie."""
    user = make_user("counter")
    data = f"username={user.username}&password=correct-horse-battery".encode()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(urllib.request.Request(f"{live_server}/login", data=data), timeout=10)
        raise AssertionError("login did not redirect")
    except urllib.error.HTTPError as response:
        assert response.code == 302
        return response.headers["Set-Cookie"].split(";", 1)[0]

"""High 1: slow clients cannot stop the app (gunicorn as ``make serve`` runs it, real sockets)."""

from __future__ import annotations

import json
import socket
import statistics
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tests.security.conftest import Served

HEAD = (
    "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\r\n"
)


@contextmanager
def slow_bodies(served: Served, count: int, length: int = 100_000) -> Iterator[list[socket.socket]]:
    """Open ``count`` connections that send a head and the start of a body, then stall."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", served.port), timeout=5)
            sock.sendall(HEAD.format(length=length).encode() + b"username=" + b"a" * 500)
            socks.append(sock)
        time.sleep(0.5)  # every one of them has reached the server
        yield socks
    finally:
        for sock in socks:
            sock.close()


def timed_login_page(served: Served) -> float:
    """Return how long GET /login took (it must answer 200)."""
    started = time.monotonic()
    with urllib.request.urlopen(served.url + "/login", timeout=5) as response:
        assert response.status == 200
        response.read()
    return time.monotonic() - started


def test_stalled_bodies_leave_the_app_answering(serve: Callable[..., Served]) -> None:
    served = serve()
    # More stalled clients than the process has work slots (4) or threads (64).
    with slow_bodies(served, 80):
        times = [timed_login_page(served) for _ in range(20)]
    assert max(times) < 1.0, times
    assert statistics.quantiles(times, n=20)[-1] < 0.5


def _answer(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_a_stalled_body_is_answered_408_in_japanese(serve: Callable[..., Served]) -> None:
    served = serve(KAKANAI_REQUEST_SECONDS="1")
    with slow_bodies(served, 1, length=1000) as (sock,):
        started = time.monotonic()
        answer = _answer(sock)
    # 1 s for the head, 1000 bytes at 64 KiB/s, and the worker's one-second tick.
    assert time.monotonic() - started < 4
    assert answer.startswith(b"HTTP/1.1 408")
    assert "送信に時間がかかりすぎた" in answer.decode("utf-8")


def test_a_trickled_body_is_cut_off_at_its_deadline(serve: Callable[..., Served]) -> None:
    served = serve(KAKANAI_REQUEST_SECONDS="1")
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=5)
    try:
        sock.sendall(HEAD.format(length=1000).encode())
        started = time.monotonic()
        answer = b""
        sock.settimeout(0.3)
        while time.monotonic() - started < 8:  # one byte every 0.3 s: always "still sending"
            try:
                sock.sendall(b"a")
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert time.monotonic() - started < 5
    finally:
        sock.close()


def test_a_form_of_a_million_fields_is_refused_at_once(serve: Callable[..., Served]) -> None:
    served = serve()
    body = b"&".join(b"f%d=1" % i for i in range(1_500_000))[: 15 * 1024 * 1024]
    request = urllib.request.Request(
        served.url + "/login",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    started = time.monotonic()
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as error:
        status, page = error.code, error.read().decode("utf-8")
    assert time.monotonic() - started < 2
    assert status == 413
    assert "大きすぎます" in page
    assert timed_login_page(served) < 1.0


def resident_cookies(served: Served, monkeypatch: Any, cases: int, per_case: int) -> list[str]:
    """Open ``cases`` cases on the served app; return ``per_case`` resident sessions of each."""
    from datetime import date, datetime, timedelta

    from app import create_app
    from app.extensions import db
    from app.services.accounts import create_user
    from app.services.cases import open_case
    from app.services.resident_sessions import start_resident_session

    for name, value in served.env.items():
        if name.startswith("KAKANAI_"):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("DATABASE_URL", raising=False)  # the served app's own SQLite database
    app = create_app()
    cookies = []
    with app.app_context():
        now = datetime.now()
        staff = create_user("flood", "flood-password-1", "counter", "flood", now=now)
        serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        for number in range(cases):
            case = open_case(staff.id, ["move_out"], "remote", date.today(), now, "flood")
            for _session in range(per_case):
                sid = start_resident_session(case.id, now=now, expires_at=now + timedelta(hours=1))
                cookies.append(serializer.dumps({"resident_case_id": case.id, "sid": sid}))
        db.session.remove()
        db.engine.dispose()
    return cookies


def open_stream(served: Served, cookie: str) -> tuple[socket.socket, bytes]:
    """Open a resident's live-event stream; return the socket and its first bytes."""
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=5)
    sock.sendall(
        f"GET /r/events HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: kakanai_session={cookie}\r\n\r\n".encode()
    )
    first = b""
    while b"\r\n\r\n" not in first or not (b"retry:" in first or b"}" in first):
        chunk = sock.recv(65536)
        if not chunk:
            break
        first += chunk
    return sock, first


def test_login_answers_while_streams_and_slow_bodies_are_open(
    serve: Callable[..., Served], monkeypatch: Any
) -> None:
    served = serve()
    cookies = resident_cookies(served, monkeypatch, cases=25, per_case=2)
    streams = []
    try:
        for cookie in cookies:  # 100 streams: two per session, four per case
            streams.append(open_stream(served, cookie))
            streams.append(open_stream(served, cookie))
        held = [first for _, first in streams if first.startswith(b"HTTP/1.1 200")]
        refused = [first for _, first in streams if first.startswith(b"HTTP/1.1 503")]
        assert len(held) == 32  # LIVE_STREAMS: the other threads stay free
        assert len(refused) == 68
        assert all("混み合って" in first.decode("utf-8", "replace") for first in refused)
        with slow_bodies(served, 50):
            times = [timed_login_page(served) for _ in range(40)]
        p95 = statistics.quantiles(times, n=20)[-1]
        print(
            json.dumps({"streams_held": len(held), "slow_bodies": 50, "login_p95_s": round(p95, 4)})
        )
        assert max(times) < 1.0, times
    finally:
        for sock, _ in streams:
            sock.close()

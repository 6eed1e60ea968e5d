"""High 1: slow clients cannot stop the app (gunicorn as ``make serve`` runs it, real sockets)."""

from __future__ import annotations

import socket
import statistics
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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

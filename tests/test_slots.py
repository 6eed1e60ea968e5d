"""Work slots: few requests of a process work at once; waits and streams do not count."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from app.slots import WorkSlots, waiting


def _call(app: Any) -> bytes:
    return b"".join(app({}, lambda status, headers: None))


def test_no_more_requests_work_at_once_than_there_are_slots() -> None:
    working = peak = 0
    lock = threading.Lock()

    def busy(_environ: Any, _start: Any) -> list[bytes]:
        nonlocal working, peak
        with lock:
            working += 1
            peak = max(peak, working)
        time.sleep(0.02)
        with lock:
            working -= 1
        return [b"ok"]

    app = WorkSlots(busy, 2)
    threads = [threading.Thread(target=_call, args=(app,)) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 2


def test_a_request_waiting_on_another_worker_lets_others_work() -> None:
    other_done = threading.Event()

    def view(environ: Any, _start: Any) -> list[bytes]:
        if environ.get("wait"):
            with waiting():  # as a view waiting for the media loop or a PDF worker
                assert other_done.wait(5), "the other request never got the slot"
        return [b"ok"]

    app = WorkSlots(view, 1)
    waiter = threading.Thread(target=lambda: app({"wait": True}, lambda *a: None))
    waiter.start()
    time.sleep(0.05)
    assert _call(app) == b"ok"  # the only slot was free while the first one waited
    other_done.set()
    waiter.join(5)
    assert not waiter.is_alive()


def test_a_stream_holds_no_slot_while_it_is_sent() -> None:
    sent_after_other = threading.Event()

    def view(environ: Any, _start: Any) -> Iterator[bytes]:
        if not environ.get("stream"):
            return iter([b"ok"])

        def events() -> Iterator[bytes]:  # as the resident's live events
            yield b"first"
            assert sent_after_other.wait(5), "the stream kept its slot"
            yield b"second"

        return events()

    app = WorkSlots(view, 1)
    body = app({"stream": True}, lambda *a: None)
    assert next(iter(body)) == b"first"
    assert _call(app) == b"ok"
    sent_after_other.set()
    assert list(body) == [b"second"]


def test_a_request_holds_no_slot_while_its_body_arrives() -> None:
    import io
    import socket

    client, server = socket.socketpair()

    def view(environ: Any, _start: Any) -> list[bytes]:
        return [environ["wsgi.input"].read()]

    app = WorkSlots(view, 1, body_seconds=5)
    source = server.makefile("rb")
    slow = {"CONTENT_LENGTH": "4", "wsgi.input": source}
    answers: list[bytes] = []
    waiter = threading.Thread(target=lambda: answers.append(_call_with(app, slow)))
    waiter.start()
    time.sleep(0.1)  # the slow body is still arriving
    fast = {"CONTENT_LENGTH": "2", "wsgi.input": io.BytesIO(b"ok")}
    assert _call_with(app, fast) == b"ok"  # the only slot was free meanwhile
    client.sendall(b"body")
    waiter.join(5)
    assert answers == [b"body"]
    source.close()
    client.close()
    server.close()


def test_a_body_that_does_not_arrive_in_time_is_answered_408() -> None:
    import socket

    client, server = socket.socketpair()
    statuses: list[str] = []
    app = WorkSlots(lambda environ, start: [b"never"], 1, body_seconds=0.2)
    source = server.makefile("rb")
    environ = {
        "CONTENT_LENGTH": "10",
        "wsgi.input": source,
        "gunicorn.socket": server,
    }
    client.sendall(b"abc")
    started = time.monotonic()
    body = b"".join(app(environ, lambda status, headers: statuses.append(status)))
    assert time.monotonic() - started < 2
    assert statuses == ["408 Request Timeout"]
    assert "送信に時間がかかりすぎた" in body.decode()
    source.close()
    client.close()
    server.close()


def _call_with(app: Any, environ: dict[str, Any]) -> bytes:
    return b"".join(app(environ, lambda status, headers: None))

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

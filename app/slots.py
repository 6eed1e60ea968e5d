"""Work slots: how many requests one app process works on at once.

Python threads share one interpreter lock (the GIL). With 32 threads all working, they
spend their time handing the lock to each other: the counter benchmark served a quarter
fewer answers than with 4 at work and the rest waiting. The threads are still needed,
because residents' live-event streams and waits for the media loop or a PDF worker hold
a thread without working; so a request holds a slot only while it works: a stream gives
it back when its view returns, and the blocking waits give it back with ``waiting()``.

Nor does a request hold a slot while its body arrives: the body is read whole first (into
memory, or a temporary file past 1 MiB), within ``body_seconds`` plus one second per
64 KiB; a client slower than that is answered 408 (``make serve``'s worker, app.serving,
already reads it in its main loop; this covers any other server).
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

_held = threading.local()  # the WorkSlots whose slot this thread holds, if any

BODY_BYTES_PER_SECOND = 64 * 1024
SPOOL_BYTES = 1024 * 1024
TIMEOUT_PAGE = (
    '<!doctype html><html lang="ja"><head><meta charset="utf-8">'
    "<title>送信に時間がかかりすぎました</title></head><body>"
    "<h1>送信に時間がかかりすぎたため、受け付けられませんでした</h1>"
    "<p>通信状態の良い場所で、もう一度送信してください。"
    "入力した内容が保存されていない場合があります。</p></body></html>"
).encode()
PAGE_HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Length", str(len(TIMEOUT_PAGE))),
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Content-Security-Policy", "default-src 'none'"),
]


def _declared_length(environ: dict[str, Any]) -> int | None:
    raw = environ.get("CONTENT_LENGTH") or ""
    return int(raw) if raw.isdigit() else None


def read_body(environ: dict[str, Any], seconds: float, max_body: int) -> bool:
    """Read the request body whole into ``wsgi.input``; False when it did not arrive in time.

    A body declared larger than ``max_body`` (or with a malformed length) is left unread:
    the app refuses it with 413 (400) without waiting for it.
    """
    length = _declared_length(environ)
    chunked = length is None and bool(environ.get("wsgi.input_terminated"))
    if environ.get("CONTENT_LENGTH") and length is None:
        return True
    if (length is None and not chunked) or length == 0 or (length or 0) > max_body:
        return True
    wanted = length if length is not None else max_body + 1
    deadline = time.monotonic() + seconds + wanted / BODY_BYTES_PER_SECOND
    sock: socket.socket | None = environ.get("gunicorn.socket")
    # A client trickling bytes would keep one read waiting: at the deadline, end its reads.
    timer = threading.Timer(max(deadline - time.monotonic(), 0), _stop_reading, [sock])
    if sock is not None:
        timer.daemon = True
        timer.start()
    source = environ["wsgi.input"]
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (the new input)
    got = 0
    try:
        while got < wanted:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                got = -1
                break
            if sock is not None:
                sock.settimeout(remaining)
            chunk = source.read(min(65536, wanted - got))
            if not chunk:
                break
            spool.write(chunk)
            got += len(chunk)
    except OSError:  # timed out, or the reads were ended at the deadline
        got = -1
    finally:
        timer.cancel()
        if sock is not None:
            with suppress(OSError):
                sock.settimeout(None)
    if got < 0 or (length is not None and got < length):
        spool.close()
        return False  # too slow, or the client stopped sending: the 408 says to send again
    spool.seek(0)
    environ["wsgi.input"] = environ["kakanai.body"] = spool
    environ["CONTENT_LENGTH"] = str(got)
    return True


def _stop_reading(sock: socket.socket | None) -> None:
    if sock is not None:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RD)


class WorkSlots:
    """WSGI middleware: at most ``slots`` requests of this process do work at once."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        slots: int,
        *,
        body_seconds: float = 10,
        max_body: int = 16 * 1024 * 1024,
    ) -> None:
        """Wrap a WSGI app."""
        self.app = app
        self._slots = threading.BoundedSemaphore(slots)
        self.body_seconds = body_seconds
        self.max_body = max_body

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        # The body first: a slow client must not hold a slot while its bytes trickle in.
        if not read_body(environ, self.body_seconds, self.max_body):
            start_response("408 Request Timeout", PAGE_HEADERS)
            return [TIMEOUT_PAGE]
        self._slots.acquire()
        _held.slots = self
        try:
            # The body is sent after this returns: a stream does not keep its slot.
            return self.app(environ, start_response)
        finally:
            _held.slots = None
            self._slots.release()
            if "kakanai.body" in environ:  # the view has read what it wanted of it
                environ["kakanai.body"].close()

    def give_back(self) -> None:
        """Release this thread's slot (see ``waiting``)."""
        self._slots.release()

    def take(self) -> None:
        """Wait for a slot again."""
        self._slots.acquire()


@contextmanager
def waiting() -> Iterator[None]:
    """Give this thread's work slot back while it blocks (on another thread or process)."""
    slots: WorkSlots | None = getattr(_held, "slots", None)
    if slots is None:
        yield
        return
    _held.slots = None
    slots.give_back()
    try:
        yield
    finally:
        slots.take()
        _held.slots = slots

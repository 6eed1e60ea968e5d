"""The gunicorn worker of ``make serve``: a request reaches a thread only once it has arrived.

gunicorn's threaded worker hands a connection to a thread as soon as its first bytes
arrive; the thread then reads the head and the body itself, blocking. Four clients sending
a head and half a body held four threads (and, before the body was buffered, all four work
slots) for as long as they liked. This worker reads each request's head and body in its
main loop (non-blocking, one ``select`` for every connection), so a slow or stalled client
costs a buffer, not a thread. A request that is not complete within its time limit is
answered 408 in Japanese and closed; a body declared larger than the app accepts is handed
on at once, and the app refuses it with 413 without reading it.

Time limit: ``REQUEST_SECONDS`` for the head and a small body, plus one second for every
64 KiB the body declares (a phone on a slow line still uploads a scan).
"""

from __future__ import annotations

import contextlib
import selectors
import time
from functools import partial
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker

from app.slots import PAGE_HEADERS, TIMEOUT_PAGE

HEAD_LIMIT = 64 * 1024  # larger heads are handed on: gunicorn's parser refuses them
BODY_BYTES_PER_SECOND = 64 * 1024
BUFFERED_LIMIT = 256 * 1024 * 1024  # all requests being read at once, in bytes
RECV_SIZE = 256 * 1024

TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    + b"".join(f"{name}: {value}\r\n".encode() for name, value in PAGE_HEADERS)
    + b"Connection: close\r\n\r\n"
    + TIMEOUT_PAGE
)


class Arrival:
    """A request being read: its bytes so far, its deadline, and what its head declares."""

    def __init__(self, seconds: float) -> None:
        """Start reading now, with ``seconds`` for the head."""
        self.data = bytearray()
        self.started = time.monotonic()
        self.seconds = seconds
        self.deadline = self.started + seconds
        self.head_end = -1
        self.length = 0
        self.chunked = False
        self.continued = False

    def complete(self, max_body: int) -> bool:
        """Tell whether the request can go to a thread: whole, or one the parser refuses."""
        if self.head_end < 0:
            end = self.data.find(b"\r\n\r\n")
            if end < 0:
                return len(self.data) > HEAD_LIMIT
            self.head_end = end + 4
            for line in bytes(self.data[:end]).lower().split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name, value = name.strip(), value.strip()
                if name == b"content-length":
                    if not value.isdigit():
                        return True  # the parser answers 400
                    self.length = int(value)
                elif name == b"transfer-encoding":
                    self.chunked = b"chunked" in value
            if self.length > max_body:
                return True  # the app refuses it at once, unread (413)
            self.deadline += self.length / BODY_BYTES_PER_SECOND
        body = len(self.data) - self.head_end
        if self.chunked:
            return self.data.endswith(b"0\r\n\r\n") or body > max_body
        return body >= self.length

    def wants_continue(self) -> bool:
        """Tell whether the client waits for ``100 Continue`` before it sends the body."""
        if self.continued or self.head_end < 0 or len(self.data) > self.head_end:
            return False
        head = bytes(self.data[: self.head_end]).lower()
        return b"\r\nexpect: 100-continue" in head or b"\r\nexpect:100-continue" in head


class Prebuffered:
    """A connection's ``recv`` for gunicorn's parser: the bytes read already, then the socket.

    (Handing them back with ``unread`` instead would copy the rest of the buffer on every
    read: quadratic in the body's size.)
    """

    def __init__(self, data: bytes, source: Any) -> None:
        """Serve ``data`` first, then whatever ``source(size_hint)`` returns."""
        self.data = memoryview(data)
        self.position = 0
        self.source = source

    def __call__(self, size_hint: int | None = None) -> bytes:
        """Return the next piece: up to ``size_hint`` (8 KiB to 1 MiB) of what was read."""
        if self.position >= len(self.data):
            return bytes(self.source(size_hint))
        size = min(max(size_hint or 0, 8192), 1024 * 1024)
        piece = bytes(self.data[self.position : self.position + size])
        self.position += len(piece)
        return piece


class WholeRequestWorker(ThreadWorker):
    """gunicorn's threaded worker, reading every request whole before a thread takes it."""

    def init_process(self) -> None:
        """Set up the reading table, then run the worker (gunicorn's init runs the loop)."""
        self.arriving: dict[TConn, Arrival] = {}
        self.buffered = 0
        self.request_seconds = 10.0
        self.max_body = 16 * 1024 * 1024
        super().init_process()

    def load_wsgi(self) -> None:
        """Load the app and take its limits (``REQUEST_SECONDS``, ``MAX_CONTENT_LENGTH``)."""
        super().load_wsgi()
        config = getattr(self.wsgi, "config", {})
        self.request_seconds = float(config.get("REQUEST_SECONDS") or self.request_seconds)
        self.max_body = int(config.get("MAX_CONTENT_LENGTH") or self.max_body)

    # ---- where connections come from: a new one, or a kept-alive one with a new request

    def accept(self, listener: Any) -> None:
        """Accept a connection and start reading its first request in the main loop."""
        if self.cfg.is_ssl:  # TLS is nginx's job here; gunicorn's own path handles it
            super().accept(listener)
            return
        try:
            sock, client = listener.accept()
        except BlockingIOError:
            return
        except OSError:
            return
        self.nr_conns += 1
        self._start_reading(TConn(self.cfg, sock, client, listener.getsockname()))

    def on_client_socket_readable(self, conn: TConn, client: Any) -> None:
        """A kept-alive connection sends its next request: read it whole first."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        if self.cfg.is_ssl:
            self.enqueue_req(conn)
            return
        conn.sock.setblocking(False)
        self._start_reading(conn)

    def _start_reading(self, conn: TConn) -> None:
        self.arriving[conn] = Arrival(self.request_seconds)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_bytes, conn))

    def _on_bytes(self, conn: TConn, sock: Any) -> None:
        arrival = self.arriving[conn]
        try:
            data = sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client went away before its request was whole
            self._forget(conn)
            self.nr_conns -= 1
            conn.close()
            return
        arrival.data += data
        self.buffered += len(data)
        if arrival.complete(self.max_body) or self.buffered > BUFFERED_LIMIT:
            self._forget(conn)
            conn.prebuffered = bytes(arrival.data)
            self.enqueue_req(conn)
        elif arrival.wants_continue():
            arrival.continued = True
            with contextlib.suppress(OSError):
                sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _forget(self, conn: TConn) -> None:
        arrival = self.arriving.pop(conn)
        self.buffered -= len(arrival.data)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(conn.sock)

    def handle(self, conn: TConn) -> Any:
        """Serve a request in a thread, its bytes already read, then gunicorn as usual."""
        data = getattr(conn, "prebuffered", None)
        if data is not None:
            conn.prebuffered = None
            conn.data_ready = True
            conn.sock.setblocking(True)
            conn.init()
            unreader = conn.parser.unreader
            source = unreader.chunk
            if isinstance(source, Prebuffered):  # a kept-alive connection's earlier request
                source = source.source
            unreader.chunk = Prebuffered(data, source)
        return super().handle(conn)

    def murder_pending(self) -> None:
        """Close connections whose request did not arrive in time (408 if it had begun)."""
        super().murder_pending()
        now = time.monotonic()
        late = [conn for conn, arrival in self.arriving.items() if arrival.deadline <= now]
        for conn in late:
            begun = bool(self.arriving[conn].data)
            self._forget(conn)
            if begun:
                with contextlib.suppress(OSError):
                    conn.sock.send(TIMEOUT_RESPONSE)
            self.nr_conns -= 1
            conn.close()

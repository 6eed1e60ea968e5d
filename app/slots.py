"""Work slots: how many requests one app process works on at once.

Python threads share one interpreter lock (the GIL). With 32 threads all working, they
spend their time handing the lock to each other: the counter benchmark served a quarter
fewer answers than with 4 at work and the rest waiting. The threads are still needed,
because residents' live-event streams and waits for the media loop or a PDF worker hold
a thread without working; so a request holds a slot only while it works: a stream gives
it back when its view returns, and the blocking waits give it back with ``waiting()``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

_held = threading.local()  # the WorkSlots whose slot this thread holds, if any


class WorkSlots:
    """WSGI middleware: at most ``slots`` requests of this process do work at once."""

    def __init__(self, app: Callable[..., Iterable[bytes]], slots: int) -> None:
        """Wrap a WSGI app."""
        self.app = app
        self._slots = threading.BoundedSemaphore(slots)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self._slots.acquire()
        _held.slots = self
        try:
            # The body is sent after this returns: a stream does not keep its slot.
            return self.app(environ, start_response)
        finally:
            _held.slots = None
            self._slots.release()

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

"""The media event loop: one asyncio loop in a daemon thread, fed by Flask views.

aiortc needs a running asyncio loop for as long as a call lasts, while Flask views run in
the WSGI server's threads. So the app owns one loop in a dedicated thread; views hand it
coroutines with ``asyncio.run_coroutine_threadsafe`` and wait for the result with a
timeout. The loop is started on first use (importing the app starts nothing) and belongs
to the process that started it: after a fork the child starts its own, since the
parent's thread does not exist there.

Every running loop is stopped cleanly at interpreter exit and on SIGTERM (gunicorn's way
of stopping a worker): its shutdown coroutines (closing peer connections) run first.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from types import FrameType
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

ENCODER_THREADS = 64  # 4 sending tracks per call, 16 calls

_LIVE: weakref.WeakSet[MediaLoop] = weakref.WeakSet()
_hooks_lock = threading.Lock()
_hooks_installed = False


class MediaTimeout(RuntimeError):
    """The media loop did not finish the work in time."""


class MediaLoop:
    """Run one asyncio event loop in a daemon thread of this process."""

    def __init__(self, name: str = "media-loop") -> None:
        self._name = name
        # Re-entrant: the SIGTERM handler may run stop() in a thread that holds it.
        self._lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid: int | None = None
        self._on_stop: list[Callable[[], Awaitable[None]]] = []

    @property
    def running(self) -> bool:
        """Whether this process has a live loop (False after a fork, until restarted)."""
        return (
            self._pid == os.getpid()
            and self._thread is not None
            and self._thread.is_alive()
            and self._loop is not None
            and not self._loop.is_closed()
        )

    def on_stop(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback()`` on the loop before it stops (close what it owns)."""
        self._on_stop.append(callback)

    def loop(self) -> asyncio.AbstractEventLoop:
        """Return the running loop, starting it (again, after a fork) when needed."""
        with self._lock:
            if not self.running:
                self._start()
            assert self._loop is not None
            return self._loop

    def _start(self) -> None:
        if self._pid is not None and self._pid != os.getpid():
            # Forked: the parent's loop object is unusable here and its thread is gone.
            log.info("media loop: process forked, starting a new loop in pid %s", os.getpid())
        loop = asyncio.new_event_loop()
        # aiortc encodes every sent frame in the loop's default executor, audio and video
        # alike. With asyncio's default (cores + 4 threads) a 20 ms audio frame waits in
        # line behind the video frames of every call; with a thread for each sending
        # track it never queues, and the OS shares the cores between them.
        loop.set_default_executor(
            ThreadPoolExecutor(max_workers=ENCODER_THREADS, thread_name_prefix="media-encode")
        )
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        thread = threading.Thread(target=run, name=self._name, daemon=True)
        thread.start()
        ready.wait()
        self._loop, self._thread, self._pid = loop, thread, os.getpid()
        _LIVE.add(self)
        _install_process_hooks()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run ``coro`` on the loop and wait at most ``timeout`` seconds for its result."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop())
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise MediaTimeout(f"media work did not finish within {timeout:g} s") from None

    def stop(self, timeout: float = 5.0) -> None:
        """Run the shutdown callbacks, stop the loop and join its thread."""
        with self._lock:
            if not self.running:
                self._loop = self._thread = None
                return
            loop, thread = self._loop, self._thread
            assert loop is not None and thread is not None

            async def shut_down() -> None:
                for callback in self._on_stop:
                    try:
                        await callback()
                    except Exception:  # one failing closer must not keep the rest open
                        log.exception("media loop: shutdown callback failed")
                # Let aiortc's own tasks (RTCP, ICE checks) see their cancellation.
                current = asyncio.current_task()
                pending = [t for t in asyncio.all_tasks() if t is not current]
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                await loop.shutdown_default_executor()

            future = asyncio.run_coroutine_threadsafe(shut_down(), loop)
            try:
                future.result(timeout)
            except FutureTimeout:
                log.warning("media loop: shutdown took over %g s; stopping anyway", timeout)
            except Exception:
                log.exception("media loop: shutdown failed")
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            if not thread.is_alive():
                loop.close()
            self._loop = self._thread = None
            _LIVE.discard(self)


def stop_all(timeout: float = 5.0) -> None:
    """Stop every media loop this process runs (at exit and on SIGTERM)."""
    for media_loop in list(_LIVE):
        media_loop.stop(timeout)


def _install_process_hooks() -> None:
    """Stop loops at exit and on SIGTERM, once per process, chaining the previous handler."""
    global _hooks_installed
    with _hooks_lock:
        if _hooks_installed:
            return
        _hooks_installed = True
    import atexit

    atexit.register(stop_all)
    if threading.current_thread() is not threading.main_thread():
        # signal.signal only works in the main thread; install_sigterm_handler() is also
        # called when the media blueprint is registered (create_app runs there).
        return
    install_sigterm_handler()


_sigterm_installed = False


def install_sigterm_handler() -> None:
    """Close media on SIGTERM, then do whatever was done before (gunicorn's handler)."""
    global _sigterm_installed
    if _sigterm_installed or threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        stop_all(timeout=3.0)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            # Die of SIGTERM as if we had never been here.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)
    _sigterm_installed = True

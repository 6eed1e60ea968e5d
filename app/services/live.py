"""Live updates for a case (forms changed, requests, status): publish and wait with catch-up.

In one process an in-memory broker is enough; with ``REDIS_URL`` set, events go through
Redis so that several app processes serve the same case. Each event gets a sequence number
per channel, so a client that reconnects asks for everything after the last one it saw.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from app.errors import DomainError

Event = tuple[int, dict[str, Any]]
KEEP = 500  # events kept per channel for catch-up after a reconnect


class LiveBroker(Protocol):
    """Where live events of a channel (one case) are published and waited for."""

    def publish(self, channel: str, event: dict[str, Any]) -> int:
        """Publish an event on a channel; return its sequence number."""
        ...

    def wait(self, channel: str, after: int, timeout: float) -> list[Event]:
        """Return the events after ``after``, waiting up to ``timeout`` seconds for one."""
        ...

    def latest(self, channel: str) -> int:
        """Return the last sequence number published on a channel (0 when none)."""
        ...


def _resync(latest: int) -> list[Event]:
    # The client missed more than we keep: tell it to reload the whole state instead.
    return [(latest, {"type": "resync"})]


class LocalBroker:
    """An in-process broker: a bounded log per channel and a condition to wait on."""

    def __init__(self, keep: int = KEEP) -> None:
        """Create an empty broker keeping ``keep`` events per channel."""
        self._cond = threading.Condition()
        self._logs: dict[str, deque[Event]] = defaultdict(lambda: deque(maxlen=keep))
        self._seq: dict[str, int] = defaultdict(int)

    def publish(self, channel: str, event: dict[str, Any]) -> int:
        """Append an event to the channel's log and wake every waiter."""
        with self._cond:
            self._seq[channel] += 1
            seq = self._seq[channel]
            self._logs[channel].append((seq, event))
            self._cond.notify_all()
            return seq

    def latest(self, channel: str) -> int:
        """Return the last sequence number published on a channel (0 when none)."""
        with self._cond:
            return self._seq[channel]

    def wait(self, channel: str, after: int, timeout: float) -> list[Event]:
        """Return the events after ``after``, waiting up to ``timeout`` seconds for one."""
        with self._cond:
            self._cond.wait_for(lambda: self._seq[channel] > after, timeout=timeout)
            log = self._logs[channel]
            if log and after < log[0][0] - 1:
                return _resync(self._seq[channel])
            return [item for item in log if item[0] > after]


_PUBLISH = """
local seq = redis.call('INCR', KEYS[2])
redis.call('RPUSH', KEYS[3], '[' .. seq .. ',' .. ARGV[1] .. ']')
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[2]), -1)
redis.call('EXPIRE', KEYS[3], 86400)
redis.call('EXPIRE', KEYS[2], 86400)
redis.call('PUBLISH', KEYS[1], seq)
return seq
"""


class RedisBroker:
    """A broker over Redis: INCR for sequence numbers, a capped list for catch-up, pub/sub
    to wake waiters in every process."""

    def __init__(self, url: str, keep: int = KEEP) -> None:
        """Connect to Redis at ``url`` and start the listener thread of this process."""
        import redis  # imported here: only deployments with REDIS_URL need it

        self._redis = redis.Redis.from_url(url)
        self._keep = keep
        # Every answer publishes: one round trip that numbers, logs and announces the
        # event at once (no window where the number exists but the log entry does not).
        self._publish = self._redis.register_script(_PUBLISH)
        self._cond = threading.Condition()
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call,unused-ignore]  # typed from redis 8
        self._pubsub.psubscribe(**{"kakanai:live:*": self._on_message})
        self._thread = self._pubsub.run_in_thread(sleep_time=0.5, daemon=True)

    def _on_message(self, _message: Any) -> None:
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        """Stop the listener thread and close the connection."""
        self._thread.stop()
        self._thread.join(timeout=5)  # the listener must stop reading before its socket closes
        self._pubsub.close()
        self._redis.close()

    def publish(self, channel: str, event: dict[str, Any]) -> int:
        """Number the event, keep it in the channel's capped log, and announce it."""
        key = f"kakanai:live:{channel}"
        body = json.dumps(event, ensure_ascii=False)
        return int(self._publish(keys=[key, f"{key}:seq", f"{key}:log"], args=[body, self._keep]))

    def latest(self, channel: str) -> int:
        """Return the last sequence number published on a channel (0 when none)."""
        return int(self._redis.get(f"kakanai:live:{channel}:seq") or 0)

    def _read(self, channel: str, after: int) -> list[Event] | None:
        key = f"kakanai:live:{channel}"
        latest = int(self._redis.get(f"{key}:seq") or 0)
        if latest <= after:
            return None
        log = [tuple(json.loads(raw)) for raw in self._redis.lrange(f"{key}:log", 0, -1)]
        if log and after < log[0][0] - 1:
            return _resync(latest)
        return [(int(seq), event) for seq, event in log if seq > after]

    def wait(self, channel: str, after: int, timeout: float) -> list[Event]:
        """Return the events after ``after``, waiting up to ``timeout`` seconds for one."""
        deadline = time.monotonic() + timeout
        while True:
            found = self._read(channel, after)
            if found is not None:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            with self._cond:
                # Woken by the pub/sub thread; the short cap covers a missed notification.
                self._cond.wait(timeout=min(remaining, 1.0))


def make_broker(redis_url: str | None) -> LiveBroker:
    """Return the Redis broker when a URL is configured, else the in-process one."""
    return RedisBroker(redis_url) if redis_url else LocalBroker()


STREAMS_PER_SESSION = 2  # a resident's phone with the page open twice (a second tab)
STREAMS_PER_CASE = 4  # the resident's phone, a kiosk, and a family member's second device
STREAM_MESSAGES = {
    "session": (
        "この画面が別のタブやウィンドウでも開かれているため、自動更新を止めました。"
        "使わない画面を閉じてから、この画面を再読み込みしてください。"
    ),
    "case": (
        "この手続の画面が多くの端末で開かれているため、自動更新を止めました。"
        "使わない端末の画面を閉じてから、再読み込みしてください。"
    ),
    "busy": (
        "ただいま混み合っているため、画面の自動更新が遅れています。"
        "しばらくすると自動で再開します。確認や署名はこのまま続けられます。"
    ),
}


class StreamRefused(DomainError):
    """A live-event stream was not opened: too many for the session or case, or the process."""

    def __init__(self, code: str) -> None:
        super().__init__(
            STREAM_MESSAGES[code], code=f"streams_{code}", status=503 if code == "busy" else 429
        )


class StreamGate:
    """Counts the live-event streams held open (each holds a thread) and refuses beyond caps.

    Per session and per case, so one resident cookie cannot take every thread; per process
    (``total``; 0 means no cap), so streams always leave threads for everyone else.
    """

    def __init__(
        self,
        total: int,
        per_session: int = STREAMS_PER_SESSION,
        per_case: int = STREAMS_PER_CASE,
    ) -> None:
        """Create a gate with the caps given."""
        self.total = total
        self.per_session = per_session
        self.per_case = per_case
        self._lock = threading.Lock()
        self._open = 0
        self._sessions: dict[str, int] = defaultdict(int)
        self._cases: dict[str, int] = defaultdict(int)

    def enter(self, case_key: str, session_key: str) -> Callable[[], None]:
        """Count a new stream, returning the function that ends it (idempotent).

        :raises StreamRefused: a cap is reached.
        """
        with self._lock:
            if self._sessions[session_key] >= self.per_session:
                raise StreamRefused("session")
            if self._cases[case_key] >= self.per_case:
                raise StreamRefused("case")
            if self.total and self._open >= self.total:
                raise StreamRefused("busy")
            self._open += 1
            self._sessions[session_key] += 1
            self._cases[case_key] += 1
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if released:
                    return
                released = True
                self._open -= 1
                for table, key in ((self._sessions, session_key), (self._cases, case_key)):
                    table[key] -= 1
                    if table[key] <= 0:
                        del table[key]

        return release

    def open_streams(self) -> int:
        """Return how many streams are open now."""
        with self._lock:
            return self._open


class GatedStream:
    """A response body that ends its stream's count when the server closes it, even unstarted.

    (A generator's ``finally`` never runs when it is closed before its first item.)
    """

    def __init__(self, body: Iterator[str], release: Callable[[], None]) -> None:
        """Wrap ``body``; ``release`` runs once, on close or exhaustion."""
        self.body = body
        self.release = release

    def __iter__(self) -> GatedStream:
        """Return itself."""
        return self

    def __next__(self) -> str:
        """Return the next piece of the stream; release when it ends."""
        try:
            return next(self.body)
        except BaseException:
            self.release()
            raise

    def close(self) -> None:
        """Close the stream and release its count."""
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.release()

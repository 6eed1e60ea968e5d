"""Live updates for a case (forms changed, requests, status): publish and wait with catch-up.

In one process an in-memory broker is enough; with ``REDIS_URL`` set, events go through
Redis so that several app processes serve the same case. Each event gets a sequence number
per channel, so a client that reconnects asks for everything after the last one it saw.
"""

from __future__ import annotations

import contextlib
import json
import logging
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


DELAYED_MESSAGE = "更新の配信が遅れています。画面の内容は、つながり次第自動で新しくなります。"
# What a stream tells its page while Redis is out of reach (never numbered: the page's
# catch-up position stays where it was).
DELAYED: dict[str, Any] = {"type": "delayed", "message": DELAYED_MESSAGE}
RETRY_SECONDS = 2.0  # how often a stream tries Redis again while it is down

log = logging.getLogger(__name__)


class RedisBroker:
    """A broker over Redis: INCR for sequence numbers, a capped list for catch-up, pub/sub
    to wake waiters in every process.

    Redis going away must not take pages or answers with it (issue #18, Medium 8): an
    answer is committed to the database before it is announced, so a failed announcement
    is logged and the answer still reported saved; a page rendered meanwhile starts its
    stream from 0; a waiting stream hears ``DELAYED`` and tries again every few seconds,
    and the listener thread reconnects by itself.
    """

    def __init__(self, url: str, keep: int = KEEP) -> None:
        """Prepare the connection to Redis at ``url`` and start this process's listener."""
        import redis  # imported here: only deployments with REDIS_URL need it

        # Short timeouts: a Redis that stopped answering must fail fast, not hold a thread.
        self._redis = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        self._errors: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, OSError)
        self._keep = keep
        # Every answer publishes: one round trip that numbers, logs and announces the
        # event at once (no window where the number exists but the log entry does not).
        self._publish = self._redis.register_script(_PUBLISH)
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="live-redis", daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        """Wake waiters on every announcement; reconnect (and resubscribe) when Redis fails."""
        while not self._stopping.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.psubscribe("kakanai:live:*")
                while not self._stopping.is_set():
                    if pubsub.get_message(timeout=0.5) is not None:
                        with self._cond:
                            self._cond.notify_all()
            except self._errors as error:
                log.warning("live: Redis listener lost its connection (%s); retrying", error)
                self._stopping.wait(RETRY_SECONDS)
            finally:
                with contextlib.suppress(*self._errors):
                    pubsub.close()

    def close(self) -> None:
        """Stop the listener thread and close the connection."""
        self._stopping.set()
        self._thread.join(timeout=5)  # the listener must stop reading before its socket closes
        self._redis.close()

    def publish(self, channel: str, event: dict[str, Any]) -> int:
        """Number the event, keep it in the channel's capped log, and announce it.

        Returns 0 when Redis cannot be reached: the change is already committed, pages
        catch up when their stream is back (they are told to reload everything).
        """
        key = f"kakanai:live:{channel}"
        body = json.dumps(event, ensure_ascii=False)
        try:
            return int(
                self._publish(keys=[key, f"{key}:seq", f"{key}:log"], args=[body, self._keep])
            )
        except self._errors as error:
            log.warning("live: event on %s not delivered, Redis unreachable (%s)", channel, error)
            return 0

    def latest(self, channel: str) -> int:
        """Return the last sequence number published on a channel (0 when none or unknown)."""
        try:
            return int(self._redis.get(f"kakanai:live:{channel}:seq") or 0)
        except self._errors as error:
            log.warning("live: latest event of %s unknown, Redis unreachable (%s)", channel, error)
            return 0

    def _read(self, channel: str, after: int) -> list[Event] | None:
        key = f"kakanai:live:{channel}"
        latest = int(self._redis.get(f"{key}:seq") or 0)
        if latest <= after:
            return None
        kept = [tuple(json.loads(raw)) for raw in self._redis.lrange(f"{key}:log", 0, -1)]
        if kept and after < kept[0][0] - 1:
            return _resync(latest)
        return [(int(seq), event) for seq, event in kept if seq > after]

    def wait(self, channel: str, after: int, timeout: float) -> list[Event]:
        """Return the events after ``after``, waiting up to ``timeout`` seconds for one.

        While Redis cannot be reached: ``[(after, DELAYED)]`` after a pause of up to
        ``RETRY_SECONDS``, so the stream says so and tries again.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                found = self._read(channel, after)
            except self._errors:
                time.sleep(max(0.0, min(RETRY_SECONDS, deadline - time.monotonic())))
                return [(after, DELAYED)]
            if found is not None:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            with self._cond:
                # Woken by the listener thread; the short cap covers a missed notification.
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

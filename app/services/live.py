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
from typing import Any, Protocol

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
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
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

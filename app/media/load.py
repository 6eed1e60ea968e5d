"""Under load, video gives way: senders are asked for less, so there is less to relay.

Audio must never break up, and audio is what suffers first when the media loop runs
late (every 20 ms frame waits its turn behind video work). So the loop's own lateness is
the load signal, whatever causes it (our calls, or other work on the machine): a watcher
sleeps a few milliseconds at a time and measures how late it wakes. When the loop is late
for two seconds in a row, video steps down one level; after ten calm seconds it steps back
up.

The server forwards video as it was encoded (``passthrough.py``), so it does not scale
pictures itself: a level caps the bitrate the server tells each video sender to use (its
REMB feedback). The server's work is per packet, so fewer bits is less work; browsers
fit the cap by lowering their resolution, then their frame rate. Senders that ignore
REMB (the benchmark's pre-encoded clients) are not slowed down.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoLevel:
    """How much video each sender is asked for: at most ``max_bitrate`` bit/s (None: any)."""

    max_bitrate: int | None


LEVELS = (
    VideoLevel(max_bitrate=None),  # what the sender's own estimate allows (640×480: ~1 Mbit/s)
    VideoLevel(max_bitrate=500_000),  # browsers drop to about 480×360
    VideoLevel(max_bitrate=250_000),  # about 320×240, and fewer frames
)

TICK = 0.02  # seconds the watcher sleeps
LATE = 0.015  # a tick this late (p90 over a second) means the loop is overloaded
CALM = 0.004  # below this for CALM_SECONDS, the loop has room again
LATE_SECONDS = 2
CALM_SECONDS = 10


class LoadGovernor:
    """Watch the media loop's lateness and set the video level every call asks senders for."""

    def __init__(self) -> None:
        self.level_index = 0
        self.late_seconds = 0
        self.calm_seconds = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def level(self) -> VideoLevel:
        """The video level calls ask senders for now."""
        return LEVELS[self.level_index]

    def start(self) -> None:
        """Start watching (on the running media loop; idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._watch())

    async def stop(self) -> None:
        """Stop watching."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            lags = []
            second_ends = loop.time() + 1.0
            while loop.time() < second_ends:
                asleep = loop.time()
                await asyncio.sleep(TICK)
                lags.append(loop.time() - asleep - TICK)
            lags.sort()
            self.observe(lags[int(len(lags) * 0.9)])

    def observe(self, lateness: float) -> None:
        """Account one second whose 90th-percentile lateness was ``lateness`` seconds."""
        if lateness > LATE:
            self.late_seconds, self.calm_seconds = self.late_seconds + 1, 0
        elif lateness < CALM:
            self.late_seconds, self.calm_seconds = 0, self.calm_seconds + 1
        else:
            self.late_seconds = self.calm_seconds = 0
        if self.late_seconds >= LATE_SECONDS and self.level_index < len(LEVELS) - 1:
            self.level_index += 1
            self.late_seconds = 0
            log.warning("media: loop running late; video senders asked for %s", self.level)
        elif self.calm_seconds >= CALM_SECONDS and self.level_index > 0:
            self.level_index -= 1
            self.calm_seconds = 0
            log.info("media: load eased; video senders allowed %s", self.level)

"""The server's own media tracks: what it sends to each side, and the scanning tap.

``Feed`` is what the server sends to one side of a call: the other side's relayed audio or
video while they are connected, and silence or a black picture while they are not (so the
connection is up and ready the moment the other side arrives, and a drop on one side never
renegotiates the other). ``FrameTap`` reads the resident's video and keeps only the latest
frame for scanning and document stills.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from typing import Any

import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame

from app.media.load import LEVELS, LoadGovernor

log = logging.getLogger(__name__)

VIDEO_CLOCK = 90_000  # RTP clock of video
AUDIO_RATE = 48_000  # Opus runs at 48 kHz
AUDIO_PTIME = 0.020  # 20 ms per audio frame, as browsers send
FILLER_FPS = 5  # a black picture needs no more
# Resynchronise with a source whose clock jumps by more than this (RTP wrap, a new sender).
MAX_JUMP_SECONDS = 1.0


def _black_frame(width: int = 320, height: int = 240) -> VideoFrame:
    frame = VideoFrame.from_ndarray(np.zeros((height, width, 3), np.uint8), format="bgr24")
    return frame.reformat(format="yuv420p")


def _silence() -> AudioFrame:
    samples = int(AUDIO_RATE * AUDIO_PTIME)
    frame = AudioFrame(format="s16", layout="stereo", samples=samples)
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    frame.sample_rate = AUDIO_RATE
    return frame


class Feed(MediaStreamTrack):
    """Send the other side's relayed track while there is one, filler until then.

    Timestamps are rewritten onto this feed's own clock, so the receiver sees one
    continuous stream across the other side's arrivals, drops and reconnects; the
    source's own spacing is kept, so a gap in what it sent stays a gap.
    """

    def __init__(self, kind: str, governor: LoadGovernor | None = None) -> None:
        super().__init__()
        self.kind = kind
        self._governor = governor
        self._next_due: int | None = None  # source pts from which the next frame is sent
        self._rate = VIDEO_CLOCK if kind == "video" else AUDIO_RATE
        self._time_base = fractions.Fraction(1, self._rate)
        self._started = time.monotonic()
        self._source: MediaStreamTrack | None = None
        self._offset: int | None = None
        self._source_pts: int | None = None  # the source's last pts, on our clock's scale
        self._last_pts = -1
        self._make_filler = _black_frame if kind == "video" else _silence
        self._filler_step = (
            self._rate // FILLER_FPS if kind == "video" else int(self._rate * AUDIO_PTIME)
        )
        self.frames_relayed = 0

    @property
    def source(self) -> MediaStreamTrack | None:
        """The relayed track being sent, or None while the other side is away."""
        return self._source

    def set_source(self, track: MediaStreamTrack | None) -> None:
        """Send ``track`` from the next frame on (None: go back to filler)."""
        # The previous source is not stopped here: recv() may be waiting on it, and it
        # either delivers one more frame or ends; recv() lets go of it then.
        self._source, self._offset, self._source_pts = track, None, None

    def stop(self) -> None:
        if self._source is not None:
            self._source.stop()
            self._source = None
        super().stop()

    def _now(self) -> int:
        return int((time.monotonic() - self._started) * self._rate)

    async def recv(self) -> Any:
        if self.readyState != "live":
            raise MediaStreamError
        while (source := self._source) is not None:
            try:
                frame: Any = await source.recv()
            except MediaStreamError:  # the other side left: back to filler
                if self._source is source:
                    self._source = None
                continue
            if self._source is not source:
                source.stop()  # replaced while we waited: unsubscribe from the old one
                continue
            if self.kind == "video":
                frame = self._fit(frame)
                if frame is None:
                    continue
            self.frames_relayed += 1
            return self._restamp(frame)
        return await self._next_filler()

    def _fit(self, frame: VideoFrame) -> VideoFrame | None:
        """Apply the load level: drop frames above its rate, shrink frames above its width."""
        level = self._governor.level if self._governor is not None else LEVELS[0]
        if level.max_fps < 30 and frame.time_base and frame.pts is not None:
            pts = int(frame.pts * frame.time_base * VIDEO_CLOCK)
            interval = VIDEO_CLOCK // level.max_fps
            if self._next_due is None or abs(pts - self._next_due) > VIDEO_CLOCK:
                self._next_due = pts
            if pts < self._next_due:
                return None
            self._next_due += interval
        if frame.width > level.max_width:
            height = round(frame.height * level.max_width / frame.width / 2) * 2
            resized = frame.reformat(width=level.max_width, height=height)
            resized.pts, resized.time_base = frame.pts, frame.time_base
            return resized
        return frame

    def _restamp(self, frame: Any) -> Any:
        # Each relayed frame has exactly one Feed reading it (the tap ignores pts), so
        # rewriting the timestamp in place is safe.
        pts = round(frame.pts * frame.time_base * self._rate) if frame.time_base else 0
        # Anchor the source on our clock when it starts and when its own clock jumps
        # (RTP wrap, a new sender); never because it runs late: re-anchoring a late
        # stream would put a gap in the timestamps, i.e. cut out audio at the receiver.
        if (
            self._offset is None
            or self._source_pts is None
            or abs(pts - self._source_pts) > MAX_JUMP_SECONDS * self._rate
        ):
            self._offset = max(self._now(), self._last_pts + 1) - pts
        self._source_pts = pts
        frame.pts = max(pts + self._offset, self._last_pts + 1)
        frame.time_base = self._time_base
        self._last_pts = frame.pts
        return frame

    async def _next_filler(self) -> Any:
        pts = 0 if self._last_pts < 0 else self._last_pts + self._filler_step
        now = self._now()
        if pts < now - self._filler_step:  # we were away (relaying): start from now
            pts = now
        wait = (pts - now) / self._rate
        if wait > 0:
            await asyncio.sleep(wait)
        frame = self._make_filler()
        frame.pts = pts
        frame.time_base = self._time_base
        self._last_pts = pts
        return frame


class FrameTap:
    """Read the resident's video and keep only its latest frame (for scans and stills).

    The frame is kept as decoded (no copy, no colour conversion); turning it into an
    image is left to whoever asks, off the event loop.
    """

    def __init__(self, track: MediaStreamTrack) -> None:
        self._track = track
        self.latest: VideoFrame | None = None
        self.received_at = 0.0
        self.count = 0
        self._new_frame = asyncio.Event()
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        try:
            while True:
                self.latest = await self._track.recv()  # type: ignore[assignment]
                self.received_at = time.monotonic()
                self.count += 1
                self._new_frame.set()
        except MediaStreamError:
            pass  # the resident's video ended

    @property
    def live(self) -> bool:
        """Whether frames are still coming."""
        return not self._task.done()

    async def next_frame(self, after: int, timeout: float) -> VideoFrame | None:
        """Wait at most ``timeout`` s for a frame newer than frame number ``after``."""
        deadline = time.monotonic() + timeout
        while self.count <= after and self.live:
            self._new_frame.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(self._new_frame.wait(), remaining)
            except TimeoutError:
                return None
        return self.latest if self.count > after else None

    def cancel(self) -> None:
        """Stop reading (without waiting for the reader to finish)."""
        self._track.stop()
        self._task.cancel()

    async def stop(self) -> None:
        """Stop reading and wait until the reader has finished."""
        self.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

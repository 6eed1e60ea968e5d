"""The server's own media tracks: what it sends to each side, and the scanning tap.

``Feed`` is what the server sends to one side of a call: the other side's audio or video
while they are connected, forwarded as the encoded packets they sent (see
``passthrough.py``), and silence or a black picture while they are not (so the
connection is up and ready the moment the other side arrives, and a drop on one side
never renegotiates the other). ``FrameTap`` decodes the resident's video, only while a
scan or a document still wants pixels, and keeps the latest frame.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import VideoFrame

from app.media.audio import AudioPacketMeta

log = logging.getLogger(__name__)

VIDEO_CLOCK = 90_000  # RTP clock of video
AUDIO_RATE = 48_000  # Opus runs at 48 kHz
AUDIO_PTIME = 0.020  # 20 ms per audio frame, as browsers send
FILLER_FPS = 5  # a black picture needs no more
# Resynchronise with a source whose clock jumps by more than this (RTP wrap, a new sender).
MAX_JUMP_SECONDS = 1.0
# Video further behind than this (the loop was late, packets piled up in the relay) is
# skipped up to the next keyframe: a picture a second old is no use in a conversation.
MAX_VIDEO_LAG_SECONDS = 1.0
# A tap keeps decoding this long after the last scan or still asked for a frame, so that
# staff scanning again (the usual case: the card was not held still) get a frame at once.
TAP_IDLE_SECONDS = 10.0
SILENCE_DBOV = -127  # RFC 6465's level of digital silence
# A feed waiting for a keyframe asks at most this often (the sender needs a round trip
# and an encode to answer; asking again for every frame in between only adds load).
KEYFRAME_REQUEST_INTERVAL = 0.5

KeyframeRequest = Callable[[], None]


def _black_frame(width: int = 320, height: int = 240) -> VideoFrame:
    frame = VideoFrame.from_ndarray(np.zeros((height, width, 3), np.uint8), format="bgr24")
    return frame.reformat(format="yuv420p")


@cache
def _opus_silence() -> bytes:
    """Return one 20 ms Opus packet of stereo silence (encoded once per process)."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.format, codec.layout = AUDIO_RATE, "s16", "stereo"
    codec.time_base = fractions.Fraction(1, AUDIO_RATE)
    samples = int(AUDIO_RATE * AUDIO_PTIME)
    packets: list[av.Packet[Any]] = []
    for _ in range(4):  # the encoder's look-ahead: the first packets may be empty
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 2 * samples), np.int16), format="s16", layout="stereo"
        )
        frame.sample_rate = AUDIO_RATE
        packets += codec.encode(frame)
    return bytes(packets[-1])


def _silence() -> av.Packet[Any]:
    # Sent as an encoded packet like the relayed audio, so that every audio packet this
    # feed sends goes through the sender's pack() and carries this feed's timestamps.
    return av.Packet(_opus_silence())


def _is_keyframe(item: Any) -> bool:
    if isinstance(item, av.Packet):
        return bool(item.is_keyframe)
    return bool(getattr(item, "key_frame", True))


class Feed(MediaStreamTrack):
    """Send the other side's track while there is one, filler until then.

    Timestamps are rewritten onto this feed's own clock, so the receiver sees one
    continuous stream across the other side's arrivals, drops and reconnects; the
    source's own spacing is kept, so a gap in what it sent stays a gap. Video is
    forwarded from a keyframe on (the receiver cannot decode anything before one), and
    the receiver's keyframe requests are passed upstream to the other side.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._rate = VIDEO_CLOCK if kind == "video" else AUDIO_RATE
        self._time_base = fractions.Fraction(1, self._rate)
        self._started = time.monotonic()
        self._source: MediaStreamTrack | None = None
        self._upstream: KeyframeRequest | None = None
        self._offset: int | None = None
        self._source_pts: int | None = None  # the source's last pts, on our clock's scale
        self._last_pts = -1
        self._await_keyframe = kind == "video"
        self._last_keyframe_request = -KEYFRAME_REQUEST_INTERVAL
        self._relayed_since_filler = False
        self._make_filler: Callable[[], Any] = _black_frame if kind == "video" else _silence
        self._filler_step = (
            self._rate // FILLER_FPS if kind == "video" else int(self._rate * AUDIO_PTIME)
        )
        self.frames_relayed = 0
        self.frames_skipped = 0
        # The level (dBov) of the audio packet last sent, as the other side measured it.
        self.audio_level: int | None = None
        # Audio keeps the source's sequence numbers at a fixed offset (set when a source
        # starts), so a packet lost or reordered upstream stays visible downstream.
        self._sequence_offset: int | None = None
        self._last_sequence = -1

    @property
    def source(self) -> MediaStreamTrack | None:
        """The relayed track being sent, or None while the other side is away."""
        return self._source

    def set_source(
        self, track: MediaStreamTrack | None, request_keyframe: KeyframeRequest | None = None
    ) -> None:
        """Send ``track`` from the next frame (video: keyframe) on; None: back to filler.

        ``request_keyframe`` asks the track's sender for a keyframe (RTCP PLI).
        """
        # The previous source is not stopped here: recv() may be waiting on it, and it
        # either delivers one more frame or ends; recv() lets go of it then.
        self._source, self._offset, self._source_pts = track, None, None
        self._sequence_offset = None
        self._upstream = request_keyframe
        self._await_keyframe = self.kind == "video"
        self._last_keyframe_request = -KEYFRAME_REQUEST_INTERVAL  # a new source: ask now
        if track is not None:
            self.request_keyframe()

    def request_keyframe(self) -> None:
        """Pass a keyframe request on to the sender of what this feed relays (not too often)."""
        now = time.monotonic()
        if self._upstream is None or self._source is None:
            return
        if now - self._last_keyframe_request < KEYFRAME_REQUEST_INTERVAL:
            return
        self._last_keyframe_request = now
        self._upstream()

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
            if self._await_keyframe:
                if not _is_keyframe(frame):
                    self.frames_skipped += 1
                    self.request_keyframe()
                    continue
                self._await_keyframe = False
            restamped = self._restamp(frame)
            if self.kind == "video" and self._lag() > MAX_VIDEO_LAG_SECONDS * self._rate:
                # Behind: skip to the next keyframe, on the clock again from there.
                self._await_keyframe, self._offset = True, None
                self.frames_skipped += 1
                self.request_keyframe()
                continue
            self.frames_relayed += 1
            self._relayed_since_filler = True
            if self.kind == "audio":
                self._number(restamped)
            return restamped
        return await self._next_filler()

    def _number(self, packet: Any) -> None:
        """Give a relayed audio packet its sequence number and level for the sender."""
        meta = getattr(packet, "opaque", None)
        if not isinstance(meta, AudioPacketMeta):  # a decoded frame (tests): count on
            meta = AudioPacketMeta(self._last_sequence + 1 - (self._sequence_offset or 0))
        if self._sequence_offset is None:
            self._sequence_offset = self._last_sequence + 1 - meta.sequence
        sequence = meta.sequence + self._sequence_offset
        self._last_sequence = max(self._last_sequence, sequence)
        level = meta.audio_level  # (voice, -dBov) as the speaker's browser measured it
        self.audio_level = -level[1] if level is not None else None
        packet.opaque = AudioPacketMeta(sequence, level)

    def _lag(self) -> int:
        """How far (in clock units) the last sent frame is behind the feed's clock."""
        return self._now() - self._last_pts

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
            self._sequence_offset = None  # a new stream: its numbers start afresh too
        self._source_pts = pts
        if self.kind == "audio":
            # Packet by packet: a late packet keeps its earlier timestamp (the receiver
            # reorders it); only video frames must go out in increasing order.
            frame.pts = pts + self._offset
        else:
            frame.pts = max(pts + self._offset, self._last_pts + 1)
        frame.time_base = self._time_base
        self._last_pts = max(self._last_pts, frame.pts)
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
        if self._relayed_since_filler and self.kind == "video":
            # The receiver's decoder last saw the other side's stream: start the black
            # picture with a keyframe, not a difference from a picture it never had.
            frame.pict_type = av.video.frame.PictureType.I
        self._relayed_since_filler = False
        self.audio_level = SILENCE_DBOV
        if self.kind == "audio":
            self._last_sequence += 1
            frame.opaque = AudioPacketMeta(self._last_sequence, (False, -SILENCE_DBOV))
        frame.pts = pts
        frame.time_base = self._time_base
        self._last_pts = pts
        return frame


class FrameTap:
    """Decode the resident's video while a scan or a still wants it; keep the latest frame.

    The relay hands the tap every encoded packet; while nobody has asked for a frame for
    ``TAP_IDLE_SECONDS`` they are dropped unread (decoding costs as much as relaying a
    whole call). Asking (``want``) starts decoding from the next keyframe, requested at
    once from the resident's browser, in a thread of the tap's own (never on the event
    loop, in order: each VP8 frame builds on the one before). Frames are kept as decoded
    (no copy, no colour conversion); turning one into an image is left to whoever asks,
    off the event loop.
    """

    def __init__(
        self,
        track: MediaStreamTrack,
        request_keyframe: KeyframeRequest | None = None,
        idle_after: float = TAP_IDLE_SECONDS,
    ) -> None:
        self._track = track
        self._request_keyframe = request_keyframe
        self._idle_after = idle_after
        self.latest: VideoFrame | None = None
        self.received_at = 0.0
        self.count = 0
        self.decoded_packets = 0
        self._wanted_until = 0.0
        self._decoder: Any = None  # a VP8 decoder; None: wait for a keyframe
        self._thread: ThreadPoolExecutor | None = None
        self._loop = asyncio.get_running_loop()
        self._new_frame = asyncio.Event()
        self._task = asyncio.ensure_future(self._run())

    @property
    def active(self) -> bool:
        """Whether the tap is decoding (someone asked for a frame not long ago)."""
        return time.monotonic() < self._wanted_until

    def want(self) -> int:
        """Keep decoding for a while; return the frame number after which frames are fresh."""
        fresh = self.active and self.latest is not None
        self._wanted_until = time.monotonic() + self._idle_after
        if self._decoder is None:
            self._ask_keyframe()
        return max(self.count - 1, 0) if fresh else self.count

    def _ask_keyframe(self) -> None:
        if self._request_keyframe is not None:
            self._request_keyframe()

    async def _run(self) -> None:
        try:
            while True:
                packet: Any = await self._track.recv()
                if not self.active:
                    self._decoder = None  # resume from a keyframe next time
                    continue
                if self._decoder is None:
                    if not packet.is_keyframe:
                        continue
                    self._decoder = av.CodecContext.create("libvpx", "r")
                if self._thread is None:
                    self._thread = ThreadPoolExecutor(1, thread_name_prefix="media-tap")
                self._thread.submit(self._decode, self._decoder, packet)
        except MediaStreamError:
            pass  # the resident's video ended
        finally:
            if self._thread is not None:
                self._thread.shutdown(wait=False, cancel_futures=True)

    def _decode(self, decoder: Any, packet: av.Packet[Any]) -> None:
        # In the tap's thread.
        try:
            frames = decoder.decode(packet)
        except av.FFmpegError as error:
            log.info("media: tap could not decode a frame (%s); waiting for a keyframe", error)
            self._loop.call_soon_threadsafe(self._restart, decoder)
            return
        self.decoded_packets += 1
        for frame in frames:
            self._loop.call_soon_threadsafe(self._deliver, frame)

    def _restart(self, decoder: Any) -> None:
        if self._decoder is decoder:
            self._decoder = None
            self._ask_keyframe()

    def _deliver(self, frame: VideoFrame) -> None:
        self.latest = frame
        self.received_at = time.monotonic()
        self.count += 1
        self._new_frame.set()

    @property
    def live(self) -> bool:
        """Whether frames are still coming."""
        return not self._task.done()

    async def next_frame(self, after: int, timeout: float) -> VideoFrame | None:
        """Wait at most ``timeout`` s for a frame newer than frame number ``after``."""
        deadline = time.monotonic() + timeout
        while self.count <= after and self.live:
            self._wanted_until = max(self._wanted_until, time.monotonic() + self._idle_after)
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

"""The server's feeds and the scanning tap, on their own (no network)."""

from __future__ import annotations

import asyncio
import fractions

import numpy as np
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame

from app.media.tracks import Feed, FrameTap


class Source(MediaStreamTrack):
    """A remote side's track: frames put in by the test, None when it leaves."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.queue: asyncio.Queue = asyncio.Queue()

    async def recv(self):
        frame = await self.queue.get()
        if frame is None:
            self.stop()
            raise MediaStreamError
        return frame


def video(pts: int, shade: int = 200) -> VideoFrame:
    frame = VideoFrame.from_ndarray(np.full((48, 64, 3), shade, np.uint8), format="bgr24")
    frame.pts, frame.time_base = pts, fractions.Fraction(1, 90_000)
    return frame


def test_a_feed_sends_black_until_the_other_side_arrives_and_after_it_leaves():
    async def scenario():
        feed, source, relay = Feed("video"), Source("video"), MediaRelay()
        before = await feed.recv()
        feed.set_source(relay.subscribe(source, buffered=False))
        # The remote clock starts anywhere (RTP timestamps start at random).
        await source.queue.put(video(4_000_000_000))
        relayed = await feed.recv()
        await source.queue.put(video(4_000_000_000 + 3000))
        relayed2 = await feed.recv()
        await source.queue.put(None)  # the other side hangs up
        after = await feed.recv()
        feed.stop()
        return before, relayed, relayed2, after

    before, relayed, relayed2, after = asyncio.run(scenario())
    assert before.to_ndarray(format="bgr24").max() < 20  # black
    assert relayed.to_ndarray(format="bgr24").mean() > 150  # the other side's picture
    assert after.to_ndarray(format="bgr24").max() < 20
    # One continuous clock for the receiver, keeping the source's own spacing.
    assert before.pts < relayed.pts < relayed2.pts < after.pts
    assert relayed2.pts - relayed.pts == 3000
    assert relayed.time_base == fractions.Fraction(1, 90_000)


def test_an_audio_feed_sends_20ms_of_silence_at_a_time():
    async def scenario():
        feed = Feed("audio")
        frames = [await feed.recv() for _ in range(3)]
        feed.stop()
        return frames

    frames = asyncio.run(scenario())
    assert all(isinstance(f, AudioFrame) and f.samples == 960 for f in frames)
    assert [f.pts for f in frames] == [0, 960, 1920]
    assert not any(np.asarray(f.to_ndarray()).any() for f in frames)


def test_the_tap_keeps_only_the_latest_frame():
    async def scenario():
        source = Source("video")
        tap = FrameTap(source)
        for shade in (10, 20, 30):
            await source.queue.put(video(shade, shade))
        frame = await tap.next_frame(after=2, timeout=2)
        none_newer = await tap.next_frame(after=tap.count, timeout=0.1)
        await tap.stop()
        return frame, none_newer, tap.count

    frame, none_newer, count = asyncio.run(scenario())
    assert count == 3
    assert abs(int(frame.to_ndarray(format="bgr24").mean()) - 30) <= 2
    assert none_newer is None


def test_under_load_a_video_feed_sends_smaller_and_fewer_frames():
    from app.media.load import LEVELS, LoadGovernor

    async def scenario():
        governor = LoadGovernor()
        governor.level_index = len(LEVELS) - 1  # the most degraded level
        feed, source = Feed("video", governor), Source("video")
        feed.set_source(source)
        for i in range(30):  # one second at 30 fps, 640×480
            frame = VideoFrame.from_ndarray(np.zeros((480, 640, 3), np.uint8), format="bgr24")
            frame.pts, frame.time_base = i * 3000, fractions.Fraction(1, 90_000)
            await source.queue.put(frame)
        await source.queue.put(None)
        sent = []
        while (frame := await feed.recv()) and feed.source is not None:
            sent.append(frame)
        feed.stop()
        return sent, LEVELS[-1]

    sent, level = asyncio.run(scenario())
    assert all((f.width, f.height) == (level.max_width, 240) for f in sent)
    assert len(sent) == level.max_fps


def test_the_governor_steps_video_down_fast_and_back_up_slowly():
    from app.media.load import CALM_SECONDS, LATE_SECONDS, LoadGovernor

    governor = LoadGovernor()
    for _ in range(LATE_SECONDS):
        governor.observe(0.05)
    assert governor.level_index == 1
    for _ in range(LATE_SECONDS):
        governor.observe(0.05)
    assert governor.level_index == 2
    governor.observe(0.05)
    governor.observe(0.05)
    assert governor.level_index == 2  # no lower level
    for _ in range(CALM_SECONDS - 1):
        governor.observe(0.001)
    assert governor.level_index == 2
    governor.observe(0.001)
    assert governor.level_index == 1


def test_late_audio_keeps_its_timestamps_contiguous():
    # Under load audio may arrive late; cutting the lateness out of the timestamps
    # would make the receiver skip audio. Only a jump in the source's own clock resyncs.
    def audio(pts):
        frame = AudioFrame(format="s16", layout="stereo", samples=960)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate, frame.pts, frame.time_base = 48_000, pts, fractions.Fraction(1, 48_000)
        return frame

    async def scenario():
        feed, source = Feed("audio"), Source("audio")
        feed.set_source(source)
        await source.queue.put(audio(1000))
        first = (await feed.recv()).pts
        feed._started -= 5.0  # the feed's clock is now 5 s ahead: the source runs late
        await source.queue.put(audio(1960))
        late = (await feed.recv()).pts
        await source.queue.put(audio(1960 + 10 * 48_000))  # the sender's clock jumped
        jumped = (await feed.recv()).pts
        feed.stop()
        return first, late, jumped

    first, late, jumped = asyncio.run(scenario())
    assert late - first == 960
    assert jumped - late < 6 * 48_000  # re-anchored on the feed's clock, not +10 s

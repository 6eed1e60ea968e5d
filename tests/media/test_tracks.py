"""The server's feeds and the scanning tap, on their own (no network)."""

from __future__ import annotations

import asyncio
import fractions
from functools import partial

import av
import numpy as np
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame

from app.media.passthrough import is_vp8_keyframe
from app.media.tracks import KEYFRAME_REQUEST_INTERVAL, Feed, FrameTap


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


def vp8(shades: list[int], keyframes: set[int] = frozenset({0})) -> list[av.Packet]:
    """Encode one 64×48 frame of each shade (VP8, as a browser sends), 30 fps, from pts 0.

    Frames at the indices in ``keyframes`` are keyframes, the others depend on them.
    """
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = 64, 48, "yuv420p"
    codec.time_base = fractions.Fraction(1, 90_000)
    codec.options = {"deadline": "realtime", "lag-in-frames": "0"}
    packets = []
    for i, shade in enumerate(shades):
        frame = VideoFrame.from_ndarray(np.full((48, 64, 3), shade, np.uint8), format="bgr24")
        frame = frame.reformat(format="yuv420p")
        frame.pts, frame.time_base = i * 3000, codec.time_base
        if i in keyframes:
            frame.pict_type = av.video.frame.PictureType.I
        packets += codec.encode(frame)
    for packet in packets:  # as passthrough.py hands them over
        packet.is_keyframe = is_vp8_keyframe(bytes(packet))
    return packets


def shade_of(packets: list[av.Packet]) -> int:
    """Decode packets (from a keyframe) and return the mean shade of the last picture."""
    codec = av.CodecContext.create("libvpx", "r")
    frames = [f for p in packets for f in codec.decode(p)]
    return int(frames[-1].to_ndarray(format="bgr24").mean())


def test_a_feed_sends_black_until_the_other_side_arrives_and_after_it_leaves():
    async def scenario():
        feed, source, relay = Feed("video"), Source("video"), MediaRelay()
        before = await feed.recv()
        feed.set_source(relay.subscribe(source, buffered=True))
        first, second = vp8([200, 200])
        first.pts += 4_000_000_000  # the remote clock starts anywhere (RTP: at random)
        second.pts += 4_000_000_000
        await source.queue.put(first)
        relayed = await feed.recv()
        await source.queue.put(second)
        relayed2 = await feed.recv()
        await source.queue.put(None)  # the other side hangs up
        after = await feed.recv()
        feed.stop()
        return before, relayed, relayed2, after

    before, relayed, relayed2, after = asyncio.run(scenario())
    assert before.to_ndarray(format="bgr24").max() < 20  # black
    # The other side's picture, forwarded as it was encoded.
    assert isinstance(relayed, av.Packet)
    assert abs(shade_of([relayed, relayed2]) - 200) <= 3
    assert after.to_ndarray(format="bgr24").max() < 20
    # The receiver's decoder last saw the other side: black starts with a keyframe.
    assert after.pict_type == av.video.frame.PictureType.I
    # One continuous clock for the receiver, keeping the source's own spacing.
    assert before.pts < relayed.pts < relayed2.pts < after.pts
    assert relayed2.pts - relayed.pts == 3000
    assert relayed.time_base == fractions.Fraction(1, 90_000)


def test_a_feed_forwards_video_from_a_keyframe_on_and_asks_upstream_for_one():
    requests = []

    async def scenario():
        feed, source = Feed("video"), Source("video")
        packets = vp8([50, 60, 70, 80, 90], keyframes={0, 3})
        feed.set_source(source, request_keyframe=lambda: requests.append("pli"))
        asked_on_arrival = len(requests)
        for packet in packets[1:]:  # joined mid-stream: the first keyframe was missed
            await source.queue.put(packet)
        sent = [await feed.recv(), await feed.recv()]
        asked_while_skipping = len(requests)
        feed._last_keyframe_request -= KEYFRAME_REQUEST_INTERVAL  # time passes
        feed.request_keyframe()  # the receiver lost picture data and asks for a keyframe
        feed.request_keyframe()  # and again at once: not passed on twice
        feed.stop()
        return asked_on_arrival, asked_while_skipping, sent, feed.frames_skipped

    asked_on_arrival, asked_while_skipping, sent, skipped = asyncio.run(scenario())
    assert asked_on_arrival == 1
    assert skipped == 2  # the two frames before the keyframe could not be decoded
    assert asked_while_skipping == 1  # the sender is answering already: not asked again
    assert sent[0].is_keyframe and abs(shade_of(sent) - 90) <= 3
    assert len(requests) == 2  # the receiver's request was passed on, once


def test_a_feed_that_falls_behind_skips_to_the_next_keyframe():
    async def scenario():
        feed, source = Feed("video"), Source("video")
        feed.set_source(source)
        packets = vp8([10, 20, 30, 40], keyframes={0, 2})
        await source.queue.put(packets[0])
        first = await feed.recv()
        feed._started -= 5.0  # the feed's clock is now 5 s ahead: packets piled up
        for packet in packets[1:]:
            await source.queue.put(packet)
        caught_up = await feed.recv()
        feed.stop()
        return first, caught_up, feed.frames_skipped

    first, caught_up, skipped = asyncio.run(scenario())
    assert caught_up.is_keyframe and abs(shade_of([caught_up]) - 30) <= 3
    assert skipped == 1
    assert caught_up.pts - first.pts > 4 * 90_000  # on the feed's clock again


def test_an_audio_feed_sends_20ms_of_silence_at_a_time():
    async def scenario():
        feed = Feed("audio")
        packets = [await feed.recv() for _ in range(3)]
        feed.stop()
        return packets

    packets = asyncio.run(scenario())
    assert [p.pts for p in packets] == [0, 960, 1920]
    decoder = av.CodecContext.create("libopus", "r")
    decoder.sample_rate, decoder.layout = 48_000, "stereo"
    frames = [f for p in packets for f in decoder.decode(p)]
    assert [f.samples for f in frames] == [960, 960, 960]
    assert not any(np.asarray(f.to_ndarray()).any() for f in frames)


def test_the_tap_decodes_only_while_wanted_and_keeps_the_latest_frame():
    requests = []

    async def scenario():
        source = Source("video")
        tap = FrameTap(source, request_keyframe=lambda: requests.append("pli"))
        unwanted, wanted = vp8([10, 20]), vp8([100, 110, 120, 130], keyframes={0, 1})
        for packet in unwanted:
            await source.queue.put(packet)
        await asyncio.sleep(0.1)
        idle = (tap.decoded_packets, tap.count)
        seen = tap.want()
        await source.queue.put(wanted[2])  # not a keyframe: cannot start here
        for packet in wanted[3:]:
            await source.queue.put(packet)
        none_yet = await tap.next_frame(after=seen, timeout=0.2)
        for packet in vp8([140, 150, 160]):
            await source.queue.put(packet)
        frame = await tap.next_frame(after=seen + 2, timeout=2)
        none_newer = await tap.next_frame(after=tap.count, timeout=0.1)
        await tap.stop()
        return idle, seen, none_yet, frame, none_newer, tap.count

    idle, seen, none_yet, frame, none_newer, count = asyncio.run(scenario())
    assert idle == (0, 0)  # nobody asked: nothing decoded
    assert requests == ["pli"]  # asking started it from a keyframe, requested at once
    assert seen == 0 and none_yet is None
    assert count == 3
    assert abs(int(frame.to_ndarray(format="bgr24").mean()) - 160) <= 3
    assert none_newer is None


def test_under_load_video_senders_are_asked_for_less():
    from aiortc.rate import RemoteBitrateEstimator

    from app.media.load import LEVELS, LoadGovernor
    from app.media.passthrough import _CappedEstimator
    from app.media.peers import Call

    governor = LoadGovernor()
    call = Call(1, governor)
    estimator = _CappedEstimator(RemoteBitrateEstimator(), partial(call.bitrate_cap, "resident"))

    def remb(start_ms: int) -> int:
        """Feed 5 s of a 1 Mbit/s stream; return the last bitrate the sender would be told."""
        answers = []
        for now_ms in range(start_ms, start_ms + 5000, 10):  # 1200 bytes every 10 ms
            abs_send_time = (now_ms << 18) // 1000 & 0xFFFFFF  # 6.18 fixed-point seconds
            answer = estimator.add(
                arrival_time_ms=now_ms, abs_send_time=abs_send_time, payload_size=1200, ssrc=1
            )
            if answer is not None:
                answers.append(answer[0])
        return answers[-1]

    unloaded = remb(0)
    governor.level_index = len(LEVELS) - 1
    loaded = remb(5000)
    assert LEVELS[-1].max_bitrate is not None and LEVELS[-1].max_bitrate < unloaded
    assert loaded == LEVELS[-1].max_bitrate


def test_a_side_on_a_slow_link_is_sent_what_its_link_carries():
    from app.media.load import LEVELS, LoadGovernor
    from app.media.peers import Call

    governor = LoadGovernor()
    call = Call(1, governor)
    assert call.bitrate_cap("resident") is None  # nobody asked for less, no load
    call.downstream_bitrate["staff"] = 400_000  # staff's browser can take 400 kbit/s
    assert call.bitrate_cap("resident") == 400_000  # so the resident is asked for that
    assert call.bitrate_cap("staff") is None
    governor.level_index = len(LEVELS) - 1
    assert call.bitrate_cap("resident") == LEVELS[-1].max_bitrate  # load asks for less


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

"""The quality view: the server's numbers for the resident's leg, and audio first.

Real aiortc clients through the real endpoints. The resident's link loses a fifth of the
audio packets for good (first copies and resends): staff's view shows about 20 % loss and
turns red, with jitter, round trip, bitrate and the speaker's level. A resident whose
browser says it can take only 30 kbit/s of video (less than staff's camera sends, so the
bitrate the server asks of that camera falls) makes the server ask staff's camera to
pause (audio untouched: only video modes change) and both pages to show the notice; a
scan asks the resident's camera for its sharpest picture.
"""

from __future__ import annotations

import asyncio
import json
import struct
import time
import urllib.request

import numpy as np
from aiortc.mediastreams import VideoStreamTrack
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci
from av import VideoFrame

from app.media.quality import last_estimate, rate, video_mode
from tests.media.helpers import connect, wait_for
from tests.media.test_passthrough import Voice


def _quality(base_url: str, role: str, cookie: str) -> dict:
    request = urllib.request.Request(
        f"{base_url}/media/1/{role}/quality", headers={"Cookie": cookie}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Cache-Control"] == "no-store"
        return json.loads(response.read())


async def _ask(*args) -> dict:
    return await asyncio.get_running_loop().run_in_executor(None, _quality, *args)


def _lose_a_fifth_for_good(sender) -> None:
    transport = sender.transport
    send = transport._send_rtp

    async def lossy(wire: bytes) -> None:
        if len(wire) >= 12 and not 192 <= wire[1] <= 223:
            sequence, ssrc = struct.unpack("!H4xI", wire[2:12])
            if ssrc == sender._ssrc and sequence % 10 in (3, 7):
                return  # lost, and every resend of it too
        await send(wire)

    transport._send_rtp = lossy


def test_staff_see_the_residents_leg_in_numbers_and_colours(
    live_server, media, resident_cookie, staff_cookie
):
    async def scenario():
        staff = await connect(live_server, 1, "staff", staff_cookie)
        resident = await connect(live_server, 1, "resident", resident_cookie(1), audio=Voice())
        try:
            await wait_for(lambda: resident.pc.connectionState == "connected", 10)
            await asyncio.sleep(2.5)  # receiver reports (round trip) come every 0.5–1.5 s
            await _ask(live_server, "staff", staff_cookie)
            await asyncio.sleep(2)
            clean = (await _ask(live_server, "staff", staff_cookie))["resident"]
            sender = next(t.sender for t in resident.pc.getTransceivers() if t.kind == "audio")
            _lose_a_fifth_for_good(sender)
            await _ask(live_server, "staff", staff_cookie)
            await asyncio.sleep(3)
            lossy = (await _ask(live_server, "staff", staff_cookie))["resident"]
            mine = await _ask(live_server, "resident", resident_cookie(1))
        finally:
            await resident.close()
            await staff.close()
        return clean, lossy, mine

    clean, lossy, mine = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert clean["state"] == "connected" and clean["level"] == "green", clean
    assert clean["loss_pct"] == 0.0
    assert clean["rtt_ms"] is not None and 0 <= clean["rtt_ms"] < 300
    assert clean["jitter_ms"] is not None and clean["bitrate_kbps"] > 50
    assert clean["audio_level_dbov"] is not None and clean["audio_level_dbov"] > -60  # the tone
    assert 15 <= lossy["loss_pct"] <= 25, lossy
    assert lossy["level"] == "red"
    assert "resident" not in mine  # a resident's page gets only what its camera should do
    assert mine["you"]["send_video"] in ("full", "capped", "paused", "sharp")


class Busy(VideoStreamTrack):
    """A camera whose every picture is new (noise at 320x240): it needs real bitrate."""

    def __init__(self) -> None:
        super().__init__()
        self._rng = np.random.default_rng(19)

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        image = self._rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
        frame = VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts, frame.time_base = pts, time_base
        return frame


def _asked_of_staffs_camera(media) -> int | None:
    async def look(registry):
        return last_estimate(registry.calls[1].receivers["staff"].get("video"))

    return media._run(look, 5.0)


def test_a_slow_home_link_pauses_staffs_camera_not_audio_and_a_scan_sharpens_the_residents(
    live_server, media, resident_cookie, staff_cookie
):
    async def scenario():
        staff = await connect(live_server, 1, "staff", staff_cookie, video=Busy())
        resident = await connect(live_server, 1, "resident", resident_cookie(1))
        loop = asyncio.get_running_loop()
        try:
            await wait_for(lambda: resident.pc.connectionState == "connected", 10)
            # Staff's camera gets going: the bitrate asked of it climbs past what pausing needs.
            deadline = time.monotonic() + 20
            while (await loop.run_in_executor(None, _asked_of_staffs_camera, media) or 0) < 200_000:
                assert time.monotonic() < deadline, "staff's camera never got going"
                await asyncio.sleep(0.5)
            before = await _ask(live_server, "staff", staff_cookie)
            # The resident's browser says it can take only 30 kbit/s of video (REMB), as a
            # browser on a slow home link does; its own estimator is silenced.
            video = next(t.receiver for t in resident.pc.getTransceivers() if t.kind == "video")
            video._RTCRtpReceiver__remote_bitrate_estimator = None
            ssrcs = [s.source for s in video.getSynchronizationSources()]
            deadline = time.monotonic() + 15
            while True:
                await video._send_rtcp(
                    RtcpPsfbPacket(
                        fmt=RTCP_PSFB_APP,
                        ssrc=video._RTCRtpReceiver__rtcp_ssrc,
                        media_ssrc=0,
                        fci=pack_remb_fci(30_000, ssrcs),
                    )
                )
                staff_view = await _ask(live_server, "staff", staff_cookie)
                if staff_view["you"]["send_video"] == "paused" or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            resident_view = await _ask(live_server, "resident", resident_cookie(1))
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: media.request_scan(1, timeout=0.5, decoder=lambda image: [])
            )
            scanning = await _ask(live_server, "resident", resident_cookie(1))
        finally:
            await resident.close()
            await staff.close()
        return before, staff_view, resident_view, scanning

    before, staff_view, resident_view, scanning = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert before["you"] == {"send_video": "full", "notice": False}
    assert staff_view["you"] == {"send_video": "paused", "notice": True}, staff_view
    assert resident_view["you"]["notice"] is True
    assert scanning["you"]["send_video"] == "sharp"


def test_ratings_and_modes_at_their_thresholds():
    assert rate(0.0, 5.0, 40.0) == "green"
    assert rate(3.0, 5.0, 40.0) == "amber"
    assert rate(1.0, 5.0, 800.0) == "red"
    assert rate(None, None, None) == "green"  # nothing measured yet: no alarm
    assert video_mode(None) == "full"
    assert video_mode(600_000) == "full"
    assert video_mode(399_999) == "capped"
    assert video_mode(149_999) == "paused"
    assert video_mode(100_000, sharp=True) == "sharp"

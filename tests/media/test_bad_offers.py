"""Hostile or broken offers get a clear Japanese refusal and leave no half-open peer.

Each starts from a real aiortc offer (audio and video) and breaks one thing: no Opus,
only codecs nobody knows, SSRCs that do not fit in 32 bits, eight media sections. After each refusal a good
offer for the same case still connects: nothing is left wedged.
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from tests.media.helpers import post_offer


async def _offer(audio_codec: str = "audio/opus") -> str:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    audio = pc.addTransceiver(AudioStreamTrack())
    audio.setCodecPreferences(
        [c for c in RTCRtpSender.getCapabilities("audio").codecs if c.mimeType == audio_codec]
    )
    pc.addTrack(VideoStreamTrack())
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


def _no_opus() -> str:
    return asyncio.run(_offer("audio/PCMU"))


def _unknown_codecs_only() -> str:
    return re.sub(r"a=rtpmap:(\d+) [\w-]+/", r"a=rtpmap:\1 X-NOBODY/", asyncio.run(_offer()))


def _absurd_ssrcs() -> str:
    return re.sub(r"a=ssrc:\d+", "a=ssrc:99999999999999", asyncio.run(_offer()))


def _eight_media_sections() -> str:
    sdp = asyncio.run(_offer())
    video = "m=video" + sdp.split("m=video", 1)[1]
    return sdp + video * 6  # still under the 64 KiB limit


@pytest.mark.parametrize(
    "make", [_no_opus, _unknown_codecs_only, _absurd_ssrcs, _eight_media_sections]
)
def test_a_broken_offer_is_refused_in_japanese_and_leaves_nothing_behind(
    make, live_server, media, resident_cookie
):
    status, body = post_offer(
        live_server, 1, "resident", {"type": "offer", "sdp": make()}, resident_cookie(1)
    )
    assert status == 400, body
    error = json.loads(body)["error"]
    assert "対応していません" in error["message"] and "ブラウザ" in error["hint"]
    assert media.registry().peers == {}
    assert media.registry().calls == {}
    # The case is not wedged: a proper offer is answered at once.
    status, answer = post_offer(
        live_server, 1, "resident", {"type": "offer", "sdp": asyncio.run(_offer())},
        resident_cookie(1),
    )  # fmt: skip
    assert status == 200 and "a=fmtp:" in answer["sdp"]

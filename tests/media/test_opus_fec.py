"""Both legs' answers ask browsers for Opus in-band FEC; oversized offers are refused."""

from __future__ import annotations

import asyncio
import json
import re

from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from tests.media.helpers import post_offer


def _opus_fmtp(sdp: str) -> str:
    """Return the fmtp parameters of the Opus payload type in ``sdp`` ('' if none)."""
    match = re.search(r"a=rtpmap:(\d+) opus/48000/2", sdp)
    assert match, sdp
    fmtp = re.search(rf"a=fmtp:{match.group(1)} (.*)", sdp)
    return fmtp.group(1).strip() if fmtp else ""


async def _offer() -> tuple[RTCPeerConnection, dict]:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTrack(AudioStreamTrack())
    pc.addTrack(VideoStreamTrack())
    await pc.setLocalDescription(await pc.createOffer())
    return pc, {"sdp": pc.localDescription.sdp, "type": "offer"}


def test_both_answers_ask_for_opus_fec_dtx_and_mono(
    live_server, media, resident_cookie, staff_cookie
):
    async def scenario() -> dict[str, str]:
        answers = {}
        for role, cookie in (("staff", staff_cookie), ("resident", resident_cookie(1))):
            pc, body = await _offer()
            try:
                loop = asyncio.get_running_loop()
                status, answer = await loop.run_in_executor(
                    None, post_offer, live_server, 1, role, body, cookie
                )
                assert status == 200, answer
                answers[role] = answer["sdp"]
            finally:
                await pc.close()
        return answers

    for role, sdp in asyncio.run(scenario()).items():
        params = dict(p.split("=", 1) for p in _opus_fmtp(sdp).split(";") if p)
        assert params.get("useinbandfec") == "1", (role, sdp)
        assert params.get("usedtx") == "1", role
        assert params.get("minptime") == "10", role
        assert params.get("stereo") == "0", role


def test_a_huge_offer_is_refused_in_japanese_and_leaves_no_peer(
    live_server, media, resident_cookie
):
    async def scenario() -> tuple[int, object]:
        pc, body = await _offer()
        await pc.close()
        body["sdp"] += "a=x-padding:" + "x" * (80 * 1024) + "\r\n"
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, post_offer, live_server, 1, "resident", body, resident_cookie(1)
        )

    status, body = asyncio.run(scenario())
    assert status == 413
    assert "大きすぎます" in json.loads(body)["error"]["message"]
    assert (1, "resident") not in media.registry().peers

"""Lost audio is asked for again (RTCP NACK) on both legs, and the resent packets get through.

The answer says ``nack`` for Opus, so the browser keeps what it sent and resends what
the server reports lost; the server does the same for what staff's side reports lost.
Here the resident's link loses the first copy of every tenth audio packet on the way in,
and staff's link the first copy of another tenth on the way out: with the resends, staff
hear almost all of the resident's audio, where without them a fifth would be missing.
"""

from __future__ import annotations

import asyncio
import re
import struct

from aiortc.rtcrtpreceiver import NackGenerator

from app.media.audio import Unwrapper
from tests.media.helpers import connect, wait_for
from tests.media.test_passthrough import Voice


def _is_rtcp(wire: bytes) -> bool:
    return len(wire) < 12 or 192 <= wire[1] <= 223


def _lose_first_copies(sender, dropped: list[int]) -> None:
    """Drop the first copy of each audio packet with seq % 10 == 3 the resident sends."""
    transport = sender.transport
    send = transport._send_rtp
    seen: set[int] = set()

    async def lossy(wire: bytes) -> None:
        if not _is_rtcp(wire):
            sequence, ssrc = struct.unpack("!H4xI", wire[2:12])
            if ssrc == sender._ssrc and sequence % 10 == 3 and sequence not in seen:
                seen.add(sequence)
                dropped.append(sequence)
                return
        await send(wire)

    transport._send_rtp = lossy


def _lose_first_copies_on_the_way_in(ice, payload_type: int, dropped: list[int]) -> None:
    """Drop the first copy of each audio packet with seq % 10 == 7 before staff decrypt it.

    Dropped before SRTP, as a network would: SRTP refuses a second copy of a packet it
    has already taken (replay protection), so a resend only gets through after a real loss.
    """
    recv = ice._recv
    seen: set[int] = set()

    async def lossy() -> bytes:
        while True:
            data = await recv()
            if 127 < data[0] < 192 and not _is_rtcp(data) and data[1] & 0x7F == payload_type:
                (sequence,) = struct.unpack("!H", data[2:4])
                if sequence % 10 == 7 and sequence not in seen:
                    seen.add(sequence)
                    dropped.append(sequence)
                    continue
            return data

    ice._recv = lossy


def test_audio_lost_on_either_leg_is_resent(live_server, media, resident_cookie, staff_cookie):
    async def scenario():
        staff = await connect(live_server, 1, "staff", staff_cookie)
        receiver = next(t.receiver for t in staff.pc.getTransceivers() if t.kind == "audio")
        # Staff's client asks for lost audio as a browser does when the answer says nack.
        setattr(receiver, "_RTCRtpReceiver__nack_generator", NackGenerator())
        opus_type = int(re.search(r"a=rtpmap:(\d+) opus", staff.pc.remoteDescription.sdp)[1])
        dropped_down: list[int] = []
        _lose_first_copies_on_the_way_in(receiver.transport.transport, opus_type, dropped_down)
        handle = receiver._handle_rtp_packet
        heard: set[int] = set()
        unwrap = Unwrapper(16)

        async def note(packet, arrival_time_ms):
            level = packet.extensions.audio_level
            if level is not None and level[1] < 60:  # the tone, not the server's silence
                heard.add(unwrap.unwrap(packet.sequence_number))
            await handle(packet, arrival_time_ms)

        receiver._handle_rtp_packet = note
        resident = await connect(live_server, 1, "resident", resident_cookie(1), audio=Voice())
        answer = resident.pc.remoteDescription.sdp
        audio_sender = next(t.sender for t in resident.pc.getTransceivers() if t.kind == "audio")
        await wait_for(lambda: audio_sender.transport is not None, 10)
        dropped_up: list[int] = []
        _lose_first_copies(audio_sender, dropped_up)
        try:
            await wait_for(lambda: len(heard) > 200, 30)
            await asyncio.sleep(0.5)  # the last resends
        finally:
            await resident.close()
            await staff.close()
        return answer, heard, dropped_up, dropped_down

    answer, heard, dropped_up, dropped_down = asyncio.run(asyncio.wait_for(scenario(), 60))
    opus = re.search(r"a=rtpmap:(\d+) opus/48000/2", answer)
    assert opus and f"a=rtcp-fb:{opus.group(1)} nack" in answer
    assert len(dropped_up) >= 15 and len(dropped_down) >= 15, "the injected loss did not happen"
    # Count within the span staff heard, less the last second (resends still under way).
    span = range(min(heard), max(heard) - 50)
    missing = sum(1 for s in span if s not in heard)
    # A fifth of the first copies were lost; only what no resend could cover is missing.
    assert missing <= 0.02 * len(span), (
        missing,
        len(span),
        [s % 10 for s in span if s not in heard],
    )

"""The server forwards encoded media: what it relays, keyframe requests, codecs."""

from __future__ import annotations

import asyncio

import aiortc.rtp
import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender
from aiortc.mediastreams import AudioStreamTrack
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci, unpack_remb_fci
from aiortc.sdp import SessionDescription

from app.media.passthrough import is_vp8_keyframe
from tests.media.helpers import PictureTrack, connect, post_offer, qr_frame, wait_for


async def _server_call(media, case_id):
    async def call(registry):
        return registry.calls[case_id]

    return await asyncio.get_running_loop().run_in_executor(None, lambda: media._run(call, 5.0))


def test_the_server_relays_the_encoded_stream_without_decoding_it(
    live_server, media, resident_cookie, staff_cookie
):
    async def scenario():
        staff = await connect(live_server, 1, "staff", staff_cookie)
        resident = await connect(
            live_server, 1, "resident", resident_cookie(1), video=PictureTrack(qr_frame())
        )
        try:
            await wait_for(lambda: staff.received.frames["video"] > 10, 15)
            await wait_for(lambda: resident.received.frames["video"] > 10, 15)
            call = await _server_call(media, 1)
            to_staff = call.feeds["staff"]["video"]
            codecs = {
                (role, m.kind): sorted({c.mimeType for c in m.rtp.codecs})
                for role in ("staff", "resident")
                for m in SessionDescription.parse(
                    media.registry().peers[(1, role)].localDescription.sdp
                ).media
            }
            tap_decoded = call.tap.decoded_packets
        finally:
            await staff.close()
            await resident.close()
        return to_staff.frames_relayed, codecs, tap_decoded

    relayed, codecs, tap_decoded = asyncio.run(scenario())
    assert relayed > 10
    # Both legs use the same codecs (and only those), so packets pass through as they are.
    assert codecs == {
        ("staff", "audio"): ["audio/opus"],
        ("staff", "video"): ["video/VP8", "video/rtx"],
        ("resident", "audio"): ["audio/opus"],
        ("resident", "video"): ["video/VP8", "video/rtx"],
    }
    assert tap_decoded == 0  # no scan, no still: the resident's video was not decoded


def test_a_keyframe_request_from_staff_reaches_the_residents_camera(
    live_server, media, resident_cookie, staff_cookie
):
    async def scenario():
        staff = await connect(live_server, 1, "staff", staff_cookie)
        resident = await connect(live_server, 1, "resident", resident_cookie(1))
        requests = []
        for transceiver in resident.pc.getTransceivers():
            if transceiver.kind == "video":
                sender = transceiver.sender
                own = sender._send_keyframe

                def spy(own=own):
                    requests.append("pli")
                    own()

                sender._send_keyframe = spy
        try:
            await wait_for(lambda: staff.received.frames["video"] > 10, 15)
            await asyncio.sleep(1.0)  # past the rate limit of requests sent on joining
            before = len(requests)
            receiver = next(t.receiver for t in staff.pc.getTransceivers() if t.kind == "video")
            ssrc = receiver.getSynchronizationSources()[0].source
            await receiver._send_rtcp_pli(ssrc)  # staff's browser lost picture data
            await wait_for(lambda: len(requests) > before, 5)
        finally:
            await staff.close()
            await resident.close()

    asyncio.run(scenario())


class Voice(AudioStreamTrack):
    """A microphone hearing a steady 440 Hz tone."""

    async def recv(self):
        frame = await super().recv()  # 20 ms of silence, in real time
        t = (frame.pts + np.arange(frame.samples)) / frame.sample_rate
        tone = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
        frame.planes[0].update(tone.tobytes())
        return frame


def test_relayed_audio_carries_the_level_the_speakers_browser_measured(
    live_server, media, resident_cookie, staff_cookie
):
    async def scenario():
        staff = await connect(live_server, 1, "staff", staff_cookie)
        heard = []
        receiver = next(t.receiver for t in staff.pc.getTransceivers() if t.kind == "audio")
        handle = receiver._handle_rtp_packet

        async def note(packet, arrival_time_ms):
            heard.append(packet.extensions.audio_level)
            await handle(packet, arrival_time_ms)

        receiver._handle_rtp_packet = note
        await wait_for(lambda: len(heard) > 5, 15)  # the server's silence, on its own
        resident = await connect(live_server, 1, "resident", resident_cookie(1), audio=Voice())
        try:
            frame = await Voice().recv()
            expected = (False, -aiortc.rtp.compute_audio_level_dbov(frame))
            await wait_for(lambda: expected in heard, 10)
        finally:
            await staff.close()
            await resident.close()
        return heard, expected

    heard, expected = asyncio.run(scenario())
    assert heard[:5] == [(False, 127)] * 5  # silence while the resident was not there
    assert expected[1] < 30  # a tone, well above silence


def test_the_bitrate_staff_can_take_is_asked_of_the_residents_camera(
    live_server, media, resident_cookie, staff_cookie
):
    async def scenario():
        staff = await connect(live_server, 1, "staff", staff_cookie)
        resident = await connect(live_server, 1, "resident", resident_cookie(1))
        asked = []
        sender = next(t.sender for t in resident.pc.getTransceivers() if t.kind == "video")
        handle = sender._handle_rtcp_packet

        async def note(packet):
            if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                asked.append(unpack_remb_fci(packet.fci)[0])
            await handle(packet)

        sender._handle_rtcp_packet = note
        receiver = next(t.receiver for t in staff.pc.getTransceivers() if t.kind == "video")
        try:
            await wait_for(lambda: staff.received.frames["video"] > 10, 15)
            ssrc = receiver.getSynchronizationSources()[0].source
            # Staff's link is very slow: their browser asks the server for 20 kbit/s (less
            # than the still test picture needs), and keeps asking, as browsers do.
            for _ in range(40):
                remb = RtcpPsfbPacket(
                    fmt=RTCP_PSFB_APP,
                    ssrc=receiver._RTCRtpReceiver__rtcp_ssrc,
                    media_ssrc=0,
                    fci=pack_remb_fci(20_000, [ssrc]),
                )
                await receiver._send_rtcp(remb)
                if asked and asked[-1] == 20_000:
                    break
                await asyncio.sleep(0.25)
        finally:
            await staff.close()
            await resident.close()
        return asked

    asked = asyncio.run(scenario())
    assert asked and asked[-1] == 20_000


def test_an_offer_without_vp8_is_refused_with_a_message(live_server, media, resident_cookie):
    async def offer_h264_only():
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        transceiver = pc.addTransceiver("video")
        transceiver.setCodecPreferences(
            [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == "video/H264"]
        )
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        await pc.close()
        return sdp

    sdp = asyncio.run(offer_h264_only())
    status, answer = post_offer(
        live_server, 1, "resident", {"type": "offer", "sdp": sdp}, resident_cookie(1)
    )
    assert status == 400
    assert "通話" in answer.decode()
    assert media.registry().peers == {}


def test_vp8_keyframes_are_recognised():
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = 64, 48, "yuv420p"
    frame = av.VideoFrame(64, 48, "yuv420p")
    packets = []
    for pts in range(3):
        frame.pts = pts
        packets += codec.encode(frame)
    assert [is_vp8_keyframe(bytes(p)) for p in packets] == [True, False, False]


def test_bitrate_feedback_under_congestion_is_spaced_out_but_decreases_go_at_once():
    from aiortc.rate import RemoteBitrateEstimator

    from app.media.passthrough import REMB_INTERVAL_MS, _CappedEstimator

    def answers(estimator):
        sent = []
        for i in range(600):  # 6 s of 1200-byte packets every 10 ms
            send_ms = i * 10
            queueing_ms = 0 if i < 300 else (i - 300) * 2  # a link filling up after 3 s
            answer = estimator.add(
                arrival_time_ms=send_ms + queueing_ms,
                abs_send_time=(send_ms << 18) // 1000 & 0xFFFFFF,
                payload_size=1200,
                ssrc=1,
            )
            if answer is not None:
                sent.append((send_ms + queueing_ms, answer[0]))
        return sent

    raw = answers(RemoteBitrateEstimator())
    spaced = answers(_CappedEstimator(RemoteBitrateEstimator(), lambda: None))
    assert len(raw) > 250  # aiortc alone: an RTCP packet for nearly every packet
    assert len(spaced) < 30
    for (t0, b0), (t1, b1) in zip(spaced, spaced[1:], strict=False):
        assert t1 - t0 >= REMB_INTERVAL_MS or b1 < 0.97 * b0
    # The sender still hears the decrease the congestion brought.
    assert spaced[-1][1] == raw[-1][1] < max(b for _, b in raw)

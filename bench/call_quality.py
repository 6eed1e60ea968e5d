"""Benchmark call quality on a lossy link: how much of the resident's audio reaches staff.

One call at a time through the real server (the app in a separate process: signalling
over HTTP, media loop, forwarding). Staff's client connects directly (the counter's LAN);
the resident's client goes through a UDP relay started here on 127.0.0.1 (this machine's
kernel has no netem) that drops a share of the datagrams and delays each one by
50 ms ± 20 ms on its own, so packets also arrive out of order, in both directions. The
relay sits in the ICE path: the resident's offer names the relay as its candidate to the
server, and the answer names the relay as the server's candidate to the client.

The clients behave as browsers given the server's answer: they ask for lost audio again
(RTCP NACK, which the answer negotiates for Opus; aiortc's own receiver asks for video
only) and resend what they are asked for. Clients send pre-encoded Opus (a tone with a little noise, so that every 20 ms packet is
unique and can be recognised on arrival) and VP8. Per loss rate (0, 3, 10 %):

- ``audio_missing_pct``: of the audio packets the resident sent in the window, the share
  that never reached staff's client (before any FEC or concealment at the receiver; a
  packet resent after a NACK counts as arrived);
- ``one_way_delay_ms_p50``: resident → staff, send to first arrival, relay delay included;
- ``server_added_delay_ms_p50``: measured inside the server process, from a decrypted
  audio packet entering aiortc to the forwarded copy being handed to SRTP on the other
  leg (hooks installed by this benchmark, not by the app);
- ``video_fps_min``: the lower of the two clients' decoded video frame rates.

Then ``reconnect_audio_gap_s``: the resident's network changes (the relay it used goes
dark) and, one second later, its client connects afresh through a new relay (what a page
does when an ICE restart is not possible: aiortc clients cannot restart ICE); the number
is the time from that new offer until staff hear the resident again
(``reconnect_silence_s`` includes the dark second).

Prints one JSON line. Usage: python bench/call_quality.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aioice.ice
import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import video  # noqa: E402  (bench/video.py: the server process, cookies, the VP8 loop)

AUDIO_RATE, AUDIO_SAMPLES = 48_000, 960
LOSS_RATES = (0, 3, 10)
DELAY_S, JITTER_S = 0.050, 0.020
WARMUP_S = 3.0  # after connecting: keyframes, bitrate, jitter buffers settle
SETTLE_S = 1.0  # packets sent in the window's last second may still be on their way


# ---- inside the server process: how long an audio packet stays in the server ------------


def _rtp_payload(data: bytes) -> bytes | None:
    """The payload of a plain RTP packet (None for RTCP or anything too short)."""
    if len(data) < 12 or 192 <= data[1] <= 223:
        return None
    offset = 12 + 4 * (data[0] & 0x0F)
    if data[0] & 0x10:
        if len(data) < offset + 4:
            return None
        offset += 4 + 4 * int.from_bytes(data[offset + 2 : offset + 4], "big")
    end = len(data) - (data[-1] if data[0] & 0x20 else 0)
    return data[offset:end] if offset < end else None


def measure_server_delay(path: str) -> None:
    """Hook aiortc in this (server) process; write the audio delays to ``path`` twice a second."""
    from aiortc.rtcdtlstransport import RTCDtlsTransport

    arrived: dict[bytes, float] = {}
    delays: list[float] = []
    handle, send = RTCDtlsTransport._handle_rtp_data, RTCDtlsTransport._send_rtp

    async def on_arrival(self: Any, data: bytes, arrival_time_ms: int) -> None:
        payload = _rtp_payload(data)
        if payload is not None and len(payload) < 400:  # audio (Opus), not video
            arrived.setdefault(payload, time.monotonic())
        await handle(self, data, arrival_time_ms)

    async def on_send(self: Any, data: bytes) -> None:
        payload = _rtp_payload(data)
        if payload is not None:
            came = arrived.pop(payload, None)
            if came is not None:
                delays.append(time.monotonic() - came)
        await send(self, data)

    RTCDtlsTransport._handle_rtp_data = on_arrival  # type: ignore[method-assign]
    RTCDtlsTransport._send_rtp = on_send  # type: ignore[method-assign]

    def dump() -> None:
        while True:
            time.sleep(0.5)
            cutoff = time.monotonic() - 5
            for payload in [p for p, t in list(arrived.items()) if t < cutoff]:
                arrived.pop(payload, None)
            Path(path).write_text(json.dumps(list(delays)))

    threading.Thread(target=dump, daemon=True).start()


# ---- the lossy link --------------------------------------------------------------------


class Relay:
    """A UDP relay between one client and the server: loss and delay, both ways.

    ``client_side`` is the address the client sends to (named to it as the server's
    candidate); ``server_side`` the address the server sends to (named to it as the
    client's candidate).
    """

    def __init__(self, loss: float) -> None:
        self.loss = loss
        self.dark = False  # the network is gone: nothing passes
        self.client: tuple[str, int] | None = None
        self.server: tuple[str, int] | None = None
        self.rng = random.Random(19)
        self._to_server: Any = None
        self._to_client: Any = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        relay = self

        class Side(asyncio.DatagramProtocol):
            def __init__(self, forward: str) -> None:
                self.forward = forward

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                relay.carry(data, self.forward)

        self._to_client, _ = await loop.create_datagram_endpoint(
            lambda: Side("server"), local_addr=("127.0.0.1", 0)
        )
        self._to_server, _ = await loop.create_datagram_endpoint(
            lambda: Side("client"), local_addr=("127.0.0.1", 0)
        )

    @property
    def client_side(self) -> int:
        return int(self._to_client.get_extra_info("sockname")[1])

    @property
    def server_side(self) -> int:
        return int(self._to_server.get_extra_info("sockname")[1])

    def carry(self, data: bytes, towards: str) -> None:
        """Pass a datagram on after its delay, unless the link loses it."""
        if self.dark or self.rng.random() < self.loss:
            return
        delay = DELAY_S + self.rng.uniform(-JITTER_S, JITTER_S)
        if towards == "server" and self.server is not None:
            transport, address = self._to_server, self.server
        elif towards == "client" and self.client is not None:
            transport, address = self._to_client, self.client
        else:
            return
        asyncio.get_running_loop().call_later(delay, self._send, transport, data, address)

    @staticmethod
    def _send(transport: Any, data: bytes, address: tuple[str, int]) -> None:
        if not transport.is_closing():
            transport.sendto(data, address)

    def close(self) -> None:
        for transport in (self._to_client, self._to_server):
            if transport is not None:
                transport.close()


_CANDIDATE = re.compile(r"(a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 )(\d+)( typ host)")


def _via(sdp: str, port: int) -> tuple[str, int]:
    """Name ``port`` as the one candidate in ``sdp``; return the SDP and the port it had."""
    found = _CANDIDATE.search(sdp)
    assert found, "no loopback host candidate in the SDP"
    return _CANDIDATE.sub(rf"\g<1>{port}\g<3>", sdp), int(found.group(2))


# ---- the clients -----------------------------------------------------------------------


def encode_voice(seconds: int, hz: float) -> list[av.Packet]:
    """Encode ``seconds`` of a tone with a little noise as 20 ms Opus packets (all distinct)."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.format, codec.layout = AUDIO_RATE, "s16", "mono"
    codec.bit_rate = 32_000
    codec.time_base = fractions.Fraction(1, AUDIO_RATE)
    rng = np.random.default_rng(int(hz))
    packets: list[av.Packet] = []
    for i in range(seconds * AUDIO_RATE // AUDIO_SAMPLES):
        t = (i * AUDIO_SAMPLES + np.arange(AUDIO_SAMPLES)) / AUDIO_RATE
        tone = np.sin(2 * np.pi * hz * t) * 8000 + rng.normal(0, 300, AUDIO_SAMPLES)
        frame = av.AudioFrame.from_ndarray(
            tone.astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts = AUDIO_RATE, i * AUDIO_SAMPLES
        packets += codec.encode(frame)
    return packets


class Voice:
    """A microphone sending the encoded voice in real time; notes when each packet left."""

    def __init__(self, packets: list[av.Packet]) -> None:
        from aiortc.mediastreams import MediaStreamTrack

        self.sent: list[float] = []
        voice = self

        class Track(MediaStreamTrack):
            kind = "audio"

            async def recv(self) -> av.Packet:
                n = len(voice.sent)
                if not voice.sent:
                    voice.start = time.monotonic()
                due = voice.start + n * AUDIO_SAMPLES / AUDIO_RATE
                if (wait := due - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                packet = packets[n % len(packets)]
                packet.pts = n * AUDIO_SAMPLES
                packet.time_base = fractions.Fraction(1, AUDIO_RATE)
                voice.sent.append(time.monotonic())
                return packet

        self.start = 0.0
        self.track = Track()


@dataclass
class Heard:
    """What a client received: first arrival of each voice packet, decoded video frames."""

    index: dict[bytes, int]
    audio: dict[int, float] = field(default_factory=dict)
    video: list[float] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # every voice packet, resends too


async def _decode_video(track: Any, heard: Heard) -> None:
    from aiortc.mediastreams import MediaStreamError

    try:
        while True:
            await track.recv()
            heard.video.append(time.monotonic())
    except MediaStreamError:
        pass


async def connect(
    base: str,
    case_id: int,
    role: str,
    cookie: str,
    voice: Voice,
    video_loop: list[av.Packet],
    heard: Heard,
    relay: Relay | None = None,
) -> Any:
    """Connect a client (through ``relay`` if given); return its peer connection and tasks."""
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.rtcrtpreceiver import NackGenerator

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    tasks: list[asyncio.Task[None]] = []

    @pc.on("track")
    def on_track(track: Any) -> None:
        receiver = next(t.receiver for t in pc.getTransceivers() if t.receiver.track is track)
        if track.kind == "video":
            tasks.append(asyncio.ensure_future(_decode_video(track, heard)))
            return
        # As a browser does when the answer says "nack" for Opus (aiortc asks for video only).
        receiver._RTCRtpReceiver__nack_generator = NackGenerator()
        handle = receiver._handle_rtp_packet

        async def note(packet: Any, arrival_time_ms: int) -> None:
            n = heard.index.get(bytes(packet.payload))
            if n is not None:
                now = time.monotonic()
                heard.arrivals.append(now)
                heard.audio.setdefault(n, now)
            await handle(packet, arrival_time_ms)

        receiver._handle_rtp_packet = note

    pc.addTrack(voice.track)
    pc.addTrack(video.packet_track("video", video_loop, video.VIDEO_CLOCK, 3000))
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    if relay is not None:
        sdp, client_port = _via(sdp, relay.server_side)
        relay.client = ("127.0.0.1", client_port)
    body = json.dumps({"sdp": sdp, "type": "offer"}).encode()
    headers = {"Content-Type": "application/json", "Cookie": cookie}
    answer = await asyncio.get_running_loop().run_in_executor(
        None, video._post, f"{base}/media/{case_id}/{role}/offer", body, headers
    )
    if relay is not None:
        answer["sdp"], server_port = _via(answer["sdp"], relay.client_side)
        relay.server = ("127.0.0.1", server_port)
    await pc.setRemoteDescription(RTCSessionDescription(**answer))
    pc.answer_sdp = answer["sdp"]
    return pc, tasks


def _opus_fec(sdp: str) -> bool:
    found = re.search(r"a=rtpmap:(\d+) opus/48000", sdp)
    return bool(found and re.search(rf"a=fmtp:{found[1]} .*useinbandfec=1", sdp))


def _missing(voice: Voice, heard: Heard, start: float, end: float) -> tuple[float, list[float]]:
    """Share (%) of ``voice``'s packets sent in [start, end) that ``heard`` never got; delays."""
    sent = [(n, t) for n, t in enumerate(voice.sent) if start <= t < end]
    got = [heard.audio[n] - t for n, t in sent if n in heard.audio]
    return 100 * (len(sent) - len(got)) / max(len(sent), 1), got


async def one_call(
    base: str, case_id: int, auth: Any, loss: int, seconds: float, media: dict[str, Any]
) -> dict[str, Any]:
    """Hold one call with the resident behind a link losing ``loss`` %; measure it."""
    staff_cookie, resident_cookie = auth
    staff_voice, resident_voice = Voice(media["staff"]), Voice(media["resident"])
    at_staff, at_resident = Heard(media["index"]), Heard(media["index"])
    relay = Relay(loss / 100)
    await relay.start()
    staff, staff_tasks = await connect(
        base, case_id, "staff", staff_cookie, staff_voice, media["video"], at_staff
    )
    resident, resident_tasks = await connect(
        base, case_id, "resident", resident_cookie(case_id), resident_voice,
        media["video"], at_resident, relay,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while resident.connectionState != "connected" or staff.connectionState != "connected":
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: the call at {loss} % loss did not connect")
        await asyncio.sleep(0.05)
    start = time.monotonic() + WARMUP_S
    await asyncio.sleep(WARMUP_S + seconds + SETTLE_S)
    end = start + seconds
    up_missing, up_delays = _missing(resident_voice, at_staff, start, end)
    down_missing, _ = _missing(staff_voice, at_resident, start, end)
    fps = [
        sum(start <= t < end for t in heard.video) / seconds for heard in (at_staff, at_resident)
    ]
    result = {
        "opus_fec": _opus_fec(resident.answer_sdp) and _opus_fec(staff.answer_sdp),
        "audio_missing_pct": round(up_missing, 2),
        "audio_missing_pct_to_resident": round(down_missing, 2),
        "one_way_delay_ms_p50": round(1000 * statistics.median(up_delays), 1),
        "one_way_delay_ms_p95": round(1000 * float(np.percentile(up_delays, 95)), 1),
        # Arrived, but so late (a resend after a lost resend) that a browser's jitter
        # buffer has most likely played its concealment instead.
        "audio_later_than_250ms_pct": round(
            100 * sum(d > 0.25 for d in up_delays) / max(len(up_delays), 1), 2
        ),
        "video_fps_min": round(min(fps), 1),
    }
    for task in staff_tasks + resident_tasks:
        task.cancel()
    await resident.close()
    await staff.close()
    relay.close()
    return result


async def reconnect(base: str, case_id: int, auth: Any, media: dict[str, Any]) -> dict[str, Any]:
    """The resident's network changes mid-call; its client connects afresh a second later."""
    staff_cookie, resident_cookie = auth
    at_staff, at_resident = Heard(media["index"]), Heard(media["index"])
    staff, staff_tasks = await connect(
        base, case_id, "staff", staff_cookie, Voice(media["staff"]), media["video"], at_staff
    )
    old_relay = Relay(0)
    await old_relay.start()
    old, old_tasks = await connect(
        base, case_id, "resident", resident_cookie(case_id), Voice(media["resident"]),
        media["video"], at_resident, old_relay,
    )  # fmt: skip
    await asyncio.sleep(WARMUP_S)
    assert at_staff.arrivals, "bench: no audio from the resident before the change"
    old_relay.dark = True
    dark_at = time.monotonic()
    await asyncio.sleep(1.0)
    relay = Relay(0)
    await relay.start()
    offered_at = time.monotonic()
    new, new_tasks = await connect(
        base, case_id, "resident", resident_cookie(case_id), Voice(media["resident"]),
        media["video"], at_resident, relay,
    )  # fmt: skip
    deadline = time.monotonic() + 15
    while not any(t > offered_at for t in at_staff.arrivals):
        if time.monotonic() > deadline:
            raise SystemExit("bench: no audio from the resident after reconnecting")
        await asyncio.sleep(0.01)
    back = min(t for t in at_staff.arrivals if t > offered_at)
    last = max(t for t in at_staff.arrivals if t <= dark_at + DELAY_S + JITTER_S)
    for task in staff_tasks + old_tasks + new_tasks:
        task.cancel()
    for pc in (old, new, staff):
        await pc.close()
    old_relay.close()
    relay.close()
    return {"reconnect_audio_gap_s": round(back - offered_at, 2),
            "reconnect_silence_s": round(back - last, 2)}  # fmt: skip


async def run(base: str, seconds: float, media: dict[str, Any]) -> dict[str, Any]:
    """Every loss rate, then the reconnect; one summary."""
    auth = await asyncio.get_running_loop().run_in_executor(None, video.cookies, base)
    per_loss = {}
    for case_id, loss in enumerate(LOSS_RATES, start=1):
        per_loss[loss] = await one_call(base, case_id, auth, loss, seconds, media)
        print(json.dumps({"loss_pct": loss, **per_loss[loss]}), file=sys.stderr, flush=True)
        await asyncio.sleep(1.0)
    again = await reconnect(base, len(LOSS_RATES) + 1, auth, media)
    return {
        "opus_fec": all(r["opus_fec"] for r in per_loss.values()),
        "audio_missing_pct": {str(k): r["audio_missing_pct"] for k, r in per_loss.items()},
        "audio_missing_pct_to_resident": {
            str(k): r["audio_missing_pct_to_resident"] for k, r in per_loss.items()
        },
        "one_way_delay_ms_p50": {str(k): r["one_way_delay_ms_p50"] for k, r in per_loss.items()},
        "one_way_delay_ms_p95": {str(k): r["one_way_delay_ms_p95"] for k, r in per_loss.items()},
        "audio_later_than_250ms_pct": {
            str(k): r["audio_later_than_250ms_pct"] for k, r in per_loss.items()
        },
        "video_fps_min": min(r["video_fps_min"] for r in per_loss.values()),
        **again,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring window per rate")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        measure_server_delay(os.environ["BENCH_DELAY_FILE"])
        video.serve()
        return
    aioice.ice.get_host_addresses = video._loopback_only
    delay_file = Path(tempfile.mkdtemp(prefix="kakanai-bench-")) / "server-delay.json"
    env = {**os.environ, "BENCH_DELAY_FILE": str(delay_file)}
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert server.stdout is not None
        base = f"http://127.0.0.1:{int(server.stdout.readline())}"
        video.LevelReader(server.stdout)  # drains the server's level reports
        seconds = int(args.seconds + WARMUP_S + SETTLE_S + 5)
        voices = {"resident": encode_voice(seconds, 440), "staff": encode_voice(seconds, 330)}
        media = {
            **voices,
            # Which packet of its sender's voice a payload is (the two voices differ).
            "index": {bytes(p): n for voice in voices.values() for n, p in enumerate(voice)},
            "video": video.encode_video_loop(),
        }
        summary = asyncio.run(run(base, args.seconds, media))
        time.sleep(1.0)
        delays = json.loads(delay_file.read_text()) if delay_file.exists() else []
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    summary["server_added_delay_ms_p50"] = (
        round(1000 * statistics.median(delays), 2) if delays else None
    )
    summary["server_delay_samples"] = len(delays)
    summary["cpus"] = os.cpu_count()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

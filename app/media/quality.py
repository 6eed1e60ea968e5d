"""The server's view of each leg of a call, and what each side's camera may send.

Two things come out of it, for ``GET /media/<case>/<role>/quality``:

- **The numbers** of a leg as the server receives it (audio loss since the last look,
  jitter, round trip from the browser's RTCP receiver reports, incoming bitrate, the
  speaker's audio level, the bandwidth estimates), rated green / amber / red. Staff's
  indicator combines them with its own browser's ``getStats()``.
- **Audio first** (``video_mode``): when the bandwidth a sender's video can have falls,
  its page is asked to cap the camera (lower resolution and frame rate), then to pause
  it (the other side keeps the last picture); audio is never touched. While staff scan,
  the resident's camera is asked for its sharpest picture instead, audio again untouched.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpReceiver

# Ratings (the worse of the three decides). One-way delay over 150 ms starts to hurt a
# conversation and over 400 ms breaks it (ITU-T G.114), so a round trip of 300 / 800 ms;
# Opus with in-band FEC and NACK copes with a few per cent of loss, not with 10.
AMBER = {"loss_pct": 3.0, "jitter_ms": 30.0, "rtt_ms": 300.0}
RED = {"loss_pct": 10.0, "jitter_ms": 60.0, "rtt_ms": 800.0}

# Video a sender may have before its page is asked to cap (below CAP_BELOW) or pause
# (below PAUSE_BELOW) its camera: 640x480 needs about 500 kbit/s, 320x240 at 10 fps about
# 150; under that the picture takes bandwidth audio (32 kbit/s) and its resends need.
CAP_BELOW = 400_000
PAUSE_BELOW = 150_000
ESTIMATE_FRESH_S = 5.0  # an estimate older than this (no video arriving) says nothing
# Only an estimate that fell in this window limits the camera: while the link is fine
# the estimate follows what the camera sends (a still scene needs little), so a low value
# alone means nothing; a fall means the estimator backed off (congestion) or the other
# side's feedback fell.
FELL_WITHIN_S = 10.0
MODES = ("paused", "capped", "full", "sharp")

_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_BITRATE_ESTIMATOR = "_RTCRtpReceiver__remote_bitrate_estimator"


def rate(loss_pct: float | None, jitter_ms: float | None, rtt_ms: float | None) -> str:
    """Rate a leg green, amber or red from its audio loss, jitter and round trip."""
    values = {"loss_pct": loss_pct, "jitter_ms": jitter_ms, "rtt_ms": rtt_ms}
    known = {k: v for k, v in values.items() if v is not None}
    if any(v >= RED[k] for k, v in known.items()):
        return "red"
    if any(v >= AMBER[k] for k, v in known.items()):
        return "amber"
    return "green"


def video_mode(available_bps: int | None, sharp: bool = False) -> str:
    """What a sender's camera should do with ``available_bps`` for its video (None: unknown)."""
    if sharp:
        return "sharp"
    if available_bps is None or available_bps >= CAP_BELOW:
        return "full"
    return "capped" if available_bps >= PAUSE_BELOW else "paused"


@dataclass
class Sample:
    """Counters of one leg at one moment, to compute rates against the next look."""

    at: float
    audio_received: int
    audio_expected: int
    bytes_received: int


def _estimate(receiver: RTCRtpReceiver | None) -> tuple[int | None, bool]:
    estimator = getattr(receiver, _BITRATE_ESTIMATOR, None) if receiver else None
    sent, fell_at = getattr(estimator, "sent", None), getattr(estimator, "fell_at", None)
    if sent is None:
        return None, False
    bitrate, at = sent
    now = time.monotonic()
    if now - at >= ESTIMATE_FRESH_S:
        return None, False
    return int(bitrate), fell_at is not None and now - fell_at < FELL_WITHIN_S


def last_estimate(receiver: RTCRtpReceiver | None) -> int | None:
    """The video bitrate the server last asked of the sender of ``receiver`` (REMB), if fresh."""
    return _estimate(receiver)[0]


def video_estimate(receiver: RTCRtpReceiver | None) -> int | None:
    """The bitrate last asked of the sender of ``receiver`` if it fell lately; else None.

    None means nothing limits the camera: no estimate, an old one, or one that has not
    fallen within FELL_WITHIN_S.
    """
    bitrate, fell = _estimate(receiver)
    return bitrate if fell else None


async def leg_numbers(
    pc: RTCPeerConnection, receivers: dict[str, RTCRtpReceiver], before: Sample | None
) -> tuple[dict[str, Any], Sample]:
    """Measure one side's leg as the server sees it; return the numbers and a new sample."""
    report = await pc.getStats()
    received = expected = lost = 0
    jitter_ms = rtt_ms = None
    bytes_in = 0
    for stats in report.values():
        if stats.type == "inbound-rtp" and stats.kind == "audio":
            received += stats.packetsReceived
            lost += stats.packetsLost
            jitter_ms = round(1000 * stats.jitter / 48_000, 1)  # Opus: a 48 kHz clock
        elif stats.type == "remote-inbound-rtp" and stats.kind == "audio":
            if stats.roundTripTime is not None:
                rtt_ms = round(1000 * stats.roundTripTime, 1)
        elif stats.type == "transport":
            bytes_in = max(bytes_in, stats.bytesReceived)
    expected = received + lost
    now = Sample(time.monotonic(), received, expected, bytes_in)
    loss_pct = bitrate = None
    if before is not None and now.at > before.at:
        interval = now.audio_expected - before.audio_expected
        if interval > 0:
            got = now.audio_received - before.audio_received
            loss_pct = round(max(0.0, 100 * (interval - got) / interval), 1)
        bitrate = round(8 * (now.bytes_received - before.bytes_received) / (now.at - before.at))
    level = getattr(getattr(receivers.get("audio"), _DECODER_QUEUE, None), "audio_level", None)
    numbers = {
        "state": pc.connectionState,
        "loss_pct": loss_pct,
        "jitter_ms": jitter_ms,
        "rtt_ms": rtt_ms,
        "bitrate_kbps": None if bitrate is None else round(bitrate / 1000),
        "audio_level_dbov": None if level is None else -level[1],
        "uplink_kbps": _kbps(last_estimate(receivers.get("video"))),
    }
    numbers["level"] = (
        rate(loss_pct, jitter_ms, rtt_ms) if pc.connectionState == "connected" else "red"
    )
    return numbers, now


def _kbps(bps: int | None) -> int | None:
    return None if bps is None else round(bps / 1000)

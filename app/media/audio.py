"""Forwarding audio packet by packet: RTP numbers kept, no jitter buffer on the way.

An SFU forwards each audio packet as it arrives and keeps the sender's sequence and
timestamp relationship (a fixed offset per stream), so the receiving browser sees the
holes and the reordering of the sender's link and conceals them itself (Opus FEC, PLC,
its own jitter buffer). aiortc instead reassembles audio in a jitter buffer that drops
good packets around every hole, and its sender numbers packets 1, 2, 3… whatever came
in. This module holds the pure parts; ``passthrough`` hooks them into aiortc.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from aiortc import RTCRtpSender, clock
from aiortc.codecs import get_encoder
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add, uint32_add

# aiortc 1.16's private names of RTCRtpSender (Python's name mangling of __x).
_SENDER = "_RTCRtpSender__"
SENDER_FIELDS = (
    "track",
    "rtp_started",
    "rtp_exited",
    "rtp_history",
    "rtp_header_extensions_map",
    "mid",
    "ntp_timestamp",
    "rtp_timestamp",
    "octet_count",
    "packet_count",
)
RTP_HISTORY_SIZE = 128

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AudioPacketMeta:
    """What a forwarded audio packet carries besides its payload.

    ``sequence`` is the packet's sequence number, unwrapped (it only grows, except for a
    reordered packet); ``audio_level`` the sender's RFC 6465 (voice, -dBov) or None.
    """

    sequence: int
    audio_level: tuple[bool, int] | None = None


class Unwrapper:
    """Turn wrapping RTP numbers (16-bit sequence, 32-bit timestamp) into plain integers.

    Each number is placed nearest the last one seen, so a late (reordered) packet gets a
    smaller number instead of being taken for a wrap.
    """

    def __init__(self, bits: int) -> None:
        self._modulus = 1 << bits
        self._last: int | None = None

    def unwrap(self, value: int) -> int:
        """Return ``value`` unwrapped relative to the numbers seen before."""
        if self._last is None:
            self._last = value
            return value
        half = self._modulus // 2
        delta = (value - self._last) % self._modulus
        if delta >= half:
            delta -= self._modulus
        result = self._last + delta
        self._last = max(self._last, result)
        return result


def check_sender() -> None:
    """Fail at import if aiortc's RTCRtpSender lacks what the forwarding loop uses."""
    names = {
        name
        for method in vars(RTCRtpSender).values()
        if hasattr(method, "__code__")
        for name in method.__code__.co_names
    }
    for field in SENDER_FIELDS:
        if f"{_SENDER}{field}" not in names:
            raise ImportError(f"aiortc's RTCRtpSender has no __{field}: update app/media/audio.py")


check_sender()


def _get(sender: RTCRtpSender, field: str) -> Any:
    return getattr(sender, f"{_SENDER}{field}")


def _set(sender: RTCRtpSender, field: str, value: Any) -> None:
    setattr(sender, f"{_SENDER}{field}", value)


def forward_audio_packets(sender: RTCRtpSender) -> None:
    """Make ``sender`` send each audio packet with the sequence number its track gives.

    The track (a ``Feed``) returns encoded packets whose ``opaque`` is an
    ``AudioPacketMeta``: the sequence number (a fixed offset from the source's) and the
    level to write. aiortc's own loop would number them 1, 2, 3…, hiding every hole.
    """

    async def run_rtp(codec: Any) -> None:
        _get(sender, "rtp_started").set()
        encoder = get_encoder(codec)
        # Random origins, as RFC 3550 asks (known plaintext would help an attack on SRTP).
        sequence_origin = secrets.randbelow(1 << 16)
        timestamp_origin = secrets.randbelow(1 << 32)
        history: dict[int, RtpPacket] = _get(sender, "rtp_history")
        try:
            while True:
                track = _get(sender, "track")
                if track is None:
                    await asyncio.sleep(0.02)
                    continue
                data = await track.recv()
                if not sender._enabled:
                    continue  # muted by the page: read on, send nothing
                meta = getattr(data, "opaque", None)
                payloads, timestamp = encoder.pack(data)
                if not payloads or not isinstance(meta, AudioPacketMeta):
                    continue
                packet = RtpPacket(
                    payload_type=codec.payloadType,
                    sequence_number=uint16_add(sequence_origin, meta.sequence & 0xFFFF),
                    timestamp=uint32_add(timestamp_origin, timestamp),
                )
                packet.ssrc = sender._ssrc
                packet.payload = payloads[0]
                packet.marker = 0
                packet.extensions.abs_send_time = (clock.current_ntp_time() >> 14) & 0xFFFFFF
                packet.extensions.mid = _get(sender, "mid")
                if meta.audio_level is not None:
                    packet.extensions.audio_level = meta.audio_level
                history[packet.sequence_number % RTP_HISTORY_SIZE] = packet
                wire = packet.serialize(_get(sender, "rtp_header_extensions_map"))
                await sender.transport._send_rtp(wire)
                _set(sender, "ntp_timestamp", clock.current_ntp_time())
                _set(sender, "rtp_timestamp", packet.timestamp)
                _set(sender, "octet_count", _get(sender, "octet_count") + len(packet.payload))
                _set(sender, "packet_count", _get(sender, "packet_count") + 1)
        except (asyncio.CancelledError, ConnectionError, MediaStreamError):
            pass
        except Exception:  # the loop must end cleanly, or RTCRtpSender.stop() would hang
            log.exception("audio forwarding stopped")
        finally:
            track = _get(sender, "track")
            if track is not None:
                track.stop()
                _set(sender, "track", None)
            _get(sender, "rtp_exited").set()

    sender._run_rtp = run_rtp  # type: ignore[method-assign]

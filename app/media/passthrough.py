"""Forward encoded media through the server instead of decoding and re-encoding it.

The server relays what one side sends to the other. Decoding each incoming 640×480
stream and encoding it again for the other side cost about 18 % of a core per stream,
all for pixels nobody on the server looked at. aiortc can do without both halves:

- **Sending**: when a track's ``recv()`` returns an ``av.Packet`` instead of a frame,
  ``RTCRtpSender`` only packetises it (``encoder.pack``), no encoding.
- **Receiving**: ``RTCRtpReceiver`` reassembles complete encoded frames in its jitter
  buffer and puts them on a queue for its decoder thread. ``forward_encoded`` replaces
  that one queue, before the receiver starts, with one that hands each encoded frame to
  the receiver's track as an ``av.Packet`` (on the event loop, where aiortc puts it).
  The decoder thread still starts, waits on the queue and ends the track when the
  receiver stops, exactly as before.

What forwarding needs in return:

- **Same codec on both legs**: every connection is negotiated with VP8 for video and Opus
  for audio only (``prefer_forwardable_codecs``), both mandatory in every browser.
- **Keyframes on request**: a receiver that lost picture data asks its sender for a
  keyframe (PLI). The server cannot make one, so ``on_keyframe_request`` passes the
  request on, and ``request_keyframe`` asks the original sender upstream.
- **Audio levels**: aiortc measures the RFC 6465 level of audio it encodes;
  the audio sender (``audio.forward_audio_packets``) sends on the level the other
  side's browser measured instead.
- **Bitrate**: the server no longer scales pictures itself; ``cap_bitrate`` lowers the
  bitrate it tells each sender to use (REMB) to what the other side's receiver asks for
  (``on_bitrate_feedback``) and, under load, lower still; browsers lower their
  resolution and frame rate to fit.

These reach into aiortc's receiver (one private attribute each for the decoder queue and
the bitrate estimator), wrap four of its underscore methods per connection and call a
fifth (``_send_rtcp_pli``), all at this one place; ``check_aiortc`` fails loudly on import
if an aiortc upgrade renamed them, and ``tests/media/test_passthrough.py`` covers the
behaviour.
"""

from __future__ import annotations

import asyncio
import fractions
import queue
import time
from collections.abc import Callable
from typing import Any

import av
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, RTCRtpTransceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcrtpparameters import RTCRtcpFeedback
from aiortc.rtcrtpreceiver import NackGenerator
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, unpack_remb_fci

from app.media.audio import AudioPacketMeta, Unwrapper, forward_audio_packets

__all__ = ["forward_audio_packets"]  # with the other hooks, from this one front

REMB_INTERVAL_MS = 200  # bitrate feedback at most this often, unless the bitrate falls
FORWARDED_CODECS = {"audio": ("audio/opus",), "video": ("video/VP8", "video/rtx")}

# aiortc 1.16's private names (Python's name mangling of RTCRtpReceiver.__x).
_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_BITRATE_ESTIMATOR = "_RTCRtpReceiver__remote_bitrate_estimator"
_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"
_NACK_GENERATOR = "_RTCRtpReceiver__nack_generator"


def check_aiortc() -> None:
    """Fail at import if this aiortc does not have what forwarding hooks into."""
    probe = RTCRtpReceiver.__init__.__code__.co_names
    for name in (_DECODER_QUEUE, _BITRATE_ESTIMATOR, _JITTER_BUFFER, _NACK_GENERATOR):
        if name not in probe:
            raise ImportError(
                f"aiortc's RTCRtpReceiver has no {name}: update app/media/passthrough.py"
            )
    for cls, method in (
        (RTCRtpSender, "_send_keyframe"),
        (RTCRtpSender, "_next_encoded_frame"),
        (RTCRtpSender, "_handle_rtcp_packet"),
        (RTCRtpReceiver, "_send_rtcp_pli"),
        (RTCRtpReceiver, "_send_rtcp"),
        (RTCRtpReceiver, "_handle_rtp_packet"),
    ):
        if not hasattr(cls, method):
            raise ImportError(f"aiortc's {cls.__name__}.{method} is gone: update passthrough.py")


check_aiortc()


def is_vp8_keyframe(data: bytes) -> bool:
    """Whether a VP8 frame is a keyframe (RFC 6386 9.1: tag bit 0 clear, then the start code)."""
    return len(data) >= 10 and not data[0] & 1 and data[3:6] == b"\x9d\x01\x2a"


class _EncodedFrames(queue.Queue[Any]):
    """The receiver's decoder queue, turned into a hand-over of encoded frames to its track.

    aiortc calls ``put((codec, encoded_frame))`` on the event loop for each complete frame
    and ``put(None)`` when the receiver stops; the decoder thread ``get()``s from it. Here
    frames go straight to the track as packets; only the ``None`` reaches the thread, which
    then ends the track (so a hang-up still ends it the usual way).
    """

    def __init__(self, receiver: RTCRtpReceiver) -> None:
        super().__init__()
        self._receiver = receiver
        # The sender's RFC 6465 level (voice activity, -dBov) of the latest audio packet.
        self.audio_level: tuple[bool, int] | None = None
        # Audio packets keep their RTP numbering (unwrapped), so gaps and reordering in
        # what the browser sent stay visible to the one receiving it.
        self._sequence = Unwrapper(16)
        self._timestamp = Unwrapper(32)

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            super().put(None)
            return
        codec, encoded_frame = item
        packet = av.Packet(encoded_frame.data)
        packet.pts = encoded_frame.timestamp
        packet.time_base = fractions.Fraction(1, codec.clockRate)
        if codec.mimeType.lower() == "video/vp8":
            packet.is_keyframe = is_vp8_keyframe(encoded_frame.data)
        elif isinstance(encoded_frame, _ArrivedPacket):
            # aiortc's timestamp mapper takes a late packet for an RTP wrap: use our own.
            packet.pts = self._timestamp.unwrap(encoded_frame.rtp_timestamp)
            packet.opaque = AudioPacketMeta(
                self._sequence.unwrap(encoded_frame.sequence_number), self.audio_level
            )
        self._receiver.track._queue.put_nowait(packet)  # type: ignore[attr-defined]


class _ArrivedPacket(JitterFrame):
    """One audio RTP packet as a frame, with the numbers it arrived with."""

    def __init__(self, data: bytes, rtp_timestamp: int, sequence_number: int) -> None:
        super().__init__(data, rtp_timestamp)
        self.rtp_timestamp = rtp_timestamp
        self.sequence_number = sequence_number


class _InArrivalOrder:
    """Stands in for an audio receiver's jitter buffer: every packet goes on at once.

    aiortc's audio jitter buffer (16 packets, 4 prefetched) holds packets back and drops
    good ones around every hole (aiortc issue #543). Forwarded, a packet needs no
    buffering here: the receiving browser's own jitter buffer and loss concealment see
    the stream as it was sent, holes and reordering included.
    """

    def add(self, packet: Any) -> tuple[bool, JitterFrame | None]:
        """Return the packet as a frame at once (no keyframe request: audio has none)."""
        return False, _ArrivedPacket(packet._data, packet.timestamp, packet.sequence_number)


def forward_encoded(receiver: RTCRtpReceiver) -> None:
    """Make ``receiver``'s track deliver encoded packets instead of decoded frames.

    Call it before the receiver starts (from the connection's "track" event: the receiver
    starts once the connection is up, and hands its decoder thread the queue it has then).
    """
    frames = _EncodedFrames(receiver)
    setattr(receiver, _DECODER_QUEUE, frames)
    if receiver.track.kind == "audio":
        # Keep the level the sender measured on its own samples (the server has none:
        # it does not decode). Packets go on as they arrive, so each carries its own.
        handle_rtp_packet = receiver._handle_rtp_packet

        async def note_audio_level(packet: Any, arrival_time_ms: int) -> None:
            frames.audio_level = packet.extensions.audio_level
            await handle_rtp_packet(packet, arrival_time_ms)

        receiver._handle_rtp_packet = note_audio_level  # type: ignore[method-assign]
        setattr(receiver, _JITTER_BUFFER, _InArrivalOrder())
        # aiortc asks for lost video only; ask the browser to resend lost audio too (it
        # does when the answer says "nack" for Opus: ``ask_for_opus_fec``). A resent
        # packet is forwarded when it comes, late, and the receiving browser's jitter
        # buffer puts it in its place if it is still in time.
        setattr(receiver, _NACK_GENERATOR, NackGenerator())


def request_keyframe(receiver: RTCRtpReceiver) -> None:
    """Ask the sender of what ``receiver`` gets for a keyframe (RTCP PLI).

    Not rate-limited here: each asker limits itself, and one asker's limit must not
    swallow another's request (a keyframe that came before the scanning tap was
    listening would leave it waiting for the next one, which browsers send rarely).
    """
    for source in receiver.getSynchronizationSources():
        asyncio.ensure_future(receiver._send_rtcp_pli(source.source))


def on_keyframe_request(sender: RTCRtpSender, forward: Callable[[], None]) -> None:
    """Call ``forward()`` whenever ``sender``'s receiver asks for a keyframe (PLI or FIR).

    The sender's own flag is still set: it makes its next *encoded* frame (the filler
    picture while the other side is away) a keyframe.
    """
    own = sender._send_keyframe

    def send_keyframe() -> None:
        own()
        forward()

    sender._send_keyframe = send_keyframe  # type: ignore[method-assign]


def on_bitrate_feedback(sender: RTCRtpSender, note: Callable[[int], None]) -> None:
    """Call ``note(bitrate)`` with each bitrate (REMB) ``sender``'s receiver asks for.

    aiortc gives it to its encoder; a forwarded stream has none, so the caller passes it
    upstream (``cap_bitrate`` on the leg the stream comes from): a side on a slow link
    is then sent what its link carries.
    """
    handle_rtcp_packet = sender._handle_rtcp_packet

    async def with_feedback(packet: Any) -> None:
        if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, _ = unpack_remb_fci(packet.fci)
            except ValueError:
                pass  # another application-layer feedback message
            else:
                note(bitrate)
        await handle_rtcp_packet(packet)

    sender._handle_rtcp_packet = with_feedback  # type: ignore[method-assign]


class _CappedEstimator:
    """aiortc's receive-side bitrate estimator, its REMB answers capped and spaced out.

    While it detects overuse, aiortc's estimator answers every packet, and each answer
    is an RTCP packet sent on the loop: profiled at a fifth of the server's loop time
    under load. Like libwebrtc, answer at most every REMB_INTERVAL_MS unless the
    bitrate falls by more than 3 % (which the sender must hear at once).
    """

    def __init__(self, estimator: Any, cap: Callable[[], int | None]) -> None:
        self._estimator = estimator
        self._cap = cap
        self._sent_bitrate: int | None = None
        self._sent_at_ms = 0
        # The last bitrate asked of the sender, and when (monotonic): what its video has;
        # and when it last fell (congestion: the estimator backs off, or the cap fell).
        self.sent: tuple[int, float] | None = None
        self.fell_at: float | None = None

    def add(self, arrival_time_ms: int, *args: Any, **kwargs: Any) -> tuple[int, list[int]] | None:
        remb: tuple[int, list[int]] | None = self._estimator.add(arrival_time_ms, *args, **kwargs)
        if remb is None:
            return None
        bitrate, ssrcs = remb
        cap = self._cap()
        if cap is not None:
            bitrate = min(bitrate, cap)
        if (
            self._sent_bitrate is not None
            and arrival_time_ms - self._sent_at_ms < REMB_INTERVAL_MS
            and bitrate >= self._sent_bitrate * 0.97
        ):
            return None
        now = time.monotonic()
        if self._sent_bitrate is not None and bitrate < self._sent_bitrate * 0.97:
            self.fell_at = now
        self._sent_bitrate, self._sent_at_ms = bitrate, arrival_time_ms
        self.sent = (bitrate, now)
        return bitrate, ssrcs


def cap_bitrate(receiver: RTCRtpReceiver, cap: Callable[[], int | None]) -> None:
    """Never tell the sender of ``receiver``'s video to send more than ``cap()`` bit/s.

    The estimator answers every half second (more often when the link is overused), so a
    new cap reaches the sender within about half a second; ``None`` leaves the estimate
    as it is.
    """
    estimator = getattr(receiver, _BITRATE_ESTIMATOR)
    if estimator is not None:
        setattr(receiver, _BITRATE_ESTIMATOR, _CappedEstimator(estimator, cap))


def prefer_forwardable_codecs(transceiver: RTCRtpTransceiver) -> None:
    """Negotiate only codecs the server forwards as they are (VP8 video, Opus audio)."""
    wanted = FORWARDED_CODECS[transceiver.kind]
    capabilities = RTCRtpSender.getCapabilities(transceiver.kind)
    transceiver.setCodecPreferences([c for c in capabilities.codecs if c.mimeType in wanted])


# Opus receive parameters the server asks of every browser (RFC 7587 section 6.1): in-band
# FEC lets the receiver rebuild a lost 20 ms frame from the next packet, DTX sends almost
# nothing while a side is silent, minptime allows 10 ms frames. Without an fmtp line in the
# answer, browsers send no FEC at all.
OPUS_PARAMETERS = {"minptime": 10, "useinbandfec": 1, "usedtx": 1, "stereo": 0}


# RTCP feedback the server answers for Opus: "nack" makes a browser keep the audio it
# sent and resend what the server reports lost (libwebrtc enables audio NACK on both its
# send and receive side from the remote description's Opus feedback, as mediasoup and
# Jitsi rely on); transport-cc is left out because aiortc implements no transport-wide
# congestion control (REMB, video only, is all it has).
OPUS_FEEDBACK = (RTCRtcpFeedback(type="nack"),)


def ask_for_opus_fec(pc: RTCPeerConnection) -> None:
    """Put Opus FEC, DTX, mono and NACK in the answer ``pc`` is about to create.

    aiortc answers with its own (empty) Opus parameters and no audio feedback; call this
    after setRemoteDescription and before createAnswer.
    """
    for transceiver in pc.getTransceivers():
        if transceiver.kind != "audio":
            continue
        for codec in transceiver._codecs:
            if codec.mimeType.lower() == "audio/opus":
                codec.parameters = {**codec.parameters, **OPUS_PARAMETERS}
                codec.rtcpFeedback = [
                    *codec.rtcpFeedback,
                    *(f for f in OPUS_FEEDBACK if f not in codec.rtcpFeedback),
                ]


def receiver_of(pc: RTCPeerConnection, track: Any) -> RTCRtpReceiver | None:
    """Return the receiver in ``pc`` whose track is ``track``."""
    for transceiver in pc.getTransceivers():
        if transceiver.receiver.track is track:
            receiver: RTCRtpReceiver = transceiver.receiver
            return receiver
    return None

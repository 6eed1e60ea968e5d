"""Audio goes through the server packet by packet: holes and reordering stay visible.

The resident's side of the link loses every tenth audio packet and swaps some pairs (in
user space, on the resident client's transport: the kernel here has no netem). Staff's
client must receive every packet the resident's link delivered — none held back or
dropped by the server — with the sequence numbers and timestamps at the offsets they
were sent with, so that its own jitter buffer and loss concealment can do their work.
"""

from __future__ import annotations

import asyncio
import struct

from aiortc.mediastreams import AudioStreamTrack

from app.media.audio import AudioPacketMeta, Unwrapper
from app.media.tracks import Feed
from tests.media.helpers import connect, wait_for
from tests.media.test_passthrough import Voice

SAMPLES_PER_PACKET = 960  # 20 ms at 48 kHz


def _rtp_numbers(wire: bytes) -> tuple[int, int, int, int]:
    """Return (payload type, sequence, timestamp, ssrc) of an RTP packet on the wire."""
    _, marker_pt, sequence, timestamp, ssrc = struct.unpack("!BBHII", wire[:12])
    return marker_pt & 0x7F, sequence, timestamp, ssrc


def _lossy_link(sender, sent: list[int], lost: list[int]):
    """Wrap the resident's transport: drop audio packets with seq % 10 == 3, swap pairs."""
    transport = sender.transport
    send = transport._send_rtp
    held: list[bytes] = []

    async def lossy(wire: bytes) -> None:
        if len(wire) < 12 or 192 <= wire[1] <= 223:
            await send(wire)  # RTCP goes as it is
            return
        _, sequence, _, ssrc = _rtp_numbers(wire)
        if ssrc != sender._ssrc:
            await send(wire)  # and video
            return
        sent.append(sequence)
        if sequence % 10 == 3:
            lost.append(sequence)
            return
        if sequence % 10 == 6 and not held:
            held.append(wire)  # goes out after the next one: a reordered pair
            return
        await send(wire)
        while held:
            await send(held.pop())

    transport._send_rtp = lossy


def test_lost_and_reordered_audio_reaches_staff_as_it_was_sent(
    live_server, media, resident_cookie, staff_cookie
):
    async def scenario():
        staff = await connect(live_server, 1, "staff", staff_cookie)
        heard: list[tuple[int, int]] = []  # (sequence, timestamp) of the resident's voice
        receiver = next(t.receiver for t in staff.pc.getTransceivers() if t.kind == "audio")
        handle = receiver._handle_rtp_packet

        async def note(packet, arrival_time_ms):
            level = packet.extensions.audio_level
            if level is not None and level[1] < 60:  # the tone, not the server's silence
                heard.append((packet.sequence_number, packet.timestamp))
            await handle(packet, arrival_time_ms)

        receiver._handle_rtp_packet = note
        resident = await connect(live_server, 1, "resident", resident_cookie(1), audio=Voice())
        sent: list[int] = []
        lost: list[int] = []
        audio_sender = next(t.sender for t in resident.pc.getTransceivers() if t.kind == "audio")
        await wait_for(lambda: audio_sender.transport is not None, 10)
        _lossy_link(audio_sender, sent, lost)
        try:
            await wait_for(lambda: len(heard) > 150, 20)
        finally:
            await resident.close()
            await staff.close()
        return heard, sent, lost

    heard, sent, lost = asyncio.run(asyncio.wait_for(scenario(), 60))
    sequences = Unwrapper(16)
    timestamps = Unwrapper(32)
    received = [(sequences.unwrap(s), timestamps.unwrap(t)) for s, t in heard]
    first = received[0]
    # Each packet keeps its place: the timestamp moves 960 per sequence number, so the
    # receiver knows exactly how much audio a hole is and where a late packet belongs.
    for sequence, timestamp in received:
        assert timestamp - first[1] == (sequence - first[0]) * SAMPLES_PER_PACKET
    span = range(min(s for s, _ in received), max(s for s, _ in received) + 1)
    missing = len(span) - len({s for s, _ in received})
    # The link lost one in ten; the server lost nothing more (a jitter buffer in the way
    # used to drop good packets around every hole, and renumber, so no hole showed).
    assert 0.08 * len(span) <= missing <= 0.12 * len(span)
    assert lost, "the injected loss did not happen"
    late = sum(1 for a, b in zip(received, received[1:], strict=False) if b[0] < a[0])
    assert late >= len(span) // 20  # every tenth pair arrived swapped, and stayed so


def test_a_feed_keeps_the_sources_numbering_at_a_fixed_offset():
    class Source(AudioStreamTrack):
        def __init__(self, packets):
            super().__init__()
            self.packets = list(packets)

        async def recv(self):
            if not self.packets:
                await asyncio.sleep(3600)
            return self.packets.pop(0)

    def packet(sequence):
        import fractions

        import av

        item = av.Packet(b"\xf8\xff\xfe")
        item.pts = 1000 + sequence * SAMPLES_PER_PACKET
        item.time_base = fractions.Fraction(1, 48_000)
        item.opaque = AudioPacketMeta(sequence, (False, 20))
        return item

    async def scenario():
        feed = Feed("audio")
        fillers = [await feed.recv() for _ in range(2)]  # silence before anyone speaks
        feed.set_source(Source(packet(s) for s in (100, 101, 103, 102, 104)))
        relayed = [await feed.recv() for _ in range(5)]
        feed.stop()
        return fillers, relayed

    fillers, relayed = asyncio.run(scenario())
    assert [f.opaque.sequence for f in fillers] == [0, 1]
    numbers = [p.opaque.sequence for p in relayed]
    assert numbers == [2, 3, 5, 4, 6]  # the hole and the swap, kept; offset fixed
    pts = [p.pts for p in relayed]
    assert [b - pts[0] for b in pts] == [(n - 2) * SAMPLES_PER_PACKET for n in numbers]
    assert relayed[0].opaque.audio_level == (False, 20)


def test_unwrapping_places_a_late_number_before_the_wrap_not_after():
    numbers = Unwrapper(16)
    assert [numbers.unwrap(n) for n in (65534, 65535, 1, 0, 2)] == [
        65534,
        65535,
        65537,
        65536,
        65538,
    ]

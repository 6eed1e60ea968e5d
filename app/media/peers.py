"""Peer connections: one per case and role, relayed to each other through the server.

Staff and resident each hold one connection to the server. The server sends each side a
``Feed`` per kind (audio, video), which relays the other side's track while it is
connected and sends silence / a black picture while it is not. A new offer for a (case,
role) that already has a connection closes the old one first: that is how a page
reconnects after a drop. Everything here runs on the media loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

import aioice.turn
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.exceptions import OperationError
from aiortc.mediastreams import MediaStreamTrack

from app.media import passthrough, quality
from app.media.load import LoadGovernor
from app.media.tracks import Feed, FrameTap
from app.media.turn import ice_servers_for

# The kernel's receive buffer of each connection's UDP socket. When the machine is busy
# and the media loop is late to read, packets wait here instead of being dropped: in the
# benchmark on a saturated machine, 4 MiB took audio packets lost on the way in from
# about 200 in 6 s to none. aioice asks for 256 KiB; the kernel caps the request at
# net.core.rmem_max (raise it on the server: sysctl -w net.core.rmem_max=4194304).
UDP_RECEIVE_BUFFER = 4 * 1024 * 1024
aioice.turn.UDP_SOCKET_BUFFER_SIZE = UDP_RECEIVE_BUFFER

log = logging.getLogger(__name__)

STAFF = "staff"
RESIDENT = "resident"
ROLES = (STAFF, RESIDENT)
KINDS = ("audio", "video")


def rtc_configuration(ice_servers: Sequence[dict[str, Any]]) -> RTCConfiguration:
    """Build the ICE configuration from the ICE_SERVERS setting; [] means host candidates only.

    Always explicit: aiortc given no list at all falls back to a public STUN server, which
    would tell a third party that a call is taking place.
    """
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(
                urls=server["urls"],
                username=server.get("username"),
                credential=server.get("credential"),
            )
            for server in ice_servers
        ]
    )


def other(role: str) -> str:
    """Return the other side of a call."""
    return RESIDENT if role == STAFF else STAFF


class Call:
    """One case's call: who is connected, what each side sends, the resident's video tap.

    Media is forwarded as the encoded packets each side sent (``passthrough.py``): the
    server decodes nothing but the resident's video, and that only while the tap is
    asked for frames.
    """

    def __init__(self, case_id: int, governor: LoadGovernor | None = None) -> None:
        self.case_id = case_id
        self.governor = governor
        self.relay = MediaRelay()
        self.incoming: dict[str, dict[str, MediaStreamTrack]] = {role: {} for role in ROLES}
        self.receivers: dict[str, dict[str, RTCRtpReceiver]] = {role: {} for role in ROLES}
        self.feeds: dict[str, dict[str, Feed]] = {role: {} for role in ROLES}
        # The video bitrate each side's browser asks the server for (its REMB feedback).
        self.downstream_bitrate: dict[str, int] = {}
        self.tap: FrameTap | None = None
        # The last look at each side's leg (its connection, counters) for the quality view.
        self.samples: dict[str, tuple[RTCPeerConnection, quality.Sample]] = {}

    def join(self, role: str, pc: RTCPeerConnection) -> None:
        """Give ``role``'s new connection its feeds, relaying what the other side sends.

        Call before applying the offer: the transceivers made here (one per kind, with
        the forwardable codecs only) are the ones the offer's m-lines are matched to.
        """
        for kind in KINDS:
            feed = Feed(kind)
            self.feeds[role][kind] = feed
            transceiver = pc.addTransceiver(feed, direction="sendrecv")
            passthrough.prefer_forwardable_codecs(transceiver)
            passthrough.on_keyframe_request(transceiver.sender, feed.request_keyframe)
            if kind == "video":
                passthrough.cap_bitrate(transceiver.receiver, partial(self.bitrate_cap, role))
                passthrough.on_bitrate_feedback(
                    transceiver.sender, partial(self.downstream_bitrate.__setitem__, role)
                )
            else:
                passthrough.forward_audio_packets(transceiver.sender)
            source = self.incoming[other(role)].get(kind)
            if source is not None and source.readyState == "live":
                self._relay(source, other(role), feed)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            receiver = passthrough.receiver_of(pc, track)
            if receiver is not None and track.kind in KINDS:
                # Now, before the connection is up: the receiver starts once it is.
                passthrough.forward_encoded(receiver)
                self.receive(role, track, receiver)

    def video_modes(self) -> dict[str, str]:
        """What each side's camera should do: full, capped, paused (audio first) or sharp.

        Sharp for the resident while staff scan or take a still (the tap is decoding).
        """
        return {
            role: quality.video_mode(
                quality.video_estimate(self.receivers[role].get("video")),
                sharp=role == RESIDENT and self.tap is not None and self.tap.active,
            )
            for role in ROLES
        }

    async def leg_quality(self, role: str, pc: RTCPeerConnection) -> dict[str, Any]:
        """The server's numbers for ``role``'s leg since the last look (rates need two)."""
        previous = self.samples.get(role)
        before = previous[1] if previous is not None and previous[0] is pc else None
        numbers, sample = await quality.leg_numbers(pc, self.receivers[role], before)
        self.samples[role] = (pc, sample)
        return numbers

    def bitrate_cap(self, role: str) -> int | None:
        """The most video ``role``'s browser should send: what the other side can take.

        That is the bitrate the other side's browser asks of the server (its REMB), and
        under load no more than the governor's level allows; None: no limit of ours.
        """
        caps = [self.downstream_bitrate.get(other(role))]
        if self.governor is not None:
            caps.append(self.governor.level.max_bitrate)
        return min((cap for cap in caps if cap is not None), default=None)

    def _relay(self, track: MediaStreamTrack, role: str, feed: Feed) -> None:
        # Buffered: every packet is forwarded (a VP8 frame builds on the one before, so
        # none may be skipped); a feed that falls behind skips to a keyframe instead.
        receiver = self.receivers[role][track.kind]
        feed.set_source(
            self.relay.subscribe(track, buffered=True),
            request_keyframe=lambda: passthrough.request_keyframe(receiver),
        )

    def receive(self, role: str, track: MediaStreamTrack, receiver: RTCRtpReceiver) -> None:
        """Relay a track arriving from ``role`` to the other side; tap the resident's video."""
        self.incoming[role][track.kind] = track
        self.receivers[role][track.kind] = receiver
        feed = self.feeds[other(role)].get(track.kind)
        if feed is not None:
            self._relay(track, role, feed)
        if role == RESIDENT and track.kind == "video":
            old, self.tap = (
                self.tap,
                FrameTap(
                    self.relay.subscribe(track, buffered=True),
                    request_keyframe=lambda: passthrough.request_keyframe(receiver),
                ),
            )
            if old is not None:
                old.cancel()

    async def leave(self, role: str) -> None:
        """Forget ``role``'s tracks and feeds (their connection is closing)."""
        for feed in self.feeds[role].values():
            feed.stop()
        self.feeds[role] = {}
        self.incoming[role] = {}
        self.receivers[role] = {}
        self.downstream_bitrate.pop(role, None)
        self.samples.pop(role, None)
        if role == RESIDENT and self.tap is not None:
            tap, self.tap = self.tap, None
            await tap.stop()

    @property
    def empty(self) -> bool:
        """Whether nobody is connected any more."""
        return not any(self.feeds[role] for role in ROLES)


# Each peer holds UDP sockets with 4 MiB buffers, a decoder and a relay; 2 cores relay
# about a dozen calls well (bench/call_quality.py). Past this, offers are refused with a
# Japanese 503 instead of opening sockets without bound.
MAX_PEERS = 48


class TooManyPeers(RuntimeError):
    """This process already holds MAX_PEERS connections."""


class PeerRegistry:
    """Every open peer connection of this process, by (case, role); all of them closable."""

    def __init__(self, ice_servers: Sequence[dict[str, Any]]) -> None:
        self._ice_servers = list(ice_servers)
        self.peers: dict[tuple[int, str], RTCPeerConnection] = {}
        self.calls: dict[int, Call] = {}
        self.governor = LoadGovernor()

    def new_connection(self) -> RTCPeerConnection:
        """Create a peer connection with the configured ICE servers (never aiortc's default).

        A TURN server given by shared secret gets credentials minted for this connection.
        """
        servers = ice_servers_for(self._ice_servers, "media-server", time.time())
        return RTCPeerConnection(rtc_configuration(servers))

    async def answer(self, case_id: int, role: str, offer: RTCSessionDescription) -> Any:
        """Answer ``role``'s offer for ``case_id``, replacing any connection it had."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        if (case_id, role) not in self.peers and len(self.peers) >= MAX_PEERS:
            raise TooManyPeers(f"{len(self.peers)} peer connections open")
        await self.close(case_id, role)
        self.governor.start()
        call = self.calls.setdefault(case_id, Call(case_id, self.governor))
        pc = self.new_connection()
        self.peers[(case_id, role)] = pc
        call.join(role, pc)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                log.info("media: case %s %s connection %s", case_id, role, pc.connectionState)
                await self._forget(case_id, role, pc)

        try:
            try:
                await pc.setRemoteDescription(offer)
                if not any(t.mid is not None for t in pc.getTransceivers()):
                    raise ValueError("the offer has neither audio nor video")
                passthrough.ask_for_opus_fec(pc)
                await pc.setLocalDescription(await pc.createAnswer())
            except OperationError as error:  # no codec in common
                raise ValueError(f"the offer has no VP8 video or Opus audio: {error}") from error
            except ValueError:
                raise
            except Exception as error:
                # aiortc parses and answers the browser's SDP with asserts and lookups: a
                # malformed offer surfaces as AssertionError, KeyError, AttributeError,
                # IndexError or a StopIteration turned RuntimeError, while parsing or while
                # answering a bad m-line. Each means "not an offer we can use", never a
                # server fault.
                raise ValueError(f"the offer is malformed ({type(error).__name__})") from error
        except BaseException:  # a bad offer, or the view gave up waiting (cancelled)
            await asyncio.shield(self._forget(case_id, role, pc))
            raise
        return pc.localDescription

    async def _forget(self, case_id: int, role: str, pc: RTCPeerConnection) -> None:
        # Only the registry's current connection for (case, role) owns the call's state:
        # a replaced connection closing late must not tear down its successor's feeds.
        if self.peers.get((case_id, role)) is pc:
            del self.peers[(case_id, role)]
            call = self.calls.get(case_id)
            if call is not None:
                await call.leave(role)
                # The other side may have left while we awaited: remove the call once.
                if call.empty and self.calls.get(case_id) is call:
                    del self.calls[case_id]
        try:
            await pc.close()
        except Exception as error:
            # A connection aiortc only half built from a malformed offer can fail while
            # closing (a transceiver without its transport); nothing refers to it any more.
            log.info("media: case %s %s: closing a half-built connection: %r", case_id, role, error)

    async def quality(self, case_id: int, role: str) -> dict[str, Any]:
        """What ``role``'s page should do with its camera; for staff, the resident's leg too."""
        call = self.calls.get(case_id)
        if call is None:
            return {"you": {"send_video": "full", "notice": False}}
        modes = call.video_modes()
        limited = any(mode in ("capped", "paused") for mode in modes.values())
        result: dict[str, Any] = {"you": {"send_video": modes[role], "notice": limited}}
        if role == STAFF:
            pc = self.peers.get((case_id, RESIDENT))
            if pc is None:
                result["resident"] = {"state": "absent", "level": "red"}
            else:
                numbers = await call.leg_quality(RESIDENT, pc)
                result["resident"] = {**numbers, "send_video": modes[RESIDENT]}
        return result

    async def close(self, case_id: int, role: str) -> None:
        """Close ``role``'s connection for ``case_id``, if any."""
        pc = self.peers.get((case_id, role))
        if pc is not None:
            await self._forget(case_id, role, pc)

    async def close_case(self, case_id: int) -> None:
        """Close both sides of a case's call."""
        for role in ROLES:
            await self.close(case_id, role)

    async def close_all(self) -> None:
        """Close every connection (shutdown)."""
        for case_id, role in list(self.peers):
            await self.close(case_id, role)
        await self.governor.stop()

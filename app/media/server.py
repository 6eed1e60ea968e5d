"""The app's media server: the loop, the peer registry and the scanner pool, for views.

Everything a Flask view (or a service) asks of the media layer goes through
``MediaServer``'s blocking methods, which hand the work to the media loop and wait for it
with a timeout. The loop, the registry and the scanner pool belong together to the
process that started them: after a fork all three are started afresh.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from aiortc import RTCSessionDescription
from flask import Flask, current_app

from app.media.loop import MediaLoop
from app.media.peers import ROLES, PeerRegistry
from app.media.turn import check_ice_servers, ice_servers_for
from app.slots import waiting

MAX_MEDIA_SECTIONS = 4  # a call page offers audio and video (and maybe data); more is not ours
_SSRC_LINE = re.compile(r"^a=ssrc(?:-group:\S+)?:?([\d ]+)", re.MULTILINE)

SCAN_WORKERS = 2  # decoding is CPU-bound: more threads than cores only adds contention
SIGNALLING_TIMEOUT = 15.0  # seconds to answer an offer (ICE gathering of host candidates)


class NoVideo(LookupError):
    """The case has no video from the resident (not connected, or the camera is off)."""


Decoder = Callable[[np.ndarray], list[Any]]


def _frame_scan() -> Decoder:
    # One FrameScan per request: it spreads the fallback passes over the frames it sees.
    from app.scanning.decode import FrameScan

    return FrameScan().scan


class MediaServer:
    """Answer offers, close calls, scan and take stills: the media layer's one front."""

    def __init__(self, ice_servers: Sequence[dict[str, Any]]) -> None:
        check_ice_servers(ice_servers)
        self.ice_servers = list(ice_servers)
        self.loop = MediaLoop()
        self.loop.on_stop(self._close_everything)
        self._registry: PeerRegistry | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    # -- per-process state ---------------------------------------------------------------

    def registry(self) -> PeerRegistry:
        """Return this process's registry (new after a fork, like the loop itself)."""
        with self._lock:
            if self._registry is None or self._pid != os.getpid():
                self._registry = PeerRegistry(self.ice_servers)
                self._executor = ThreadPoolExecutor(SCAN_WORKERS, thread_name_prefix="media-scan")
                self._pid = os.getpid()
            return self._registry

    def _scan_pool(self) -> ThreadPoolExecutor:
        self.registry()
        assert self._executor is not None
        return self._executor

    async def _close_everything(self) -> None:
        if self._registry is not None and self._pid == os.getpid():
            await self._registry.close_all()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
            self._registry = None

    def _run(self, make: Callable[[PeerRegistry], Any], timeout: float) -> Any:
        registry = self.registry()

        async def work() -> Any:
            return await make(registry)

        with waiting():  # the loop works; this thread only waits
            return self.loop.run(work(), timeout)

    # -- what views ask ------------------------------------------------------------------

    def answer(self, case_id: int, role: str, sdp: str) -> RTCSessionDescription:
        """Answer ``role``'s SDP offer for ``case_id`` (replacing its old connection)."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        check_offer(sdp)
        offer = RTCSessionDescription(sdp=sdp, type="offer")
        answer: RTCSessionDescription = self._run(
            lambda r: r.answer(case_id, role, offer), SIGNALLING_TIMEOUT
        )
        return answer

    def ice_servers_for_page(self, case_id: int, role: str) -> list[dict[str, Any]]:
        """The ICE servers a page uses for its next connection (TURN credentials minted now)."""
        return ice_servers_for(self.ice_servers, f"case{case_id}-{role}", time.time())

    def quality(self, case_id: int, role: str) -> dict[str, Any]:
        """What ``role``'s page should do with its camera, and (staff) the resident's leg."""
        if not self.loop.running:
            return {"you": {"send_video": "full", "notice": False}}
        result: dict[str, Any] = self._run(lambda r: r.quality(case_id, role), 5.0)
        return result

    def close_case(self, case_id: int, timeout: float = 5.0) -> None:
        """Hang up both sides of a case's call."""
        self._run(lambda r: r.close_case(case_id), timeout)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Close every connection and stop the loop."""
        self.loop.stop(timeout)

    def connection_states(self, case_id: int) -> dict[str, str]:
        """Return each connected role's connection state (for status displays and tests)."""
        if not self.loop.running:
            return {}

        async def states(registry: PeerRegistry) -> dict[str, str]:
            return {
                role: pc.connectionState
                for (case, role), pc in registry.peers.items()
                if case == case_id
            }

        result: dict[str, str] = self._run(states, 5.0)
        return result

    def take_still(self, case_id: int, timeout: float = 2.0) -> np.ndarray:
        """Return the resident's latest video frame as a BGR image (for document stills).

        The tap decodes only while asked, so an idle tap first waits for a keyframe it
        requests from the resident's browser (within a round trip and an encode).
        """
        frame = self._run(lambda r: _latest_frame(r, case_id, timeout), timeout + 1.0)
        with waiting():
            image: np.ndarray = (
                self._scan_pool().submit(frame.to_ndarray, format="bgr24").result(timeout)
            )
        return image

    def request_scan(
        self, case_id: int, timeout: float = 3.0, decoder: Decoder | None = None
    ) -> list[Any]:
        """Decode codes in the resident's video, trying newer frames until one reads.

        Only the latest frame is ever decoded (frames that arrive during a decode are
        skipped), in the scanner pool, never on the media loop; by default each frame
        gets a bounded slice of the decoding pipeline (``FrameScan``), so a call showing
        no code costs little. Returns the decoded codes, or [] if none was read within
        ``timeout`` seconds.
        Raises NoVideo when there is no video from the resident.
        """
        decode = decoder or _frame_scan()
        pool = self._scan_pool()

        def read(frame: Any) -> list[Any]:
            return decode(frame.to_ndarray(format="bgr24"))

        async def scan(registry: PeerRegistry) -> list[Any]:
            loop = asyncio.get_running_loop()
            deadline = time.monotonic() + timeout
            tap = _tap(registry, case_id)
            seen = tap.want()  # decode from now on; a frame just decoded counts as new
            while (remaining := deadline - time.monotonic()) > 0:
                frame = await tap.next_frame(seen, remaining)
                if frame is None:
                    break
                seen = tap.count
                codes = await loop.run_in_executor(pool, read, frame)
                if codes:
                    return codes
            if not tap.live:
                raise NoVideo(f"case {case_id}: the resident's video has ended")
            return []

        codes: list[Any] = self._run(scan, timeout + 5.0)
        return codes


def check_offer(sdp: str) -> None:
    """Refuse, before it reaches aiortc, an offer with SSRCs out of range or too many m-lines.

    aiortc takes any integer as an SSRC and fails later, on the loop, when it packs one
    into an RTCP report; and every m-line becomes a transceiver.
    """
    if sdp.count("\nm=") + sdp.startswith("m=") > MAX_MEDIA_SECTIONS:
        raise ValueError("the offer has too many media sections")
    for match in _SSRC_LINE.finditer(sdp):
        for value in match.group(1).split():
            if not 0 < int(value) < 1 << 32:
                raise ValueError(f"the offer has an SSRC out of range: {value}")


def _tap(registry: PeerRegistry, case_id: int) -> Any:
    call = registry.calls.get(case_id)
    if call is None or call.tap is None:
        raise NoVideo(f"case {case_id}: no video from the resident")
    return call.tap


async def _latest_frame(registry: PeerRegistry, case_id: int, timeout: float) -> Any:
    tap = _tap(registry, case_id)
    frame = await tap.next_frame(tap.want(), timeout)
    if frame is None:
        raise NoVideo(f"case {case_id}: no frame from the resident's video yet")
    return frame


def _loopback_only(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return ["127.0.0.1"] if use_ipv4 else []


def offer_loopback_only() -> None:
    """Make aioice offer 127.0.0.1 as the only host candidate (browser tests on one machine).

    aioice leaves loopback out of its host candidates, so a browser on the same machine
    could not reach the server over 127.0.0.1; this is what the MEDIA_LOOPBACK_ONLY
    setting switches on, process-wide.
    """
    import aioice.ice

    aioice.ice.get_host_addresses = _loopback_only


def init_media(app: Any) -> MediaServer:
    """Give the app its media server (the loop itself starts on first use)."""
    from app.media.loop import install_sigterm_handler

    server = MediaServer(app.config.get("ICE_SERVERS", []))
    if app.config.get("MEDIA_LOOPBACK_ONLY"):
        offer_loopback_only()
        app.logger.warning("media: MEDIA_LOOPBACK_ONLY is on: calls work only on this machine")
    app.extensions["media"] = server
    install_sigterm_handler()
    return server


def media_server(app: Flask | None = None) -> MediaServer:
    """Return the app's media server."""
    server: MediaServer = (app or current_app).extensions["media"]
    return server

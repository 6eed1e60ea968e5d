"""aiortc test clients of the media server, and a camera showing a QR code.

The clients are real aiortc peers in the test's own asyncio loop; the server is the app's
media layer, reached through the real signalling endpoint over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import segno
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from av import VideoFrame

QR_TEXT = "事前入力 山田 太郎 ヤマダ タロウ 1947-03-02"
WIDTH, HEIGHT = 640, 480


def qr_frame(text: str = QR_TEXT, qr: Any = None) -> np.ndarray:
    """Compose a 640×480 BGR camera frame with a QR code (``qr``, or of ``text``) in it."""
    qr = qr or segno.make_qr(text, encoding="utf-8", eci=True)
    modules = np.array(qr.matrix, dtype=np.uint8)  # 1 = dark
    scale = 300 // (modules.shape[0] + 8)
    symbol = np.kron(np.pad(1 - modules, 4, constant_values=1), np.ones((scale, scale)))
    image = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)  # a grey room behind the card
    size = symbol.shape[0]
    top, left = (HEIGHT - size) // 2, (WIDTH - size) // 2
    image[top : top + size, left : left + size] = (symbol * 255).astype(np.uint8)[..., None]
    return image


class PictureTrack(VideoStreamTrack):
    """A camera that shows one picture, 30 frames a second."""

    def __init__(self, image: np.ndarray) -> None:
        super().__init__()
        self._frame = VideoFrame.from_ndarray(image, format="bgr24")

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = self._frame
        frame.pts, frame.time_base = pts, time_base
        return frame


@dataclass
class Received:
    """What a client got from the server, by kind."""

    frames: dict[str, int] = field(default_factory=lambda: {"audio": 0, "video": 0})
    last_video: Any = None


@dataclass
class Client:
    """A test client peer connection and what it receives."""

    pc: RTCPeerConnection
    received: Received
    tasks: list[asyncio.Task[None]]

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.pc.close()


async def _consume(track: Any, received: Received) -> None:
    try:
        while True:
            frame = await track.recv()
            received.frames[track.kind] += 1
            if track.kind == "video":
                received.last_video = frame
    except MediaStreamError:
        pass


def post_offer(base_url: str, case_id: int, role: str, body: Any, cookie: str) -> tuple[int, Any]:
    """POST an offer to the signalling endpoint; return (status, JSON body)."""
    request = urllib.request.Request(
        f"{base_url}/media/{case_id}/{role}/offer",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Cookie": cookie},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()


async def connect(
    base_url: str,
    case_id: int,
    role: str,
    cookie: str,
    video: Any | None = None,
    audio: Any | None = None,
    configuration: RTCConfiguration | None = None,
) -> Client:
    """Connect a client to the server as ``role`` for ``case_id``, sending audio and video."""
    pc = RTCPeerConnection(configuration or RTCConfiguration(iceServers=[]))
    received = Received()
    tasks: list[asyncio.Task[None]] = []

    @pc.on("track")
    def on_track(track: Any) -> None:
        tasks.append(asyncio.ensure_future(_consume(track, received)))

    pc.addTrack(audio or AudioStreamTrack())
    pc.addTrack(video or PictureTrack(np.full((HEIGHT, WIDTH, 3), 128, np.uint8)))
    await pc.setLocalDescription(await pc.createOffer())
    body = {"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}
    loop = asyncio.get_running_loop()
    status, answer = await loop.run_in_executor(
        None, post_offer, base_url, case_id, role, body, cookie
    )
    assert status == 200, answer
    await pc.setRemoteDescription(RTCSessionDescription(**answer))
    return Client(pc, received, tasks)


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until ``condition()`` holds (polling), or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)

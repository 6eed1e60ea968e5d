"""Two Chromiums in a call through the real call script; the resident's network blips.

Both pages run ``call.js`` in the real call pane (the resident's partial as the app
renders it; staff's the same pane with its role), against the app served in this
process, so the test can cut the resident's path on the server's side: its ICE sockets
stop sending and receiving, as when a home network drops for a moment. The page must
then restart ICE on the *same* RTCPeerConnection through the same offer endpoint (no new
connection), and audio must flow again both ways. Both legs' negotiated SDP asks for
Opus in-band FEC, before and after.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import render_template

from tests.browser_env import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

FAKE_MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
]

AUDIO_IN = """async (root) => {
  const pc = root.peerConnection;
  if (!pc) return {packets: 0};
  let packets = 0;
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") packets += s.packetsReceived;
  });
  return {packets: packets, state: pc.connectionState,
          local: pc.currentLocalDescription && pc.currentLocalDescription.sdp,
          remote: pc.currentRemoteDescription && pc.currentRemoteDescription.sdp};
}"""


def _pane(app: Any, role: str) -> str:
    """The call pane: the resident's partial as rendered; staff's the same with its role."""
    with app.test_request_context():
        html = render_template("resident/_call.html", case=SimpleNamespace(id=1))
    # The resident's page shows and starts the pane once staff are in the call (resident.js
    # asks /r/call); here both panes start at once, as if that had happened.
    html = html.replace('職員とのビデオ通話" hidden', '職員とのビデオ通話"', 1)
    html = html.replace('data-role="resident"', 'data-role="resident" data-autostart="1"', 1)
    if role == "staff":
        html = html.replace("/resident/", "/staff/").replace(
            'data-role="resident"', 'data-role="staff"'
        )
        html = html.replace(
            "</section>",
            '<button data-call="toggle"></button><button data-call="scan"></button>'
            '<button data-call="still"></button><div data-call="scan-result"></div></section>',
        )
    return f'<!doctype html><html lang="ja"><head><meta charset="utf-8"></head><body>{html}</body></html>'


def _open(chromium: Any, base: str, cookie: str, html: str) -> Any:
    context = chromium.new_context(locale="ja-JP", viewport={"width": 900, "height": 700})
    name, value = cookie.split("=", 1)
    context.add_cookies([{"name": name, "value": value, "url": base}])
    page = context.new_page()
    page.goto(base + "/login")  # an app page: same origin for the pane's requests
    page.set_content(html)
    return page


def _stats(page: Any) -> dict[str, Any]:
    return page.evaluate(AUDIO_IN, page.locator("#call").element_handle())


def _wait(page: Any, condition: Any, timeout: float, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stats = _stats(page)
        if condition(stats):
            return stats
        assert time.monotonic() < deadline, f"{what}: {stats.get('state')}"
        page.wait_for_timeout(100)


def _opus_fec(sdp: str) -> bool:
    found = re.search(r"a=rtpmap:(\d+) opus/48000", sdp)
    return bool(found and re.search(rf"a=fmtp:{found[1]} .*useinbandfec=1", sdp))


def _cut_the_residents_path(media: Any) -> None:
    """On the server: the resident's ICE sockets send and receive nothing from now on."""

    async def cut(registry: Any) -> None:
        pc = registry.peers[(1, "resident")]
        for transceiver in pc.getTransceivers():
            connection = transceiver.receiver.transport.transport._connection
            for protocol in connection._protocols:
                protocol.datagram_received = lambda data, addr: None
                protocol.send_stun = lambda message, addr: None

                async def send_nothing(data: bytes, addr: Any) -> None:
                    return None

                protocol.send_data = send_nothing

    media._run(cut, 5.0)


def test_a_blip_is_survived_by_an_ice_restart_on_the_same_connection(
    browser, app, live_server, media, resident_cookie, staff_cookie
):
    chromium = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *FAKE_MEDIA_ARGS]
    )
    try:
        staff = _open(chromium, live_server, staff_cookie, _pane(app, "staff"))
        resident = _open(chromium, live_server, resident_cookie(1), _pane(app, "resident"))
        for page in (staff, resident):
            stats = _wait(page, lambda s: s["packets"] > 50, 30, "no audio at first")
            # Both legs negotiated Opus FEC: the offer asks it of the server, the answer of
            # the browser.
            assert _opus_fec(stats["local"]) and _opus_fec(stats["remote"])
        staff_before = _stats(staff)["packets"]

        _cut_the_residents_path(media)
        cut_at = time.monotonic()
        call = resident.locator("#call")
        deadline = cut_at + 15
        while call.get_attribute("data-ice-restarts") != "1":
            assert time.monotonic() < deadline, "the page did not notice the blip"
            resident.wait_for_timeout(100)
        noticed = time.monotonic() - cut_at
        call.locator('[data-call="state"][data-state="connected"]').wait_for(timeout=15_000)
        assert call.get_attribute("data-ice-restarts") == "1"
        assert call.get_attribute("data-connections") == "1"  # the same RTCPeerConnection
        resident_then = _stats(resident)["packets"]
        staff_then = _stats(staff)["packets"]
        after = _wait(resident, lambda s: s["packets"] > resident_then + 25, 10, "no audio back")
        back = time.monotonic() - cut_at
        _wait(staff, lambda s: s["packets"] > staff_then + 25, 10, "staff hear nothing")
        assert staff_then >= staff_before  # staff's own connection was never touched
        assert staff.locator("#call").get_attribute("data-connections") == "1"
        assert _opus_fec(after["local"]) and _opus_fec(after["remote"])
        if os.environ.get("KAKANAI_SCREENSHOTS"):
            folder = Path(os.environ["KAKANAI_SCREENSHOTS"])
            resident.screenshot(path=str(folder / "resident-after-ice-restart.png"))
        print(f"ice restart: lost noticed after {noticed:.1f} s, audio back after {back:.1f} s")
    finally:
        chromium.close()


SENDERS = """(root) => root.peerConnection.getSenders().map((s) => {
  const p = s.getParameters();
  return {kind: s.track && s.track.kind, encodings: p.encodings,
          degradation: p.degradationPreference || null};
})"""


def test_staff_see_how_the_call_is_and_a_scan_sharpens_the_residents_camera(
    browser, app, live_server, media, resident_cookie, staff_cookie
):
    chromium = browser.browser_type.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *FAKE_MEDIA_ARGS]
    )
    try:
        staff = _open(chromium, live_server, staff_cookie, _pane(app, "staff"))
        resident = _open(chromium, live_server, resident_cookie(1), _pane(app, "resident"))
        for page in (staff, resident):
            _wait(page, lambda s: s["packets"] > 50, 30, "no audio at first")
        indicator = staff.locator('#call [data-call="quality"]')
        indicator.wait_for(timeout=10_000)
        deadline = time.monotonic() + 10
        while "住民側" not in (indicator.get_attribute("title") or ""):
            assert time.monotonic() < deadline, indicator.get_attribute("title")
            staff.wait_for_timeout(200)
        staff.wait_for_timeout(2500)  # one more look: rates need two
        title = indicator.get_attribute("title")
        assert indicator.get_attribute("data-level") == "green", title
        assert indicator.inner_text() == "通話品質: 良好"
        assert "住民側（サーバーで測定）: 音声の欠落 0%" in title, title
        assert "この端末（受信）" in title and "往復" in title
        # Nothing limits video on loopback: no notice, the cameras send in full.
        assert staff.locator('#call [data-call="notice"]').is_hidden()
        media.request_scan(1, timeout=0.5, decoder=lambda image: [])
        call = resident.locator("#call")
        deadline = time.monotonic() + 10
        while call.get_attribute("data-video-mode") != "sharp":
            assert time.monotonic() < deadline, "the resident's camera was not asked to sharpen"
            resident.wait_for_timeout(200)
        senders = resident.evaluate(SENDERS, call.element_handle())
        video = next(s for s in senders if s["kind"] == "video")
        audio = next(s for s in senders if s["kind"] == "audio")
        assert video["degradation"] == "maintain-resolution"
        assert (
            video["encodings"][0]["active"]
            and video["encodings"][0].get("scaleResolutionDownBy", 1) == 1
        )
        assert audio["encodings"][0]["active"] and "maxBitrate" not in audio["encodings"][0]
        if os.environ.get("KAKANAI_SCREENSHOTS"):
            folder = Path(os.environ["KAKANAI_SCREENSHOTS"])
            staff.screenshot(path=str(folder / "staff-quality.png"))
    finally:
        chromium.close()

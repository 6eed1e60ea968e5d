"""A real Chromium's offer gets an answer Chromium accepts, asking it for Opus FEC and NACK.

The offer is Chromium's own (audio and video transceivers, as the call page makes);
it goes to the real signalling endpoint; Chromium applies the answer, and its audio
sender then reports the Opus parameters it will use: in-band FEC, DTX, 10 ms minptime.
"""

from __future__ import annotations

import re

import pytest

from tests.media.helpers import post_offer

pytestmark = pytest.mark.browser

MAKE_OFFER = """async () => {
  const pc = new RTCPeerConnection({iceServers: []});
  window.pc = pc;
  pc.addTransceiver("audio", {direction: "sendrecv"});
  pc.addTransceiver("video", {direction: "sendrecv"});
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
    setTimeout(resolve, 3000);
  });
  return pc.localDescription.sdp;
}"""

APPLY_ANSWER = """async (answer) => {
  await window.pc.setRemoteDescription(answer);
  const audio = window.pc.getTransceivers().find((t) => t.receiver.track.kind === "audio");
  const codecs = audio.sender.getParameters().codecs;
  window.pc.close();
  return codecs.map((c) => ({mimeType: c.mimeType, fmtp: c.sdpFmtpLine || ""}));
}"""


def _fmtp(sdp: str, codec: str) -> dict[str, str]:
    payload_type = re.search(rf"a=rtpmap:(\d+) {codec}", sdp, re.IGNORECASE)
    assert payload_type, sdp
    line = re.search(rf"a=fmtp:{payload_type[1]} (.*)", sdp)
    return dict(p.split("=", 1) for p in (line[1].strip() if line else "").split(";") if p)


@pytest.mark.parametrize("role", ["staff", "resident"])
def test_chromiums_offer_is_answered_with_opus_fec_dtx_mono_and_nack(
    role, browser, live_server, media, resident_cookie, staff_cookie
):
    context = browser.new_context()
    try:
        page = context.new_page()
        offer = page.evaluate(MAKE_OFFER)
        assert "useinbandfec=1" in offer  # what Chromium asks of the server (its receive side)
        cookie = staff_cookie if role == "staff" else resident_cookie(1)
        status, answer = post_offer(live_server, 1, role, {"sdp": offer, "type": "offer"}, cookie)
        assert status == 200, answer
        params = _fmtp(answer["sdp"], "opus/48000/2")
        assert params.get("useinbandfec") == "1"
        assert params.get("usedtx") == "1"
        assert params.get("minptime") == "10"
        assert params.get("stereo") == "0"
        opus_type = re.search(r"a=rtpmap:(\d+) opus", answer["sdp"])[1]
        assert f"a=rtcp-fb:{opus_type} nack" in answer["sdp"]
        # The answer names only VP8 for video: what the server forwards as it is.
        video = answer["sdp"].split("m=video", 1)[1]
        assert re.findall(r"a=rtpmap:\d+ (\w+)/", video) in (["VP8"], ["VP8", "rtx"])
        codecs = page.evaluate(APPLY_ANSWER, answer)
        opus = next(c for c in codecs if c["mimeType"].lower() == "audio/opus")
        used = dict(p.split("=", 1) for p in opus["fmtp"].split(";") if p)
        assert used.get("useinbandfec") == "1", opus
        assert used.get("usedtx") == "1", opus
    finally:
        context.close()

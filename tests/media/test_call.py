"""Calls through the real signalling endpoint: relay, scanning, reconnects, hang-ups."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
import zxingcpp

from app.scanning.classify import classify
from app.scanning.preentry import PreEntry, make_preentry_qr, sign_preentry
from tests.media.helpers import QR_TEXT, PictureTrack, connect, post_offer, qr_frame, wait_for

PREENTRY_KEY = b"k" * 32


def test_a_preentry_qr_held_up_to_the_residents_camera_scans_into_facts(
    live_server, media, resident_cookie
):
    now = datetime.now(UTC)
    entry = PreEntry("move_in", "山田 太郎", "ヤマダ タロウ", date(1947, 3, 2), phone="0312345678")
    qr = make_preentry_qr(sign_preentry(entry, PREENTRY_KEY, now))

    async def scenario():
        camera = PictureTrack(qr_frame(qr=qr))
        resident = await connect(live_server, 1, "resident", resident_cookie(1), video=camera)
        try:
            await wait_for(lambda: resident.pc.connectionState == "connected")
            loop = asyncio.get_running_loop()
            codes = await loop.run_in_executor(None, lambda: media.request_scan(1, timeout=10.0))
            still = await loop.run_in_executor(None, media.take_still, 1)
        finally:
            await resident.close()
        return codes, still

    codes, still = asyncio.run(scenario())
    results = [classify(code, preentry_key=PREENTRY_KEY, now=now) for code in codes]
    assert [r.kind for r in results] == ["pre_entry"]
    assert results[0].facts["household[0].name"] == "山田 太郎"
    assert results[0].facts["case.events"] == ["move_in"]
    assert still.shape == (480, 640, 3)


def test_a_scan_without_the_residents_video_says_so(app, media):
    from app.media.server import NoVideo

    with pytest.raises(NoVideo):
        media.request_scan(1, timeout=0.5)


def test_staff_and_resident_see_and_hear_each_other(
    live_server, media, resident_cookie, staff_cookie
):
    async def scenario():
        staff = await connect(live_server, 1, "staff", staff_cookie)
        resident = await connect(
            live_server, 1, "resident", resident_cookie(1), video=PictureTrack(qr_frame())
        )
        try:
            await wait_for(lambda: resident.received.frames["video"] > 10, 15)
            await wait_for(lambda: staff.received.frames["video"] > 10, 15)
            await wait_for(lambda: min(staff.received.frames["audio"], 20) == 20)
            # What staff see is the resident's camera, relayed: the QR in it still reads.
            seen = staff.received.last_video.to_ndarray(format="bgr24")
        finally:
            await staff.close()
            await resident.close()
        return seen

    seen = asyncio.run(scenario())
    assert QR_TEXT in [code.text for code in zxingcpp.read_barcodes(seen)]


def test_a_new_offer_replaces_the_old_connection(live_server, media, resident_cookie, staff_cookie):
    async def scenario():
        staff = await connect(live_server, 1, "staff", staff_cookie)
        first = await connect(live_server, 1, "resident", resident_cookie(1))
        await wait_for(lambda: first.pc.connectionState == "connected")
        old = media.registry().peers[(1, "resident")]
        # The resident's page lost its connection and offers again (a reconnect).
        second = await connect(
            live_server, 1, "resident", resident_cookie(1), video=PictureTrack(qr_frame())
        )
        await wait_for(lambda: second.pc.connectionState == "connected")
        new = media.registry().peers[(1, "resident")]
        states = media.connection_states(1)
        # Staff's connection was left alone and now shows the reconnected camera.
        await wait_for(
            lambda: (
                staff.received.last_video is not None
                and QR_TEXT
                in [
                    c.text
                    for c in zxingcpp.read_barcodes(
                        staff.received.last_video.to_ndarray(format="bgr24")
                    )
                ]
            ),
            15,
        )
        await wait_for(lambda: second.received.frames["video"] > 5)
        for client in (staff, first, second):
            await client.close()
        return old, new, states

    old, new, states = asyncio.run(scenario())
    assert new is not old
    assert old.connectionState == "closed"
    assert states == {"staff": "connected", "resident": "connected"}


def test_close_case_closes_both_sides(live_server, media, resident_cookie, staff_cookie):
    async def scenario():
        staff = await connect(live_server, 1, "staff", staff_cookie)
        resident = await connect(live_server, 1, "resident", resident_cookie(1))
        other = await connect(live_server, 2, "resident", resident_cookie(2))
        clients = (staff, resident, other)
        await wait_for(lambda: all(c.pc.connectionState == "connected" for c in clients))
        peers = dict(media.registry().peers)
        await asyncio.get_running_loop().run_in_executor(None, media.close_case, 1)
        left = dict(media.registry().peers)
        for client in clients:
            await client.close()
        return peers, left

    peers, left = asyncio.run(scenario())
    assert peers[(1, "staff")].connectionState == "closed"
    assert peers[(1, "resident")].connectionState == "closed"
    assert list(left) == [(2, "resident")]  # another case's call goes on


def test_shutdown_closes_every_connection(live_server, media, resident_cookie, staff_cookie):
    async def scenario():
        clients = [
            await connect(live_server, 1, "staff", staff_cookie),
            await connect(live_server, 1, "resident", resident_cookie(1)),
            await connect(live_server, 2, "resident", resident_cookie(2)),
        ]
        await wait_for(lambda: all(c.pc.connectionState == "connected" for c in clients))
        peers = list(media.registry().peers.values())
        await asyncio.get_running_loop().run_in_executor(None, media.shutdown)
        for client in clients:
            await client.close()
        return peers

    peers = asyncio.run(scenario())
    assert len(peers) == 3
    assert [pc.connectionState for pc in peers] == ["closed"] * 3
    assert not media.loop.running


@pytest.mark.parametrize(
    ("case_id", "role", "status"),
    [
        (1, "resident", 403),  # admitted to case 2, not case 1
        (2, "staff", 403),  # a resident cannot join as staff
        (2, "clerk", 404),
    ],
)
def test_a_resident_reaches_only_their_own_case(
    live_server, media, resident_cookie, case_id, role, status
):
    body = {"sdp": "v=0\r\n", "type": "offer"}
    got, _ = post_offer(live_server, case_id, role, body, resident_cookie(2))
    assert got == status
    assert not media.loop.running  # refused before any media work


def test_staff_cannot_join_as_the_resident(live_server, media, staff_cookie):
    body = {"sdp": "v=0\r\n", "type": "offer"}
    got, _ = post_offer(live_server, 1, "resident", body, staff_cookie)
    assert got == 403


@pytest.mark.parametrize("body", [None, {"type": "answer", "sdp": "v=0"}, {"type": "offer"}])
def test_a_malformed_offer_is_refused_with_a_message(live_server, media, resident_cookie, body):
    status, answer = post_offer(live_server, 1, "resident", body, resident_cookie(1))
    assert status == 400
    assert "通話" in answer.decode()


def test_an_unusable_sdp_is_refused_with_a_message(live_server, media, resident_cookie):
    body = {"type": "offer", "sdp": "v=0\r\nthis is not sdp\r\n"}
    status, answer = post_offer(live_server, 1, "resident", body, resident_cookie(1))
    assert status == 400
    assert "通話" in answer.decode()
    assert media.registry().peers == {}


def test_a_media_server_that_does_not_answer_in_time_gets_a_503(
    live_server, media, resident_cookie, monkeypatch
):
    import time

    import app.media.server

    monkeypatch.setattr(app.media.server, "SIGNALLING_TIMEOUT", 0.3)

    async def offer():
        from aiortc import RTCConfiguration, RTCPeerConnection

        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver("audio")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        await pc.close()
        return sdp

    sdp = asyncio.run(offer())
    media.loop.loop().call_soon_threadsafe(time.sleep, 1.0)  # the media loop is stuck
    status, answer = post_offer(
        live_server, 1, "resident", {"sdp": sdp, "type": "offer"}, resident_cookie(1)
    )
    assert status == 503
    assert "通話サーバー" in answer.decode()
    # The half-made connection was closed, not left in the registry.
    monkeypatch.setattr(app.media.server, "SIGNALLING_TIMEOUT", 5.0)
    time.sleep(1.0)
    assert media.connection_states(1) == {}

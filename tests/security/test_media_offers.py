"""Issue 18 Low 11: offers open UDP sockets, so only for live cases and only up to a cap."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from app.extensions import db
from app.media import peers
from app.models import Case
from app.services.cases import open_case

OFFER = {"type": "offer", "sdp": "v=0\r\n"}


def test_staff_offers_on_a_case_that_does_not_exist_are_refused(client, login_as):
    login_as("counter")
    response = client.post("/media/987654/staff/offer", json=OFFER)
    assert response.status_code == 404
    assert "見つかりません" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("status", ["signed", "issued", "closed", "cancelled"])
def test_offers_on_a_signed_or_finished_case_are_refused(app, client, login_as, status):
    staff = login_as("counter")
    with app.app_context():
        now = datetime.now()
        case = open_case(staff.id, ["move_out"], "remote", now.date(), now, staff.username)
        case.status = status
        db.session.commit()
        case_id = case.id
    response = client.post(f"/media/{case_id}/staff/offer", json=OFFER)
    assert response.status_code == 409
    assert "通話できません" in response.get_json()["error"]["message"]
    with app.app_context():
        assert db.session.get(Case, case_id).status == status


def test_the_process_holds_at_most_max_peers(monkeypatch):
    monkeypatch.setattr(peers, "MAX_PEERS", 2)

    async def run() -> None:
        registry = peers.PeerRegistry([])
        clients = []

        async def offer() -> RTCSessionDescription:
            pc = RTCPeerConnection()
            clients.append(pc)
            pc.addTrack(AudioStreamTrack())  # as a page offers: microphone and camera
            pc.addTrack(VideoStreamTrack())
            await pc.setLocalDescription(await pc.createOffer())
            return pc.localDescription

        try:
            await registry.answer(1, peers.STAFF, await offer())
            await registry.answer(2, peers.STAFF, await offer())
            with pytest.raises(peers.TooManyPeers):
                await registry.answer(3, peers.STAFF, await offer())
            assert len(registry.peers) == 2
            # Replacing a side's own connection is not a new peer: still allowed.
            await registry.answer(1, peers.STAFF, await offer())
            assert len(registry.peers) == 2
        finally:
            await registry.close_all()
            for pc in clients:
                await pc.close()

    asyncio.run(run())

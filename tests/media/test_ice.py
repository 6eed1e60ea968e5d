"""ICE servers come from configuration only: an empty list means no STUN/TURN at all."""

from __future__ import annotations

import asyncio

from aiortc import RTCPeerConnection

from app.media.peers import PeerRegistry, rtc_configuration


def _ice_connection(pc: RTCPeerConnection):
    transceiver = pc.addTransceiver("audio")
    return transceiver.sender.transport.transport.iceGatherer._connection


def test_aiortc_without_a_configuration_would_use_a_public_stun_server():
    # Why the rule exists; if aiortc ever stops doing this the rule is still right.
    async def scenario():
        pc = RTCPeerConnection()
        try:
            return _ice_connection(pc).stun_server
        finally:
            await pc.close()

    assert asyncio.run(scenario()) == ("stun.l.google.com", 19302)


def test_an_empty_ice_server_list_means_host_candidates_only():
    async def scenario():
        pc = PeerRegistry([]).new_connection()
        try:
            connection = _ice_connection(pc)
            await pc.setLocalDescription(await pc.createOffer())
            return connection.stun_server, connection.turn_server, pc.localDescription.sdp
        finally:
            await pc.close()

    stun, turn, sdp = asyncio.run(scenario())
    assert (stun, turn) == (None, None)
    candidates = [line for line in sdp.splitlines() if line.startswith("a=candidate:")]
    assert candidates, "no host candidate gathered"
    assert all(" typ host" in line for line in candidates)


def test_configured_stun_and_turn_servers_are_used():
    servers = [
        {"urls": "stun:stun.example.jp:3478"},
        {"urls": "turn:turn.example.jp:3478", "username": "u", "credential": "p"},
    ]
    assert [s.urls for s in rtc_configuration(servers).iceServers] == [
        "stun:stun.example.jp:3478",
        "turn:turn.example.jp:3478",
    ]

    async def scenario():
        pc = PeerRegistry(servers).new_connection()
        try:
            connection = _ice_connection(pc)
            return (
                connection.stun_server,
                connection.turn_server,
                connection.turn_username,
                connection.turn_password,
            )
        finally:
            await pc.close()

    assert asyncio.run(scenario()) == (
        ("stun.example.jp", 3478),
        ("turn.example.jp", 3478),
        "u",
        "p",
    )


def test_the_app_builds_its_registry_from_the_ice_servers_setting(app):
    from app.media.server import media_server

    server = media_server(app)
    assert server.ice_servers == app.config["ICE_SERVERS"] == []
    assert server.registry()._ice_servers == []

"""From home, through TURN: a real coturn on loopback, credentials minted per connection.

The test starts its own ``turnserver`` (Debian's coturn) on 127.0.0.1 with a temporary
configuration in the TURN REST API mode (``use-auth-secret``), gives the app the same
shared secret, and connects a resident whose client may only use relay candidates
(``iceTransportPolicy: relay``, as a browser behind a firewall that lets nothing else
out): all its media goes through coturn. The credentials come from the app's
``ice-servers`` endpoint, as the call page fetches them; an expired pair is refused by
coturn itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import socket
import struct
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnection
from flask import render_template

from app.media.turn import mint, turn_credential
from tests.media.helpers import connect, wait_for

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
REALM = "kakanai.test"


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _free_port_range(size: int = 40) -> int:
    """A run of ``size`` UDP ports that are free now (coturn's relay range)."""
    for _ in range(50):
        base = 50_000 + secrets.randbelow(10_000)
        sockets = []
        try:
            for port in range(base, base + size):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free UDP port range for coturn")


def _stun_answers(port: int) -> bool:
    """Whether a STUN Binding request to 127.0.0.1:port gets a response (RFC 5389)."""
    request = struct.pack("!HHI12s", 0x0001, 0, 0x2112A442, secrets.token_bytes(12))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        s.sendto(request, ("127.0.0.1", port))
        try:
            return s.recv(1500)[:2] == b"\x01\x01"
        except OSError:
            return False


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[SimpleNamespace]:
    """A coturn on loopback in TURN REST API mode; stopped (and waited for) after the test."""
    if not os.path.exists(TURNSERVER):
        pytest.fail("turnserver is missing: `make setup-test` installs Debian's coturn")
    port, relay_base, secret = _free_udp_port(), _free_port_range(), secrets.token_hex(16)
    config = tmp_path / "turnserver.conf"
    log = tmp_path / "turn.log"
    config.write_text(
        "\n".join(
            [
                "listening-ip=127.0.0.1",
                f"listening-port={port}",
                "relay-ip=127.0.0.1",
                f"min-port={relay_base}",
                f"max-port={relay_base + 39}",
                "use-auth-secret",
                f"static-auth-secret={secret}",
                f"realm={REALM}",
                "fingerprint",
                # The media server is on loopback here; in production it is not (docs/turn.md).
                "allow-loopback-peers",
                "no-tls",
                "no-dtls",
                "no-cli",
                f"userdb={tmp_path / 'turndb'}",
                f"pidfile={tmp_path / 'turnserver.pid'}",
                f"log-file={log}",
                "simple-log",
                "verbose",
            ]
        )
        + "\n"
    )
    process = subprocess.Popen(
        [TURNSERVER, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 10
        while not _stun_answers(port):
            assert process.poll() is None, "turnserver exited:\n" + _read(log)
            assert time.monotonic() < deadline, "turnserver did not answer:\n" + _read(log)
            time.sleep(0.1)
        yield SimpleNamespace(
            url=f"turn:127.0.0.1:{port}?transport=udp",
            secret=secret,
            log=log,
            relay_ports=range(relay_base, relay_base + 40),
        )
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else "(no log)"


def _ice_servers(base_url: str, role: str, cookie: str) -> list[dict[str, Any]]:
    request = urllib.request.Request(
        f"{base_url}/media/1/{role}/ice-servers", headers={"Cookie": cookie}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Cache-Control"] == "no-store"
        return json.loads(response.read())["iceServers"]


def _relay_only(servers: list[dict[str, Any]]) -> RTCConfiguration:
    return RTCConfiguration(
        iceServers=[RTCIceServer(**server) for server in servers],
        iceTransportPolicy=RTCIceTransportPolicy.RELAY,
    )


def test_a_minted_pair_expires_after_the_ttl_and_keeps_the_secret_back():
    # Whether coturn accepts what is minted is tested for real below.
    server = mint(
        {"urls": "turn:t.example.jp:3478", "secret": "s3cret", "ttl": 600}, "case:1", 1000.0
    )
    assert server["username"] == "1600:case-1"
    assert server["credential"] == turn_credential("s3cret", "1600:case-1")
    assert "secret" not in server and "ttl" not in server


def test_a_resident_reaches_the_media_server_only_through_coturn(
    coturn, app, live_server, media, resident_cookie, staff_cookie
):
    media.ice_servers = [{"urls": coturn.url, "secret": coturn.secret, "ttl": 600}]
    servers = _ice_servers(live_server, "resident", resident_cookie(1))
    assert coturn.secret not in json.dumps(servers)
    (server,) = servers
    expiry, label = server["username"].split(":", 1)
    assert label == "case1-resident"
    assert time.time() + 590 <= int(expiry) <= time.time() + 610
    # Nor is the secret in the call pane the page shows.
    with app.test_request_context():
        pane = render_template("resident/_call.html", case=SimpleNamespace(id=1))
    assert coturn.secret not in pane and "ice-servers" in pane

    async def scenario() -> tuple[str, Any, int, int]:
        staff = await connect(live_server, 1, "staff", staff_cookie)
        resident = await connect(
            live_server, 1, "resident", resident_cookie(1), configuration=_relay_only(servers)
        )
        offer = resident.pc.localDescription.sdp
        try:
            await wait_for(lambda: resident.pc.connectionState == "connected", 20)
            before = dict(staff.received.frames)
            await wait_for(
                lambda: (
                    staff.received.frames["video"] > before["video"] + 20
                    and staff.received.frames["audio"] > before["audio"] + 50
                ),
                20,
            )
            ice = next(iter(resident.pc.getTransceivers())).receiver.transport.transport
            pair = ice._connection._nominated[1]
            return offer, pair.local_candidate, staff.received.frames["video"], 0
        finally:
            await resident.close()
            await staff.close()

    offer, local, _, _ = asyncio.run(asyncio.wait_for(scenario(), 60))
    candidates = [line for line in offer.splitlines() if line.startswith("a=candidate:")]
    assert candidates and all(" typ relay " in line for line in candidates), candidates
    assert local.type == "relay" and local.port in coturn.relay_ports
    log = _read(coturn.log)
    assert "case1-resident" in log  # coturn saw (and accepted) the minted username


def test_an_expired_credential_is_refused_by_coturn(coturn):
    expired = mint(
        {"urls": coturn.url, "secret": coturn.secret, "ttl": 60},
        "case1-resident",
        time.time() - 120,
    )
    wrong = {**mint({"urls": coturn.url, "secret": "not-the-secret"}, "x", time.time())}

    async def gather(server: dict[str, Any]) -> str:
        pc = RTCPeerConnection(_relay_only([server]))
        try:
            pc.addTransceiver("audio")
            await pc.setLocalDescription(await pc.createOffer())
            return pc.localDescription.sdp
        finally:
            await pc.close()

    for server in (expired, wrong):
        sdp = asyncio.run(asyncio.wait_for(gather(server), 30))
        assert " typ relay " not in sdp  # no allocation: coturn said 401
    fresh = mint({"urls": coturn.url, "secret": coturn.secret}, "case1-resident", time.time())
    assert " typ relay " in asyncio.run(asyncio.wait_for(gather(fresh), 30))

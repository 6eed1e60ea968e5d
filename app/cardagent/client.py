"""Talk to the server: pair once, then send MAC-signed, replay-protected messages.

Every message carries the agent id, a fresh random nonce and the time, and an HMAC-SHA256
over method, path, time, nonce and body with the agent's secret (given once at pairing,
never in a URL). The server refuses a wrong MAC, an old time, a nonce it has seen, or a
reading for a case its desk is not serving.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.cardagent.drivers import RawRead, ResidenceRead

# (method, path, body, headers) -> (status, decoded JSON)
Send = Callable[[str, str, bytes, dict[str, str]], tuple[int, dict[str, Any]]]


def mac_input(method: str, path: str, stamp: str, nonce: str, body: bytes) -> bytes:
    """Return the bytes the message MAC covers (shared with the server)."""
    return f"{method}\n{path}\n{stamp}\n{nonce}\n".encode() + body


@dataclass(frozen=True, repr=False)
class Credential:
    """What pairing gave this agent: the server, its id and its secret."""

    server: str
    agent_id: int
    secret: str

    def __repr__(self) -> str:
        return f"Credential(server={self.server!r}, agent_id={self.agent_id})"

    def save(self, path: Path) -> None:
        """Write the credential readable by its owner only."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(
                {"server": self.server, "agent_id": self.agent_id, "secret": self.secret}, out
            )

    @classmethod
    def load(cls, path: Path) -> Credential:
        """Read a saved credential."""
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data["server"], int(data["agent_id"]), data["secret"])


def https_sender(server: str, cafile: str | None = None) -> Send:
    """Return a sender over HTTPS (plain HTTP only to 127.0.0.1, for a local test server)."""
    if not (server.startswith("https://") or server.startswith("http://127.0.0.1")):
        raise ValueError("サーバーは https:// で指定してください。")
    context = ssl.create_default_context(cafile=cafile)

    def send(
        method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            server.rstrip("/") + path,
            data=body or None,
            method=method,
            headers={"Content-Type": "application/json", **headers},
        )
        try:
            with urllib.request.urlopen(request, context=context, timeout=15) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    return send


def pair(send: Send, server: str, code: str, name: str) -> Credential:
    """Exchange a pairing code (typed from the counter screen) for a credential.

    :raises RuntimeError: the server refused (its Japanese message).
    """
    body = json.dumps({"code": code.strip().upper(), "name": name}).encode()
    status, reply = send("POST", "/cardreader/api/pair", body, {})
    if status != 200:
        raise RuntimeError(_message(reply))
    return Credential(server, int(reply["agent_id"]), reply["secret"])


def _message(reply: dict[str, Any]) -> str:
    error = reply.get("error") or {}
    return str(error.get("message") or "サーバーが要求を受け付けませんでした。")


def signed_headers(
    credential: Credential,
    method: str,
    path: str,
    body: bytes,
    *,
    now: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """Return the headers that authenticate one message."""
    stamp = str(int(time.time() if now is None else now))
    nonce = nonce or secrets.token_urlsafe(18)
    mac = hmac.new(
        credential.secret.encode(), mac_input(method, path, stamp, nonce, body), hashlib.sha256
    )
    return {
        "X-Card-Agent": str(credential.agent_id),
        "X-Card-Time": stamp,
        "X-Card-Nonce": nonce,
        "X-Card-Mac": mac.hexdigest(),
    }


def reading_body(case_id: int, read: RawRead | ResidenceRead) -> bytes:
    """Encode a reading for the server (EFs as base64; the server parses and verifies)."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    if isinstance(read, ResidenceRead):
        # The number is sent because the card accepted it (VERIFY): the server stores it masked
        # on screen and never in a log; the files are as decrypted from secure messaging.
        return json.dumps(
            {
                "case_id": case_id,
                "route": read.route,
                "card_number": read.card_number,
                "files": {name: b64(data) for name, data in read.files.items()},
            }
        ).encode()
    return json.dumps(
        {
            "case_id": case_id,
            "route": read.route,
            "ef": {
                "0001": b64(read.ef0001),
                "0002": b64(read.ef0002),
                "0003": b64(read.ef0003),
                "0004": b64(read.ef0004),
            },
        }
    ).encode()


def failure_body(case_id: int, code: str) -> bytes:
    """Encode a failed read (no card data: only what went wrong)."""
    return json.dumps({"case_id": case_id, "failure": code}).encode()


def poll(send: Send, credential: Credential) -> dict[str, Any]:
    """Ask which case the desk is serving and whether a reading is wanted."""
    headers = signed_headers(credential, "GET", "/cardreader/api/session", b"")
    status, reply = send("GET", "/cardreader/api/session", b"", headers)
    if status != 200:
        raise RuntimeError(_message(reply))
    return reply


def post(send: Send, credential: Credential, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """Send one signed message."""
    return send("POST", path, body, signed_headers(credential, "POST", path, body))

"""Short-lived TURN credentials (the TURN REST API shared-secret scheme) for each connection.

coturn with ``use-auth-secret`` and ``static-auth-secret=S`` accepts any username of the
form ``<expiry unix time>:<label>`` whose password is ``base64(HMAC-SHA1(S, username))``,
until the expiry (draft-uberti-behave-turn-rest-00, section 2.2). The app holds S and
mints a pair per connection attempt, so a page never carries a credential that works for
longer than ``ttl`` seconds, and the secret itself never leaves the server.

An ``ICE_SERVERS`` entry with a ``"secret"`` is such a TURN server::

    [{"urls": ["turn:turn.city.example.jp:3478?transport=udp",
               "turns:turn.city.example.jp:443?transport=tcp"],
      "secret": "…", "ttl": 3600}]

Entries without one (STUN, or a TURN server with a fixed username) are passed on as they are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

DEFAULT_TTL = 3600  # seconds: longer than a counter conversation, short enough to be useless later
_MINTING_KEYS = ("secret", "ttl")


def turn_credential(secret: str, username: str) -> str:
    """Return the TURN REST API password for ``username``: base64 of HMAC-SHA1 with the secret."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def mint(server: dict[str, Any], label: str, now: float) -> dict[str, Any]:
    """Return ``server`` with a username/credential valid until now + its ttl, secret removed."""
    public = {k: v for k, v in server.items() if k not in _MINTING_KEYS}
    secret = server.get("secret")
    if not secret:
        return public
    expiry = int(now) + int(server.get("ttl", DEFAULT_TTL))
    # The label is for coturn's log only; keep it free of ':' (the scheme's separator).
    username = f"{expiry}:{label.replace(':', '-')}"
    return {**public, "username": username, "credential": turn_credential(str(secret), username)}


def ice_servers_for(
    configured: Sequence[dict[str, Any]], label: str, now: float
) -> list[dict[str, Any]]:
    """The ICE servers one connection may use: TURN entries given fresh credentials."""
    return [mint(server, label, now) for server in configured]


def check_ice_servers(configured: Sequence[dict[str, Any]]) -> None:
    """Refuse a TURN entry that has both a shared secret and a fixed credential, or a bad ttl."""
    for server in configured:
        if "secret" not in server:
            continue
        if "credential" in server or "username" in server:
            raise ValueError("an ICE server with a 'secret' must not also have username/credential")
        ttl = server.get("ttl", DEFAULT_TTL)
        if not isinstance(ttl, int) or not 60 <= ttl <= 86_400:
            raise ValueError("an ICE server's 'ttl' must be whole seconds between 60 and 86400")

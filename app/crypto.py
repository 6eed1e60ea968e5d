"""Encrypt residents' fact values at rest (Fernet, with key rotation through MultiFernet)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

OPENED_TOKENS = 20_000  # plaintexts remembered: a few hundred open cases of ~60 facts


class FactCipher:
    """Seal and open JSON-able values with the deployment's data key(s)."""

    def __init__(self, keys: str) -> None:
        """Build from comma-separated Fernet keys, the newest (used to encrypt) first."""
        self._fernet = MultiFernet([Fernet(k.strip()) for k in keys.split(",") if k.strip()])
        # Every answer re-reads all of a case's facts, and decrypting (an HMAC check and
        # AES per token) was a quarter of an answer's time. A token never changes its
        # plaintext, so remember recent ones; the process holds the key anyway, so the
        # cache exposes nothing new. Values are kept as JSON text: callers get fresh objects.
        self._plaintext = lru_cache(maxsize=OPENED_TOKENS)(self._fernet.decrypt)

    def seal(self, value: Any) -> str:
        """Return the encrypted token of a JSON-able value."""
        raw = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return self._fernet.encrypt(raw).decode("ascii")

    def open(self, token: str) -> Any:
        """Return the value sealed in a token.

        :raises InvalidToken: the token was altered or sealed with an unknown key.
        """
        return json.loads(self._plaintext(token.encode("ascii")))

    def seal_bytes(self, data: bytes) -> bytes:
        """Return the encrypted token of raw bytes (a PDF, a signature or a document still)."""
        return self._fernet.encrypt(data)

    def open_bytes(self, token: bytes, ttl: int | None = None) -> bytes:
        """Return the bytes sealed in a token, refusing one older than ``ttl`` seconds.

        :raises InvalidToken: the token was altered, sealed with an unknown key, or expired.
        """
        if ttl is None:
            return self._fernet.decrypt(token)
        return self._fernet.decrypt(token, ttl=ttl)

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the newest key."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")


__all__ = ["FactCipher", "InvalidToken"]

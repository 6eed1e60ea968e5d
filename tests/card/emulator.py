"""A virtual My Number card for vsmartcard's vpcd: answers like a real card from the command table.

vpcd (the pcscd driver of Debian ``vsmartcard-vpcd``) listens on TCP 35963; a virtual
card connects to it and answers each message, framed as a 2-byte big-endian length and a
payload: a 1-byte control (0 power off, 1 power on, 2 reset, 4 ask for the ATR) or a
command APDU, whose response APDU goes back framed the same way.

The card holds the 券面事項入力補助AP (AID, EF 0001–0004, PIN EF 0011 with 3 tries, 照合番号B
EF 0015 with 3 tries), signed by a test issuer the tests trust; options make it tampered,
of the layout with 2 leading bytes, of an unknown kind, of the next generation (JPKI AP
only), or vanish after N commands (removed mid-read).
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import struct
import threading
from dataclasses import dataclass, field
from datetime import date

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.cardagent.drivers import JPKI_AP, KENHOJO_AP
from app.cardagent.tlv import encode

ATR = bytes.fromhex("3B80800101")  # T=1, no historical bytes, TCK (as vsmartcard's vpicc)
VPCD_PORT = 35963


@dataclass
class Issuer:
    """A test issuer (stands in for J-LIS) and the card key it certified."""

    ca: rsa.RSAPrivateKey
    card: rsa.RSAPrivateKey

    @classmethod
    def make(cls) -> Issuer:
        return cls(
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
        )

    def anchor_pem(self) -> bytes:
        return self.ca.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass
class Person:
    name: str = "番号　花子"
    address: str = "東京都千代田区霞が関二丁目1番2号"
    birth: date = date(1985, 4, 1)
    sex: str = "2"
    number: str = "123456789018"  # check digit valid


@dataclass
class CardOptions:
    kind: str = "mynumber"  # "mynumber", "nextgen", "unknown"
    pin: str = "1234"
    code_b: str = "85040120301234"
    pin_tries: int = 3
    code_b_tries: int = 3
    leading_bytes: bytes = b""  # the layout some cards have: extra bytes before FF20
    tamper: str = ""  # "", "four" (address changed after signing), "issuer" (self-made cert)
    remove_after: int | None = None  # close the connection after this many APDUs
    person: Person = field(default_factory=Person)


def card_files(options: CardOptions, issuer: Issuer) -> dict[int, bytes]:
    """Build EF 0001–0004 of the 入力補助AP, signed as the card signs them."""
    p = options.person
    number = encode(0xFF10, p.number.encode())  # wrapped in one element as cards do
    four_fields = (
        encode(0xDF21, bytes.fromhex("0000"))
        + encode(0xDF22, p.name.encode())
        + encode(0xDF23, p.address.encode())
        + encode(0xDF24, p.birth.strftime("%Y%m%d").encode())
        + encode(0xDF25, p.sex.encode())
    )
    four = encode(0xFF20, four_fields)
    h1 = encode(0xDF31, hashlib.sha256(number).digest())
    h2 = encode(0xDF32, hashlib.sha256(four).digest())
    signature = issuer.card.sign(h1 + h2, padding.PKCS1v15(), hashes.SHA256())
    key = issuer.card.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    body = encode(0x5F4E, b"JLIS-TEST-ISSUER" + b"CARD-0000000001 " + key)
    signer = issuer.ca
    if options.tamper == "issuer":
        signer = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = encode(
        0x7F21, body + encode(0x5F37, signer.sign(body, padding.PKCS1v15(), hashes.SHA256()))
    )
    if options.tamper == "four":
        four = four.replace(
            p.address.encode(),
            "東京都千代田区永田町一丁目7番1号".encode()[: len(p.address.encode())],
        )
    return {
        0x0001: number + b"\xff" * 3,
        0x0002: options.leading_bytes + four,
        0x0003: encode(0xFF30, h1 + h2 + encode(0xDF33, signature)),
        0x0004: cert,
    }


class VirtualCard:
    """The card's logic: one APDU in, one response out (ISO 7816-4 subset)."""

    def __init__(self, options: CardOptions, issuer: Issuer) -> None:
        self.options = options
        self.files = card_files(options, issuer)
        self.tries = {0x0011: options.pin_tries, 0x0015: options.code_b_tries}
        self.secrets = {0x0011: options.pin, 0x0015: options.code_b}
        self.reset()
        self.log: list[bytes] = []

    def reset(self) -> None:
        self.selected_ap: bytes | None = None
        self.selected_ef: int | None = None
        self.verified: set[int] = set()

    def answer(self, apdu: bytes) -> bytes:
        self.log.append(apdu[:4])
        if len(apdu) < 4:
            return b"\x67\x00"
        cla, ins, p1, p2 = apdu[:4]
        data = apdu[5 : 5 + apdu[4]] if len(apdu) > 5 else b""
        if ins == 0xA4 and p1 == 0x04:
            return self._select_ap(data)
        if ins == 0xA4 and p1 == 0x02:
            fid = int.from_bytes(data, "big")
            if self.selected_ap != KENHOJO_AP or fid not in (*self.files, *self.tries):
                return b"\x6a\x82"
            self.selected_ef = fid
            return b"\x90\x00"
        if ins == 0x20:
            return self._verify(data)
        if ins == 0xB0:
            return self._read((p1 << 8) | p2, apdu[4] if len(apdu) == 5 else 0)
        return b"\x6d\x00"

    def _select_ap(self, aid: bytes) -> bytes:
        kind = self.options.kind
        if (aid == KENHOJO_AP and kind == "mynumber") or (
            aid == JPKI_AP and kind in ("mynumber", "nextgen")
        ):
            self.selected_ap, self.selected_ef = aid, None
            return b"\x90\x00"
        return b"\x6a\x82"

    def _verify(self, data: bytes) -> bytes:
        fid = self.selected_ef
        if fid not in self.tries:
            return b"\x69\x86"
        if self.tries[fid] == 0:
            return b"\x69\x83"
        if not data:
            return b"\x90\x00" if fid in self.verified else bytes([0x63, 0xC0 | self.tries[fid]])
        if data.decode("ascii", "replace") == self.secrets[fid]:
            self.tries[fid] = 3
            self.verified.add(fid)
            return b"\x90\x00"
        self.tries[fid] -= 1
        return bytes([0x63, 0xC0 | self.tries[fid]])

    def _read(self, offset: int, le: int) -> bytes:
        fid = self.selected_ef
        if fid not in self.files:
            return b"\x69\x86"
        if fid in (0x0001, 0x0002, 0x0003) and not self.verified & {0x0011, 0x0015}:
            return b"\x69\x82"
        content = self.files[fid]
        if offset >= len(content):
            return b"\x6b\x00"
        chunk = content[offset : offset + (le or 256)]
        return chunk + b"\x90\x00"


class Emulator:
    """Connect a ``VirtualCard`` to vpcd and serve it in a thread until ``remove()``."""

    def __init__(self, card: VirtualCard, port: int = VPCD_PORT) -> None:
        self.card = card
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.settimeout(None)
        self.apdus = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _recv(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError
            out += chunk
        return out

    def _send(self, payload: bytes) -> None:
        self.sock.sendall(struct.pack(">H", len(payload)) + payload)

    def _serve(self) -> None:
        try:
            while True:
                (length,) = struct.unpack(">H", self._recv(2))
                payload = self._recv(length)
                if length == 1:
                    if payload[0] == 0x04:
                        self._send(ATR)
                    elif payload[0] in (0x00, 0x01, 0x02):
                        self.card.reset()
                    continue
                self.apdus += 1
                limit = self.card.options.remove_after
                if limit is not None and self.apdus > limit:
                    self.remove()
                    return
                self._send(self.card.answer(payload))
        except (ConnectionError, OSError):
            return

    def remove(self) -> None:
        """Take the card off the reader (close the connection to vpcd)."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

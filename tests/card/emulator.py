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
import datetime
import hashlib
import io
import os
import socket
import struct
import threading
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.x509.oid import NameOID
from PIL import Image, ImageDraw

from app.cardagent.drivers import JPKI_AP, KENHOJO_AP
from app.cardagent.tlv import encode
from app.cardagent.zairyu import (
    DF1,
    DF2,
    DF3,
    card_key,
    decrypt,
    encrypt,
    retail_mac,
    session_key,
    signed_digest,
    sm_unwrap,
    sm_wrap,
)

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

    def __init__(self, card: VirtualCard | ResidenceVirtualCard, port: int = VPCD_PORT) -> None:
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


# ---- 在留カード・特別永住者証明書 ----------------------------------------------------------


@dataclass
class Ministry:
    """A test 出入国在留管理庁 CA (X.509) and the card-signing certificates it issued."""

    ca_key: rsa.RSAPrivateKey
    ca: x509.Certificate
    signer_key: rsa.RSAPrivateKey
    signer: x509.Certificate
    ec_key: ec.EllipticCurvePrivateKey
    ec_signer: x509.Certificate  # a second-generation (ECDSA P-384) signing certificate

    @classmethod
    def make(cls) -> Ministry:
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ca = _certificate("TEST ISA ROOT CA", ca_key.public_key(), "TEST ISA ROOT CA", ca_key)
        signer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        signer = _certificate("TEST ISA SIGNER", signer_key.public_key(), ca.subject, ca_key)
        ec_key = ec.generate_private_key(ec.SECP384R1())
        ec_signer = _certificate("TEST ISA SIGNER 2", ec_key.public_key(), ca.subject, ca_key)
        return cls(ca_key, ca, signer_key, signer, ec_key, ec_signer)

    def anchor_pem(self) -> bytes:
        return self.ca.public_bytes(serialization.Encoding.PEM)


def _certificate(subject: str, key, issuer, signer) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name = (
        issuer
        if isinstance(issuer, x509.Name)
        else x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)])
    )
    now = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365 * 30))
        .sign(signer, hashes.SHA256())
    )


@dataclass
class ResidenceOptions:
    kind: str = "zairyu"  # "zairyu" (カード種別 '1') or "tokubetsu" ('2')
    card_number: str = "AB12345678CD"
    address: str = "東京都千代田区霞が関一丁目1番1号"
    address_date: str = "20240401"
    address_code: str = "131016"
    permit_all: str = "許可：原則週28時間以内・風俗営業等の従事を除く"
    tamper: str = ""  # "", "face" (image changed after signing), "issuer" (foreign CA)
    generation: int = 1  # 2: signed with ECDSA P-384 as the second generation is
    address_needs_sm: bool = False  # a card that refuses DF2 in clear (6982)
    remove_after: int | None = None


@lru_cache(maxsize=1)
def _images() -> tuple[bytes, bytes]:
    """A 券面（表）イメージ (TIFF G4, as first-generation cards) and a 顔画像 (JPEG 2000)."""
    front = Image.new("L", (856, 540), 255)
    draw = ImageDraw.Draw(front)
    for y, text in enumerate(
        (
            "RESIDENCE CARD  AB12345678CD",
            "NAME  NGUYEN VAN AN",
            "PERIOD OF STAY 5 YEARS",
            "DATE OF EXPIRATION 2029.04.01",
        )
    ):
        draw.text((24, 24 + 40 * y), text, fill=0)
    draw.rectangle((600, 150, 820, 420), outline=0)
    front_out = io.BytesIO()
    front.convert("1").save(front_out, "TIFF", compression="group4")
    face = Image.new("RGB", (120, 150), (230, 220, 200))
    draw = ImageDraw.Draw(face)
    draw.ellipse((30, 25, 90, 100), fill=(180, 140, 110))
    draw.rectangle((20, 100, 100, 150), fill=(40, 60, 120))
    face_out = io.BytesIO()
    face.save(face_out, "JPEG2000", quality_mode="rates", quality_layers=[30])
    return front_out.getvalue(), face_out.getvalue()


def residence_files(options: ResidenceOptions, ministry: Ministry) -> dict[str, bytes]:
    """The card's EFs as a first-generation card holds them, signed as the ministry signs."""
    front, face = _images()
    digest = signed_digest(front, face)
    if options.generation == 2:
        signature = ministry.ec_key.sign(digest, ec.ECDSA(hashes.SHA384()))
        cert = ministry.ec_signer
    else:
        # RSA over the bare digest, PKCS#1 v1.5 type 1 padding (a check code the key "decrypts").
        signature = ministry.signer_key.sign(
            digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256())
        )
        cert = ministry.signer
    if options.tamper == "issuer":
        rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = _certificate("TEST ISA SIGNER", ministry.signer_key.public_key(), "ROGUE CA", rogue)
    if options.tamper == "face":
        face = face[:-40] + bytes(b ^ 0x55 for b in face[-40:])
    type_code = {"zairyu": b"1", "tokubetsu": b"2"}[options.kind]
    files = {
        "common": encode(0xC0, bytes.fromhex("010203")),
        "type": encode(0xC1, type_code),
        "front": encode(0xD0, front),
        "face": encode(0xD1, face),
        "address": encode(0xD2, options.address_date.encode())
        + encode(0xD3, options.address_code.encode())
        + encode(0xD4, options.address.encode()),
        "signature": encode(0xDA, signature)
        + encode(0xDB, cert.public_bytes(serialization.Encoding.DER)),
    }
    if options.kind == "zairyu":
        files["permit_all"] = encode(0xD5, options.permit_all.encode())
        files["permit_one"] = encode(0xD6, b"")
        files["renewal"] = encode(0xD7, b"0")
    return files


# (DF, SFI) -> file; DF None is the MF.
_LAYOUT = {
    (None, 0x0B): "common",
    (None, 0x0A): "type",
    (DF1, 0x05): "front",
    (DF1, 0x06): "face",
    (DF2, 0x01): "address",
    (DF2, 0x02): "permit_all",
    (DF2, 0x03): "permit_one",
    (DF2, 0x04): "renewal",
    (DF3, 0x02): "signature",
}


class ResidenceVirtualCard:
    """A 在留カード等 answering as the spec describes: MUTUAL AUTHENTICATE, VERIFY under SM, files."""

    def __init__(self, options: ResidenceOptions, ministry: Ministry) -> None:
        self.options = options
        self.files = residence_files(options, ministry)
        self.key = card_key(options.card_number)
        self.log: list[bytes] = []
        self.auth_attempts = 0
        self.reset()

    def reset(self) -> None:
        self.df: bytes | None = None
        self.current: str | None = None
        self.rnd_icc: bytes | None = None
        self.ks_enc: bytes | None = None
        self.verified = False

    def answer(self, apdu: bytes) -> bytes:
        self.log.append(apdu[:4])
        cla, ins, p1, p2 = apdu[:4]
        body = apdu[5 : 5 + apdu[4]] if len(apdu) > 5 else b""
        if ins == 0xA4 and p1 == 0x00 and body == b"\x3f\x00":
            self.df, self.current = None, None
            return b"\x90\x00"
        if ins == 0xA4 and p1 == 0x04:
            if body in (DF1, DF2, DF3):
                self.df, self.current = body, None
                return b"\x90\x00"
            return b"\x6a\x82"
        if ins == 0x84:
            self.rnd_icc = os.urandom(8)
            self.ks_enc, self.verified = None, False
            return self.rnd_icc + b"\x90\x00"
        if ins == 0x82:
            return self._mutual(body)
        if ins == 0x20 and cla == 0x08 and p2 == 0x86:
            return self._verify(body)
        if ins == 0xB0:
            return self._read(cla, p1, p2, body)
        return b"\x6d\x00"

    def _mutual(self, body: bytes) -> bytes:
        self.auth_attempts += 1
        if self.rnd_icc is None or len(body) != 40:
            return b"\x69\x85"
        e_ifd, m_ifd = body[:32], body[32:]
        if retail_mac(self.key, e_ifd) != m_ifd:
            return b"\x63\x00"  # the number the terminal used is not this card's
        plain = decrypt(self.key, e_ifd)
        if plain[8:16] != self.rnd_icc:
            return b"\x63\x00"
        rnd_ifd, k_ifd = plain[:8], plain[16:]
        k_icc = os.urandom(16)
        e_icc = encrypt(self.key, self.rnd_icc + rnd_ifd + k_icc)
        self.ks_enc = session_key(k_ifd, k_icc)
        self.rnd_icc = None
        return e_icc + retail_mac(self.key, e_icc) + b"\x90\x00"

    def _verify(self, body: bytes) -> bytes:
        if self.ks_enc is None:
            return b"\x69\x82"
        try:
            typed = sm_unwrap(self.ks_enc, body)
        except ValueError:
            return b"\x69\x88"
        if typed != self.options.card_number.encode():
            return b"\x63\x00"
        self.verified = True
        return b"\x90\x00"

    def _read(self, cla: int, p1: int, p2: int, body: bytes) -> bytes:
        if p1 & 0x80:
            name = _LAYOUT.get((self.df, p1 & 0x1F))
            if name is None or name not in self.files:
                return b"\x6a\x82"
            self.current, offset = name, p2
        else:
            if self.current is None:
                return b"\x69\x86"
            offset = (p1 << 8) | p2
        name = self.current
        secure = cla == 0x08
        needs_sm = self.df == DF1 or (name == "address" and self.options.address_needs_sm)
        if needs_sm and not secure:
            return b"\x69\x82"
        if secure and not (self.verified and self.ks_enc):
            return b"\x69\x82"
        content = self.files[name]
        if offset >= len(content):
            return b"\x6b\x00"
        if secure:
            le = int.from_bytes(body[2:4], "big") if body[:2] == b"\x96\x02" else 256
            chunk = content[offset : offset + le]
            return sm_wrap(self.ks_enc, chunk) + b"\x90\x00"
        return content[offset : offset + 256] + b"\x90\x00"

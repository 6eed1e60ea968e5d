"""The 在留カード / 特別永住者証明書 IC: keys from the card number, secure messaging, files, signature.

Sources (each constant below names the ones it was checked against):
[MOJ] 出入国在留管理庁「在留カード等仕様書（一般公開用）」Ver 1.5 (令和6年3月), published at
      https://www.moj.go.jp/isa/applications/disclosure/120424_01.html — the PDF itself could
      only be seen here in excerpts (its table of contents: 3.4.1 在留カード等番号による認証,
      3.4.2 セキュアメッセージング, 3.4.3 電子署名, 3.5.2 認証シーケンス).
[TRET] the Swift ResidenceCardReader / ResidenceCardSignatureVerifier derived from
      treastrain/TRETJapanNFCReader (cites the spec's sections 3.4.3.1, 3.5.2).
[PY]  a Python ZairyuCardReader "based on 在留カード等仕様書 Ver 1.5" (pyscard, PyCryptodome).
[ICAO] ICAO Doc 9303 Part 11 (BAC): the same SHA-1 key derivation, 3DES-CBC and retail MAC;
      its worked example is the known-answer test in tests/card/test_zairyu_crypto.py.
[WDIC] wdic.org 「在留カード」: カード種別 '1' (0x31) 在留カード, '2' (0x32) 特別永住者証明書;
      顔画像 JPEG 2000 of at most 3000 bytes.
[MOJ2] 出入国在留管理庁「第二世代在留カード等仕様書の公開について」
      https://www.moj.go.jp/isa/publications/resources/120424_01_00003.html and its summary
      at shigyo.co.jp: the second generation signs with ECDSA on NIST P-384.

Pure: no I/O. The agent uses the crypto to talk to the card; the server runs :func:`verify`
again (it trusts no agent). 3DES and SHA-1 come from ``cryptography`` (no own DES).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from app.cardagent import tlv

# ---- files ---------------------------------------------------------------------------
# DF AIDs, 16 bytes: [TRET] AID.df1/df2/df3 and [PY] AID_DF1..3 agree.
DF1 = bytes.fromhex("D392F0004F0200000000000000000000")  # 券面（表）イメージ・顔画像
DF2 = bytes.fromhex("D392F0004F0300000000000000000000")  # 裏面: 住居地・資格外活動・更新申請
DF3 = bytes.fromhex("D392F0004F0400000000000000000000")  # 電子署名
MF_FID = bytes.fromhex("3F00")  # SELECT MF 00 A4 00 00 02 3F00: [TRET] selectMF, [PY] select_mf
# Short EF identifiers (READ BINARY P1 = 0x80 | SFI). MF: [TRET] reads 共通データ要素 at P1 8B
# and カード種別 at 8A ([PY] has 01/02 here and disagrees: we follow [TRET], whose readCard
# runs the whole sequence; see docs/card-reader.md). DF1 05/06, DF2 01–04, DF3 02: [TRET] and
# [PY] agree.
SFI_COMMON, SFI_CARD_TYPE = 0x0B, 0x0A
SFI_FRONT, SFI_FACE = 0x05, 0x06
SFI_ADDRESS, SFI_PERMIT_ALL, SFI_PERMIT_ONE, SFI_RENEWAL = 0x01, 0x02, 0x03, 0x04
SFI_SIGNATURE = 0x02
# Tags: C0 共通データ要素, C1 カード種別 [WDIC]; D0 券面（表）イメージ, D1 顔画像, DA チェックコード,
# DB 公開鍵証明書: [TRET] (both verifiers) and [PY] (D0/D1) agree. DF2: D2 追記書き込み年月日,
# D3 住居地（市町村コード）, D4 住居地, D5 包括許可, D6 個別許可, D7 在留期間等更新申請 (a Rust
# reader's ResidenceCardController; [TRET] reads the same four EFs without naming tags).
TAG_COMMON, TAG_CARD_TYPE = 0xC0, 0xC1
TAG_FRONT, TAG_FACE = 0xD0, 0xD1
TAG_ADDRESS_DATE, TAG_ADDRESS_CODE, TAG_ADDRESS = 0xD2, 0xD3, 0xD4
TAG_PERMIT_ALL, TAG_PERMIT_ONE, TAG_RENEWAL = 0xD5, 0xD6, 0xD7
TAG_CHECK_CODE, TAG_CERTIFICATE = 0xDA, 0xDB
CARD_TYPES = {"1": "zairyu", "2": "tokubetsu"}  # [WDIC]
CARD_TYPE_LABELS = {"zairyu": "在留カード", "tokubetsu": "特別永住者証明書"}
# The signed data is the two images padded with 00 to fixed lengths: [TRET] (spec 3.3.4.3 /
# 3.3.4.4: 券面（表）イメージ 7000 bytes, 顔画像 3000 bytes; [WDIC]: 顔画像 at most 3000 bytes).
FRONT_LENGTH, FACE_LENGTH = 7000, 3000

# ---- card number ---------------------------------------------------------------------
# 英字2桁・数字8桁・英字2桁 ([TRET] validateCardNumber; the case fact's own pattern).
CARD_NUMBER = re.compile(r"^[A-Z]{2}[0-9]{8}[A-Z]{2}$")


class ZairyuError(ValueError):
    """The card's data cannot be read as the 在留カード等's (with a Japanese message)."""


def normalise_card_number(typed: str) -> str | None:
    """Return the 12-character number upper-cased without spaces, or None if malformed.

    No check digit is published for the 在留カード等番号, so only the form is checked.
    """
    number = re.sub(r"[\s\u3000-]", "", typed or "").upper()
    number = number.translate({c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)})  # 全角 -> 半角
    return number if CARD_NUMBER.match(number) else None


def mask_card_number(number: str) -> str:
    """Show the first 2 and last 2 characters only (the number is the key to the IC)."""
    return number[:2] + "＊" * 8 + number[-2:] if len(number) == 12 else "＊" * 12


# ---- crypto --------------------------------------------------------------------------


def _tdes(key: bytes) -> TripleDES:
    # A 16-byte key is 2-key 3DES (K1 K2 K1), an 8-byte one single DES (K1 K1 K1), as the spec
    # asks; given to the library as the 24-byte keys it prefers.
    return TripleDES(key + key[:8] if len(key) == 16 else key * 3 if len(key) == 8 else key)


def encrypt(key: bytes, data: bytes) -> bytes:
    """3DES-CBC with a zero IV (data already a multiple of 8 bytes)."""
    encryptor = Cipher(_tdes(key), modes.CBC(bytes(8))).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def decrypt(key: bytes, data: bytes) -> bytes:
    """3DES-CBC decryption with a zero IV."""
    if len(data) % 8:
        raise ZairyuError("カードの暗号文の長さが正しくありません。")
    decryptor = Cipher(_tdes(key), modes.CBC(bytes(8))).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def pad(data: bytes) -> bytes:
    """ISO/IEC 9797-1 padding method 2 (80 then 00 to a multiple of 8): [PY] _pad_data, [ICAO]."""
    data += b"\x80"
    return data + bytes(-len(data) % 8)


def unpad(data: bytes) -> bytes:
    """Remove method-2 padding."""
    stripped = data.rstrip(b"\x00")
    if not stripped.endswith(b"\x80"):
        raise ZairyuError("カードの応答の詰め物（パディング）が正しくありません。")
    return stripped[:-1]


def retail_mac(key: bytes, data: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 ("retail MAC") with padding method 2, 8 bytes.

    Single DES with K1 in CBC over all blocks but the last, then the last block through
    3DES (E_K1 D_K2 E_K1), which is the same as the standard's final D_K2, E_K1 step.
    """
    padded = pad(data)
    head, last = padded[:-8], padded[-8:]
    chain = encrypt(key[:8], head)[-8:] if head else bytes(8)
    block = bytes(a ^ b for a, b in zip(last, chain, strict=True))
    encryptor = Cipher(_tdes(key), modes.ECB()).encryptor()  # noqa: S305 - one block, as ISO asks
    return encryptor.update(block) + encryptor.finalize()


def card_key(number: str) -> bytes:
    """Kenc = Kmac = the first 16 bytes of SHA-1(card number in ASCII): [TRET] generateKeys, [PY]."""
    return hashlib.sha1(number.encode("ascii")).digest()[:16]  # noqa: S324 - the spec's KDF


def session_key(k_ifd: bytes, k_icc: bytes) -> bytes:
    """KSenc = SHA-1((K.IFD xor K.ICC) || 00 00 00 01)[:16]: [TRET], [PY], [ICAO] (Kenc, c=1).

    DES parity bits are not adjusted: 3DES ignores them ([PY] adjusts; the result is the same).
    """
    seed = bytes(a ^ b for a, b in zip(k_ifd, k_icc, strict=True))
    return hashlib.sha1(seed + b"\x00\x00\x00\x01").digest()[:16]  # noqa: S324


def sm_wrap(ks_enc: bytes, data: bytes) -> bytes:
    """The encrypted data object 86 L 01 <3DES(pad(data))> (01 = padding indicator): [TRET], [PY]."""
    return tlv.encode(0x86, b"\x01" + encrypt(ks_enc, pad(data)))


def sm_unwrap(ks_enc: bytes, response: bytes) -> bytes:
    """Decrypt the 86 data object of an SM response (a following 99 status object is ignored)."""
    try:
        first = tlv.parse(response)[0]
    except (tlv.TlvError, IndexError):
        raise ZairyuError("カードの暗号化応答の形式が正しくありません。") from None
    if first.tag != 0x86 or not first.value.startswith(b"\x01"):
        raise ZairyuError("カードの暗号化応答の形式が正しくありません。")
    return unpad(decrypt(ks_enc, first.value[1:]))


# ---- parsing -------------------------------------------------------------------------


def _element(data: bytes, tag: int, what: str) -> bytes:
    try:
        for element in tlv.parse(data):
            if element.tag == tag:
                return element.value
    except tlv.TlvError:
        raise ZairyuError(f"{what}の記録の形式が正しくありません。") from None
    raise ZairyuError(f"{what}の記録がカードにありません。")


def _text(value: bytes) -> str:
    # The spec's text encoding could not be read here; UTF-8 first, then Shift_JIS (as [PY]).
    for encoding in ("utf-8", "cp932"):
        try:
            return value.decode(encoding).strip("\x00 \u3000")
        except UnicodeDecodeError:
            continue
    raise ZairyuError("住居地の文字を読み取れません。")


@dataclass(frozen=True, slots=True, repr=False)
class ResidenceCard:
    """What the card holds, parsed by tag (first generation: text only for the 住居地)."""

    card_type: str  # "zairyu" or "tokubetsu"
    front_image: bytes  # 券面（表）イメージ (TIFF on first-generation cards)
    face_image: bytes  # 顔画像 (JPEG 2000)
    address: str
    address_date: str
    address_code: str
    permits: dict[str, str]

    def __repr__(self) -> str:
        return f"ResidenceCard({self.card_type!r}, <card data>)"


def card_type(ef_type: bytes) -> str:
    """Return "zairyu" or "tokubetsu" from the カード種別 EF (C1 '1' / '2')."""
    value = _element(ef_type, TAG_CARD_TYPE, "カード種別").decode("ascii", "replace")
    if value not in CARD_TYPES:
        raise ZairyuError("在留カードでも特別永住者証明書でもない種別のカードです。")
    return CARD_TYPES[value]


def parse(files: dict[str, bytes]) -> ResidenceCard:
    """Parse the files a ``ResidenceCardDriver`` read (keys as ``FILES``).

    :raises ZairyuError: a file or element is missing or malformed.
    """
    kind = card_type(files.get("type", b""))
    front = _element(files.get("front", b""), TAG_FRONT, "券面（表）イメージ")
    face = _element(files.get("face", b""), TAG_FACE, "顔画像")
    if len(front) > FRONT_LENGTH or len(face) > FACE_LENGTH:
        raise ZairyuError("カードの画像が仕様の長さを超えています（改ざんの疑い）。")
    address_file = files.get("address", b"")
    address = _text(_element(address_file, TAG_ADDRESS, "住居地"))
    try:
        fields = {e.tag: e.value for e in tlv.parse(address_file)}
    except tlv.TlvError:
        fields = {}
    permits: dict[str, str] = {}
    for key, tag in (("permit_all", TAG_PERMIT_ALL), ("permit_one", TAG_PERMIT_ONE)):
        try:
            text = _text(_element(files.get(key, b""), tag, "資格外活動許可"))
        except ZairyuError:
            continue  # 特別永住者証明書 has no such fields; an empty one says nothing
        if text:
            permits[key] = text
    return ResidenceCard(
        kind,
        front,
        face,
        address,
        fields.get(TAG_ADDRESS_DATE, b"").decode("ascii", "replace").strip("\x00 "),
        fields.get(TAG_ADDRESS_CODE, b"").decode("ascii", "replace").strip("\x00 "),
        permits,
    )


# ---- signature -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Authenticity:
    """Whether the images are what the ministry signed: ``ok``, the generation, and why not."""

    ok: bool
    generation: int = 1
    reason: str = ""


def signed_digest(front: bytes, face: bytes) -> bytes:
    """SHA-256 over 券面（表）イメージ padded to 7000 bytes and 顔画像 padded to 3000 ([TRET])."""
    return hashlib.sha256(
        front.ljust(FRONT_LENGTH, b"\x00") + face.ljust(FACE_LENGTH, b"\x00")
    ).digest()


# DigestInfo prefix of SHA-256 (RFC 8017 9.2 note 1): a check code may carry it before the hash.
_SHA256_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def load_anchors(pems: Sequence[bytes]) -> list[x509.Certificate]:
    """Load the ministry's CA certificates (PEM) configured as trust anchors."""
    anchors = []
    for pem in pems:
        try:
            anchors.extend(x509.load_pem_x509_certificates(pem))
        except ValueError:
            continue
    return anchors


def verify(card: ResidenceCard, ef_signature: bytes, anchors: Sequence[bytes]) -> Authenticity:
    """Check the images against the check code (DA) with the card's certificate (DB).

    The check code is RSA (PKCS#1 v1.5, key in the certificate) over the SHA-256 of the padded
    images ([TRET] 3.4.3.1 署名検証方法); the certificate must be issued by one of ``anchors``
    (the ministry's CA, configured: ``RESIDENCE_CARD_TRUST_ANCHORS``). The 住居地 (written later
    by the municipality) is not covered by the signature.
    """
    try:
        check_code = _element(ef_signature, TAG_CHECK_CODE, "電子署名")
        certificate = x509.load_der_x509_certificate(
            _element(ef_signature, TAG_CERTIFICATE, "公開鍵証明書")
        )
    except (ZairyuError, ValueError):
        return Authenticity(False, reason="カードの電子署名または証明書の記録が読み取れません。")
    key = certificate.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        # [MOJ2]: the second generation signs with ECDSA P-384; its signed data and layout
        # could not be checked against a card or the full text: refuse rather than guess.
        return Authenticity(
            False,
            2,
            "第二世代の在留カード等です（ECDSA署名）。この読取ソフトはまだ対応していません。"
            "在留カード等読取アプリで確認してください。",
        )
    if not isinstance(key, rsa.RSAPublicKey):
        return Authenticity(False, reason="カードの証明書の鍵の種類に対応していません。")
    expected = signed_digest(card.front_image, card.face_image)
    try:
        payload = key.recover_data_from_signature(check_code, padding.PKCS1v15(), None)
    except (InvalidSignature, ValueError):
        return Authenticity(
            False, reason="カードのチェックコードが正しくありません（改ざんの疑い）。"
        )
    if not (
        hmac.compare_digest(payload, expected)
        or hmac.compare_digest(payload, _SHA256_INFO + expected)
    ):
        return Authenticity(
            False, reason="券面イメージまたは顔画像がカードの署名と一致しません（改ざんの疑い）。"
        )
    trusted = load_anchors(anchors)
    if not trusted:
        return Authenticity(
            False,
            reason="出入国在留管理庁の証明書が設定されていないため、真正性を確認できません。",
        )
    for anchor in trusted:
        try:
            certificate.verify_directly_issued_by(anchor)
            return Authenticity(True)
        except (InvalidSignature, ValueError, TypeError):
            continue
    return Authenticity(
        False, reason="カードの証明書が出入国在留管理庁のものではありません（偽造の疑い）。"
    )

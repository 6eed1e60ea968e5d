"""What the 券面事項入力補助AP holds, parsed by tag, and checked against the card's signature.

Layout (verified against AokiApp/jsapdu ``packages/mynacard/src/schema.ts`` and
``constants.ts``; see docs/card-reader.md): EF 0001 the 個人番号 (12 ASCII digits in one
element), EF 0002 ``FF20`` with ``DF21`` offsets, ``DF22`` 氏名, ``DF23`` 住所, ``DF24``
生年月日, ``DF25`` 性別; EF 0003 ``FF30`` with ``DF31`` hash of EF 0001, ``DF32`` hash of
EF 0002, ``DF33`` a signature; EF 0004 the card's certificate ``7F21`` (``5F4E`` issuer 16
bytes, subject 16 bytes, public key; ``5F37`` the issuer's signature over ``5F4E``).

Pure: no I/O. The agent and the server both run :func:`verify` (the server trusts no agent).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.cardagent import tlv
from app.engine.mynumber import is_valid_my_number

SEXES = {"1": "male", "2": "female", "3": None, "9": None}  # 3/9: not stated / other


class CardDataError(ValueError):
    """The card's data cannot be read as the 入力補助AP's (with a Japanese message)."""


@dataclass(frozen=True, slots=True, repr=False)
class BasicFour:
    """基本4情報 as printed on the card face."""

    name: str
    address: str
    birth_date: date
    sex: str | None  # "male", "female", or None (3 or 9 on the card)

    def __repr__(self) -> str:
        return "BasicFour(<personal data>)"


@dataclass(frozen=True, slots=True)
class Authenticity:
    """Whether the read data is the card's own: ``ok`` and, when not, why (Japanese)."""

    ok: bool
    reason: str = ""


def parse_my_number(ef0001: bytes) -> str:
    """Return the 12-digit 個人番号 from EF 0001 (the first element holding 12 digits).

    :raises CardDataError: no such element, or its check digit is wrong.
    """
    try:
        elements = tlv.parse(ef0001.lstrip(b"\x00"))
    except tlv.TlvError:
        raise CardDataError("個人番号の記録を読み取れません（形式が正しくありません）。") from None
    for element in elements:
        value = element.value
        if len(value) == 12 and value.isdigit():
            number = value.decode("ascii")
            if not is_valid_my_number(number):
                raise CardDataError(
                    "個人番号の検査用数字が合いません。カードを読み直してください。"
                )
            return number
    raise CardDataError("個人番号の記録が見つかりません。")


def parse_basic_four(ef0002: bytes) -> BasicFour:
    """Return 氏名・住所・生年月日・性別 from EF 0002, by tag, tolerating leading bytes.

    :raises CardDataError: the outer element or a field is missing or malformed.
    """
    try:
        outer = tlv.find_outer(ef0002, 0xFF20)
        fields = tlv.children(outer)
    except tlv.TlvError:
        raise CardDataError("基本4情報の記録を読み取れません（形式が正しくありません）。") from None
    try:
        name = fields[0xDF22].value.decode("utf-8").strip()
        address = fields[0xDF23].value.decode("utf-8").strip()
        birth = fields[0xDF24].value.decode("ascii").strip()
        sex_code = fields[0xDF25].value.decode("ascii").strip()
    except KeyError:
        raise CardDataError("基本4情報の一部がカードにありません。") from None
    except UnicodeDecodeError:
        raise CardDataError("基本4情報の文字を読み取れません。") from None
    if not name or not address:
        raise CardDataError("氏名または住所が空です。")
    if len(birth) != 8 or not birth.isdigit():
        raise CardDataError("生年月日の形式が正しくありません。")
    try:
        birth_date = date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    except ValueError:
        raise CardDataError("生年月日が暦にない日付です。") from None
    if sex_code not in SEXES:
        raise CardDataError("性別の記録が正しくありません。")
    return BasicFour(name, address, birth_date, SEXES[sex_code])


def _load_anchor(pem: bytes) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("trust anchors must be RSA public keys")
    return key


def verify(
    ef0001: bytes, ef0002: bytes, ef0003: bytes, ef0004: bytes, anchors: Sequence[bytes]
) -> Authenticity:
    """Check that EF 0001/0002 are what the card signed, with a certificate an anchor issued.

    ``anchors`` are PEM public keys of the issuing CA (J-LIS). Without one the data can
    still be checked against the card's own certificate, but that proves nothing against a
    forged card: it is reported as not verified.
    """
    try:
        signed = tlv.children(tlv.find_outer(ef0003, 0xFF30))
        cert = tlv.children(tlv.find_outer(ef0004, 0x7F21))
        number = tlv.parse(ef0001.lstrip(b"\x00"))[0]
        four = tlv.find_outer(ef0002, 0xFF20)
        body, cert_sig = cert[0x5F4E], cert[0x5F37].value
        hash_number, hash_four, signature = signed[0xDF31], signed[0xDF32], signed[0xDF33].value
    except (tlv.TlvError, KeyError, IndexError):
        return Authenticity(False, "カードの署名または証明書の記録が読み取れません。")
    if not hmac.compare_digest(hash_number.value, hashlib.sha256(number.raw).digest()):
        return Authenticity(False, "個人番号がカードの署名と一致しません（改ざんの疑い）。")
    if not hmac.compare_digest(hash_four.value, hashlib.sha256(four.raw).digest()):
        return Authenticity(False, "基本4情報がカードの署名と一致しません（改ざんの疑い）。")
    try:
        card_key = serialization.load_der_public_key(body.value[32:])
    except ValueError:
        return Authenticity(False, "カードの証明書の公開鍵を読み取れません。")
    if not isinstance(card_key, rsa.RSAPublicKey):
        return Authenticity(False, "カードの証明書の鍵の種類に対応していません。")
    try:
        card_key.verify(
            signature, hash_number.raw + hash_four.raw, padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature:
        return Authenticity(False, "カードの署名が正しくありません（改ざんの疑い）。")
    if not anchors:
        return Authenticity(
            False, "発行者（J-LIS）の公開鍵が設定されていないため、真正性を確認できません。"
        )
    for pem in anchors:
        try:
            _load_anchor(pem).verify(cert_sig, body.raw, padding.PKCS1v15(), hashes.SHA256())
            return Authenticity(True)
        except (InvalidSignature, ValueError):
            continue
    return Authenticity(
        False, "カードの証明書が発行者（J-LIS）のものではありません（偽造の疑い）。"
    )

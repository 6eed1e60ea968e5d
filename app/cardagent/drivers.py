"""One ``CardDriver`` per card generation, chosen by what the card answers to SELECT.

The driver speaks ISO 7816-4 through a ``Transport`` (PC/SC in production, see
``pcsc.py``). Commands (REFERENCE.md, checked against AokiApp/jsapdu and jpki/myna):
SELECT by AID ``00 A4 04 0C``, SELECT EF ``00 A4 02 0C``, VERIFY ``00 20 00 80``
(without data it answers ``63 CX``: X tries left), READ BINARY ``00 B0``.
The PIN is never retried by the driver: one VERIFY per PIN the person typed.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from app.cardagent import tlv, zairyu

KENHOJO_AP = bytes.fromhex("D3921000310001010408")  # 券面事項入力補助AP
KENKAKU_AP = bytes.fromhex("D3921000310001010402")  # 券面事項確認AP
JPKI_AP = bytes.fromhex("D392F000260100000001")  # 公的個人認証AP
EF_MY_NUMBER, EF_BASIC_FOUR, EF_SIGNATURE, EF_CERTIFICATE = 0x0001, 0x0002, 0x0003, 0x0004
EF_PIN, EF_PIN_B = 0x0011, 0x0015
SW_OK = 0x9000


class CardError(Exception):
    """A card-level refusal with a Japanese message for the counter and a stable code."""

    def __init__(self, code: str, message: str, *, tries_left: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.tries_left = tries_left


class CardRemoved(CardError):
    """The card left the reader (or the reader was unplugged) during a command."""

    def __init__(self) -> None:
        super().__init__(
            "card_removed",
            "読み取り中にカードが離れました。カードを置いたまま、もう一度読み取ってください。",
        )


class Transport(Protocol):
    """Send one APDU and return (response data, status word)."""

    def transmit(self, apdu: bytes) -> tuple[bytes, int]: ...


@dataclass(frozen=True, slots=True, repr=False)
class RawRead:
    """The EFs as read, for the server to parse and verify again."""

    route: str  # "pin" or "code_b"
    ef0001: bytes
    ef0002: bytes
    ef0003: bytes
    ef0004: bytes

    def __repr__(self) -> str:
        return f"RawRead(route={self.route!r}, <card data>)"


@dataclass(frozen=True, slots=True, repr=False)
class ResidenceRead:
    """A 在留カード等's files as read (decrypted), and the card number the card accepted."""

    card_number: str
    files: dict[str, bytes]
    route: str = "zairyu"

    def __repr__(self) -> str:
        return "ResidenceRead(<card data>)"


# A secret source: the driver asks it for the PIN, telling how many tries remain
# (``NO_COUNTER`` for the 在留カード's card number, which the card counts nowhere we can see).
SecretPrompt = Callable[[int], str | None]
NO_COUNTER = -1


def select_aid(card: Transport, aid: bytes) -> int:
    """SELECT an application by AID and return the status word."""
    return card.transmit(bytes([0x00, 0xA4, 0x04, 0x0C, len(aid)]) + aid)[1]


def select_ef(card: Transport, fid: int) -> int:
    """SELECT an elementary file of the current application and return the status word."""
    return card.transmit(bytes([0x00, 0xA4, 0x02, 0x0C, 0x02]) + fid.to_bytes(2, "big"))[1]


def read_binary(card: Transport, fid: int, *, limit: int = 4096) -> bytes:
    """READ BINARY the whole selected EF (chunks of up to 256 bytes), up to ``limit``."""
    if select_ef(card, fid) != SW_OK:
        raise CardError("card_unknown", f"カードに必要な記録（EF {fid:04X}）がありません。")
    out = b""
    while len(out) < limit:
        data, sw = card.transmit(bytes([0x00, 0xB0]) + len(out).to_bytes(2, "big") + b"\x00")
        if sw == 0x6982:
            raise CardError("card_not_verified", "暗証番号の確認がすんでいないため読み取れません。")
        if sw not in (SW_OK, 0x6282) or not data:
            break  # past the end of the EF
        out += data
        if len(data) < 256 or sw == 0x6282:
            break
    if len(out) >= limit:
        raise CardError(
            "card_data_too_long", "カードの記録が想定より長いため、読み取りを中止しました。"
        )
    return out


def tries_left(card: Transport, fid: int) -> int:
    """Ask how many tries a PIN EF has left (VERIFY without data), without spending one."""
    if select_ef(card, fid) != SW_OK:
        raise CardError("card_unknown", "暗証番号の記録がカードにありません。")
    sw = card.transmit(bytes([0x00, 0x20, 0x00, 0x80]))[1]
    if sw == SW_OK:
        return 3  # already verified in this session
    if sw & 0xFFF0 == 0x63C0:
        return sw & 0x0F
    if sw == 0x6983:
        return 0
    raise CardError("card_unknown", "暗証番号の残り回数を確認できません。")


def verify(card: Transport, fid: int, secret: str) -> None:
    """VERIFY ``secret`` once against the PIN EF ``fid``.

    :raises CardError: ``pin_wrong`` (with the tries left) or ``pin_locked``.
    """
    select_ef(card, fid)
    data = secret.encode("ascii")
    sw = card.transmit(bytes([0x00, 0x20, 0x00, 0x80, len(data)]) + data)[1]
    if sw == SW_OK:
        return
    if sw & 0xFFF0 == 0x63C0:
        left = sw & 0x0F
        if left == 0:
            raise _locked()
        warn = "次に間違えるとカードがロックされます。" if left == 1 else ""
        raise CardError(
            "pin_wrong",
            f"暗証番号が違います。あと{left}回間違えるとロックされます。{warn}",
            tries_left=left,
        )
    if sw == 0x6983:
        raise _locked()
    raise CardError("card_unknown", f"カードが暗証番号の確認に応じません（{sw:04X}）。")


def _locked() -> CardError:
    return CardError(
        "pin_locked",
        "暗証番号がロックされています。照合番号B（券面の14桁）で読み取るか、"
        "ロック解除の手続（住所地の市区町村窓口）を案内してください。",
        tries_left=0,
    )


class CardDriver(Protocol):
    """One card generation: does it recognise the card, and read it."""

    name: str

    def detect(self, card: Transport) -> bool: ...

    def read(
        self, card: Transport, *, route: str, secret: SecretPrompt
    ) -> RawRead | ResidenceRead: ...


@dataclass
class MyNumberCardV1:
    """Today's My Number card (2015–): 券面事項入力補助AP with a 4-digit PIN or 照合番号B."""

    name: str = "マイナンバーカード（現行）"

    def detect(self, card: Transport) -> bool:
        """Recognise the card by its 券面事項入力補助AP answering SELECT."""
        return select_aid(card, KENHOJO_AP) == SW_OK

    def read(self, card: Transport, *, route: str, secret: SecretPrompt) -> RawRead:
        """VERIFY once with the typed PIN or 照合番号B, then READ EF 0001–0004."""
        if route not in ("pin", "code_b"):
            raise _wrong_card("マイナンバーカード")
        select_aid(card, KENHOJO_AP)
        fid, digits = (EF_PIN, 4) if route == "pin" else (EF_PIN_B, 14)
        left = tries_left(card, fid)
        if left == 0:
            raise _locked()
        typed = secret(left)
        if typed is None:
            raise CardError("cancelled", "読み取りを取り消しました。")
        if len(typed) != digits or not typed.isdigit():
            # Not sent to the card: a malformed entry must not cost a try.
            raise CardError(
                "pin_format", f"{digits}桁の数字を入力してください（カードには送っていません）。"
            )
        verify(card, fid, typed)
        return RawRead(
            route,
            read_binary(card, EF_MY_NUMBER),
            read_binary(card, EF_BASIC_FOUR),
            read_binary(card, EF_SIGNATURE),
            read_binary(card, EF_CERTIFICATE),
        )


@dataclass
class NextGenerationCard:
    """The next-generation card (planned 2026): recognised, and refused until it has a driver.

    Its applications and PINs change; the only thing known to be stable is the JPKI AP.
    A card that answers the JPKI AP but not today's 入力補助AP is taken to be of a newer
    generation and refused with a message instead of being read wrongly.
    """

    name: str = "マイナンバーカード（次期）"

    def detect(self, card: Transport) -> bool:
        """Recognise a card with the JPKI AP and without today's 入力補助AP."""
        return select_aid(card, KENHOJO_AP) != SW_OK and select_aid(card, JPKI_AP) == SW_OK

    def read(self, card: Transport, *, route: str, secret: SecretPrompt) -> RawRead:
        """Refuse: no reading without a driver written against the new card."""
        raise CardError(
            "card_generation",
            "新しい世代のマイナンバーカードのようです。この読取ソフトはまだ対応していません。"
            "券面を見て入力し、システム担当に連絡してください。",
        )


def _wrong_card(placed: str) -> CardError:
    return CardError(
        "card_route",
        f"置かれたカードは{placed}です。窓口画面で、このカードに合う読み取り方法を選び直してください。",
    )


def _auth_failed() -> CardError:
    # One MUTUAL AUTHENTICATE / VERIFY per number typed: never retried with the same number.
    return CardError(
        "zairyu_auth",
        "在留カード番号が違うため、カードが認証に応じませんでした。券面右上の番号（12文字）を"
        "確かめて、もう一度読み取ってください（自動では再試行しません）。",
    )


def _sw_unexpected(what: str, sw: int) -> CardError:
    return CardError("card_unknown", f"カードが{what}に応じません（{sw:04X}）。")


def _sfi_read(cla: int, sfi: int | None, offset: int, data: bytes) -> bytes:
    """One READ BINARY APDU: by short EF id at offset 0, else by offset in the current EF."""
    if sfi is not None:
        p1, p2 = 0x80 | sfi, offset  # ISO 7816-4: b8 of P1 set, SFI in b5–b1, P2 the offset
    else:
        p1, p2 = (offset >> 8) & 0x7F, offset & 0xFF
    head = bytes([cla, 0xB0, p1, p2])
    return head + (bytes([len(data)]) + data + b"\x00" if data else b"\x00")


class ResidenceCardDriver:
    """在留カード・特別永住者証明書 (first generation, 2012–): keys from the 12-character number.

    Sequence (在留カード等仕様書 3.5.2 via [TRET] readCard / performAuthentication and [PY]
    read_all_data, which agree): SELECT MF; READ 共通データ要素 and カード種別 in clear;
    GET CHALLENGE; MUTUAL AUTHENTICATE with Kenc/Kmac from the number; VERIFY the number
    under secure messaging; READ BINARY DF1 (images) under SM, DF2 (裏面) and DF3 (署名) in
    clear, falling back to SM where the card asks for it (6982).
    """

    name = "在留カード等"
    CHUNK = 224  # plaintext per SM read: the encrypted answer (86 81 E9 01 <232>) fits a short APDU

    def detect(self, card: Transport) -> bool:
        """Recognise the card by SELECT MF and a カード種別 of '1' or '2'."""
        if select_mf(card) != SW_OK:
            return False
        data, sw = card.transmit(_sfi_read(0x00, zairyu.SFI_CARD_TYPE, 0, b""))
        if sw != SW_OK:
            return False
        try:
            zairyu.card_type(data)
        except zairyu.ZairyuError:
            return False
        return True

    def read(self, card: Transport, *, route: str, secret: SecretPrompt) -> ResidenceRead:
        """Authenticate with the typed number once, then read every file the spec lists."""
        if route != "zairyu":
            raise _wrong_card("在留カード等")
        typed = secret(NO_COUNTER)
        if typed is None:
            raise CardError("cancelled", "読み取りを取り消しました。")
        number = zairyu.normalise_card_number(typed)
        if number is None:
            raise CardError(
                "zairyu_format",
                "在留カード番号は英字2文字・数字8桁・英字2文字の12文字で入力してください"
                "（カードには送っていません）。",
            )
        if select_mf(card) != SW_OK:
            raise _sw_unexpected("主ファイルの選択", 0)
        files = {
            "common": self._plain(card, zairyu.SFI_COMMON),
            "type": self._plain(card, zairyu.SFI_CARD_TYPE),
        }
        ks_enc = self._authenticate(card, number)
        if select_aid(card, zairyu.DF1) != SW_OK:
            raise CardError("card_unknown", "カードに券面イメージの記録（DF1）がありません。")
        files["front"] = self._secure(card, ks_enc, zairyu.SFI_FRONT)
        files["face"] = self._secure(card, ks_enc, zairyu.SFI_FACE)
        if select_aid(card, zairyu.DF2) != SW_OK:
            raise CardError("card_unknown", "カードに裏面の記録（DF2）がありません。")
        files["address"] = self._either(card, ks_enc, zairyu.SFI_ADDRESS)
        if zairyu.card_type(files["type"]) == "zairyu":  # 特別永住者証明書 has no such fields
            for key, sfi in (
                ("permit_all", zairyu.SFI_PERMIT_ALL),
                ("permit_one", zairyu.SFI_PERMIT_ONE),
                ("renewal", zairyu.SFI_RENEWAL),
            ):
                files[key] = self._either(card, ks_enc, sfi, required=False)
        if select_aid(card, zairyu.DF3) != SW_OK:
            raise CardError("card_unknown", "カードに電子署名の記録（DF3）がありません。")
        files["signature"] = self._either(card, ks_enc, zairyu.SFI_SIGNATURE)
        return ResidenceRead(number, files)

    def _authenticate(self, card: Transport, number: str) -> bytes:
        key = zairyu.card_key(number)
        rnd_icc, sw = card.transmit(bytes.fromhex("0084000008"))  # GET CHALLENGE, 8 bytes
        if sw != SW_OK or len(rnd_icc) != 8:
            raise _sw_unexpected("乱数の要求（GET CHALLENGE）", sw)
        rnd_ifd, k_ifd = os.urandom(8), os.urandom(16)
        e_ifd = zairyu.encrypt(key, rnd_ifd + rnd_icc + k_ifd)
        body = e_ifd + zairyu.retail_mac(key, e_ifd)
        # MUTUAL AUTHENTICATE 00 82 00 00 28 <E.IFD||M.IFD> Le ([PY] Le 00, [TRET] 40 bytes).
        answer, sw = card.transmit(bytes([0x00, 0x82, 0x00, 0x00, len(body)]) + body + b"\x00")
        if sw != SW_OK:
            raise _auth_failed()
        if len(answer) != 40 or not hmac.compare_digest(
            zairyu.retail_mac(key, answer[:32]), answer[32:]
        ):
            raise CardError(
                "card_tampered",
                "カードの認証応答が正しくありません（偽造の疑い）。在留カード等読取アプリで確認してください。",
            )
        plain = zairyu.decrypt(key, answer[:32])
        if plain[:8] != rnd_icc or plain[8:16] != rnd_ifd:
            raise CardError("card_tampered", "カードの認証応答が正しくありません（偽造の疑い）。")
        ks_enc = zairyu.session_key(k_ifd, plain[16:32])
        # VERIFY 08 20 00 86 13 86 11 01 <3DES(number || 80 00 00 00)> ([TRET], [PY]).
        wrapped = zairyu.sm_wrap(ks_enc, number.encode("ascii"))
        sw = card.transmit(bytes([0x08, 0x20, 0x00, 0x86, len(wrapped)]) + wrapped)[1]
        if sw != SW_OK:
            raise _auth_failed()
        return ks_enc

    def _plain(self, card: Transport, sfi: int, *, required: bool = True) -> bytes:
        return self._read(card, None, sfi, required=required)

    def _secure(self, card: Transport, ks_enc: bytes, sfi: int) -> bytes:
        return self._read(card, ks_enc, sfi, required=True)

    def _either(self, card: Transport, ks_enc: bytes, sfi: int, *, required: bool = True) -> bytes:
        try:
            return self._read(card, None, sfi, required=required)
        except _NeedsSecureMessaging:
            return self._read(card, ks_enc, sfi, required=required)

    def _read(self, card: Transport, ks_enc: bytes | None, sfi: int, *, required: bool) -> bytes:
        """Read one EF whole (chunk after chunk until a short one or its end), within ``LIMIT``."""
        out = b""
        want = 256 if ks_enc is None else self.CHUNK
        while len(out) < LIMIT:
            first = not out
            if ks_enc is None:
                apdu = _sfi_read(0x00, sfi if first else None, len(out), b"")
            else:
                # Le of the plaintext in a 96 object ([TRET], [PY]); CLA 08 = SM, header not MACed.
                le = tlv.encode(0x96, self.CHUNK.to_bytes(2, "big"))
                apdu = _sfi_read(0x08, sfi if first else None, len(out), le)
            data, sw = card.transmit(apdu)
            if sw == 0x6982 and ks_enc is None:
                raise _NeedsSecureMessaging()
            if sw in (0x6A82, 0x6A86) and first and not required:
                return b""
            if sw == 0x6B00 and not first:
                break  # the previous chunk ended exactly at the end of the EF
            if sw not in (SW_OK, 0x6282):  # 6282: end of the EF reached before Le
                raise CardError(
                    "card_unknown", f"カードの記録（EF {sfi:02X}）を読み取れません（{sw:04X}）。"
                )
            chunk = data if ks_enc is None else _unwrap(ks_enc, data)
            out += chunk
            if len(chunk) < want or sw == 0x6282:
                break
        if len(out) >= LIMIT:
            raise CardError(
                "card_data_too_long", "カードの記録が想定より長いため、読み取りを中止しました。"
            )
        return out


LIMIT = 16384  # the largest EF (券面イメージ) is 7000 bytes of image plus its header


class _NeedsSecureMessaging(Exception):
    """The card answered 6982 to a plain READ BINARY: read it again under SM."""


def _unwrap(ks_enc: bytes, data: bytes) -> bytes:
    try:
        return zairyu.sm_unwrap(ks_enc, data)
    except zairyu.ZairyuError as error:
        raise CardError("card_tampered", str(error)) from None


def select_mf(card: Transport) -> int:
    """SELECT the MF by its file id 3F00 ([TRET] selectMF, [PY] select_mf)."""
    return card.transmit(bytes([0x00, 0xA4, 0x00, 0x00, 0x02]) + zairyu.MF_FID)[1]


@dataclass
class Drivers:
    """The drivers in the order they are tried."""

    drivers: list[CardDriver] = field(
        default_factory=lambda: [MyNumberCardV1(), NextGenerationCard(), ResidenceCardDriver()]
    )

    def choose(self, card: Transport) -> CardDriver:
        """Return the driver whose card this is.

        :raises CardError: ``card_unknown`` when none recognises it.
        """
        for driver in self.drivers:
            if driver.detect(card):
                return driver
        raise CardError(
            "card_unknown",
            "マイナンバーカードとしても在留カード等としても読み取れないカードです。"
            "カードの向きと種類を確かめてください。",
        )

"""One ``CardDriver`` per card generation, chosen by what the card answers to SELECT.

The driver speaks ISO 7816-4 through a ``Transport`` (PC/SC in production, see
``pcsc.py``). Commands (REFERENCE.md, checked against AokiApp/jsapdu and jpki/myna):
SELECT by AID ``00 A4 04 0C``, SELECT EF ``00 A4 02 0C``, VERIFY ``00 20 00 80``
(without data it answers ``63 CX``: X tries left), READ BINARY ``00 B0``.
The PIN is never retried by the driver: one VERIFY per PIN the person typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

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


# A secret source: the driver asks it for the PIN, telling how many tries remain.
SecretPrompt = Callable[[int], str | None]


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

    def read(self, card: Transport, *, route: str, secret: SecretPrompt) -> RawRead: ...


@dataclass
class MyNumberCardV1:
    """Today's My Number card (2015–): 券面事項入力補助AP with a 4-digit PIN or 照合番号B."""

    name: str = "マイナンバーカード（現行）"

    def detect(self, card: Transport) -> bool:
        """Recognise the card by its 券面事項入力補助AP answering SELECT."""
        return select_aid(card, KENHOJO_AP) == SW_OK

    def read(self, card: Transport, *, route: str, secret: SecretPrompt) -> RawRead:
        """VERIFY once with the typed PIN or 照合番号B, then READ EF 0001–0004."""
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


@dataclass
class Drivers:
    """The drivers in the order they are tried."""

    drivers: list[CardDriver] = field(
        default_factory=lambda: [MyNumberCardV1(), NextGenerationCard()]
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
            "マイナンバーカードとして読み取れないカードです。カードの向きと種類を確かめてください。"
            "在留カードは「在留カード等読取アプリ」で確認してください。",
        )

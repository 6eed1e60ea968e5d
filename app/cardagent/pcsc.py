"""PC/SC transport through pyscard (pcscd on Linux, WinSCard on Windows)."""

from __future__ import annotations

import contextlib
from typing import Any

from app.cardagent.drivers import CardError, CardRemoved


class PcscCard:
    """One card in one reader, connected through pyscard."""

    def __init__(self, service: Any) -> None:
        # Keep the card service alive: pyscard disconnects when it is collected.
        self._service = service
        self._connection = service.connection

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        """Send an APDU; a vanished card or reader raises ``CardRemoved``."""
        from smartcard.Exceptions import CardConnectionException

        try:
            data, sw1, sw2 = self._connection.transmit(list(apdu))
        except CardConnectionException:
            raise CardRemoved() from None
        return bytes(data), (sw1 << 8) | sw2

    def close(self) -> None:
        """Release the card."""
        with contextlib.suppress(Exception):  # the card may already be gone
            self._connection.disconnect()


def wait_for_card(timeout: float, reader_name: str | None = None) -> PcscCard:
    """Wait up to ``timeout`` seconds for a card and connect to it.

    :raises CardError: ``no_reader`` (none plugged in / pcscd not running) or ``no_card``.
    """
    from smartcard.CardRequest import CardRequest
    from smartcard.Exceptions import (
        CardConnectionException,
        CardRequestTimeoutException,
        SmartcardException,
    )
    from smartcard.pcsc.PCSCExceptions import BaseSCardException
    from smartcard.System import readers

    try:
        found = [r for r in readers() if reader_name is None or reader_name in str(r)]
    except (BaseSCardException, SmartcardException):
        raise CardError(
            "no_reader",
            "カード読取サービス（pcscd）に接続できません。読取機の接続とサービスの起動を確かめてください。",
        ) from None
    if not found:
        raise CardError("no_reader", "カード読取機が見つかりません。USBの接続を確かめてください。")
    request = CardRequest(timeout=timeout, readers=found)
    try:
        service = request.waitforcard()
    except CardRequestTimeoutException:
        raise CardError(
            "no_card", "カードが置かれていません。読取機にカードを置いてください。"
        ) from None
    try:
        service.connection.connect()
    except CardConnectionException:
        raise CardRemoved() from None
    return PcscCard(service)

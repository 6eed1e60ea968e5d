"""Card fixtures: a real pcscd with vsmartcard's vpcd, an emulated card, a paired agent.

pcscd is started here when nothing listens on vpcd's port yet (a fresh CI machine: `make
setup-test` installs pcscd and vsmartcard-vpcd without starting them) and stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

import pytest

from app.cardagent import client as agent_client
from app.extensions import db
from app.models import AuditEvent, Case
from app.services.cases import open_case
from tests.card.emulator import (
    VPCD_PORT,
    CardOptions,
    Emulator,
    Issuer,
    Ministry,
    ResidenceOptions,
    ResidenceVirtualCard,
    VirtualCard,
)


def _vpcd_listening() -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", VPCD_PORT)) == 0


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Make sure pcscd runs with the vpcd reader; start it (and stop it after) if needed."""
    if _vpcd_listening():
        # Our probe connected as a card and left: give pcscd a moment to see it gone.
        time.sleep(0.5)
        yield
        return
    binary = shutil.which("pcscd") or "/usr/sbin/pcscd"
    if not os.path.exists(binary):
        pytest.fail("pcscd is not installed: run `make setup-test` (pcscd, vsmartcard-vpcd)")
    log_path = tmp_path_factory.mktemp("pcscd") / "pcscd.log"
    log = log_path.open("wb")
    process = subprocess.Popen([binary, "--foreground"], stdout=log, stderr=log)
    for _ in range(100):
        if _vpcd_listening():
            break
        if process.poll() is not None:
            log.close()
            err = log_path.read_text(errors="replace")
            pytest.fail(f"pcscd exited ({process.returncode}): {err.strip()[-400:]}")
        time.sleep(0.1)
    else:
        process.terminate()
        pytest.fail("pcscd runs but vpcd does not listen on 35963: is vsmartcard-vpcd installed?")
    time.sleep(0.5)
    yield
    process.terminate()
    process.wait(timeout=10)
    log.close()


def wait_card_gone(limit: float = 3.0) -> None:
    """Wait until pcscd sees no card on the reader (a fixed sleep flakes on a loaded machine)."""
    from smartcard.CardRequest import CardRequest
    from smartcard.Exceptions import CardRequestTimeoutException

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            CardRequest(timeout=0.1).waitforcard()
        except CardRequestTimeoutException:
            return
        time.sleep(0.1)


@pytest.fixture(scope="session")
def issuer() -> Issuer:
    return Issuer.make()


@pytest.fixture(scope="session")
def ministry() -> Ministry:
    return Ministry.make()


@pytest.fixture
def insert_card(
    pcscd: None, issuer: Issuer, ministry: Ministry
) -> Iterator[Callable[..., Emulator]]:
    """Factory: ``insert_card(**CardOptions fields)`` puts an emulated card on the reader.

    ``insert_card(residence=True, **ResidenceOptions fields)`` puts a 在留カード等 there.
    """
    inserted: list[Emulator] = []

    def insert(residence: bool = False, **options: Any) -> Emulator:
        card: VirtualCard | ResidenceVirtualCard
        if residence:
            card = ResidenceVirtualCard(ResidenceOptions(**options), ministry)
        else:
            card = VirtualCard(CardOptions(**options), issuer)
        emulator = Emulator(card)
        inserted.append(emulator)
        return emulator

    yield insert
    for emulator in inserted:
        emulator.remove()
    wait_card_gone()  # let pcscd notice the card left before the next test inserts one


@pytest.fixture
def card_app(app: Any, issuer: Issuer, ministry: Ministry) -> Any:
    app.config["CARD_TRUST_ANCHORS"] = [issuer.anchor_pem()]
    app.config["RESIDENCE_CARD_TRUST_ANCHORS"] = [ministry.anchor_pem()]
    return app


def flask_sender(app: Any) -> agent_client.Send:
    """Send the agent's requests to the app through a session-less test client."""
    http = app.test_client()

    def send(
        method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        response = http.open(
            path, method=method, data=body, headers={"Content-Type": "application/json", **headers}
        )
        return response.status_code, response.get_json(silent=True) or {}

    return send


class Desk:
    """A logged-in member of staff with an open case and a paired agent."""

    def __init__(self, app: Any, client: Any, staff: Any) -> None:
        self.app, self.client, self.staff = app, client, staff
        self.send = flask_sender(app)
        with app.app_context():
            case = open_case(
                staff.id, ["move_in"], "counter", date(2025, 4, 10), datetime.now(), "c"
            )
            self.case_id = case.id
        code = client.post("/cardreader/pairing-code", json={"desk": "1番窓口"}).get_json()["code"]
        self.credential = agent_client.pair(self.send, "http://127.0.0.1", code, "受付PC-1")

    def ask(self, route: str = "pin", card_number: str = "") -> None:
        reply = self.client.post(
            f"/cardreader/case/{self.case_id}/request",
            json={
                "agent_id": self.credential.agent_id,
                "route": route,
                "person": 0,
                "card_number": card_number,
            },
        )
        assert reply.status_code == 200, reply.get_json()
        assert reply.get_json()["message"] == "カードをかざしてください"

    def status(self) -> dict[str, Any]:
        return self.client.get(f"/cardreader/case/{self.case_id}/status").get_json()

    def audit_actions(self) -> list[str]:
        with self.app.app_context():
            return [e.action for e in db.session.query(AuditEvent).order_by(AuditEvent.id)]

    def case(self) -> Case:
        return db.session.get(Case, self.case_id)


@pytest.fixture
def desk(card_app: Any, client: Any, login_as: Callable[[str], Any]) -> Desk:
    staff = login_as("counter")
    return Desk(card_app, client, staff)

"""The real agent against an emulated card through pyscard -> pcscd -> vpcd, and the server."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from app.cardagent import client as agent_client
from app.cardagent.__main__ import read_once
from app.extensions import db
from app.models import FactValue
from app.models.card_agent import CardReading
from app.services.cases import CaseError, record_fact
from tests.card.conftest import wait_card_gone

pytestmark = [pytest.mark.card, pytest.mark.db]


class Typed:
    """What the person types at each prompt; records the tries-left each prompt showed."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.shown: list[int] = []

    def __call__(self, left: int) -> str | None:
        self.shown.append(left)
        return self.answers.pop(0) if self.answers else None


def read(desk, route="pin", typed=None):
    return read_once(
        desk.send, desk.credential, desk.case_id, route, typed or Typed("1234"), timeout=10
    )


def test_pin_right_lands_locked_in_the_case(desk, insert_card):
    insert_card()
    desk.ask()
    status, reply = read(desk)
    assert status == 200, reply
    shown = desk.status()
    assert shown["state"] == "pending"
    by_fact = {f["fact"]: f for f in shown["facts"]}
    assert by_fact["household[0].my_number"]["display"] == "**** **** 9018"
    assert "123456789018" not in json.dumps(shown)  # masked on screen
    assert by_fact["household[0].name"]["display"] == "番号　花子"
    # The address on the card is the one before a move-in.
    assert "move.old_address" in by_fact
    assert "household.address" not in by_fact
    confirm = desk.client.post(
        f"/cardreader/case/{desk.case_id}/confirm", json={"reading_id": shown["reading_id"]}
    )
    assert confirm.status_code == 200, confirm.get_json()
    with desk.app.app_context():
        rows = {r.fact_id: r for r in db.session.query(FactValue).filter_by(case_id=desk.case_id)}
        assert rows["household[0].my_number"].provenance == "mynumber_card"
        assert all(r.locked for r in rows.values())
        assert rows["household[0].sex"].provenance == "mynumber_card"
    assert "card_confirmed" in desk.audit_actions()
    # A locked value refuses an edit made without a reason.
    with desk.app.app_context():
        with pytest.raises(CaseError) as refused:
            record_fact(desk.case(), "household[0].name", "別人", actor="x", now=datetime.now())
        assert refused.value.code == "locked"


def test_reveal_is_audited_and_the_number_never_in_the_audit(desk, insert_card):
    insert_card()
    desk.ask()
    read(desk)
    reading = desk.status()["reading_id"]
    shown = desk.client.post(
        f"/cardreader/case/{desk.case_id}/reveal", json={"reading_id": reading}
    )
    assert shown.get_json()["number"] == "123456789018"
    assert "my_number_shown" in desk.audit_actions()
    with desk.app.app_context():
        from app.models import AuditEvent

        dump = json.dumps([e.detail for e in db.session.query(AuditEvent)], ensure_ascii=False)
    assert "123456789018" not in dump and "1234" not in dump.replace("1234567", "")


def test_wrong_pin_is_sent_once_and_tells_the_tries_left(desk, insert_card):
    card = insert_card()
    desk.ask()
    typed = Typed("9999", "1234")
    status, reply = read(desk, typed=typed)
    assert reply["error"]["code"] == "pin_wrong"
    assert "あと2回" in reply["error"]["message"]
    assert typed.shown == [3]  # asked once; never retried with the next answer
    assert card.card.tries[0x0011] == 2
    assert desk.status() == {"state": "failed", "message": "暗証番号が違いました。"}
    with desk.app.app_context():
        assert db.session.query(FactValue).filter_by(case_id=desk.case_id).count() == 0


def test_last_try_is_warned_before_and_after(desk, insert_card):
    card = insert_card(pin_tries=2)
    desk.ask()
    status, reply = read(desk, typed=Typed("0000"))
    assert "次に間違えるとカードがロックされます" in reply["error"]["message"]
    typed = Typed("0000")
    card.remove()
    wait_card_gone()
    card2 = insert_card(pin_tries=1)
    status, reply = read(desk, typed=typed)
    assert typed.shown == [1]  # the prompt knew this was the last try (the CLI warns)
    assert reply["error"]["code"] == "pin_locked"
    assert card2.card.tries[0x0011] == 0


def test_locked_card_is_not_sent_a_pin(desk, insert_card):
    card = insert_card(pin_tries=0)
    desk.ask()
    typed = Typed("1234")
    status, reply = read(desk, typed=typed)
    assert reply["error"]["code"] == "pin_locked"
    assert "照合番号B" in reply["error"]["message"]
    assert typed.shown == []
    assert not any(head[1] == 0x20 and len(head) > 4 for head in card.card.log)


def test_code_b_route_reads_without_the_pin(desk, insert_card):
    insert_card(pin_tries=0)
    desk.ask("code_b")
    status, reply = read(desk, "code_b", Typed("85040120301234"))
    assert status == 200, reply
    assert desk.status()["state"] == "pending"


def test_malformed_pin_costs_no_try(desk, insert_card):
    card = insert_card()
    desk.ask()
    status, reply = read(desk, typed=Typed("12"))
    assert reply["error"]["code"] == "pin_format"
    assert card.card.tries[0x0011] == 3


@pytest.mark.parametrize("tamper", ["four", "issuer"])
def test_tampered_data_is_refused_and_nothing_stored(desk, insert_card, tamper):
    insert_card(tamper=tamper)
    desk.ask()
    status, reply = read(desk)
    assert status == 403
    assert "改ざん" in reply["error"]["message"] or "偽造" in reply["error"]["message"]
    with desk.app.app_context():
        assert db.session.query(CardReading).filter_by(case_id=desk.case_id).count() == 0
    assert desk.audit_actions()[-1] == "card_message_refused"


def test_layout_with_leading_bytes_is_parsed_by_tag(desk, insert_card):
    insert_card(leading_bytes=b"\x01\x02")
    desk.ask()
    status, reply = read(desk)
    assert status == 200, reply
    names = [f["display"] for f in desk.status()["facts"] if f["fact"] == "household[0].name"]
    assert names == ["番号　花子"]


@pytest.mark.parametrize(
    ("kind", "code"), [("unknown", "card_unknown"), ("nextgen", "card_generation")]
)
def test_unknown_and_next_generation_cards_are_refused(desk, insert_card, kind, code):
    insert_card(kind=kind)
    desk.ask()
    status, reply = read(desk)
    assert reply["error"]["code"] == code
    assert desk.status()["state"] == "failed"


def test_card_removed_mid_read(desk, insert_card):
    insert_card(remove_after=5)
    desk.ask()
    status, reply = read(desk)
    assert reply["error"]["code"] == "card_removed"
    assert "カードが離れました" in desk.status()["message"]


def test_forged_replayed_and_other_desk_messages_are_refused(desk, insert_card, card_app):
    insert_card()
    desk.ask()
    from app.cardagent.drivers import Drivers
    from app.cardagent.pcsc import wait_for_card

    card = wait_for_card(10)
    raw = Drivers().choose(card).read(card, route="pin", secret=lambda left: "1234")
    card.close()
    path = "/cardreader/api/readings"
    body = agent_client.reading_body(desk.case_id, raw)
    # Wrong secret (forged).
    forged = agent_client.Credential("x", desk.credential.agent_id, "not-the-secret")
    status, reply = agent_client.post(desk.send, forged, path, body)
    assert status == 403 and "署名が正しくありません" in reply["error"]["message"]
    # Another case than the desk serves.
    other = agent_client.reading_body(desk.case_id + 1000, raw)
    status, reply = agent_client.post(desk.send, desk.credential, path, other)
    assert (
        status == 403 and "この窓口で受付中の案件のものではありません" in reply["error"]["message"]
    )
    # Replay: the same signed message twice.
    headers = agent_client.signed_headers(desk.credential, "POST", path, body)
    assert desk.send("POST", path, body, headers)[0] == 200
    status, reply = desk.send("POST", path, body, headers)
    assert status == 403 and "二度送られました" in reply["error"]["message"]
    # An old message.
    stale = agent_client.signed_headers(desk.credential, "POST", path, body, now=1_000_000_000)
    status, reply = desk.send("POST", path, body, stale)
    assert status == 403 and "古い" in reply["error"]["message"]
    with desk.app.app_context():
        assert db.session.query(CardReading).filter_by(case_id=desk.case_id).count() == 1
    assert desk.audit_actions().count("card_message_refused") == 4


def test_pairing_once_and_revocation(desk, insert_card, card_app):
    # The code was used by the fixture: a second exchange is refused.
    status = desk.client.post("/cardreader/pairing-code", json={"desk": "2番窓口"})
    code = status.get_json()["code"]
    agent_client.pair(desk.send, "http://127.0.0.1", code, "PC-2")
    with pytest.raises(RuntimeError, match="登録コードが違うか"):
        agent_client.pair(desk.send, "http://127.0.0.1", code, "PC-3")
    # Revoke through the CLI; the agent's next message is refused in Japanese.
    runner = card_app.test_cli_runner()
    listed = runner.invoke(args=["cardagents", "list"])
    assert "1番窓口" in listed.output and "active" in listed.output
    result = runner.invoke(args=["cardagents", "revoke", str(desk.credential.agent_id)])
    assert result.exit_code == 0, result.output
    with pytest.raises(RuntimeError, match="無効にされています"):
        agent_client.poll(desk.send, desk.credential)
    assert "card_agent_revoked" in desk.audit_actions()


def test_agent_session_tells_the_case_and_route(desk):
    assert agent_client.poll(desk.send, desk.credential)["wanted"] is None
    desk.ask("code_b")
    session = agent_client.poll(desk.send, desk.credential)
    assert session["case_id"] == desk.case_id
    assert session["wanted"] == {"route": "code_b"}

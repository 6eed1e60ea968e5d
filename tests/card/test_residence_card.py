"""The real agent reads an emulated 在留カード等 through pyscard -> pcscd -> vpcd, and staff confirm."""

from __future__ import annotations

import base64
import io
import json
import logging
from datetime import datetime

import pytest
from PIL import Image

from app.cardagent.__main__ import prompt_secret, read_once
from app.cardagent.drivers import NO_COUNTER
from app.extensions import db
from app.models import AuditEvent, FactValue
from app.models.card_agent import CardReading
from app.services.cases import CaseError, record_fact
from tests.card.conftest import wait_card_gone

pytestmark = [pytest.mark.card, pytest.mark.db]

NUMBER = "AB12345678CD"


class Typed:
    """What staff type at the agent's prompt; records what the prompt was told."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.shown: list[int] = []

    def __call__(self, left: int) -> str | None:
        self.shown.append(left)
        return self.answers.pop(0) if self.answers else None


def read(desk, typed=None, route="zairyu"):
    """Run the agent once as ``run`` does: the number from the session, else the prompt."""
    session = desk.send  # the agent asks the server which number staff typed
    from app.cardagent import client

    wanted = client.poll(session, desk.credential)
    secret = typed or prompt_secret(route, wanted.get("card_number"))
    return read_once(desk.send, desk.credential, desk.case_id, route, secret, timeout=10)


def rows(desk):
    with desk.app.app_context():
        return {r.fact_id: r for r in db.session.query(FactValue).filter_by(case_id=desk.case_id)}


def audit_dump(desk) -> str:
    with desk.app.app_context():
        return json.dumps(
            [[e.action, e.detail] for e in db.session.query(AuditEvent)], ensure_ascii=False
        )


def test_number_typed_on_the_case_page_reads_the_card_and_lands_locked(desk, insert_card, caplog):
    caplog.set_level(logging.DEBUG)
    card = insert_card(residence=True)
    desk.ask("zairyu", "ab12345678cd")  # typed in lower case: normalised
    status, reply = read(desk)
    assert status == 200, reply
    assert card.card.auth_attempts == 1
    shown = desk.status()
    assert shown["state"] == "pending"
    assert shown["card"]["type_label"] == "在留カード"
    assert shown["card"]["number_masked"] == "AB＊＊＊＊＊＊＊＊CD"
    assert shown["card"]["address"] == "東京都千代田区霞が関一丁目1番1号"
    assert "週28時間" in shown["card"]["permits"]["permit_all"]
    # The face image (JPEG 2000 on the card) and the card face (TIFF G4) arrive as PNG.
    for key, size in (("face", (120, 150)), ("front", (856, 540))):
        url = shown["card"][key]
        assert url.startswith("data:image/png;base64,")
        assert Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size == size
    by_fact = {f["fact"]: f for f in shown["facts"]}
    assert by_fact["household[0].zairyu_card_number"]["display"] == "AB＊＊＊＊＊＊＊＊CD"
    assert by_fact["household[0].kubun_30_45"]["display"] == "中長期在留者"
    assert by_fact["household[0].foreign_resident"]["display"] == "はい"
    assert shown["card"]["address_date"] == "2024年4月1日"
    assert "move.old_address" in by_fact  # a move-in: the card's 住居地 is the one before
    assert NUMBER not in json.dumps(shown)
    assert [t["fact"] for t in shown["typed"]] == [
        "household[0].nationality",
        "household[0].zairyu_shikaku",
        "household[0].zairyu_kikan",
        "household[0].zairyu_manryo_date",
    ]
    typed = {
        "household[0].nationality": "ベトナム",
        "household[0].zairyu_shikaku": "技術・人文知識・国際業務",
        "household[0].zairyu_kikan": "5年",
        "household[0].zairyu_manryo_date": "2029-04-01",
    }
    confirm = desk.client.post(
        f"/cardreader/case/{desk.case_id}/confirm",
        json={"reading_id": shown["reading_id"], "typed": typed},
    )
    assert confirm.status_code == 200, confirm.get_json()
    stored = rows(desk)
    assert stored["household[0].zairyu_card_number"].provenance == "residence_card"
    assert stored["household[0].zairyu_manryo_date"].provenance == "residence_card"
    assert all(r.locked for r in stored.values())
    with desk.app.app_context():
        from app.services.cases import stored_facts

        values = {k: v.value for k, v in stored_facts(desk.case()).items()}
    assert values["household[0].zairyu_card_number"] == NUMBER
    assert values["household[0].kubun_30_45"] == "chuchoki"
    assert values["household[0].foreign_resident"] is True
    assert values["household[0].zairyu_shikaku"] == "技術・人文知識・国際業務"
    actions = desk.audit_actions()
    assert "card_confirmed" in actions and "residence_card_typed" in actions
    # The number is the key to the IC: in no audit line and no log record.
    assert NUMBER not in audit_dump(desk)
    assert NUMBER not in caplog.text
    # The sealed copy (number, images) is gone once confirmed.
    with desk.app.app_context():
        assert all(r.sealed is None for r in db.session.query(CardReading))
        with pytest.raises(CaseError) as refused:
            record_fact(
                desk.case(), "household[0].zairyu_shikaku", "留学", actor="x", now=datetime.now()
            )
        assert refused.value.code == "locked"


def test_number_typed_at_the_agent_when_the_page_left_it_empty(desk, insert_card):
    insert_card(residence=True, kind="tokubetsu", address_needs_sm=True)
    desk.ask("zairyu")
    typed = Typed("AB12345678CD")
    status, reply = read(desk, typed)
    assert status == 200, reply
    assert typed.shown == [NO_COUNTER]  # asked once, with no try counter to show
    shown = desk.status()
    assert shown["card"]["type_label"] == "特別永住者証明書"
    assert shown["card"]["permits"] == {}
    # 特別永住者 have no 在留資格 or 在留期間 to type: only the 国籍・地域.
    assert [t["fact"] for t in shown["typed"]] == ["household[0].nationality"]
    confirm = desk.client.post(
        f"/cardreader/case/{desk.case_id}/confirm",
        json={"reading_id": shown["reading_id"], "typed": {"household[0].zairyu_kikan": "5年"}},
    )
    assert confirm.status_code == 400
    assert "券面から入力できません" in confirm.get_json()["error"]["message"]


def test_wrong_number_fails_once_with_a_japanese_message(desk, insert_card):
    card = insert_card(residence=True)
    desk.ask("zairyu", "AB12345678CE")
    status, reply = read(desk)
    assert reply["error"]["code"] == "zairyu_auth"
    assert "在留カード番号が違う" in reply["error"]["message"]
    assert "自動では再試行しません" in reply["error"]["message"]
    assert card.card.auth_attempts == 1  # one MUTUAL AUTHENTICATE, no retry storm
    assert not any(head[1] == 0xB0 and head[0] == 0x08 for head in card.card.log)
    failed = desk.status()
    assert failed["state"] == "failed" and "在留カード番号が違う" in failed["message"]
    # The agent's loop is not asked again until staff request a new reading.
    from app.cardagent import client

    assert client.poll(desk.send, desk.credential)["wanted"] is None
    assert rows(desk) == {}
    with desk.app.app_context():  # the typed number is not kept after the answer
        assert all(r.sealed is None for r in db.session.query(CardReading))


def test_malformed_numbers_are_refused_before_the_card(desk, insert_card):
    card = insert_card(residence=True)
    bad = desk.client.post(
        f"/cardreader/case/{desk.case_id}/request",
        json={
            "agent_id": desk.credential.agent_id,
            "route": "zairyu",
            "person": 0,
            "card_number": "AB1234",
        },
    )
    assert bad.status_code == 400 and "12文字" in bad.get_json()["error"]["message"]
    desk.ask("zairyu")
    status, reply = read(desk, Typed("12345678ABCD"))
    assert reply["error"]["code"] == "zairyu_format"
    assert "カードには送っていません" in reply["error"]["message"]
    assert card.card.auth_attempts == 0


@pytest.mark.parametrize(
    ("tamper", "words"), [("face", "改ざん"), ("issuer", "偽造")], ids=["face", "issuer"]
)
def test_tampered_card_is_refused_and_nothing_stored(desk, insert_card, tamper, words):
    insert_card(residence=True, tamper=tamper)
    desk.ask("zairyu", NUMBER)
    status, reply = read(desk)
    assert status == 403
    assert words in reply["error"]["message"]
    with desk.app.app_context():
        assert db.session.query(CardReading).filter_by(status="pending").count() == 0
    assert desk.audit_actions()[-1] == "card_message_refused"
    assert rows(desk) == {}


def test_without_the_ministry_certificate_nothing_verifies(desk, insert_card, card_app):
    card_app.config["RESIDENCE_CARD_TRUST_ANCHORS"] = []
    insert_card(residence=True)
    desk.ask("zairyu", NUMBER)
    status, reply = read(desk)
    assert (
        status == 403 and "出入国在留管理庁の証明書が設定されていない" in reply["error"]["message"]
    )


def test_second_generation_card_is_refused_not_guessed(desk, insert_card):
    insert_card(residence=True, generation=2)
    desk.ask("zairyu", NUMBER)
    status, reply = read(desk)
    assert status == 403 and "第二世代" in reply["error"]["message"]
    assert "在留カード等読取アプリ" in reply["error"]["message"]


def test_card_removed_mid_read(desk, insert_card):
    # 5 APDUs choose the driver, 6 authenticate: it leaves as DF1 (the images) is selected.
    card = insert_card(residence=True, remove_after=11)
    desk.ask("zairyu", NUMBER)
    status, reply = read(desk)
    assert reply["error"]["code"] == "card_removed"
    assert card.card.verified  # authenticated: the card left while the images were read
    assert "カードが離れました" in desk.status()["message"]
    assert rows(desk) == {}


def test_card_and_route_that_do_not_match(desk, insert_card):
    card = insert_card()  # a My Number card
    desk.ask("zairyu", NUMBER)
    status, reply = read(desk)
    assert reply["error"]["code"] == "card_route"
    assert "マイナンバーカード" in reply["error"]["message"]
    card.remove()
    wait_card_gone()
    insert_card(residence=True)
    desk.ask("pin")
    status, reply = read(desk, Typed("1234"), route="pin")
    assert reply["error"]["code"] == "card_route"
    assert "在留カード等" in reply["error"]["message"]


def test_unknown_card_is_refused(desk, insert_card):
    insert_card(kind="unknown")
    desk.ask("zairyu", NUMBER)
    status, reply = read(desk)
    assert reply["error"]["code"] == "card_unknown"
    assert "在留カード等としても読み取れない" in reply["error"]["message"]


def test_agent_session_hands_over_the_number_only_for_its_reading(desk):
    from app.cardagent import client

    desk.ask("zairyu", NUMBER)
    session = client.poll(desk.send, desk.credential)
    assert session["wanted"] == {"route": "zairyu"} and session["card_number"] == NUMBER
    desk.ask("pin")
    assert "card_number" not in client.poll(desk.send, desk.credential)

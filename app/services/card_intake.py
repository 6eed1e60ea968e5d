"""The card route: accept the readings of paired agents, and let staff confirm them.

Agents are paired and their messages authenticated in ``card_agents``; a message must also
be for the case its desk is serving. A reading is parsed and its signature
verified again here (the server trusts no agent), then sealed like a scan
(``scan_intake``) and shown to staff; only what staff confirm is stored, with provenance
``mynumber_card`` and locked. The 個人番号 and the PIN are never logged or audited.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.cardagent import zairyu
from app.cardagent.card import CardDataError, parse_basic_four, parse_my_number, verify
from app.engine import FactValueError, RuleSet, parse_fact_value
from app.engine.result import json_value
from app.extensions import db
from app.models import Case, StaffUser
from app.models.card_agent import CardAgent, CardReading
from app.services import residence_card
from app.services.card_agents import Agent, CardIntakeError, refused_message
from app.services.cases import (
    CaseError,
    StoredFact,
    audit,
    cipher,
    record_read_facts,
    stored_facts,
)
from app.services.interview import case_as_of, fact_def_for

PENDING_MINUTES = 10
ROUTES = {
    "pin": "暗証番号（4桁）",
    "code_b": "照合番号B（14桁）",
    "zairyu": "在留カード・特別永住者証明書（カード番号12文字）",
}
PROVENANCE = "mynumber_card"
FAILURES = {
    "pin_wrong": "暗証番号が違いました。",
    "pin_locked": "暗証番号がロックされています。照合番号Bで読み取ってください。",
    "pin_format": "入力された桁数が正しくありません（カードには送っていません）。",
    "card_removed": "読み取り中にカードが離れました。もう一度読み取ってください。",
    "card_unknown": "マイナンバーカードとしても在留カード等としても読み取れないカードです。",
    "card_generation": "新しい世代のカードのため、まだ読み取れません。券面を見て入力してください。",
    "card_data_too_long": "カードの記録が想定より長いため、読み取りを中止しました。",
    "no_reader": "カード読取機が見つかりません。接続を確かめてください。",
    "no_card": "カードが置かれていません。",
    "cancelled": "読み取りが取り消されました。",
    "card_route": "置かれたカードと読み取り方法が合いません。読み取り方法を選び直してください。",
    "zairyu_auth": "在留カード番号が違うため、カードが認証に応じませんでした。"
    "券面の番号を確かめて、もう一度読み取ってください（自動では再試行しません）。",
    "zairyu_format": "在留カード番号の形式が正しくありません（カードには送っていません）。",
    "card_tampered": "カードの応答が正しくありません（偽造・改ざんの疑い）。"
    "在留カード等読取アプリで確認してください。",
}


def session_for(agent: CardAgent) -> dict[str, Any]:
    """Tell an agent which case its desk is serving and whether staff asked for a reading."""
    db.session.commit()  # keep the nonce
    if agent.attached_case_id is None:
        return {"case_id": None, "wanted": None}
    case = db.session.get(Case, agent.attached_case_id)
    wanted = {"route": agent.wanted_route} if agent.wanted_route else None
    reply: dict[str, Any] = {
        "case_id": agent.attached_case_id,
        "case_number": case.number if case else "",
        "wanted": wanted,
    }
    if agent.wanted_route == "zairyu":
        # The number staff typed is the key the agent needs (over HTTPS, to this agent only).
        row = _wanted_row(agent, agent.attached_case_id)
        if row is not None and row.sealed:
            reply["card_number"] = json.loads(cipher().open_bytes(row.sealed.encode("ascii")))[
                "card_number"
            ]
    return reply


def _wanted_row(agent: CardAgent, case_id: int) -> CardReading | None:
    """The sealed card number staff typed for the agent's next 在留カード reading, if any."""
    return db.session.scalars(
        select(CardReading)
        .where(
            CardReading.case_id == case_id,
            CardReading.agent_id == agent.id,
            CardReading.status == "wanted",
        )
        .order_by(CardReading.id.desc())
    ).first()


def _drop_wanted(agent: CardAgent, case_id: int) -> None:
    # The typed number is needed for one reading only: drop it once the agent answered.
    for row in db.session.scalars(
        select(CardReading).where(
            CardReading.case_id == case_id,
            CardReading.agent_id == agent.id,
            CardReading.status == "wanted",
        )
    ):
        row.status, row.sealed = "used", None


def _case_for(message: Agent, now: datetime) -> Case:
    case_id = message.body.get("case_id")
    agent = message.agent
    if not isinstance(case_id, int) or case_id != agent.attached_case_id:
        raise refused_message(
            "この読み取り結果は、この窓口で受付中の案件のものではありません。何も保存していません。",
            {"why": "wrong_case", "agent": agent.id},
            now,
            case_id=agent.attached_case_id,
        )
    case = db.session.get(Case, case_id)
    if case is None:
        raise refused_message("受付が見つかりません。", {"why": "no_case", "agent": agent.id}, now)
    return case


def accept_failure(message: Agent, *, now: datetime) -> None:
    """Record that a read failed at the desk (only the failure's code) for staff to see."""
    case = _case_for(message, now)
    code = str(message.body.get("failure", ""))
    code = code if code in FAILURES else "card_unknown"
    _drop_wanted(message.agent, case.id)
    if message.agent.wanted_route == "zairyu":
        # No second try by itself: staff check the number on the card face and ask again.
        message.agent.wanted_route = None
    db.session.add(
        CardReading(
            case_id=case.id,
            agent_id=message.agent.id,
            status="failed",
            failure=code,
            created_at=now,
        )
    )
    audit(case.id, f"cardagent:{message.agent.id}", "card_read_failed", {"failure": code}, now)
    db.session.commit()


def _ef(body: dict[str, Any], name: str) -> bytes:
    try:
        raw = base64.b64decode(body["ef"][name], validate=True)
    except (KeyError, TypeError, binascii.Error):
        raise CardDataError("カードのデータが欠けています。") from None
    if len(raw) > 8192:
        raise CardDataError("カードのデータが長すぎます。")
    return raw


def reading_facts(
    body: dict[str, Any], anchors: Sequence[bytes], person: int, events: list[str]
) -> tuple[dict[str, Any], str]:
    """Parse and verify a reading; return the facts it carries and the route.

    :raises CardDataError: garbage, or data that the card's signature does not cover.
    """
    ef = {name: _ef(body, name) for name in ("0001", "0002", "0003", "0004")}
    number = parse_my_number(ef["0001"])
    four = parse_basic_four(ef["0002"])
    check = verify(ef["0001"], ef["0002"], ef["0003"], ef["0004"], anchors)
    if not check.ok:
        raise CardDataError(
            f"{check.reason}この読み取り結果は使えません。券面と本人を確認し、手入力してください。"
        )
    member = f"household[{person}]"
    facts: dict[str, Any] = {
        f"{member}.name": four.name,
        f"{member}.birth_date": four.birth_date.isoformat(),
        f"{member}.my_number": number,
        # The card's address is where the person lives now: after a move-in that is the old one.
        ("move.old_address" if "move_in" in events else "household.address"): four.address,
    }
    if four.sex is not None:
        facts[f"{member}.sex"] = four.sex
    route = body.get("route")
    return facts, route if route in ROUTES else "pin"


def accept_reading(
    message: Agent,
    anchors: Sequence[bytes],
    *,
    now: datetime,
    residence_anchors: Sequence[bytes] | None = None,
) -> CardReading:
    """Verify a reading and keep it sealed for staff to confirm (no fact is written).

    :raises CardIntakeError: not this desk's case, garbage, or a signature that fails.
    """
    case = _case_for(message, now)
    agent = message.agent
    shown: dict[str, Any] | None = None
    try:
        if message.body.get("route") == "zairyu":
            route = "zairyu"
            facts, shown = residence_card.reading(
                message.body, residence_anchors or (), agent.wanted_person, list(case.events)
            )
        else:
            facts, route = reading_facts(
                message.body, anchors, agent.wanted_person, list(case.events)
            )
    except (CardDataError, zairyu.ZairyuError) as error:
        raise refused_message(
            str(error), {"why": "card_data", "agent": agent.id}, now, case_id=case.id
        ) from None
    _drop_wanted(agent, case.id)
    body: dict[str, Any] = {"case": case.id, "route": route, "facts": facts}
    if shown is not None:
        body["card"] = shown
    sealed = cipher().seal_bytes(json.dumps(body, ensure_ascii=False).encode()).decode("ascii")
    reading = CardReading(
        case_id=case.id, agent_id=agent.id, status="pending", sealed=sealed, created_at=now
    )
    db.session.add(reading)
    agent.wanted_route = None
    audit(
        case.id, f"cardagent:{agent.id}", "card_read", {"route": route, "facts": sorted(facts)}, now
    )
    db.session.commit()
    return reading


def request_reading(
    case: Case,
    agent_id: int,
    route: str,
    person: int,
    *,
    staff: StaffUser,
    now: datetime,
    card_number: str = "",
) -> CardAgent:
    """Point the desk's agent at this case and ask it for one reading by ``route``.

    For a 在留カード the 12-character number staff typed (checked for form here) is kept
    sealed for the agent; without one the agent asks for it at the reader.
    """
    agent = db.session.get(CardAgent, agent_id)
    if agent is None or not agent.active or agent.staff_id != staff.id:
        raise CardIntakeError(
            "この読取端末は使えません。窓口の読取端末を登録してください。", code="card_agent"
        )
    if route not in ROUTES:
        raise CardIntakeError("読み取り方法を選んでください。", code="card_route")
    if not 0 <= person < 20:
        raise CardIntakeError("世帯員を選んでください。", code="card_person")
    number = None
    if route == "zairyu" and card_number.strip():
        number = zairyu.normalise_card_number(card_number)
        if number is None:
            raise CardIntakeError(
                "在留カード番号は英字2文字・数字8桁・英字2文字の12文字で入力してください"
                "（例: AB12345678CD）。",
                code="zairyu_number",
            )
    _drop_wanted(agent, case.id)
    if number is not None:
        sealed = json.dumps({"case": case.id, "card_number": number})
        db.session.add(
            CardReading(
                case_id=case.id,
                agent_id=agent.id,
                status="wanted",
                sealed=cipher().seal_bytes(sealed.encode()).decode("ascii"),
                created_at=now,
            )
        )
    agent.attached_case_id = case.id
    agent.wanted_route = route
    agent.wanted_person = person
    audit(case.id, staff.username, "card_requested", {"agent": agent.id, "route": route}, now)
    db.session.commit()
    return agent


def latest_reading(case: Case, now: datetime) -> CardReading | None:
    """Return the newest reading or failure for the case, within the confirmation window."""
    since = now - timedelta(minutes=PENDING_MINUTES)
    return db.session.scalars(
        select(CardReading)
        .where(
            CardReading.case_id == case.id,
            CardReading.created_at >= since,
            CardReading.status.in_(("pending", "failed", "confirmed")),
        )
        .order_by(CardReading.id.desc())
    ).first()


def _open(reading: CardReading, case: Case) -> dict[str, Any]:
    if reading.case_id != case.id or reading.sealed is None:
        raise CardIntakeError("この読み取り結果は別の受付のものです。", code="card_wrong_case")
    body = json.loads(cipher().open_bytes(reading.sealed.encode("ascii")))
    if body.get("case") != case.id:
        raise CardIntakeError("この読み取り結果は別の受付のものです。", code="card_wrong_case")
    return body


def pending_facts(reading: CardReading, case: Case) -> dict[str, Any]:
    """Return the facts of a pending reading (the caller masks the 個人番号 for display)."""
    return dict(_open(reading, case)["facts"])


def pending_card(reading: CardReading, case: Case) -> dict[str, Any] | None:
    """Return what staff see of a pending 在留カード reading (images, 住居地), or None."""
    card = _open(reading, case).get("card")
    return dict(card) if isinstance(card, dict) else None


def _pending(case: Case, reading_id: int, now: datetime) -> CardReading:
    reading = db.session.get(CardReading, reading_id)
    if reading is None or reading.case_id != case.id:
        raise CardIntakeError("この読み取り結果は別の受付のものです。", code="card_wrong_case")
    if reading.status != "pending" or reading.created_at < now - timedelta(minutes=PENDING_MINUTES):
        raise CardIntakeError(
            "読み取り結果の確認期限（10分）が過ぎたか、すでに処理済みです。もう一度読み取ってください。",
            code="card_expired",
        )
    return reading


def reveal_number(case: Case, reading_id: int, *, actor: str, now: datetime) -> str:
    """Return the unmasked 個人番号 of a pending reading and audit that staff saw it."""
    reading = db.session.get(CardReading, reading_id)
    if reading is None or reading.case_id != case.id or reading.sealed is None:
        raise CardIntakeError("この読み取り結果は別の受付のものです。", code="card_wrong_case")
    numbers = [v for k, v in _open(reading, case)["facts"].items() if k.endswith(".my_number")]
    audit(case.id, actor, "my_number_shown", {"source": PROVENANCE, "reading": reading.id}, now)
    db.session.commit()
    return str(numbers[0]) if numbers else ""


def confirm_reading(
    ruleset: RuleSet,
    case: Case,
    reading_id: int,
    *,
    actor: str,
    now: datetime,
    typed: dict[str, Any] | None = None,
) -> list[StoredFact]:
    """Store a confirmed reading's facts, locked, with the card's provenance; all or none.

    ``typed`` are the values staff read from a 在留カード's card-face image (only the facts
    the reading offered for typing; empty ones are left out).

    :raises CardIntakeError: expired, another case's, a value its fact refuses, or a
        locked fact holding a different value.
    """
    reading = _pending(case, reading_id, now)
    opened = _open(reading, case)
    facts = dict(opened["facts"])
    card = opened.get("card")
    provenance = residence_card.PROVENANCE if isinstance(card, dict) else PROVENANCE
    from_image = []
    if isinstance(card, dict):
        allowed = set(card.get("typed", []))
        for fact_id, value in (typed or {}).items():
            if fact_id not in allowed:
                raise CardIntakeError(
                    "この項目は券面から入力できません。", code="card_fact", status=400
                )
            if str(value).strip():
                facts[fact_id] = str(value).strip()
                from_image.append(fact_id)
    as_of = case_as_of(case)
    checked: dict[str, Any] = {}
    for fact_id, raw in facts.items():
        try:
            fact = fact_def_for(ruleset, fact_id)
            checked[fact_id] = json_value(parse_fact_value(fact, raw, as_of))
        except CaseError as error:
            raise CardIntakeError(error.message, code="card_fact") from None
        except FactValueError as error:
            raise CardIntakeError(f"{fact.label}: {error.message}", code="invalid") from None
    held = stored_facts(case)
    locked = [f for f in checked if f in held and held[f].locked and held[f].value != checked[f]]
    if locked:
        raise CardIntakeError(
            "住民記録またはカードから取り込んで確定済みの項目と値が違います。何も保存していません。"
            "券面と住民記録を確かめてください。",
            code="locked",
        )
    reading.status = "confirmed"
    reading.sealed = None  # the facts now live in the case, encrypted; drop the copy
    stored = record_read_facts(
        case,
        dict(sorted(checked.items())),
        actor=actor,
        now=now,
        provenance=provenance,
        action="card_confirmed",
        lock=True,
        reasons={
            f: (
                "在留カード等のICから読み取り"
                if provenance == residence_card.PROVENANCE
                else "マイナンバーカードのICから読み取り"
            )
            for f in checked
            if f in held and held[f].locked
        },
    )
    if from_image:
        # Which values staff typed from the card-face image (the IC holds them only as a picture).
        audit(case.id, actor, "residence_card_typed", {"facts": sorted(from_image)}, now)
        db.session.commit()
    return stored


ZAIRYU_TYPES = {"zairyu": "在留カード", "tokubetsu": "特別永住者証明書"}


def record_zairyu_check(
    case: Case, card_type: str, card_number: str, *, actor: str, now: datetime
) -> None:
    """Record that staff checked a 在留カード with the ministry's 在留カード等読取アプリ.

    The card number is checked for form (2 letters, 8 digits, 2 letters) and kept out of
    the audit (only its last 2 characters are), since the IC route needs it as a key.
    """
    if card_type not in ZAIRYU_TYPES:
        raise CardIntakeError("カードの種類を選んでください。", code="zairyu_type")
    number = zairyu.normalise_card_number(card_number) or ""
    if not number:
        raise CardIntakeError(
            "在留カード番号は英字2桁・数字8桁・英字2桁の12文字で入力してください。",
            code="zairyu_number",
        )
    audit(
        case.id,
        actor,
        "zairyu_app_checked",
        {"type": card_type, "number_tail": number[-2:], "app": "在留カード等読取アプリ"},
        now,
    )
    db.session.commit()

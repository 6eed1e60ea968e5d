"""Thin views of the card route: the agent's API (MAC-signed, no session) and staff actions."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    request,
    url_for,
)
from flask_login import current_user

from app import clock
from app.auth.access import PUBLIC, allow
from app.errors import DomainError, answered_by
from app.extensions import csrf, db
from app.models import Case
from app.scanning.classify import ScanResult
from app.services import card_agents, card_intake, residence_card
from app.services.card_agents import CardIntakeError
from app.services.card_intake import FAILURES, ROUTES
from app.services.rules import current_ruleset
from app.services.scan_intake import scanned_facts

bp = Blueprint("cardreader", __name__, url_prefix="/cardreader")


def _refused(error: DomainError) -> tuple[Response, int]:
    # The agent and the case page's script both read refusals as JSON, never a page.
    return jsonify(error=error.as_dict()), error.status


#: Every view of the card route answers a refusal as JSON (see app.errors.answered_by).
json_refusals = answered_by(_refused)


def _anchors() -> list[bytes]:
    """Return the issuer (J-LIS) public keys configured for offline verification."""
    configured = current_app.config.get("CARD_TRUST_ANCHORS") or ""
    if isinstance(configured, list):  # tests set the PEM keys themselves
        return configured
    try:
        with open(configured, "rb") as pem:
            text = pem.read()
    except OSError:
        current_app.logger.error("CARD_TRUST_ANCHORS %s cannot be read", configured)
        return []
    end = b"-----END PUBLIC KEY-----"
    return [block.strip() + b"\n" + end + b"\n" for block in text.split(end) if block.strip()]


def _residence_anchors() -> list[bytes]:
    """Return the 出入国在留管理庁 CA certificates (one PEM file, read whole) for 在留カード等."""
    configured = current_app.config.get("RESIDENCE_CARD_TRUST_ANCHORS") or ""
    if isinstance(configured, list):  # tests set the PEM certificates themselves
        return configured
    if not configured:
        return []
    try:
        with open(configured, "rb") as pem:
            return [pem.read()]
    except OSError:
        current_app.logger.error("RESIDENCE_CARD_TRUST_ANCHORS %s cannot be read", configured)
        return []


def _agent_message() -> card_agents.Agent:
    headers = {k: v for k, v in request.headers.items() if k.startswith("X-Card-")}
    return card_agents.authenticate(
        request.method, request.path, headers, request.get_data(), now=clock.now()
    )


# ---- the agent's API: no session, no CSRF; every message MAC-signed ------------------


@bp.route("/api/pair", methods=["POST"])
@json_refusals
@allow(PUBLIC)
@csrf.exempt  # type: ignore[untyped-decorator]
def api_pair() -> Any:
    body = request.get_json(silent=True) or {}
    agent, secret = card_agents.pair_agent(
        str(body.get("code", "")), str(body.get("name", "")), now=clock.now()
    )
    return jsonify(agent_id=agent.id, secret=secret, desk=agent.desk)


@bp.route("/api/session", methods=["GET"])
@json_refusals
@allow(PUBLIC)
@csrf.exempt  # type: ignore[untyped-decorator]
def api_session() -> Any:
    return jsonify(card_intake.session_for(_agent_message().agent))


@bp.route("/api/readings", methods=["POST"])
@json_refusals
@allow(PUBLIC)
@csrf.exempt  # type: ignore[untyped-decorator]
def api_reading() -> Any:
    reading = card_intake.accept_reading(
        _agent_message(), _anchors(), now=clock.now(), residence_anchors=_residence_anchors()
    )
    return jsonify(reading_id=reading.id, message="読み取り結果を窓口画面に送りました。")


@bp.route("/api/failures", methods=["POST"])
@json_refusals
@allow(PUBLIC)
@csrf.exempt  # type: ignore[untyped-decorator]
def api_failure() -> Any:
    card_intake.accept_failure(_agent_message(), now=clock.now())
    return jsonify(ok=True)


# ---- staff -------------------------------------------------------------------------


def _case(case_id: int) -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        abort(404)
    return case


def _form() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else request.form.to_dict()


@bp.route("/pairing-code", methods=["POST"])
@json_refusals
@allow("counter", "admin")
def pairing_code() -> Any:
    code, expires = card_agents.create_pairing_code(
        current_user, str(_form().get("desk", "")), now=clock.now()
    )
    return jsonify(code=code, minutes=card_agents.PAIRING_MINUTES)


@bp.app_template_global("card_panel")
def card_panel(case: Case) -> dict[str, Any]:
    """Return what the case page's card panel shows (agents of this desk, routes)."""
    return {
        "agents": card_agents.desk_agents(current_user.id),
        "routes": ROUTES,
        "zairyu_types": card_intake.ZAIRYU_TYPES,
    }


@bp.route("/case/<int:case_id>/request", methods=["POST"])
@json_refusals
@allow("counter")
def request_reading(case_id: int) -> Any:
    form = _form()
    try:
        agent_id, person = int(form.get("agent_id", 0)), int(form.get("person", 0))
    except (TypeError, ValueError):
        raise CardIntakeError("読取端末と世帯員を選んでください。", code="card_form") from None
    card_intake.request_reading(
        _case(case_id),
        agent_id,
        str(form.get("route", "")),
        person,
        staff=current_user,
        now=clock.now(),
        card_number=str(form.get("card_number", "")),
    )
    return jsonify(state="waiting", message="カードをかざしてください")


@bp.route("/case/<int:case_id>/status", methods=["GET"])
@json_refusals
@allow("counter")
def status(case_id: int) -> Any:
    case = _case(case_id)
    reading = card_intake.latest_reading(case, clock.now())
    if reading is None or reading.status == "confirmed":
        return jsonify(state="idle")
    if reading.status == "failed":
        return jsonify(
            state="failed", message=FAILURES.get(reading.failure or "", FAILURES["card_unknown"])
        )
    facts = card_intake.pending_facts(reading, case)
    card = card_intake.pending_card(reading, case)
    result = ScanResult(
        kind="my_number", symbology="IC", display="", facts=facts, provenance=card_intake.PROVENANCE
    )
    ruleset = current_ruleset(current_app._get_current_object())  # type: ignore[attr-defined]
    shown, notes = scanned_facts(ruleset, case, result)
    rows = [
        {
            "fact": s.fact_id,
            "label": s.label,
            # The 在留カード番号 is the key to the IC: masked on screen like the 個人番号.
            "display": (
                residence_card.mask_card_number(str(facts[s.fact_id]))
                if s.fact_id.endswith(".zairyu_card_number")
                else _readable(ruleset, s.fact_id, facts[s.fact_id], s.display)
            ),
            "current": (
                residence_card.mask_card_number(str(s.current))
                if s.current and s.fact_id.endswith(".zairyu_card_number")
                else s.current
            ),
            "locked": s.locked,
            "my_number": s.fact_id.endswith(".my_number"),
        }
        for s in shown
    ]
    reply: dict[str, Any] = {
        "state": "pending",
        "reading_id": reading.id,
        "notes": notes,
        "facts": rows,
    }
    if card is not None:
        reply["card"] = {k: v for k, v in card.items() if k != "typed"}
        reply["typed"] = _typed_fields(ruleset, case, card.get("typed", []))
    return jsonify(reply)


def _readable(ruleset: Any, fact_id: str, value: Any, display: str) -> str:
    """Show a yes/no as はい/いいえ and a choice by its label (中長期在留者), not its code."""
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    try:
        fact = card_intake.fact_def_for(ruleset, fact_id)
    except card_intake.CaseError:
        return display
    return fact.choices.get(display, display) if fact.choices else display


def _typed_fields(ruleset: Any, case: Case, fact_ids: list[str]) -> list[dict[str, Any]]:
    """The facts staff type from the card-face image: label, input type, current value."""
    held = card_intake.stored_facts(case)
    out = []
    for fact_id in fact_ids:
        try:
            fact = card_intake.fact_def_for(ruleset, fact_id)
        except card_intake.CaseError:
            continue  # this municipality does not ask it
        current = held.get(fact_id)
        out.append(
            {
                "fact": fact_id,
                "label": fact.label,
                "type": "date" if fact.type == "date" else "text",
                "value": "" if current is None or current.value is None else str(current.value),
            }
        )
    return out


@bp.route("/case/<int:case_id>/confirm", methods=["POST"])
@json_refusals
@allow("counter")
def confirm(case_id: int) -> Any:
    ruleset = current_ruleset(current_app._get_current_object())  # type: ignore[attr-defined]
    form = _form()
    typed = form.get("typed")
    stored = card_intake.confirm_reading(
        ruleset,
        _case(case_id),
        int(form.get("reading_id", 0)),
        actor=current_user.username,
        now=clock.now(),
        typed=typed if isinstance(typed, dict) else None,
    )
    return jsonify(
        stored=[s.fact_id for s in stored],
        message="カードの内容を取り込みました（変更できません）。",
    )


@bp.route("/case/<int:case_id>/reveal", methods=["POST"])
@json_refusals
@allow("counter")
def reveal(case_id: int) -> Any:
    number = card_intake.reveal_number(
        _case(case_id),
        int(_form().get("reading_id", 0)),
        actor=current_user.username,
        now=clock.now(),
    )
    return jsonify(number=number)


@bp.route("/case/<int:case_id>/zairyu", methods=["POST"])
@json_refusals
@allow("counter")
def zairyu(case_id: int) -> Any:
    form = _form()
    card_intake.record_zairyu_check(
        _case(case_id),
        str(form.get("card_type", "")),
        str(form.get("card_number", "")),
        actor=current_user.username,
        now=clock.now(),
    )
    return jsonify(message="在留カード等読取アプリで確認したことを記録しました。")


# ---- admin ---------------------------------------------------------------------------


@bp.app_template_global("card_agents")
def every_card_agent() -> list[Any]:
    """Return every card agent for the admin page."""
    return card_agents.list_agents()


@bp.route("/agents/<int:agent_id>/revoke", methods=["POST"])
@json_refusals
@allow("admin")
def revoke(agent_id: int) -> Any:
    card_agents.revoke_agent(agent_id, actor=current_user.username, now=clock.now())
    flash("カード読取端末を無効にしました。", "notice")
    return redirect(url_for("admin.index") + "#card-agents")

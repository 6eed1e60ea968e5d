"""Card reader agents: pairing one to a desk, authenticating its signed messages, revoking it.

An agent (``app.cardagent``) is paired once with a short-lived code shown at the desk and
gets a secret; every later message is MAC-signed with it and carries a fresh nonce and the
time. What an authenticated message may then do with a case (its readings) is
``card_intake``'s.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.cardagent.client import mac_input
from app.errors import DomainError
from app.extensions import db
from app.models import StaffUser
from app.models.card_agent import CardAgent, CardAgentNonce, CardPairingCode
from app.services.cases import audit, cipher

PAIRING_MINUTES = 10
CLOCK_SKEW_SECONDS = 120  # a message older (or newer) than this is refused as a replay
# An unambiguous alphabet for a code typed from a screen (no 0/O, 1/I/L).
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


class CardIntakeError(DomainError):
    """A card-route refusal (Japanese message for the counter or the agent)."""

    default_code = "card_refused"


@dataclass(frozen=True)
class Agent:
    """An authenticated agent message: who sent it and its body."""

    agent: CardAgent
    body: dict[str, Any]


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def create_pairing_code(staff: StaffUser, desk: str, *, now: datetime) -> tuple[str, datetime]:
    """Issue a pairing code for ``desk`` (8 characters, valid ten minutes) and commit."""
    desk = desk.strip()
    if not desk or len(desk) > 100:
        raise CardIntakeError(
            "窓口名（例: 1番窓口）を100文字以内で入力してください。", code="card_desk"
        )
    code = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    expires = now + timedelta(minutes=PAIRING_MINUTES)
    db.session.add(
        CardPairingCode(
            code_hash=_hash(code), staff_id=staff.id, desk=desk, expires_at=expires, created_at=now
        )
    )
    audit(None, staff.username, "card_pairing_code", {"desk": desk}, now)
    db.session.commit()
    return code, expires


def pair_agent(code: str, name: str, *, now: datetime) -> tuple[CardAgent, str]:
    """Exchange a pairing code, once, for an agent and its secret (returned only here)."""
    row = db.session.scalars(
        select(CardPairingCode).where(CardPairingCode.code_hash == _hash(code.strip().upper()))
    ).first()
    if row is None or row.used or row.expires_at < now:
        audit(None, "cardagent", "card_pairing_refused", {}, now)
        db.session.commit()
        raise CardIntakeError(
            "登録コードが違うか、有効期限（10分）が切れています。窓口画面で新しいコードを発行してください。",
            code="card_pairing",
            status=403,
        )
    row.used = True
    secret = secrets.token_urlsafe(32)
    staff = db.session.get(StaffUser, row.staff_id)
    agent = CardAgent(
        name=(name or "PC").strip()[:100],
        desk=row.desk,
        secret_enc=cipher().seal_bytes(secret.encode()).decode("ascii"),
        staff_id=row.staff_id,
        paired_by=staff.username if staff else "?",
        created_at=now,
    )
    db.session.add(agent)
    db.session.flush()
    audit(None, agent.paired_by, "card_agent_paired", {"agent": agent.id, "desk": agent.desk}, now)
    db.session.commit()
    return agent, secret


def refused_message(
    message: str, detail: dict[str, Any], now: datetime, *, case_id: int | None = None
) -> CardIntakeError:
    """Roll back, audit why an agent's message was refused, and return the error to raise."""
    # Nothing from the message is stored; the audit line says why it was refused.
    db.session.rollback()
    audit(case_id, "cardagent", "card_message_refused", detail, now)
    db.session.commit()
    return CardIntakeError(message, code="card_message", status=403)


def authenticate(
    method: str, path: str, headers: dict[str, str], body: bytes, *, now: datetime
) -> Agent:
    """Check an agent message's MAC, time and nonce, and record the nonce.

    :raises CardIntakeError: unknown or revoked agent, wrong MAC, stale time, replay.
    """
    try:
        agent_id = int(headers.get("X-Card-Agent", ""))
        stamp = headers["X-Card-Time"]
        nonce = headers["X-Card-Nonce"]
        mac = headers["X-Card-Mac"]
        sent_at = int(stamp)
    except (KeyError, ValueError):
        raise refused_message(
            "カード読取端末の認証情報がありません。端末を登録し直してください。",
            {"why": "headers"},
            now,
        ) from None
    agent = db.session.get(CardAgent, agent_id)
    if agent is None or not agent.active:
        raise refused_message(
            "この読取端末は登録されていないか、管理者により無効にされています。",
            {"why": "revoked", "agent": agent_id},
            now,
        )
    secret = cipher().open_bytes(agent.secret_enc.encode("ascii"))
    expected = hmac.new(
        secret, mac_input(method, path, stamp, nonce, body), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, mac):
        raise refused_message(
            "読取端末からのデータの署名が正しくありません。何も保存していません。",
            {"why": "mac", "agent": agent_id},
            now,
        )
    if abs(now.timestamp() - sent_at) > CLOCK_SKEW_SECONDS or not 8 <= len(nonce) <= 64:
        raise refused_message(
            "読取端末からのデータが古いため受け付けません。端末の時計を確かめてください。",
            {"why": "time", "agent": agent_id},
            now,
        )
    db.session.add(CardAgentNonce(agent_id=agent.id, nonce=nonce, seen_at=now))
    try:
        db.session.flush()
    except IntegrityError:
        raise refused_message(
            "同じデータが二度送られました（再送の疑い）。何も保存していません。",
            {"why": "replay", "agent": agent_id},
            now,
        ) from None
    agent.last_seen_at = now
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise refused_message(
            "読取端末からのデータの形式が正しくありません。",
            {"why": "body", "agent": agent_id},
            now,
        )
    return Agent(agent, parsed)


def desk_agents(staff_id: int) -> list[CardAgent]:
    """Return the active agents paired by this member of staff (their desk's readers)."""
    return list(
        db.session.scalars(
            select(CardAgent)
            .where(CardAgent.staff_id == staff_id, CardAgent.active.is_(True))
            .order_by(CardAgent.id)
        )
    )


def list_agents() -> list[CardAgent]:
    """Return every agent, newest first (for the admin page and the CLI)."""
    return list(db.session.scalars(select(CardAgent).order_by(CardAgent.id.desc())))


def revoke_agent(agent_id: int, *, actor: str, now: datetime) -> CardAgent:
    """Revoke an agent: its messages are refused from now on."""
    agent = db.session.get(CardAgent, agent_id)
    if agent is None:
        raise CardIntakeError("その読取端末は登録されていません。", code="card_agent", status=404)
    agent.active = False
    agent.attached_case_id = None
    agent.wanted_route = None
    agent.revoked_by, agent.revoked_at = actor, now
    audit(None, actor, "card_agent_revoked", {"agent": agent.id}, now)
    db.session.commit()
    return agent

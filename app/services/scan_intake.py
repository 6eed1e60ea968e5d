"""Scanned codes at the counter: show them to staff, and store only what staff confirm.

A scan never writes a fact. What a code means (``app.scanning.classify``) is shown to
staff with a *pending token*: the facts to store, sealed with the data key (so the
browser holds a My Number only encrypted, and cannot alter what will be stored), bound to
the case and valid for ``PENDING_SECONDS``. Confirming hands the token back; the facts
are checked against their declarations and stored with the code's provenance (id_qr or
pre_entry), every one or none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.crypto import InvalidToken
from app.engine import FactValueError, RuleSet, parse_fact_value
from app.engine.formats import OutsideEra
from app.engine.result import json_value
from app.engine.wareki import format_wareki
from app.extensions import db
from app.models import Case
from app.scanning.classify import ScanResult, classify
from app.scanning.mynumber_qr import mask_my_number
from app.scanning.preentry import EVENTS
from app.services.attachments import video_call
from app.services.cases import CaseError, StoredFact, audit, cipher, record_read_facts, stored_facts
from app.services.interview import case_as_of, fact_def_for

PENDING_SECONDS = 600  # staff confirm within ten minutes of the scan, or scan again
# Set when the case is opened (the life events chosen), not from a resident's QR.
NOT_STORED = frozenset({"case.events"})


@dataclass(frozen=True)
class ScannedFact:
    """One fact a scanned code carries, as staff see it before confirming."""

    fact_id: str
    label: str
    display: str
    current: str | None  # what the case holds now, when it differs (None: empty or same)
    locked: bool


def _display(fact_type: str, value: Any) -> str:
    if fact_type == "my_number":
        return mask_my_number(str(value))
    if fact_type == "postal_code" and isinstance(value, str) and len(value) == 7:
        return f"〒{value[:3]}-{value[3:]}"
    if fact_type == "date" and isinstance(value, str):
        try:
            return format_wareki(date.fromisoformat(value))
        except (ValueError, OutsideEra):
            return value
    return str(value)


def scanned_facts(
    ruleset: RuleSet, case: Case, result: ScanResult
) -> tuple[list[ScannedFact], list[str]]:
    """Return the facts a scan would store, labelled for staff, and notes about the rest."""
    facts = stored_facts(case)
    shown: list[ScannedFact] = []
    notes: list[str] = []
    for fact_id, value in result.facts.items():
        if fact_id == "case.events":
            missing = [e for e in value if e not in case.events]  # type: ignore[attr-defined]
            if missing:
                names = "、".join(EVENTS.get(e, e) for e in missing)
                notes.append(f"事前入力の届出（{names}）は、この受付の届出に含まれていません。")
            continue
        try:
            fact = fact_def_for(ruleset, fact_id)
        except CaseError:
            notes.append(f"「{fact_id}」はこの自治体の項目にないため取り込みません。")
            continue
        held = facts.get(fact_id)
        current = None
        if held is not None and held.value is not None and held.value != value:
            current = _display(fact.type, held.value)
        shown.append(
            ScannedFact(
                fact_id,
                fact.label,
                _display(fact.type, value),
                current,
                bool(held is not None and held.locked),
            )
        )
    return shown, notes


def record_scan(case: Case, results: list[ScanResult], *, actor: str, now: datetime) -> None:
    """Audit that staff scanned codes from the resident's video (what kinds, not the data)."""
    detail = {
        "kinds": [r.kind for r in results],
        "errors": [r.error_code for r in results if r.error_code],
    }
    audit(case.id, actor, "scan", detail, now)
    db.session.commit()


def pending_token(case: Case, result: ScanResult) -> str:
    """Seal the facts of a My Number or pre-entry scan for staff to confirm.

    The token also carries each fact's revision at scan time: confirming refuses a fact
    that changed since, so a token cannot be handed back a second time to undo a later
    edit (its own confirmation counts as a change).
    """
    if result.provenance is None or not result.facts:
        raise ValueError("only a My Number or pre-entry scan can be confirmed")
    facts = {k: v for k, v in result.facts.items() if k not in NOT_STORED}
    held = stored_facts(case)
    body = {
        "case": case.id,
        "provenance": result.provenance,
        "facts": facts,
        "revisions": {k: held[k].revision if k in held else 0 for k in facts},
    }
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return cipher().seal_bytes(raw).decode("ascii")


def confirm_scan(
    ruleset: RuleSet, case: Case, token: str, *, actor: str, now: datetime
) -> list[StoredFact]:
    """Store the facts of a confirmed scan with its provenance, all of them or none.

    :raises CaseError: ``scan_expired`` (altered, foreign or older than ten minutes),
        ``scan_wrong_case``, ``scan_stale`` (a fact changed since the scan, e.g. by this
        token's own earlier confirmation), ``invalid`` (a value its fact refuses) or any refusal of
        ``record_fact`` (a locked fact).
    """
    try:
        body = json.loads(cipher().open_bytes(token.encode("ascii"), ttl=PENDING_SECONDS))
    except (InvalidToken, UnicodeEncodeError, ValueError):
        raise CaseError(
            "scan_expired",
            "読み取り結果の確認期限（10分）が過ぎたか、内容が正しくありません。もう一度スキャンしてください。",
        ) from None
    if body.get("case") != case.id:
        raise CaseError(
            "scan_wrong_case",
            "この読み取り結果は別の受付のものです。もう一度スキャンしてください。",
        )
    as_of = case_as_of(case)
    checked: list[tuple[str, Any]] = []
    for fact_id, raw in body["facts"].items():
        fact = fact_def_for(ruleset, fact_id)
        try:
            checked.append((fact_id, json_value(parse_fact_value(fact, raw, as_of))))
        except FactValueError as error:
            raise CaseError("invalid", f"{fact.label}: {error.message}") from None
    held = stored_facts(case)
    revisions = body.get("revisions", {})
    for fact_id, _ in checked:
        now_at = held[fact_id].revision if fact_id in held else 0
        if revisions.get(fact_id) != now_at:
            label = fact_def_for(ruleset, fact_id).label
            raise CaseError(
                "scan_stale",
                f"読み取りの後に「{label}」が変更されています（確認済みの読み取りは一度だけ使えます）。何も保存していません。必要ならもう一度スキャンしてください。",
            )
        if fact_id in held and held[fact_id].locked:
            label = fact_def_for(ruleset, fact_id).label
            raise CaseError(
                "locked",
                f"「{label}」は住民記録から取り込んだ値のため変更できません。何も保存していません。",
            )
    return record_read_facts(
        case,
        dict(checked),
        actor=actor,
        now=now,
        provenance=body["provenance"],
        action="scan_confirmed",
    )


SCAN_TIMEOUT = 3.0  # seconds of frames to try before saying nothing was read


def scan_codes(
    case: Case,
    person: int,
    *,
    preentry_key: bytes,
    actor: str,
    now: datetime,
    utc_now: datetime,
) -> list[ScanResult]:
    """Read the codes the resident holds up to the camera, classify and audit them.

    :raises CaseError: no video from the resident (409), or the media server is busy (503).
    """
    with video_call() as server:
        codes = server.request_scan(case.id, SCAN_TIMEOUT)
    results = [
        classify(code, preentry_key=preentry_key, now=utc_now, person=person) for code in codes
    ]
    record_scan(case, results, actor=actor, now=now)
    return results

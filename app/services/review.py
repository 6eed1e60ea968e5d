"""The resident's review (住民確認): live events, the forms as shown, confirmations, requests."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, current_app, has_app_context
from markupsafe import Markup
from sqlalchemy import select

from app.documents import TemplateError, document_hash, documents
from app.engine import Result, RuleSet
from app.extensions import db
from app.models import AuditEvent, Case, FormConfirmation, JoinLink, Kiosk, ResidentRequest
from app.models.case import OPEN_FOR_RESIDENT
from app.services import version_documents
from app.services.case_documents import form_documents, procedure_entries, render_context
from app.services.cases import CaseError, audit, case_changed, change_status, cipher
from app.services.interview import evaluate_stored
from app.services.live import DELAYED, Event, LiveBroker, StreamGate, make_broker

BROKER = "live_broker"
GATE = "live_stream_gate"
NOTE_MAX = 500
STREAM_SECONDS = 55.0  # one SSE response holds a server thread: end it, the browser reconnects
HEARTBEAT_SECONDS = 5.0  # also how soon a stream notices its client left


def live_broker(app: Flask | None = None) -> LiveBroker:
    """Return the app's live broker (Redis when REDIS_URL is set), made once."""
    extensions = (app or current_app).extensions
    broker: LiveBroker | None = extensions.get(BROKER)
    if broker is None:
        broker = make_broker((app or current_app).config.get("REDIS_URL"))
        extensions[BROKER] = broker
    return broker


def stream_gate(app: Flask | None = None) -> StreamGate:
    """Return the app's count of open live-event streams (capped by ``LIVE_STREAMS``)."""
    extensions = (app or current_app).extensions
    gate: StreamGate | None = extensions.get(GATE)
    if gate is None:
        gate = extensions.setdefault(GATE, StreamGate((app or current_app).config["LIVE_STREAMS"]))
    return gate


def case_channel(case_id: int) -> str:
    """Return the live channel name of a case."""
    return f"case:{case_id}"


def publish(case_id: int, event: dict[str, Any]) -> int:
    """Publish a live event about a case to everyone watching it; return its number."""
    return live_broker().publish(case_channel(case_id), event)


def latest_event(case_id: int) -> int:
    """Return the number of the last live event of a case (a page rendered now is past it)."""
    return live_broker().latest(case_channel(case_id))


def _on_case_changed(case_id: int, *, kind: str, details: list[str]) -> None:
    if not has_app_context():
        return
    if kind == "facts":
        publish(case_id, {"type": "forms", "facts": details})
    else:
        publish(case_id, {"type": "status", "status": details[-1]})


def init_live(app: Flask) -> None:
    """Make the app's broker at start-up and publish every committed change of a case."""
    live_broker(app)
    stream_gate(app)
    case_changed.connect(_on_case_changed)  # idempotent: blinker keeps one connection


def sse_stream(broker: LiveBroker, channel: str, after: int) -> Iterator[str]:
    """Yield Server-Sent Events of a channel after ``after`` for a bounded time, then end."""
    # A stream's lifetime is a duration, not a date: the monotonic clock, immune to clock
    # changes (and to the app clock tests freeze), bounds it.
    deadline = time.monotonic() + STREAM_SECONDS
    delayed = False  # told the page that updates are delayed (Redis out of reach)
    yield "retry: 1000\n\n"
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        events: list[Event] = broker.wait(channel, after, min(remaining, HEARTBEAT_SECONDS))
        if events and events[0][1] is DELAYED:
            if not delayed:
                yield f"event: delayed\ndata: {_json(DELAYED)}\n\n"  # no id: nothing to skip
                delayed = True
            else:
                yield ": keep-alive\n\n"
            continue
        if delayed:
            # Back: events announced meanwhile were lost, so the page reloads what it shows.
            delayed = False
            yield f"event: resync\ndata: {_json({'type': 'resync'})}\n\n"
        if not events:
            yield ": keep-alive\n\n"
            continue
        for seq, event in events:
            after = max(after, seq)
            yield f"id: {seq}\nevent: {event.get('type', 'message')}\ndata: {_json(event)}\n\n"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class ShownForm:
    """One form as the resident sees it: its HTML, the hash of what it shows, confirmed or not."""

    key: str
    title: str
    html: Markup
    document_hash: str
    confirmed: bool


def shown_forms(ruleset: RuleSet, case: Case, result: Result) -> list[ShownForm]:
    """Render every form of the case for the screen, with whether its content is confirmed.

    A confirmation holds for the content the resident saw (its document hash): once staff
    change a value of the form, it has to be confirmed again.
    """
    docs = version_documents.documents_for(ruleset)
    ctx = render_context(ruleset, case, result)
    confirmed = confirmed_hashes(case.id)
    shown = []
    for doc in form_documents(result):
        template = docs.catalog.form(doc.form_id)
        digest = document_hash(doc.form_id, template.version, doc.values, ctx)
        shown.append(
            ShownForm(
                key=doc.key,
                title=doc.title or template.title,
                html=docs.render_form_html(doc.form_id, doc.values, ctx),
                document_hash=digest,
                confirmed=confirmed.get(doc.key) == digest,
            )
        )
    return shown


def form_title(key: str) -> str:
    """Return the printed title of a form by its key (``kaigo_todoke[1]`` → its template's)."""
    form_id = key.split("[", 1)[0]
    try:
        title = documents().catalog.form(form_id).title
    except TemplateError:  # a template removed since: the key still says which form it was
        return key
    return f"{title}（{int(key[len(form_id) + 1 : -1]) + 1}人目）" if "[" in key else title


def stylesheets(result: Result) -> list[str]:
    """Return the template stylesheets (under pdf_templates/) the case's forms need.

    Named by the form's folder, as every template folder has its style.css; the page asks for
    them with the case's version (``documents.asset``'s ``v``), so a form that only a
    version has is styled from that version's templates.
    """
    names: list[str] = ["_shared/base.css"]
    for doc in form_documents(result):
        names.append(f"{doc.form_id}/style.css")
    return list(dict.fromkeys(names))


def confirmed_hashes(case_id: int) -> dict[str, str]:
    """Return, per form key, the document hash the resident last confirmed."""
    rows = db.session.scalars(
        select(FormConfirmation)
        .where(FormConfirmation.case_id == case_id)
        .order_by(FormConfirmation.confirmed_at, FormConfirmation.id)
    )
    return {row.form_key: row.document_hash for row in rows}


def confirm_form(
    ruleset: RuleSet, case: Case, result: Result, key: str, seen_hash: str, *, now: datetime
) -> ShownForm:
    """Record that the resident confirmed a form as they saw it (hash), audited and committed.

    :raises CaseError: unknown form, or the form changed since the resident saw it.
    """
    form = next((f for f in shown_forms(ruleset, case, result) if f.key == key), None)
    if form is None:
        raise CaseError("unknown_form", "この書類は見つかりません。画面を再読み込みしてください。")
    if form.document_hash != seen_hash:
        raise CaseError(
            "changed",
            "この書類は職員が内容を変更しました。新しい内容をご確認のうえ、もう一度押してください。",
            status=409,
        )
    db.session.add(
        FormConfirmation(case_id=case.id, form_key=key, document_hash=seen_hash, confirmed_at=now)
    )
    audit(case.id, "resident", "form_confirmed", {"form": key, "hash": seen_hash}, now)
    db.session.commit()
    publish(case.id, {"type": "confirmed", "form": key, "title": form.title})
    return form


def request_correction(
    case: Case, key: str, field: str | None, note: str, *, now: datetime, form_keys: list[str]
) -> ResidentRequest:
    """Store the resident's request to correct a field of a form, audited; tell staff live.

    :raises CaseError: unknown form, or an empty or overlong note.
    """
    note = note.strip()
    if key not in form_keys:
        raise CaseError("unknown_form", "この書類は見つかりません。画面を再読み込みしてください。")
    if not note:
        raise CaseError("no_note", "どこをどう直してほしいかを入力してください。")
    if len(note) > NOTE_MAX:
        raise CaseError("long_note", f"{NOTE_MAX}文字以内で入力してください。")
    field = (field or "").strip()[:120] or None
    request = ResidentRequest(
        case_id=case.id,
        form_key=key,
        field_id=field,
        note_enc=cipher().seal(note),
        created_at=now,
    )
    db.session.add(request)
    db.session.flush()
    audit(case.id, "resident", "correction_requested", {"form": key, "field": field}, now)
    db.session.commit()
    publish(case.id, {"type": "request", "form": key, "field": field, "id": request.id})
    return request


def open_requests(case_id: int) -> list[dict[str, Any]]:
    """Return the resident's correction requests of a case (note decrypted), newest first."""
    box = cipher()
    rows = db.session.scalars(
        select(ResidentRequest)
        .where(ResidentRequest.case_id == case_id)
        .order_by(ResidentRequest.created_at.desc(), ResidentRequest.id.desc())
    )
    return [
        {
            "id": row.id,
            "form": row.form_key,
            "field": row.field_id,
            "note": box.open(row.note_enc),
            "at": row.created_at,
            "resolved": row.resolved_at is not None,
            "resolved_by": row.resolved_by,
        }
        for row in rows
    ]


def resolve_request(case: Case, request_id: int, *, actor: str, now: datetime) -> None:
    """Mark a resident's correction request as dealt with, audited and committed.

    :raises CaseError: no such request on this case.
    """
    row = db.session.get(ResidentRequest, request_id)
    if row is None or row.case_id != case.id:
        raise CaseError("unknown_request", "この訂正依頼は見つかりません。")
    row.resolved_at = now
    row.resolved_by = actor
    audit(case.id, actor, "correction_resolved", {"request": request_id}, now)
    db.session.commit()
    publish(case.id, {"type": "resolved", "id": request_id})


log = logging.getLogger(__name__)

# The resident's steps shown to staff, from the case's audit trail.
STEP_LABELS = {
    "join_link_issued": "参加リンクを発行",
    "resident_joined": "住民が画面に参加",
    "join_pin_wrong": "暗証番号の誤り",
    "form_confirmed": "書類を確認",
    "correction_requested": "訂正を依頼",
    "correction_resolved": "訂正依頼に対応",
    "signed_electronically": "電子署名",
    "kiosk_attached": "キオスクを接続",
    "kiosk_detached": "キオスクを切断",
}


def resident_box_state(case: Case, now: datetime) -> dict[str, Any]:
    """Return what the staff page's 住民の画面 box shows: link, kiosks, requests, steps."""
    link = db.session.scalar(
        select(JoinLink)
        .where(JoinLink.case_id == case.id, JoinLink.revoked.is_(False))
        .order_by(JoinLink.created_at.desc())
    )
    steps = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.case_id == case.id, AuditEvent.action.in_(STEP_LABELS))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(30)
    ).all()
    return {
        "case": case,
        "open": case.status in OPEN_FOR_RESIDENT,
        "link": link,
        "link_usable": link is not None and not link.locked and link.expires_at > now,
        "kiosks": db.session.scalars(
            select(Kiosk).where(Kiosk.active.is_(True)).order_by(Kiosk.name)
        ).all(),
        "requests": open_requests(case.id),
        "steps": [(s, STEP_LABELS[s.action]) for s in steps],
        "after": latest_event(case.id),
        "signed_online": case.signature_mode == "electronic",
        "form_title": form_title,
    }


def start_resident_review(ruleset: RuleSet, case: Case, *, actor: str, now: datetime) -> None:
    """Move a case to 住民確認 and render its packet unsigned while the resident reads.

    :raises CaseError: the case cannot move to review from its status.
    """
    if case.status == "new":
        change_status(case, "interviewing", actor=actor, now=now)
    change_status(case, "review", actor=actor, now=now)
    # Signing then only stamps the signature into the cached documents (milliseconds
    # instead of a full layout).
    try:
        result = evaluate_stored(ruleset, case)
        if result.forms:
            version_documents.documents_for(ruleset).prepare_packet(
                form_documents(result),
                render_context(ruleset, case, result),
                procedures=procedure_entries(result),
            )
    except Exception:  # a failed warm-up must not stop the review; signing renders anyway
        log.exception("could not prepare the packet of case %s", case.id)

"""Staff side of the resident's review: join link + PIN, kiosk, the resident's steps live."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from app.auth.access import allow
from app.counter.views import bp
from app.documents import prepare_packet
from app.extensions import db
from app.models import AuditEvent, Case, JoinLink, Kiosk
from app.services.case_documents import form_documents, procedure_entries, render_context
from app.services.cases import STATUS_LABELS, CaseError, change_status
from app.services.interview import evaluate_stored
from app.services.joining import OPEN_FOR_RESIDENT, attach_kiosk, issue_join_link
from app.services.review import (
    form_title,
    latest_event,
    open_requests,
    resolve_request,
)
from app.services.rules import current_ruleset
from app.services.signing import signed_packet_pdf

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


def _case(case_id: int) -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        abort(404)
    return case


def _actor() -> str:
    return str(current_user.username)


def _box_context(case: Case) -> dict[str, Any]:
    now = datetime.now()
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
        "status_labels": STATUS_LABELS,
        "signed_online": case.signature_mode == "electronic",
        "form_title": form_title,
    }


@bp.app_template_global("resident_box")
def resident_box(case: Case) -> Markup:
    """Render the 住民の画面 box of the staff case page (also its live refresh)."""
    # render_template output is autoescaped HTML: safe to mark as markup.
    return Markup(render_template("counter/_resident_box.html", **_box_context(case)))  # noqa: S704


@bp.route("/cases/<int:case_id>/resident")
@allow("counter")
def resident_panel(case_id: int):
    """Answer the box, or 204 when nothing happened on the case since event ``after``.

    Staff poll this every few seconds instead of holding an event stream open: the staff
    page is reloaded often, and each open stream would hold a server thread.
    """
    current = _case(case_id)
    after = request.args.get("after", "")
    if after.isdigit() and latest_event(current.id) <= int(after):
        return Response(status=204)
    return str(resident_box(current))


@bp.route("/cases/<int:case_id>/resident/link", methods=["POST"])
@allow("counter")
def resident_link(case_id: int):
    current = _case(case_id)
    if current.status not in OPEN_FOR_RESIDENT:
        flash("署名済み・完了した案件には参加リンクを発行できません。")
        return redirect(url_for("counter.case", case_id=case_id))
    issued = issue_join_link(
        current,
        actor=_actor(),
        now=datetime.now(),
        minutes=current_app.config["JOIN_LINK_MINUTES"],
    )
    return render_template(
        "counter/resident_link.html",
        case=current,
        url=url_for("resident.join", token=issued.token, _external=True),
        pin=issued.pin,
        expires_at=issued.expires_at,
    )


@bp.route("/cases/<int:case_id>/resident/kiosk", methods=["POST"])
@allow("counter")
def resident_kiosk(case_id: int):
    current = _case(case_id)
    raw = request.form.get("kiosk", "")
    if raw == "detach":
        for kiosk in db.session.scalars(select(Kiosk).where(Kiosk.attached_case_id == current.id)):
            attach_kiosk(kiosk, None, actor=_actor(), now=datetime.now())
        flash("キオスクの接続を解除しました。")
        return redirect(url_for("counter.case", case_id=case_id))
    kiosk = db.session.get(Kiosk, int(raw)) if raw.isdigit() else None
    if kiosk is None or not kiosk.active:
        flash("キオスク端末を選んでください。")
    elif current.status not in OPEN_FOR_RESIDENT:
        flash("署名済み・完了した案件にはキオスクを接続できません。")
    else:
        attach_kiosk(kiosk, current, actor=_actor(), now=datetime.now())
        flash(f"「{kiosk.name}」をこの案件に接続しました。住民が画面を押すと始まります。")
    return redirect(url_for("counter.case", case_id=case_id))


@bp.route("/cases/<int:case_id>/resident/review", methods=["POST"])
@allow("counter")
def resident_review(case_id: int):
    current = _case(case_id)
    try:
        if current.status == "new":
            change_status(current, "interviewing", actor=_actor(), now=datetime.now())
        change_status(current, "review", actor=_actor(), now=datetime.now())
    except CaseError as error:
        flash(error.message)
    else:
        _prepare_packet(current)
        flash("住民確認へ進めました。住民の画面で確認と署名ができます。")
    return redirect(url_for("counter.case", case_id=case_id))


def _prepare_packet(case: Case) -> None:
    # Render the packet unsigned now, while the resident reads: signing then only stamps
    # the signature into the cached documents (milliseconds instead of a full layout).
    try:
        ruleset = current_ruleset(current_app._get_current_object())  # type: ignore[attr-defined]
        result = evaluate_stored(ruleset, case)
        if result.forms:
            prepare_packet(
                form_documents(result),
                render_context(ruleset, case, result),
                procedures=procedure_entries(result),
            )
    except Exception:  # a failed warm-up must not stop the review; signing renders anyway
        current_app.logger.exception("could not prepare the packet of case %s", case.id)


@bp.route("/cases/<int:case_id>/resident/requests/<int:request_id>/resolve", methods=["POST"])
@allow("counter")
def resident_resolve(case_id: int, request_id: int):
    current = _case(case_id)
    try:
        resolve_request(current, request_id, actor=_actor(), now=datetime.now())
    except CaseError as error:
        flash(error.message)
    return redirect(url_for("counter.case", case_id=case_id))


@bp.route("/cases/<int:case_id>/signed-packet.pdf")
@allow("counter")
def signed_packet(case_id: int):
    current = _case(case_id)
    data = signed_packet_pdf(current.id)
    if data is None:
        abort(404)
    db.session.add(
        AuditEvent(
            case_id=current.id,
            actor=_actor(),
            action="signed_packet_downloaded",
            detail={},
            at=datetime.now(),
        )
    )
    db.session.commit()
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"attachment; filename=signed-{current.number}.pdf"
    return response

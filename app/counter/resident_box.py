"""Counter views of the resident's side: join link + PIN, kiosks, moving to 住民確認,
the resident's correction requests, and the box showing the resident's steps live."""

from __future__ import annotations

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from markupsafe import Markup

from app import clock
from app.auth.access import allow
from app.counter.blueprint import bp
from app.counter.context import actor, case_or_404, ruleset, stay_on_case
from app.errors import answered_by
from app.models import Case
from app.services.joining import attach_kiosk_to_case, detach_kiosks, staff_issue_join_link
from app.services.review import (
    latest_event,
    resident_box_state,
    resolve_request,
    start_resident_review,
)


@bp.app_template_global("resident_box")
def resident_box(case: Case) -> Markup:
    """Render the 住民の画面 box of the staff case page (also its live refresh)."""
    state = resident_box_state(case, clock.now())
    # render_template output is autoescaped HTML: safe to mark as markup.
    return Markup(render_template("counter/_resident_box.html", **state))  # noqa: S704


@bp.route("/cases/<int:case_id>/resident")
@allow("counter")
def resident_panel(case_id: int):
    """Answer the box, or 204 when nothing happened on the case since event ``after``.

    Staff poll this every few seconds instead of holding an event stream open: the staff
    page is reloaded often, and each open stream would hold a server thread.
    """
    current = case_or_404(case_id)
    after = request.args.get("after", "")
    if after.isdigit() and latest_event(current.id) <= int(after):
        return Response(status=204)
    return str(resident_box(current))


@bp.route("/cases/<int:case_id>/resident/link", methods=["POST"])
@answered_by(stay_on_case)
@allow("counter")
def resident_link(case_id: int):
    current = case_or_404(case_id)
    issued = staff_issue_join_link(
        current,
        actor=actor(),
        now=clock.now(),
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
@answered_by(stay_on_case)
@allow("counter")
def resident_kiosk(case_id: int):
    current = case_or_404(case_id)
    raw = request.form.get("kiosk", "")
    if raw == "detach":
        detach_kiosks(current, actor=actor(), now=clock.now())
        flash("キオスクの接続を解除しました。")
    else:
        kiosk_id = int(raw) if raw.isdigit() else None
        kiosk = attach_kiosk_to_case(current, kiosk_id, actor=actor(), now=clock.now())
        flash(f"「{kiosk.name}」をこの案件に接続しました。住民が画面を押すと始まります。")
    return redirect(url_for("counter.case", case_id=case_id))


@bp.route("/cases/<int:case_id>/resident/review", methods=["POST"])
@answered_by(stay_on_case)
@allow("counter")
def resident_review(case_id: int):
    start_resident_review(ruleset(), case_or_404(case_id), actor=actor(), now=clock.now())
    flash("住民確認へ進めました。住民の画面で確認と署名ができます。")
    return redirect(url_for("counter.case", case_id=case_id))


@bp.route("/cases/<int:case_id>/resident/requests/<int:request_id>/resolve", methods=["POST"])
@answered_by(stay_on_case)
@allow("counter")
def resident_resolve(case_id: int, request_id: int):
    resolve_request(case_or_404(case_id), request_id, actor=actor(), now=clock.now())
    return redirect(url_for("counter.case", case_id=case_id))

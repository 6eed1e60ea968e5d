"""Counter views of a case's documents: form preview, packet and cover PDFs, the paper
signature, issuing, and the signed packet."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for

from app import clock
from app.auth.access import allow
from app.counter.blueprint import bp
from app.counter.context import actor, case_or_404, ruleset, stay_on_case
from app.errors import answered_by
from app.services.cases import record_paper_signature
from app.services.routing import issue_visit
from app.services.signing import download_signed_packet
from app.services.viewing import preview_form, view_cover, view_packet


def _pdf_response(pdf: bytes, filename: str) -> Response:
    disposition = "attachment" if request.args.get("download") else "inline"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f"{disposition}; filename={filename}"},
    )


@bp.route("/cases/<int:case_id>/forms/<key>")
@allow("counter")
def form_preview(case_id: int, key: str):
    rules = ruleset()
    current = case_or_404(case_id)
    shown = preview_form(rules, current, key, actor=actor(), now=clock.now())
    return render_template(
        "counter/form.html",
        case=current,
        form=shown.form,
        form_html=shown.html,
        template=shown.template,
        ruleset_version=rules.version,  # its stylesheets come from the same version
    )


@bp.route("/cases/<int:case_id>/packet.pdf")
@allow("counter")
def packet(case_id: int):
    rules = ruleset()
    current = case_or_404(case_id)
    printing = bool(request.args.get("print"))
    pdf = view_packet(rules, current, printing=printing, actor=actor(), now=clock.now())
    return _pdf_response(pdf, f"packet-{current.number}.pdf")


@bp.route("/cases/<int:case_id>/cover.pdf")
@allow("counter")
def cover(case_id: int):
    rules = ruleset()
    current = case_or_404(case_id)
    pdf = view_cover(rules, current, actor=actor(), now=clock.now())
    return _pdf_response(pdf, f"cover-{current.number}.pdf")


@bp.route("/cases/<int:case_id>/paper-signature", methods=["POST"])
@answered_by(stay_on_case)
@allow("counter")
def paper_signature(case_id: int):
    record_paper_signature(case_or_404(case_id), actor=actor(), now=clock.now())
    flash("紙の書類に署名をいただいたことを記録しました。")
    return redirect(url_for("counter.case", case_id=case_id))


@bp.route("/cases/<int:case_id>/issue", methods=["POST"])
@answered_by(stay_on_case)
@allow("counter")
def issue(case_id: int):
    routed = issue_visit(ruleset(), case_or_404(case_id), actor=actor(), now=clock.now())
    flash(f"交付しました。{len(routed)}件の手続を各課に回付しました。")
    return redirect(url_for("counter.case", case_id=case_id))


@bp.route("/cases/<int:case_id>/signed-packet.pdf")
@allow("counter")
def signed_packet(case_id: int):
    current = case_or_404(case_id)
    data = download_signed_packet(current, actor=actor(), now=clock.now())
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"attachment; filename=signed-{current.number}.pdf"
    return response

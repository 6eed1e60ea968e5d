"""The join box on the staff case page: issue a link for the resident at home and show its
QR code, short code, PIN and a text to copy or send by SMS, without leaving the case page.

It lives with the resident blueprint (joining is the resident's side) and is included in
the counter's case page by one line (``resident/_join_box.html``).
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, jsonify, render_template, url_for
from flask_login import current_user
from markupsafe import Markup

from app import clock
from app.auth.access import allow
from app.engine import LoadError
from app.errors import DomainError, answered_by
from app.extensions import db
from app.models import Case
from app.resident.blueprint import bp
from app.services.joining import staff_issue_join_link
from app.services.qr import qr_svg
from app.services.rules import current_ruleset


def _box_refusal(error: DomainError) -> Any:
    """Answer the box's script: it shows ``error`` in the box."""
    return jsonify(ok=False, code=error.code, error=error.message), error.status


@bp.route("/counter/cases/<int:case_id>/join-box", methods=["POST"])
@answered_by(_box_refusal)
@allow("counter")
def join_box(case_id: int):
    """Issue a new join link (revoking the last) and answer the box showing it."""
    case = db.session.get(Case, case_id)
    if case is None:
        abort(404)
    issued = staff_issue_join_link(
        case,
        actor=str(current_user.username),
        now=clock.now(),
        minutes=current_app.config["JOIN_LINK_MINUTES"],
    )
    url = url_for("resident.join", token=issued.token, _external=True)
    code_page = url_for("resident.join_code", _external=True)
    try:
        municipality = current_ruleset(current_app._get_current_object()).municipality.name  # type: ignore[attr-defined]
    except LoadError:
        municipality = ""
    message = (
        f"{municipality}の手続の画面に入るためのリンクです。{url}\n"
        f"開けないときは {code_page} で参加コード {issued.code} を入力してください。"
        "暗証番号は職員が通話でお伝えします。"
    )
    html = render_template(
        "resident/_join_issued.html",
        case=case,
        issued=issued,
        url=url,
        code_page=code_page,
        qr=Markup(qr_svg(url, "参加用QRコード（読み取ると手続の画面が開きます）")),  # noqa: S704
        message=message,
    )
    return jsonify(ok=True, html=html)

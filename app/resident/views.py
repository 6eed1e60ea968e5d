"""Views of the resident: joining (link + PIN, or kiosk) and their one case."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import logout_user

from app.auth.access import PUBLIC, RESIDENT, allow, resident_case_id
from app.extensions import db
from app.models import Case
from app.resident.forms import PinForm
from app.services.joining import (
    JoinError,
    admit,
    admit_kiosk,
    case_open_for_resident,
    check_link,
    kiosk_for_token,
)

bp = Blueprint("resident", __name__)
KIOSK_COOKIE = "kakanai_kiosk"


def _start_resident_session(case_id: int) -> None:
    # A resident session carries nothing else: no staff login survives on a shared device.
    logout_user()
    session.clear()
    session["resident_case_id"] = case_id
    session.permanent = False


# Unknown links and devices are "not found"; links that existed but can no longer be
# used are "gone". 403 stays reserved for the access guard (who may reach a page at all).
_STATUS = {"unknown": 404, "kiosk_unknown": 404}


def _refused(error: JoinError) -> tuple[str, int]:
    status = _STATUS.get(error.code, 410)
    return render_template("resident/refused.html", message=error.message), status


@bp.route("/join/<token>", methods=["GET", "POST"])
@allow(PUBLIC)
def join(token: str):
    now = datetime.now()
    try:
        check_link(token, now)
    except JoinError as error:
        return _refused(error)
    form = PinForm()
    error_message = None
    if form.validate_on_submit():
        try:
            case_id = admit(
                token,
                (form.pin.data or "").strip(),
                now=now,
                max_attempts=current_app.config["JOIN_PIN_ATTEMPTS"],
            )
        except JoinError as error:
            if error.code == "locked":
                return _refused(error)
            error_message = error.message
        else:
            _start_resident_session(case_id)
            return redirect(url_for("resident.case"))
    status = 200 if error_message is None and not form.errors else 400
    return render_template("resident/join.html", form=form, error=error_message), status


@bp.route("/kiosk/setup/<token>")
@allow(PUBLIC)
def kiosk_setup(token: str):
    try:
        kiosk = kiosk_for_token(token)
    except JoinError as error:
        return _refused(error)
    response = make_response(redirect(url_for("resident.kiosk")))
    response.set_cookie(
        KIOSK_COOKIE,
        token,
        max_age=5 * 365 * 86400,
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        samesite="Strict",
    )
    current_app.logger.info("kiosk set up: %s", kiosk.name)
    return response


@bp.route("/kiosk")
@allow(PUBLIC)
def kiosk():
    try:
        device = kiosk_for_token(request.cookies.get(KIOSK_COOKIE))
    except JoinError as error:
        return _refused(error)
    return render_template("resident/kiosk.html", kiosk=device)


@bp.route("/kiosk/status")
@allow(PUBLIC)
def kiosk_status():
    try:
        device = kiosk_for_token(request.cookies.get(KIOSK_COOKIE))
    except JoinError as error:
        return jsonify(error=error.message), 404
    return jsonify(attached=device.attached_case_id is not None)


@bp.route("/kiosk/join", methods=["POST"])
@allow(PUBLIC)
def kiosk_join():
    try:
        case_id = admit_kiosk(request.cookies.get(KIOSK_COOKIE), now=datetime.now())
    except JoinError as error:
        if error.code == "kiosk_waiting":
            return redirect(url_for("resident.kiosk"))
        return _refused(error)
    _start_resident_session(case_id)
    return redirect(url_for("resident.case"))


@bp.route("/r/")
@allow(RESIDENT)
def case():
    case_id = resident_case_id()
    if case_id is None or not case_open_for_resident(case_id):
        session.clear()
        return _refused(JoinError("closed"))
    current = db.session.get(Case, case_id)
    return render_template("resident/case.html", case=current)


@bp.route("/r/leave", methods=["POST"])
@allow(RESIDENT)
def leave():
    session.clear()
    return render_template("resident/left.html")

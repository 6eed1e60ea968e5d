"""Views of the resident: joining (link + PIN, or kiosk) and their one case."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    get_template_attribute,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import logout_user

from app import clock
from app.auth.access import PUBLIC, RESIDENT, allow, resident_case_id
from app.engine import LoadError, Result, RuleSet
from app.errors import DomainError, answered_by
from app.extensions import db
from app.media.peers import STAFF
from app.media.server import media_server
from app.models import Case, Kiosk
from app.resident.blueprint import bp
from app.resident.forms import JoinCodeForm, PinForm
from app.services.case_documents import cover_pdf
from app.services.interview import evaluate_stored
from app.services.joining import (
    JoinError,
    admit,
    admit_kiosk,
    case_open_for_resident,
    check_link,
    kiosk_for_token,
    normalize_code,
)
from app.services.kiosks import COOKIE_DAYS, KioskError, exchange_setup_code, rotate_credential
from app.services.live import GatedStream
from app.services.rate_limits import (
    JOIN_ADDRESS,
    JOIN_OVERALL,
    Taken,
    give_back,
    take_or_refuse,
    window_key,
)
from app.services.reading import directions, explained_procedures, reading_forms
from app.services.resident_sessions import (
    end_resident_sessions,
    limit_resident_session,
    start_resident_session,
)
from app.services.review import (
    case_channel,
    confirm_form,
    latest_event,
    live_broker,
    publish,
    request_correction,
    shown_forms,
    sse_stream,
    stream_gate,
    stylesheets,
)
from app.services.rules import current_ruleset
from app.services.signing import (
    decode_data_url,
    sign_case,
    signed_packet_pdf,
    typed_signature,
)

KIOSK_COOKIE = "kakanai_kiosk"
# After signing, the session that signed keeps its two receipt downloads (the sealed packet
# and the cover sheet) for this long, and nothing else of the case.
RECEIPT_SECONDS = 30 * 60
# A branch kiosk is shared: the next resident must not find the last one's packet there.
KIOSK_RECEIPT_SECONDS = 5 * 60
KIOSK_SESSION = timedelta(hours=2)
PAPER_MESSAGE = (
    "この手続の署名は、窓口で紙の書類に行います。職員が書類をお渡ししますので、"
    "その案内に従ってください。この画面は閉じてかまいません。"
)


def _start_resident_session(
    case_id: int, *, link_token: str | None = None, kiosk_token: str | None = None
) -> None:
    # A resident session carries nothing else: no staff login survives on a shared device.
    logout_user()
    session.clear()
    now = clock.now()
    if link_token is not None:  # the session ends with its link (expiry, re-issue)
        link = check_link(link_token, now)
        sid = start_resident_session(
            case_id, now=now, expires_at=link.expires_at, join_link_id=link.id
        )
    else:  # ends when staff detach the kiosk, or after two hours at the latest
        kiosk = kiosk_for_token(kiosk_token, now)
        sid = start_resident_session(
            case_id, now=now, expires_at=now + KIOSK_SESSION, kiosk_id=kiosk.id
        )
    session["resident_case_id"] = case_id
    session["sid"] = sid
    session.permanent = False
    publish(case_id, {"type": "joined"})


# How refusals are answered (see app.errors.answered_by and app.web's one handler).


def _refused(error: DomainError) -> tuple[str, int]:
    """Show the resident why the link or device cannot be used (404 unknown, 410 gone)."""
    return render_template("resident/refused.html", message=error.message), error.status


def _json_refusal(error: DomainError) -> Any:
    """Answer the resident page's script: it shows ``error`` next to the button."""
    return jsonify(ok=False, code=error.code, error=error.message), error.status


def _kiosk_status_refusal(error: DomainError) -> Any:
    return jsonify(error=error.message), error.status


def _kiosk_join_refusal(error: DomainError) -> Any:
    if error.code == "kiosk_waiting":  # nobody attached a case yet: back to the welcome
        return redirect(url_for("resident.kiosk"))
    return _refused(error)


def _gone() -> Any:
    """Answer a script whose case is no longer open to the resident."""
    return jsonify(error=JoinError("closed").message, closed=True), 410


JOIN_BUSY = (
    "参加コードや暗証番号の誤りが続いたため、しばらく受け付けを止めています。"
    "時間をおいてお試しいただくか、窓口の職員にお声がけください。"
)


def _join_attempt() -> Taken:
    """Take one join attempt from this address's window and everyone's (a right one gives
    it back), or refuse in Japanese: a 6-digit PIN or an 8-character code is only as strong
    as the number of guesses allowed.

    :raises RateLimited: a window is full.
    """
    return take_or_refuse(
        [
            (window_key("join", "address", request.remote_addr or ""), JOIN_ADDRESS),
            ("join:all", JOIN_OVERALL),
        ],
        clock.now(),
        JOIN_BUSY,
    )


@bp.route("/join", methods=["GET", "POST"])
@allow(PUBLIC)
def join_code():
    """Take the 8-character join code a resident types, then ask the PIN as the link does."""
    form = JoinCodeForm()
    error_message = error_code = None
    if form.validate_on_submit():
        attempt = _join_attempt()
        code = normalize_code(form.code.data or "")
        try:
            if code is None:
                raise JoinError("bad_code")
            check_link(code, clock.now())
        except JoinError as error:
            error_message, error_code = error.message, error.code  # stay, keep what was typed
        else:
            give_back(attempt)
            return redirect(url_for("resident.join", token=code))
    status = 200 if error_message is None and not form.errors else 400
    return render_template(
        "resident/join_code.html", form=form, error=error_message, error_code=error_code
    ), status


@bp.route("/join/<token>", methods=["GET", "POST"])
@answered_by(_refused)
@allow(PUBLIC)
def join(token: str):
    now = clock.now()
    check_link(token, now)
    form = PinForm()
    error_message = error_code = None
    if form.validate_on_submit():
        attempt = _join_attempt()
        try:
            case_id = admit(
                token,
                (form.pin.data or "").strip(),
                now=now,
                max_attempts=current_app.config["JOIN_PIN_ATTEMPTS"],
            )
        except JoinError as error:
            if error.code == "locked":
                raise
            error_message, error_code = error.message, error.code  # a wrong PIN: say so
        else:
            give_back(attempt)
            _start_resident_session(case_id, link_token=token)
            return redirect(url_for("resident.case"))
    status = 200 if error_message is None and not form.errors else 400
    return render_template(
        "resident/join.html", form=form, error=error_message, error_code=error_code
    ), status


def _with_kiosk_cookie(response: Any, credential: str) -> Any:
    response.set_cookie(
        KIOSK_COOKIE,
        credential,
        max_age=COOKIE_DAYS * 86400,
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        samesite="Strict",
    )
    return response


def _kiosk_device() -> tuple[Kiosk, str | None]:
    """Return this device's kiosk, and a new credential when today's rotation is due."""
    token = request.cookies.get(KIOSK_COOKIE)
    device = kiosk_for_token(token, clock.now())
    return device, rotate_credential(device, token or "", now=clock.now())


@bp.route("/kiosk/setup", methods=["GET", "POST"])
@answered_by(_refused)
@allow(PUBLIC)
def kiosk_setup():
    # The code comes in a POST body, never the URL: access logs do not see it.
    error = None
    if request.method == "POST":
        try:
            device, credential = exchange_setup_code(
                request.form.get("code", "")[:64], now=clock.now()
            )
        except KioskError as refused:
            error = refused.message
        else:
            current_app.logger.info("kiosk set up: %s", device.name)
            return _with_kiosk_cookie(redirect(url_for("resident.kiosk")), credential)
    return render_template("kiosk/setup.html", error=error), 400 if error else 200


@bp.route("/kiosk")
@answered_by(_refused)
@allow(PUBLIC)
def kiosk():
    device, credential = _kiosk_device()
    response = make_response(render_template("resident/kiosk.html", kiosk=device))
    return _with_kiosk_cookie(response, credential) if credential else response


@bp.route("/kiosk/status")
@answered_by(_kiosk_status_refusal)
@allow(PUBLIC)
def kiosk_status():
    device, credential = _kiosk_device()
    response = jsonify(attached=device.attached_case_id is not None)
    return _with_kiosk_cookie(response, credential) if credential else response


@bp.route("/kiosk/join", methods=["POST"])
@answered_by(_kiosk_join_refusal)
@allow(PUBLIC)
def kiosk_join():
    case_id = admit_kiosk(request.cookies.get(KIOSK_COOKIE), now=clock.now())
    _start_resident_session(case_id, kiosk_token=request.cookies.get(KIOSK_COOKIE))
    session["via_kiosk"] = True
    return redirect(url_for("resident.case"))


def _receipt_case_id() -> int | None:
    """Return the case whose receipt this session may still download, if any."""
    case_id = session.get("receipt_case_id")
    until = session.get("receipt_until", 0)
    if case_id is None or case_id != resident_case_id() or time.time() > until:
        return None
    return int(case_id)


def _closed_response() -> Any:
    """Answer a resident whose case is no longer open: the paper note, the receipt, or gone."""
    case_id = resident_case_id()
    current = db.session.get(Case, case_id) if case_id is not None else None
    if _receipt_case_id() is not None:
        return render_template(
            "resident/refused.html", message=JoinError("closed").message, receipt=True
        ), 410
    session.clear()
    if current is not None and current.signature_mode == "paper":
        return render_template("resident/refused.html", message=PAPER_MESSAGE), 410
    return _refused(JoinError("closed"))


def _open_case() -> Case | None:
    """Return the session's one case while it is open for the resident, else None."""
    case_id = resident_case_id()
    if case_id is None or not case_open_for_resident(case_id):
        return None
    return db.session.get(Case, case_id)


def _evaluated(current: Case) -> tuple[RuleSet, Result]:
    try:
        ruleset = current_ruleset(current_app._get_current_object())  # type: ignore[attr-defined]
    except LoadError:
        current_app.logger.exception("procedure rules unavailable")
        abort(503)
    return ruleset, evaluate_stored(ruleset, current)


def _next_step(status: str, forms: list[dict[str, Any]]) -> str:
    """Return what the resident does next: the one thing the first screen says.

    While staff are still interviewing, the forms fill in live and may still change: the
    screen says staff are preparing them (a form confirmed early stays confirmed only while
    its content does not change). Once staff move the case to 住民確認, it asks to confirm.
    """
    unconfirmed = not forms or any(not f["confirmed"] for f in forms)
    if status != "review":
        return "wait_forms" if unconfirmed else "wait_sign"
    if not forms:
        return "wait_forms"
    return "confirm" if unconfirmed else "sign"


def _forms_state(ruleset: RuleSet, current: Case, result: Result) -> dict[str, Any]:
    shown = shown_forms(ruleset, current, result)
    readings = reading_forms(ruleset, result)
    body = get_template_attribute("resident/_reading.html", "reading")
    forms = []
    for f in shown:
        form = {
            "key": f.key,
            "title": f.title,
            "html": str(f.html),
            "hash": f.document_hash,
            "confirmed": f.confirmed,
        }
        form["body"] = str(body(readings.get(f.key), form, current.number, result.ruleset_version))
        forms.append(form)
    all_confirmed = bool(forms) and all(f["confirmed"] for f in forms)
    return {
        "status": current.status,
        "forms": forms,
        "all_confirmed": all_confirmed,
        "can_sign": current.status == "review" and all_confirmed,
        "next": _next_step(current.status, forms),
    }


def _event_titles(ruleset: RuleSet, current: Case) -> list[str]:
    """Return the titles of the case's life events (転出, 出生 …) for the first screen."""
    return [ruleset.events[e].title if e in ruleset.events else e for e in current.events or []]


@bp.route("/r/")
@allow(RESIDENT)
def case():
    current = _open_case()
    if current is None:
        return _closed_response()
    after = latest_event(current.id)  # taken first: anything later reaches the page live
    ruleset, result = _evaluated(current)
    return render_template(
        "resident/case.html",
        case=current,
        after=after,
        stylesheets=stylesheets(result),
        state=_forms_state(ruleset, current, result),
        events=_event_titles(ruleset, current),
        explained=explained_procedures(result),
    )


@bp.route("/r/forms")
@allow(RESIDENT)
def forms():
    current = _open_case()
    if current is None:
        return _gone()
    ruleset, result = _evaluated(current)
    return jsonify(_forms_state(ruleset, current, result))


@bp.route("/r/call")
@allow(RESIDENT)
def call_state():
    """Answer whether staff are in the case's call: the resident's call pane shows only then."""
    current = _open_case()
    if current is None:
        return _gone()
    staff = media_server().connection_states(current.id).get(STAFF)
    return jsonify(staff=staff in ("new", "connecting", "connected"), state=staff)


def _session_key() -> str:
    """Name this resident session for the stream caps (its id, else its cookie)."""
    sid = session.get("sid")
    if sid:
        return str(sid)
    raw = request.cookies.get(current_app.config["SESSION_COOKIE_NAME"], "")
    return hashlib.sha256(raw.encode()).hexdigest()


@bp.route("/r/events")
@answered_by(_json_refusal)
@allow(RESIDENT)
def events():
    current = _open_case()
    if current is None:
        return _gone()
    raw_after = request.headers.get("Last-Event-ID") or request.args.get("after") or "0"
    after = int(raw_after) if raw_after.isdigit() and len(raw_after) < 19 else 0
    # Each open stream holds a thread: capped per session, per case and per process.
    release = stream_gate().enter(case_channel(current.id), _session_key())
    stream = GatedStream(sse_stream(live_broker(), case_channel(current.id), after), release)
    return Response(
        stream,
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@bp.route("/r/confirm", methods=["POST"])
@answered_by(_json_refusal)
@allow(RESIDENT)
def confirm():
    current = _open_case()
    if current is None:
        return _gone()
    ruleset, result = _evaluated(current)
    confirm_form(
        ruleset,
        current,
        result,
        request.form.get("form", ""),
        request.form.get("hash", ""),
        now=clock.now(),
    )
    return jsonify(ok=True, **_forms_state(ruleset, current, result))


@bp.route("/r/request", methods=["POST"])
@answered_by(_json_refusal)
@allow(RESIDENT)
def ask_correction():
    current = _open_case()
    if current is None:
        return _gone()
    ruleset, result = _evaluated(current)
    request_correction(
        current,
        request.form.get("form", ""),
        request.form.get("field"),
        request.form.get("note", ""),
        now=clock.now(),
        form_keys=[f.key for f in result.forms],
    )
    return jsonify(ok=True)


@bp.route("/r/sign", methods=["POST"])
@answered_by(_json_refusal)
@allow(RESIDENT)
def sign():
    current = _open_case()
    if current is None:
        return _gone()
    ruleset, result = _evaluated(current)
    if "typed_name" in request.form:  # the keyboard alternative to drawing
        png, method = typed_signature(request.form["typed_name"]), "typed_name"
    else:
        png, method = decode_data_url(request.form.get("signature", "")), "drawn"
    sign_case(ruleset, current, result, png, now=clock.now(), method=method)
    session["receipt_case_id"] = current.id
    seconds = KIOSK_RECEIPT_SECONDS if session.get("via_kiosk") else RECEIPT_SECONDS
    session["receipt_until"] = time.time() + seconds
    # Signing ends every other session of the case; this one keeps only its receipt.
    end_resident_sessions(
        reason="signed", now=clock.now(), case_id=current.id, keep_sid=session.get("sid")
    )
    limit_resident_session(session.get("sid"), clock.now() + timedelta(seconds=seconds))
    return jsonify(ok=True, receipt=url_for("resident.receipt"))


def _receipt_case() -> Case:
    # A link or image on another site can send this GET with the resident's cookie: it
    # must not log out a resident who is still reviewing. Only a session whose receipt
    # window has passed (the case is signed; nothing is left for it to do) ends here.
    case_id = _receipt_case_id()
    if case_id is None:
        if session.get("receipt_case_id") is not None and time.time() > session.get(
            "receipt_until", 0
        ):
            session.clear()
        abort(410)
    current = db.session.get(Case, case_id)
    if current is None:
        abort(410)
    return current


@bp.route("/r/receipt")
@allow(RESIDENT)
def receipt():
    current = _receipt_case()
    seconds = KIOSK_RECEIPT_SECONDS if session.get("via_kiosk") else RECEIPT_SECONDS
    _, result = _evaluated(current)
    return render_template(
        "resident/receipt.html",
        case=current,
        minutes=seconds // 60,
        directions=directions(result),
    )


def _pdf(data: bytes, name: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"attachment; filename={name}"
    return response


@bp.route("/r/receipt/packet.pdf")
@allow(RESIDENT)
def receipt_packet():
    current = _receipt_case()
    data = signed_packet_pdf(current.id)
    if data is None:
        abort(410)
    return _pdf(data, f"signed-{current.number}.pdf")


@bp.route("/r/receipt/cover.pdf")
@allow(RESIDENT)
def receipt_cover():
    current = _receipt_case()
    ruleset, result = _evaluated(current)
    return _pdf(cover_pdf(ruleset, current, result), f"cover-{current.number}.pdf")


@bp.route("/r/leave", methods=["POST"])
@allow(RESIDENT)
def leave():
    if session.get("sid"):
        end_resident_sessions(reason="left", now=clock.now(), sid=session["sid"])
    session.clear()
    return render_template("resident/left.html")

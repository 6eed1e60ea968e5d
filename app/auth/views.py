"""Login and logout for staff."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from app import clock
from app.auth.access import PUBLIC, allow
from app.auth.forms import LoginForm
from app.extensions import db, login_manager
from app.models import StaffUser
from app.services.accounts import authenticate, end_staff_sessions

bp = Blueprint("auth", __name__)

LANDING = {"counter": "counter.index", "policy": "policy.index", "admin": "admin.index"}
# A locked account and an unknown one get the same words (and status, and time): the
# answer must not tell a guesser which staff IDs exist.
_NOT_ADMITTED = (
    "職員IDまたはパスワードが違います。入力をお確かめください。"
    "失敗が続いたIDは15分間ログインできなくなります。"
    "続く場合は、時間をおいてお試しいただくか、管理者にご連絡ください。"
)
FAILURES = {
    "bad_credentials": _NOT_ADMITTED,
    "locked": _NOT_ADMITTED,
    "busy": "この端末（または全体）からのログインの失敗が多すぎるため、しばらく受け付けを止めています。"
    "{minutes}分ほどおいてから、もう一度お試しください。",
    "inactive": "このIDは無効になっています。管理者にご連絡ください。",
}


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    # "id:generation": a cookie from before the user's last logout names an older generation.
    ident, _, generation = user_id.partition(":")
    if not ident.isdigit() or not generation.isdigit() or len(ident) > 18:
        return None
    user = db.session.get(StaffUser, int(ident))
    if user is None or user.session_generation != int(generation):
        return None
    return user


def _safe_next(target: str | None) -> str | None:
    # Only same-site relative paths: an absolute or scheme-relative URL is an open redirect.
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/")
@allow(PUBLIC)
def home():
    if current_user.is_authenticated:
        return redirect(url_for(LANDING[current_user.role]))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@allow(PUBLIC)
def login():
    form = LoginForm()
    error = None
    status, retry_after = 200, 0
    if form.validate_on_submit():
        outcome = authenticate(
            form.username.data or "",
            form.password.data or "",
            now=clock.now(),
            max_failures=current_app.config["LOGIN_ATTEMPTS"],
            address=request.remote_addr or "",
        )
        if outcome.user is not None:
            # No resident session (or other login) survives on this device; the page's
            # CSRF secret does (the form just posted from it stays valid).
            csrf_secret = session.get("csrf_token")
            session.clear()
            if csrf_secret:
                session["csrf_token"] = csrf_secret
            login_user(outcome.user)
            current_app.logger.info("login ok user=%s", outcome.user.username)
            target = _safe_next(request.args.get("next"))
            return redirect(target or url_for(LANDING[outcome.user.role]))
        # Who and from where (repr: a typed name cannot forge log lines), for the audit.
        current_app.logger.warning(
            "login refused code=%s user=%r address=%s",
            outcome.code,
            (form.username.data or "")[:80],
            request.remote_addr,
        )
        retry_after = outcome.retry_after
        error = FAILURES[outcome.code].format(minutes=max(1, -(-retry_after // 60)))
        status = 429 if outcome.code == "busy" else 401
    response = make_response(render_template("auth/login.html", form=form, error=error), status)
    if status == 429:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.route("/logout", methods=["POST"])
@allow("counter", "policy", "admin")
def logout():
    end_staff_sessions(current_user)  # this cookie, and any copy of it, ends here
    logout_user()
    flash("ログアウトしました。")
    return redirect(url_for("auth.login"))

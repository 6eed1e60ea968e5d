"""Login and logout for staff."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
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
FAILURES = {
    "bad_credentials": "職員IDまたはパスワードが違います。入力をお確かめください。",
    "locked": "ログインの失敗が続いたため、このIDは15分間ロックされています。"
    "時間をおいてお試しいただくか、管理者にご連絡ください。",
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
    if form.validate_on_submit():
        outcome = authenticate(
            form.username.data or "",
            form.password.data or "",
            now=clock.now(),
            max_failures=current_app.config["LOGIN_ATTEMPTS"],
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
        current_app.logger.info("login refused code=%s", outcome.code)
        error = FAILURES[outcome.code]
    status = 200 if error is None else 401
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
@allow("counter", "policy", "admin")
def logout():
    end_staff_sessions(current_user)  # this cookie, and any copy of it, ends here
    logout_user()
    flash("ログアウトしました。")
    return redirect(url_for("auth.login"))

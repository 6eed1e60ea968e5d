"""Views of the admin workspace: staff accounts and branch kiosks."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from app import clock
from app.admin.forms import NewKioskForm, NewUserForm
from app.auth.access import allow
from app.extensions import db
from app.models import Kiosk, StaffUser
from app.services.accounts import AccountError, create_user
from app.services.joining import register_kiosk
from app.services.kiosks import new_setup_code, revoke_kiosk

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _page(user_form: NewUserForm, kiosk_form: NewKioskForm, **extra: object) -> str:
    users = db.session.scalars(select(StaffUser).order_by(StaffUser.username)).all()
    kiosks = db.session.scalars(select(Kiosk).order_by(Kiosk.name)).all()
    return render_template(
        "admin/index.html",
        users=users,
        kiosks=kiosks,
        user_form=user_form,
        kiosk_form=kiosk_form,
        **extra,
    )


@bp.route("/")
@allow("admin")
def index():
    return _page(NewUserForm(), NewKioskForm())


@bp.route("/users", methods=["POST"])
@allow("admin")
def create_staff():
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = create_user(
                form.username.data or "",
                form.password.data or "",
                form.role.data or "",
                form.display_name.data or "",
                now=clock.now(),
            )
        except AccountError:
            form.username.errors = [*form.username.errors, "この職員IDは既に使われています。"]
        else:
            return _page(
                NewUserForm(formdata=None),
                NewKioskForm(formdata=None),
                notice=f"{user.display_name}（{user.username}）を登録しました。",
            )
    return _page(form, NewKioskForm(formdata=None)), 400


@bp.route("/kiosks", methods=["POST"])
@allow("admin")
def create_kiosk():
    form = NewKioskForm()
    if not form.validate_on_submit():
        return _page(NewUserForm(formdata=None), form), 400
    kiosk, code = register_kiosk(form.name.data or "", actor=current_user.username, now=clock.now())
    return _setup_page(kiosk, code, f"端末「{kiosk.name}」を登録しました。")


def _setup_page(kiosk: Kiosk, code: str, notice: str) -> str:
    return _page(
        NewUserForm(formdata=None),
        NewKioskForm(formdata=None),
        notice=notice,
        setup_code=code,
        setup_kiosk=kiosk.name,
        setup_url=url_for("resident.kiosk_setup", _external=True),
    )


def _kiosk_or_404(kiosk_id: int) -> Kiosk:
    kiosk = db.session.get(Kiosk, kiosk_id)
    if kiosk is None:
        abort(404)
    return kiosk


@bp.route("/kiosks/<int:kiosk_id>/setup-code", methods=["POST"])
@allow("admin")
def kiosk_setup_code(kiosk_id: int):
    kiosk = _kiosk_or_404(kiosk_id)
    if not kiosk.active:
        return _page(
            NewUserForm(formdata=None),
            NewKioskForm(formdata=None),
            notice=f"端末「{kiosk.name}」は無効にされています。新しい端末として登録してください。",
        ), 409
    code = new_setup_code(kiosk, actor=current_user.username, now=clock.now())
    return _setup_page(kiosk, code, f"端末「{kiosk.name}」の新しい設定コードを発行しました。")


@bp.route("/kiosks/<int:kiosk_id>/revoke", methods=["POST"])
@allow("admin")
def kiosk_revoke(kiosk_id: int):
    kiosk = _kiosk_or_404(kiosk_id)
    revoke_kiosk(kiosk, actor=current_user.username, now=clock.now())
    flash(f"端末「{kiosk.name}」を無効にしました。この端末では手続を開けなくなりました。")
    return redirect(url_for("admin.index"))

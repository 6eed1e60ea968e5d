"""Views of the admin workspace: staff accounts and branch kiosks."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from app import clock
from app.admin.forms import NewKioskForm, NewUserForm
from app.auth.access import allow
from app.extensions import db
from app.models import Kiosk, StaffUser
from app.services.accounts import AccountError, create_user
from app.services.joining import register_kiosk

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
    kiosk, token = register_kiosk(
        form.name.data or "", actor=current_user.username, now=clock.now()
    )
    setup_url = url_for("resident.kiosk_setup", token=token, _external=True)
    return _page(
        NewUserForm(formdata=None),
        NewKioskForm(formdata=None),
        notice=f"端末「{kiosk.name}」を登録しました。",
        setup_url=setup_url,
    )

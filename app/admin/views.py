"""Views of the 管理者 workspace."""

from flask import Blueprint, render_template

from app.auth.access import allow

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@allow("admin")
def index():
    return render_template("admin/index.html")

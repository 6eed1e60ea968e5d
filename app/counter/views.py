"""Views of the 窓口職員 workspace."""

from flask import Blueprint, render_template

from app.auth.access import allow

bp = Blueprint("counter", __name__, url_prefix="/counter")


@bp.route("/")
@allow("counter")
def index():
    return render_template("counter/index.html")

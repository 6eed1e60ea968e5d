"""Views of the 制度所管課 workspace."""

from flask import Blueprint, render_template

from app.auth.access import allow

bp = Blueprint("policy", __name__, url_prefix="/policy")


@bp.route("/")
@allow("policy")
def index():
    return render_template("policy/index.html")

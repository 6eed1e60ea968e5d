"""Views of the policy workspace (制度所管課): the rule set in force, its problems, its tests."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from app.auth.access import allow
from app.engine import LoadError
from app.engine.scenarios import run_scenarios
from app.services.rules import rules_holder

bp = Blueprint("policy", __name__, url_prefix="/policy")


def _state() -> dict[str, object]:
    holder = rules_holder(current_app._get_current_object())  # type: ignore[attr-defined]
    try:
        ruleset = holder.get()
    except LoadError:
        ruleset = None
    problems = holder.last_error.problems if holder.last_error is not None else []
    return {"ruleset": ruleset, "problems": problems}


@bp.route("/")
@allow("policy")
def index():
    return render_template("policy/index.html", **_state(), outcomes=None)


@bp.route("/scenarios", methods=["POST"])
@allow("policy")
def scenarios():
    state = _state()
    ruleset = state["ruleset"]
    outcomes = run_scenarios(ruleset) if ruleset is not None else []  # type: ignore[arg-type]
    return render_template("policy/index.html", **state, outcomes=outcomes)

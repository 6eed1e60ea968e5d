"""Counter views of the case itself: the dashboard and registry search, opening a case,
the case page and its status."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app import clock
from app.auth.access import allow
from app.counter.blueprint import bp
from app.counter.context import actor, case_or_404, ruleset, stay_on_case, workspace_context
from app.counter.forms import NewCaseForm, ReasonForm, RegistrySearchForm
from app.engine import RuleSet
from app.errors import answered_by
from app.models.case import FLOW_ONLY, STATUS_LABELS
from app.services.cases import counter_cases, staff_change_status
from app.services.interview import household_summary, open_visit, search_households
from app.services.registry import resident_registry
from app.services.viewing import view_case


def _dashboard(rules: RuleSet, form: NewCaseForm, search: RegistrySearchForm) -> str:
    households = []
    searched = bool(search.name.data or search.birth_date.data or search.code.data)
    if searched:
        found = search_households(
            resident_registry(),
            search.name.data or "",
            search.birth_date.data or "",
            search.code.data or "",
            actor=actor(),
            now=clock.now(),
        )
        households = found.households
        if found.problem:
            search.name.errors = [found.problem]
    return render_template(
        "counter/index.html",
        form=form,
        search=search,
        households=households,
        searched=searched,
        cases=counter_cases(),
        events={e.id: e.title for e in rules.events.values()},
        summary=household_summary,
    )


def _new_case_form(rules: RuleSet) -> NewCaseForm:
    form = NewCaseForm()
    form.events.choices = [SelectChoice(e.id, e.title) for e in rules.events.values()]
    if request.method == "GET":  # a registry search keeps what was ticked before it
        form.events.data = [e for e in request.args.getlist("events") if e in rules.events]
        form.channel.data = request.args.get("channel") or form.channel.default
    return form


@bp.route("/")
@allow("counter")
def index():
    rules = ruleset()
    return _dashboard(rules, _new_case_form(rules), RegistrySearchForm(request.args))


@bp.route("/cases", methods=["POST"])
@allow("counter")
def create_case():
    rules = ruleset()
    form = _new_case_form(rules)
    if not form.validate_on_submit():
        return _dashboard(rules, form, RegistrySearchForm()), 400
    case = open_visit(
        rules,
        resident_registry(),
        current_user.id,
        list(form.events.data or []),
        form.channel.data or "counter",
        form.registry_code.data or None,
        actor=actor(),
        now=clock.now(),
    )
    return redirect(url_for("counter.case", case_id=case.id))


@bp.route("/cases/<int:case_id>")
@allow("counter")
def case(case_id: int):
    rules = ruleset()
    current = case_or_404(case_id)
    view_case(current, actor=actor(), now=clock.now())
    return render_template(
        "counter/case.html", reason_form=ReasonForm(), **workspace_context(rules, current)
    )


@bp.route("/cases/<int:case_id>/status", methods=["POST"])
@answered_by(stay_on_case)
@allow("counter")
def set_status(case_id: int):
    current = case_or_404(case_id)
    to = request.form.get("to", "")
    if to in FLOW_ONLY:  # signing and issuing have their own steps: not a button here
        abort(400)
    staff_change_status(
        current,
        to,
        actor=actor(),
        now=clock.now(),
        reason=request.form.get("reason") or None,
    )
    flash(f"状態を「{STATUS_LABELS[to]}」にしました。")
    return redirect(url_for("counter.case", case_id=case_id))

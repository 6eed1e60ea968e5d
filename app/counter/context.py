"""Helpers every counter view shares: the rule set, the case, the actor, the workspace
context, the template filters, and the shapes refusals are answered in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from app.counter.blueprint import bp
from app.counter.workspace import (
    add_member_html,
    forms_list_html,
    interview_sections,
    procedure_entries,
    procedures_by_department,
)
from app.engine import LoadError, Result, RuleSet
from app.engine.wareki import format_wareki
from app.errors import DomainError
from app.extensions import db
from app.models import Case
from app.models.case import EDITABLE, FLOW_ONLY, PROVENANCE_LABELS, STATUS_LABELS, TRANSITIONS
from app.services.cases import StoredFact, stored_facts
from app.services.interview import Answer, case_as_of, evaluate_stored
from app.services.rules import current_ruleset, ruleset_for

RULE_READERS = frozenset({"policy", "admin"})  # who may open 「判定式を表示」
MAX_SHOWN = 2000  # rows a browser may say it shows; a household has a few hundred at most


def ruleset() -> RuleSet:
    """Return the rule set in force on the case's application date (today without a case),
    or answer 503 when the rules cannot be loaded."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    case_id = (request.view_args or {}).get("case_id")
    try:
        if isinstance(case_id, int):
            case = db.session.get(Case, case_id)
            if case is not None:
                # The session keeps loaded objects only while someone holds them: hold the
                # case for the request, or the view's case_or_404 loads it a second time.
                g.kakanai_case = case
                return ruleset_for(app, case_as_of(case))
        return current_ruleset(app)
    except LoadError:
        current_app.logger.exception("procedure rules unavailable")
        abort(503)


def kept_after_commit(view: Callable[..., Any]) -> Callable[..., Any]:
    """Keep the request's loaded objects (case, staff account) as they are after a commit.

    A view that commits an answer and then draws the case from what it just wrote need not
    load the case and the staff member's account again (the session expires them on every
    commit, and reloading both was two queries of each answer).
    """

    @wraps(view)
    def keeping(*args: Any, **kwargs: Any) -> Any:
        session = db.session()
        before = session.expire_on_commit
        session.expire_on_commit = False
        try:
            return view(*args, **kwargs)
        finally:
            session.expire_on_commit = before

    return keeping


def case_or_404(case_id: int) -> Case:
    """Return the case, or answer 404."""
    case = db.session.get(Case, case_id)
    if case is None:
        abort(404)
    return case


def actor() -> str:
    """Return who is acting, for the audit trail."""
    return str(current_user.username)


@bp.app_template_filter("wareki")
def wareki_filter(day: date | str | None) -> str:
    """Format a date (or ISO string) in 和暦 for staff screens; empty stays empty."""
    if isinstance(day, str):
        day = date.fromisoformat(day) if day else None
    if day is None:
        return ""
    try:
        return format_wareki(day)
    except ValueError:  # before 明治: no era to name
        return day.isoformat()


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"status_labels": STATUS_LABELS, "provenance_labels": PROVENANCE_LABELS}


def workspace_context(
    rules: RuleSet,
    case: Case,
    result: Result | None = None,
    facts: dict[str, StoredFact] | None = None,
    shown: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Return what the case page, its questions and its panel are rendered from."""
    if facts is None:
        facts = stored_facts(case)
    if result is None:
        result = evaluate_stored(rules, case, facts)
    event_titles = [rules.events[e].title for e in case.events if e in rules.events]
    # The rule expression is for the staff who write rules, not read out at the counter.
    show_rules = getattr(current_user, "role", None) in RULE_READERS
    return {
        "case": case,
        "ruleset": rules,
        "result": result,
        "sections": interview_sections(rules, result, facts, shown, case.id),
        "add_member_html": add_member_html(rules),
        "forms_html": forms_list_html(case.id, result),
        "departments": procedures_by_department(rules, result),
        "procedure_html": procedure_entries(rules, result, facts, event_titles, show_rules),
        "facts": facts,
        "next_statuses": []
        if case.purged_at  # nothing left to reopen
        else sorted(TRANSITIONS.get(case.status, frozenset()) - FLOW_ONLY),
        "roles": rules.roles,
        "editable": case.status in EDITABLE and not case.purged_at,
        "events": {e.id: e.title for e in rules.events.values()},
        "show_rules": show_rules,
    }


def fragments(rules: RuleSet, case: Case, done: Answer | None = None) -> dict[str, str]:
    """Return the redrawn questions and panel after a change, with the case's status."""
    # The rows the browser shows now (their keys): unchanged ones come back as
    # placeholders, so a redraw after an answer carries only what changed.
    shown = frozenset(request.form.get("shown", "").split()[:MAX_SHOWN])
    if done is not None:
        context = workspace_context(rules, case, done.result, done.facts, shown)
    else:
        context = workspace_context(rules, case, shown=shown)
    return {
        "questions_html": render_template("counter/_questions.html", **context),
        "panel_html": render_template("counter/_panel.html", **context),
        "status": case.status,
        "status_label": STATUS_LABELS[case.status],
    }


# How refusals are answered (see app.errors.answered_by and app.web's one handler).


def stay_on_case(error: DomainError) -> Any:
    """Show the refusal on the case page the staff member came from."""
    flash(error.message)
    return redirect(url_for("counter.case", case_id=(request.view_args or {})["case_id"]))


def workspace_refusal(error: DomainError) -> Any:
    """Answer a workspace fetch: the script shows ``error`` next to the control."""
    return jsonify(ok=False, code=error.code, error=error.message), error.status


def answer_refusal(error: DomainError) -> Any:
    """Answer a refused answer with the fact's current revision, so the script can retry."""
    fact_id = request.form.get("fact", "")
    current = db.session.get(Case, (request.view_args or {})["case_id"])
    existing = stored_facts(current).get(fact_id) if current is not None else None
    return jsonify(
        ok=False,
        fact=fact_id,
        code=error.code,
        error=error.message,
        revision=existing.revision if existing else 0,
    ), error.status


def scan_problem(error: DomainError) -> Any:
    """Answer a refused scan or still in the video counter's shape."""
    return jsonify(error={"code": error.status, "message": error.message}), error.status


def scan_confirm_problem(error: DomainError) -> Any:
    """Answer a refused scan confirmation: 409 when a value may not change, else 400."""
    status = 409 if error.code in ("locked", "not_editable") else 400
    return jsonify(error={"code": status, "message": error.message}), status

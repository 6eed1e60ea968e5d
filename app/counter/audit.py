"""Counter view of a case's audit trail: every read, change and status move."""

from __future__ import annotations

from flask import render_template

from app.auth.access import allow
from app.counter.blueprint import bp
from app.counter.context import case_or_404, ruleset
from app.services.cases import audit_events, fact_history, stored_facts


@bp.route("/cases/<int:case_id>/audit")
@allow("counter")
def audit_trail(case_id: int):
    rules = ruleset()
    current = case_or_404(case_id)
    return render_template(
        "counter/audit.html",
        case=current,
        events=audit_events(current),
        changes=fact_history(current),
        facts=stored_facts(current),
        ruleset=rules,
    )

"""Views of the counter workspace (窓口): open a case, interview, see procedures and forms."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.auth.access import allow
from app.counter.fact_forms import fact_form_class, raw_answer
from app.counter.forms import NewCaseForm, ReasonForm
from app.counter.workspace import (
    PROVENANCE_LABELS,
    dom_id,
    interview_sections,
    procedures_by_department,
    wareki,
    why_facts,
)
from app.engine import LoadError, RuleSet
from app.extensions import db
from app.models import AuditEvent, Case
from app.services.cases import (
    STATUS_LABELS,
    TRANSITIONS,
    CaseError,
    change_status,
    fact_history,
    open_case,
    record_paper_signature,
    stored_facts,
)
from app.services.interview import add_member, answer, evaluate_stored, fact_def_for
from app.services.routing import issue_case, mark_done, worklist
from app.services.rules import current_ruleset

bp = Blueprint("counter", __name__, url_prefix="/counter")
# Statuses reached only through their own step (a signature, issuing), not a plain button.
FLOW_ONLY = frozenset({"signed", "issued"})


def _ruleset() -> RuleSet:
    try:
        return current_ruleset(current_app._get_current_object())  # type: ignore[attr-defined]
    except LoadError:
        current_app.logger.exception("procedure rules unavailable")
        abort(503)


def _case(case_id: int) -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        abort(404)
    return case


def _actor() -> str:
    return str(current_user.username)


@bp.app_template_filter("wareki")
def _wareki_filter(day: date | None) -> str:
    return wareki(day)


@bp.route("/")
@allow("counter")
def index():
    ruleset = _ruleset()
    form = NewCaseForm()
    form.events.choices = [SelectChoice(e.id, e.title) for e in ruleset.events.values()]
    cases = db.session.scalars(
        select(Case)
        .where(Case.status.not_in(("closed", "cancelled")))
        .order_by(Case.updated_at.desc())
        .limit(50)
    ).all()
    return render_template(
        "counter/index.html",
        form=form,
        cases=cases,
        status_labels=STATUS_LABELS,
        events={e.id: e.title for e in ruleset.events.values()},
    )


@bp.route("/cases", methods=["POST"])
@allow("counter")
def create_case():
    ruleset = _ruleset()
    form = NewCaseForm()
    form.events.choices = [SelectChoice(e.id, e.title) for e in ruleset.events.values()]
    if not form.validate_on_submit():
        cases: list[Case] = []
        return render_template(
            "counter/index.html",
            form=form,
            cases=cases,
            status_labels=STATUS_LABELS,
            events={e.id: e.title for e in ruleset.events.values()},
        ), 400
    unknown = [e for e in form.events.data or [] if e not in ruleset.events]
    if unknown:
        abort(400)
    now = datetime.now()
    case = open_case(
        current_user.id,
        list(form.events.data or []),
        form.channel.data or "counter",
        now.date(),
        now,
        _actor(),
    )
    return redirect(url_for("counter.case", case_id=case.id))


def _workspace_context(ruleset: RuleSet, case: Case) -> dict[str, Any]:
    result = evaluate_stored(ruleset, case)
    facts = stored_facts(case)
    return {
        "case": case,
        "ruleset": ruleset,
        "result": result,
        "sections": interview_sections(ruleset, result, facts),
        "departments": procedures_by_department(ruleset, result),
        "why_lines": {p.key: why_facts(ruleset, p.why.facts, facts) for p in result.procedures},
        "facts": facts,
        "status_labels": STATUS_LABELS,
        "next_statuses": sorted(TRANSITIONS.get(case.status, frozenset()) - FLOW_ONLY),
        "provenance_labels": PROVENANCE_LABELS,
        "roles": ruleset.roles,
        "events": {e.id: e.title for e in ruleset.events.values()},
    }


@bp.route("/cases/<int:case_id>")
@allow("counter")
def case(case_id: int):
    ruleset = _ruleset()
    current = _case(case_id)
    db.session.add(
        AuditEvent(
            case_id=current.id, actor=_actor(), action="case_viewed", detail={}, at=datetime.now()
        )
    )
    db.session.commit()
    return render_template(
        "counter/case.html", reason_form=ReasonForm(), **_workspace_context(ruleset, current)
    )


def _fragments(ruleset: RuleSet, case: Case) -> dict[str, str]:
    context = _workspace_context(ruleset, case)
    return {
        "questions_html": render_template("counter/_questions.html", **context),
        "panel_html": render_template("counter/_panel.html", **context),
        "status": case.status,
        "status_label": STATUS_LABELS[case.status],
    }


@bp.route("/cases/<int:case_id>/answer", methods=["POST"])
@allow("counter")
def answer_fact(case_id: int):
    ruleset = _ruleset()
    current = _case(case_id)
    fact_id = request.form.get("fact", "")
    try:
        fact = fact_def_for(ruleset, fact_id)
        form = fact_form_class(ruleset, fact)(request.form, prefix=dom_id(fact_id))
        revision = request.form.get("revision")
        stored = answer(
            ruleset,
            current,
            fact_id,
            raw_answer(form),
            actor=_actor(),
            now=datetime.now(),
            expected_revision=int(revision) if revision not in (None, "") else None,
            reason=request.form.get("reason") or None,
        ).fact
    except CaseError as error:
        facts = stored_facts(current)
        existing = facts.get(fact_id)
        return jsonify(
            ok=False,
            fact=fact_id,
            code=error.code,
            error=error.message,
            revision=existing.revision if existing else 0,
        ), 409 if error.code == "conflict" else 422
    return jsonify(ok=True, fact=fact_id, revision=stored.revision, **_fragments(ruleset, current))


@bp.route("/cases/<int:case_id>/members", methods=["POST"])
@allow("counter")
def add_household_member(case_id: int):
    ruleset = _ruleset()
    current = _case(case_id)
    try:
        index = add_member(
            ruleset, current, request.form.getlist("roles"), actor=_actor(), now=datetime.now()
        )
    except CaseError as error:
        return jsonify(ok=False, code=error.code, error=error.message), 422
    return jsonify(ok=True, person=index, **_fragments(ruleset, current))


@bp.route("/cases/<int:case_id>/status", methods=["POST"])
@allow("counter")
def set_status(case_id: int):
    current = _case(case_id)
    to = request.form.get("to", "")
    if to in FLOW_ONLY:  # signing and issuing have their own steps
        abort(400)
    try:
        change_status(
            current,
            to,
            actor=_actor(),
            now=datetime.now(),
            reason=request.form.get("reason") or None,
        )
    except CaseError as error:
        flash(error.message)
    else:
        flash(f"状態を「{STATUS_LABELS[to]}」にしました。")
    return redirect(url_for("counter.case", case_id=case_id))


@bp.route("/cases/<int:case_id>/audit")
@allow("counter")
def audit_trail(case_id: int):
    ruleset = _ruleset()
    current = _case(case_id)
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.case_id == current.id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    ).all()
    changes = fact_history(current)
    facts = stored_facts(current)
    return render_template(
        "counter/audit.html",
        case=current,
        events=events,
        changes=changes,
        facts=facts,
        ruleset=ruleset,
        status_labels=STATUS_LABELS,
        provenance_labels=PROVENANCE_LABELS,
    )


@bp.route("/cases/<int:case_id>/paper-signature", methods=["POST"])
@allow("counter")
def paper_signature(case_id: int):
    current = _case(case_id)
    try:
        record_paper_signature(current, actor=_actor(), now=datetime.now())
    except CaseError as error:
        flash(error.message)
    else:
        flash("紙の書類に署名をいただいたことを記録しました。")
    return redirect(url_for("counter.case", case_id=case_id))


@bp.route("/cases/<int:case_id>/issue", methods=["POST"])
@allow("counter")
def issue(case_id: int):
    ruleset = _ruleset()
    current = _case(case_id)
    try:
        routed = issue_case(
            current, evaluate_stored(ruleset, current), actor=_actor(), now=datetime.now()
        )
    except CaseError as error:
        flash(error.message)
    else:
        flash(f"交付しました。{len(routed)}件の手続を各課に回付しました。")
    return redirect(url_for("counter.case", case_id=case_id))


@bp.route("/departments/")
@allow("counter", "admin")
def departments():
    ruleset = _ruleset()
    counts = {d: len(worklist(d)) for d in ruleset.municipality.departments}
    return render_template(
        "counter/departments.html",
        departments=ruleset.municipality.departments.values(),
        counts=counts,
    )


def _department(department_id: str) -> Any:
    department = _ruleset().municipality.departments.get(department_id)
    if department is None:
        abort(404)
    return department


@bp.route("/departments/<department_id>/")
@allow("counter", "admin")
def department_worklist(department_id: str):
    department = _department(department_id)
    items = worklist(department_id, include_done=request.args.get("all") == "1")
    return render_template("counter/worklist.html", department=department, items=items)


@bp.route("/departments/<department_id>/worklist.json")
@allow("counter", "admin")
def department_worklist_json(department_id: str):
    department = _department(department_id)
    items = worklist(department_id, include_done=request.args.get("all") == "1")
    return jsonify(department=department.to_json(), items=items)


@bp.route("/departments/<department_id>/worklist.csv")
@allow("counter", "admin")
def department_worklist_csv(department_id: str):
    _department(department_id)
    items = worklist(department_id, include_done=request.args.get("all") == "1")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["受付番号", "手続ID", "手続", "期限", "自動", "書類", "状態", "回付日時"])
    for i in items:
        writer.writerow(
            [
                i["case_number"],
                i["procedure_key"],
                i["title"],
                i["deadline"] or "",
                "自動" if i["automatic"] else "",
                " ".join(i["forms"]),
                "処理済み" if i["status"] == "done" else "未処理",
                i["routed_at"],
            ]
        )
    # A BOM so that spreadsheet software on office PCs opens the Japanese text as UTF-8.
    body = "\ufeff" + buffer.getvalue()
    return Response(
        body.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="worklist-{department_id}.csv"'},
    )


@bp.route("/routed/<int:routed_id>/done", methods=["POST"])
@allow("counter", "admin")
def routed_done(routed_id: int):
    try:
        routed = mark_done(routed_id, actor=_actor(), now=datetime.now())
    except CaseError:
        abort(404)
    return redirect(url_for("counter.department_worklist", department_id=routed.department_id))

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
from app.counter.forms import NewCaseForm, ReasonForm, RegistrySearchForm
from app.counter.workspace import (
    PROVENANCE_LABELS,
    dom_id,
    interview_sections,
    procedures_by_department,
    wareki,
    why_facts,
)
from app.documents import documents
from app.engine import LoadError, Result, RuleSet
from app.extensions import db
from app.media.server import media_server
from app.models import AuditEvent, Case
from app.registry.adapter import HouseholdRecord
from app.services.case_documents import cover_pdf, form_html, packet_pdf
from app.services.cases import (
    STATUS_LABELS,
    TRANSITIONS,
    CaseError,
    StoredFact,
    change_status,
    fact_history,
    open_case,
    record_paper_signature,
    stored_facts,
)
from app.services.interview import (
    Answer,
    add_member,
    answer,
    assign_role,
    evaluate_stored,
    fact_def_for,
    find_households,
    household_summary,
    import_household,
    set_roles,
)
from app.services.registry import resident_registry
from app.services.routing import issue_case, mark_done, worklist
from app.services.rules import current_ruleset

bp = Blueprint("counter", __name__, url_prefix="/counter")
# Statuses reached only through their own step (a signature, issuing), not a plain button.
FLOW_ONLY = frozenset({"signed", "issued"})
MAX_SHOWN = 2000  # rows a browser may say it shows; a household has a few hundred at most


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
def _wareki_filter(day: date | str | None) -> str:
    if isinstance(day, str):
        day = date.fromisoformat(day) if day else None
    return wareki(day)


def _dashboard(ruleset: RuleSet, form: NewCaseForm, search: RegistrySearchForm) -> str:
    households: list[HouseholdRecord] = []
    searched = bool(search.name.data or search.birth_date.data or search.code.data)
    if searched:
        try:
            households = find_households(
                resident_registry(),
                search.name.data or "",
                search.birth_date.data or "",
                search.code.data or "",
                as_of=date.today(),
            )
        except CaseError as error:
            search.name.errors = [error.message]
        db.session.add(
            AuditEvent(
                case_id=None,
                actor=_actor(),
                action="registry_search",
                detail={"hits": len(households)},
                at=datetime.now(),
            )
        )
        db.session.commit()
    cases = db.session.scalars(
        select(Case)
        .where(Case.status.not_in(("closed", "cancelled")))
        .order_by(Case.updated_at.desc())
        .limit(50)
    ).all()
    return render_template(
        "counter/index.html",
        form=form,
        search=search,
        households=households,
        searched=searched,
        cases=cases,
        status_labels=STATUS_LABELS,
        events={e.id: e.title for e in ruleset.events.values()},
        summary=household_summary,
    )


def _new_case_form(ruleset: RuleSet) -> NewCaseForm:
    form = NewCaseForm()
    form.events.choices = [SelectChoice(e.id, e.title) for e in ruleset.events.values()]
    return form


@bp.route("/")
@allow("counter")
def index():
    ruleset = _ruleset()
    return _dashboard(ruleset, _new_case_form(ruleset), RegistrySearchForm(request.args))


@bp.route("/cases", methods=["POST"])
@allow("counter")
def create_case():
    ruleset = _ruleset()
    form = _new_case_form(ruleset)
    if not form.validate_on_submit():
        return _dashboard(ruleset, form, RegistrySearchForm()), 400
    if any(e not in ruleset.events for e in form.events.data or []):
        abort(400)
    record = None
    if form.registry_code.data:
        record = resident_registry().find_by_juminhyo_code(form.registry_code.data)
        if record is None:
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
    if record is not None:
        import_household(ruleset, case, record, actor=_actor(), now=now)
    return redirect(url_for("counter.case", case_id=case.id))


@bp.route("/cases/<int:case_id>/roles/<role>", methods=["POST"])
@allow("counter")
def assign_member_role(case_id: int, role: str):
    ruleset = _ruleset()
    current = _case(case_id)
    person = request.form.get("person", "")
    try:
        index = assign_role(
            ruleset,
            current,
            role,
            None if person == "new" else int(person),
            actor=_actor(),
            now=datetime.now(),
        )
    except (CaseError, ValueError) as error:
        message = error.message if isinstance(error, CaseError) else "世帯員を選んでください。"
        return jsonify(ok=False, error=message), 422
    return jsonify(ok=True, person=index, **_fragments(ruleset, current))


@bp.route("/cases/<int:case_id>/members/<int:index>/roles", methods=["POST"])
@allow("counter")
def member_roles(case_id: int, index: int):
    ruleset = _ruleset()
    current = _case(case_id)
    try:
        set_roles(
            ruleset,
            current,
            index,
            request.form.getlist("roles"),
            actor=_actor(),
            now=datetime.now(),
        )
    except CaseError as error:
        return jsonify(ok=False, code=error.code, error=error.message), 422
    return jsonify(ok=True, person=index, **_fragments(ruleset, current))


def _workspace_context(
    ruleset: RuleSet,
    case: Case,
    result: Result | None = None,
    facts: dict[str, StoredFact] | None = None,
    shown: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    if facts is None:
        facts = stored_facts(case)
    if result is None:
        result = evaluate_stored(ruleset, case, facts)
    return {
        "case": case,
        "ruleset": ruleset,
        "result": result,
        "sections": interview_sections(ruleset, result, facts, shown),
        "departments": procedures_by_department(ruleset, result),
        "why_lines": {p.key: why_facts(ruleset, p.why.facts, facts) for p in result.procedures},
        "facts": facts,
        "status_labels": STATUS_LABELS,
        "next_statuses": []
        if case.purged_at  # nothing left to reopen
        else sorted(TRANSITIONS.get(case.status, frozenset()) - FLOW_ONLY),
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


def _fragments(ruleset: RuleSet, case: Case, done: Answer | None = None) -> dict[str, str]:
    # The rows the browser shows now (their keys): unchanged ones come back as
    # placeholders, so a redraw after an answer carries only what changed.
    shown = frozenset(request.form.get("shown", "").split()[:MAX_SHOWN])
    if done is not None:
        context = _workspace_context(ruleset, case, done.result, done.facts, shown)
    else:
        context = _workspace_context(ruleset, case, shown=shown)
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
        done = answer(
            ruleset,
            current,
            fact_id,
            raw_answer(form),
            actor=_actor(),
            now=datetime.now(),
            expected_revision=int(revision) if revision not in (None, "") else None,
            reason=request.form.get("reason") or None,
        )
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
    return jsonify(
        ok=True, fact=fact_id, revision=done.fact.revision, **_fragments(ruleset, current, done)
    )


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
        if to in ("closed", "cancelled"):
            media_server().close_case(case_id)  # hang up the call of a finished case
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


def _document_audit(case: Case, action: str, detail: dict[str, Any]) -> None:
    db.session.add(
        AuditEvent(case_id=case.id, actor=_actor(), action=action, detail=detail, at=datetime.now())
    )
    db.session.commit()


@bp.route("/cases/<int:case_id>/forms/<key>")
@allow("counter")
def form_preview(case_id: int, key: str):
    ruleset = _ruleset()
    current = _case(case_id)
    result = evaluate_stored(ruleset, current)
    filled = result.form(key)
    html = form_html(ruleset, current, result, key)
    if filled is None or html is None:
        abort(404)
    _document_audit(current, "document_viewed", {"form": key})
    template = documents().catalog.form(filled.template)
    return render_template(
        "counter/form.html", case=current, form=filled, form_html=html, template=template
    )


def _pdf_response(pdf: bytes, filename: str) -> Response:
    disposition = "attachment" if request.args.get("download") else "inline"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f"{disposition}; filename={filename}"},
    )


@bp.route("/cases/<int:case_id>/packet.pdf")
@allow("counter")
def packet(case_id: int):
    ruleset = _ruleset()
    current = _case(case_id)
    result = evaluate_stored(ruleset, current)
    pdf = packet_pdf(ruleset, current, result)
    action = "document_printed" if request.args.get("print") else "packet_viewed"
    _document_audit(current, action, {"forms": [f.key for f in result.forms]})
    return _pdf_response(pdf, f"packet-{current.number}.pdf")


@bp.route("/cases/<int:case_id>/cover.pdf")
@allow("counter")
def cover(case_id: int):
    ruleset = _ruleset()
    current = _case(case_id)
    result = evaluate_stored(ruleset, current)
    _document_audit(current, "cover_viewed", {})
    return _pdf_response(cover_pdf(ruleset, current, result), f"cover-{current.number}.pdf")

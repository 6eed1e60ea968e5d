"""Counter views of the departments' worklists: the procedures routed to each, as a page,
JSON or CSV, and marking one done."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, jsonify, redirect, render_template, request, url_for

from app import clock
from app.auth.access import allow
from app.counter.blueprint import bp
from app.counter.context import actor, ruleset
from app.services.routing import mark_done, worklist, worklist_counts, worklist_csv


def _department(department_id: str) -> Any:
    department = ruleset().municipality.departments.get(department_id)
    if department is None:
        abort(404)
    return department


def _include_done() -> bool:
    return request.args.get("all") == "1"


@bp.route("/departments/")
@allow("counter", "admin")
def departments():
    rules = ruleset()
    return render_template(
        "counter/departments.html",
        departments=rules.municipality.departments.values(),
        counts=worklist_counts(list(rules.municipality.departments)),
    )


@bp.route("/departments/<department_id>/")
@allow("counter", "admin")
def department_worklist(department_id: str):
    department = _department(department_id)
    items = worklist(department_id, include_done=_include_done())
    titles = {key: form.title for key, form in ruleset().forms.items()}
    for item in items:
        item["form_links"] = [(titles.get(f, "書類"), _form_key(item, f)) for f in item["forms"]]
    return render_template("counter/worklist.html", department=department, items=items)


def _form_key(item: dict[str, Any], form_id: str) -> str:
    """Return a routed form's key in its case: ``id[N]`` for a member's procedure's form."""
    key = item["procedure_key"]
    return form_id + key[key.index("[") :] if "[" in key else form_id


@bp.route("/departments/<department_id>/worklist.json")
@allow("counter", "admin")
def department_worklist_json(department_id: str):
    department = _department(department_id)
    items = worklist(department_id, include_done=_include_done())
    return jsonify(department=department.to_json(), items=items)


@bp.route("/departments/<department_id>/worklist.csv")
@allow("counter", "admin")
def department_worklist_csv(department_id: str):
    _department(department_id)
    return Response(
        worklist_csv(department_id, include_done=_include_done()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="worklist-{department_id}.csv"'},
    )


@bp.route("/routed/<int:routed_id>/done", methods=["POST"])
@allow("counter", "admin")
def routed_done(routed_id: int):
    routed = mark_done(routed_id, actor=actor(), now=clock.now())
    return redirect(url_for("counter.department_worklist", department_id=routed.department_id))

"""Counter views of the interview: answers, household members and their roles.

These answer the workspace script's fetches with JSON carrying the redrawn fragments.
"""

from __future__ import annotations

from flask import jsonify, request

from app import clock
from app.auth.access import allow
from app.counter.blueprint import bp
from app.counter.context import (
    actor,
    answer_refusal,
    case_or_404,
    fragments,
    kept_after_commit,
    ruleset,
    workspace_refusal,
)
from app.counter.fact_forms import fact_form_class, raw_answer
from app.counter.workspace import dom_id
from app.errors import answered_by
from app.services.cases import CaseError
from app.services.interview import add_member, answer, assign_role, fact_def_for, set_roles


@bp.route("/cases/<int:case_id>/roles/<role>", methods=["POST"])
@answered_by(workspace_refusal)
@allow("counter")
def assign_member_role(case_id: int, role: str):
    rules = ruleset()
    current = case_or_404(case_id)
    person = request.form.get("person", "")
    try:
        member = None if person == "new" else int(person)
    except ValueError:
        raise CaseError("no_person", "世帯員を選んでください。") from None
    index = assign_role(
        rules,
        current,
        role,
        member,
        actor=actor(),
        now=clock.now(),
    )
    return jsonify(ok=True, person=index, **fragments(rules, current))


@bp.route("/cases/<int:case_id>/members/<int:index>/roles", methods=["POST"])
@answered_by(workspace_refusal)
@allow("counter")
def member_roles(case_id: int, index: int):
    rules = ruleset()
    current = case_or_404(case_id)
    set_roles(rules, current, index, request.form.getlist("roles"), actor=actor(), now=clock.now())
    return jsonify(ok=True, person=index, **fragments(rules, current))


@bp.route("/cases/<int:case_id>/answer", methods=["POST"])
@answered_by(answer_refusal)
@allow("counter")
@kept_after_commit
def answer_fact(case_id: int):
    rules = ruleset()
    current = case_or_404(case_id)
    fact_id = request.form.get("fact", "")
    fact = fact_def_for(rules, fact_id)
    form = fact_form_class(rules, fact)(request.form, prefix=dom_id(fact_id))
    revision = request.form.get("revision") or ""
    if revision and not (revision.isascii() and revision.isdigit() and len(revision) <= 9):
        # The page sends the revision it showed; anything else is a stale or altered page.
        raise CaseError(
            "bad_revision",
            "画面の情報が古いか正しくありません。再読み込みしてから入力してください。",
        )
    done = answer(
        rules,
        current,
        fact_id,
        raw_answer(form),
        actor=actor(),
        now=clock.now(),
        expected_revision=int(revision) if revision else None,
        reason=request.form.get("reason") or None,
    )
    return jsonify(
        ok=True, fact=fact_id, revision=done.fact.revision, **fragments(rules, current, done)
    )


@bp.route("/cases/<int:case_id>/members", methods=["POST"])
@answered_by(workspace_refusal)
@allow("counter")
def add_household_member(case_id: int):
    rules = ruleset()
    current = case_or_404(case_id)
    index = add_member(
        rules, current, request.form.getlist("roles"), actor=actor(), now=clock.now()
    )
    return jsonify(ok=True, person=index, **fragments(rules, current))

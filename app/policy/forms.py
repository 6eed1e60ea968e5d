"""「様式を追加する」: a new form in a draft, from the browser (app.services.ruleset_forms)."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for

from app import clock
from app.auth.access import allow
from app.errors import DomainError, answered_by
from app.policy.blueprint import bp
from app.policy.context import actor, flash_and_stay, version_or_404
from app.services.ruleset_forms import add_form, form_ids, parse_new_form
from app.services.ruleset_procedures import procedures


def _page(version_id: int, typed: Any = None, refusal: DomainError | None = None) -> str:
    version = version_or_404(version_id)
    return render_template(
        "policy/new_form.html",
        version=version,
        forms=form_ids(version),
        procedures=sorted(procedures(version), key=lambda p: p.id),
        typed=typed or {},
        refusal=refusal,
    )


def keep_typed_form(error: DomainError) -> Any:
    """Show the form again with what was typed and why the form was not added."""
    args = request.view_args or {}
    try:
        return _page(args["version_id"], request.form, error), error.status
    except DomainError:
        return flash_and_stay(error)


@bp.route("/versions/<int:version_id>/forms/new")
@allow("policy")
@answered_by(flash_and_stay)
def new_form(version_id: int):
    return _page(version_id)


@bp.route("/versions/<int:version_id>/forms/new", methods=["POST"])
@allow("policy")
@answered_by(keep_typed_form)
def create_form(version_id: int):
    new = parse_new_form(request.form)
    add_form(
        version_or_404(version_id),
        new,
        actor=actor(),
        now=clock.now(),
        limit=int(current_app.config["POLICY_FILE_LIMIT"]),
    )
    flash(
        f"様式 {new.form_id}（{new.title}）を追加し、手続 {new.procedure} の forms: に加えました。"
        "項目は form_definitions の定義で、紙の見た目はひな形（template.html）で直します。"
    )
    return redirect(
        url_for("policy.file", version_id=version_id, name=f"form_definitions/{new.form_id}.yaml")
    )

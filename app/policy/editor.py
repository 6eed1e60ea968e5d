"""The file editor (CodeMirror) and the plain forms that write a draft's YAML for the user."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for

from app import clock
from app.auth.access import allow
from app.errors import DomainError, answered_by
from app.policy.blueprint import bp
from app.policy.context import actor, flash_and_stay, version_or_404
from app.services.ruleset_municipality import parse_profile, profile, save_profile
from app.services.ruleset_params import parse_dated_values, save_parameter_values
from app.services.ruleset_procedures import FIELDS, parse_words, save_procedure_words
from app.services.ruleset_store import file_of, files_of, save_file
from app.services.ruleset_templates import preview_typed
from app.services.ruleset_workspace import (
    file_page,
    municipality_page,
    parameter_page,
    procedure_page,
)


def _revision() -> int | None:
    raw = request.form.get("revision", "")
    return int(raw) if raw.isdigit() else None


def keep_typed_text(error: DomainError) -> Any:
    """Show the editor again with what the person typed and why it was not saved."""
    args = request.view_args or {}
    try:
        version = version_or_404(args["version_id"])
        page = file_page(
            version, args["name"], current_app.config, text=request.form.get("text", "")
        )
    except DomainError:  # no such version or file: nothing typed to keep on that page
        return flash_and_stay(error)
    page["typed_revision"] = request.form.get("revision", "")
    return render_template("policy/file.html", **page, refusal=error), error.status


@bp.route("/versions/<int:version_id>/files/<path:name>")
@allow("policy")
def file(version_id: int, name: str):
    return render_template(
        "policy/file.html", **file_page(version_or_404(version_id), name, current_app.config)
    )


@bp.route("/versions/<int:version_id>/files/<path:name>", methods=["POST"])
@allow("policy")
@answered_by(keep_typed_text)
def save(version_id: int, name: str):
    # Browsers send text areas with CRLF line ends; the files keep LF.
    text = request.form.get("text", "").replace("\r\n", "\n")
    save_file(
        version_or_404(version_id),
        name,
        text.encode("utf-8"),
        expected_revision=_revision(),
        actor=actor(),
        now=clock.now(),
        limit=int(current_app.config["POLICY_FILE_LIMIT"]),
    )
    flash(f"{name} を保存しました。下書き全体を検査した結果を下に表示しています。")
    return redirect(url_for("policy.file", version_id=version_id, name=name))


@bp.route("/versions/<int:version_id>/parameters/<param_id>")
@allow("policy")
def parameter(version_id: int, param_id: str):
    return render_template(
        "policy/parameter.html", **parameter_page(version_or_404(version_id), param_id)
    )


def keep_typed_values(error: DomainError) -> Any:
    """Show the parameter form again with the rows as typed and why they were not saved."""
    args = request.view_args or {}
    try:
        page = parameter_page(version_or_404(args["version_id"]), args["param_id"])
    except DomainError:
        return flash_and_stay(error)
    rows = list(
        zip(request.form.getlist("valid_from"), request.form.getlist("value"), strict=False)
    )
    return render_template("policy/parameter.html", **page, typed=rows, refusal=error), error.status


@bp.route("/versions/<int:version_id>/parameters/<param_id>", methods=["POST"])
@allow("policy")
@answered_by(keep_typed_values)
def save_parameter(version_id: int, param_id: str):
    rows = list(
        zip(request.form.getlist("valid_from"), request.form.getlist("value"), strict=False)
    )
    save_parameter_values(
        version_or_404(version_id),
        param_id,
        parse_dated_values(rows),
        expected_revision=_revision() or 0,
        actor=actor(),
        now=clock.now(),
        limit=int(current_app.config["POLICY_FILE_LIMIT"]),
    )
    flash(f"パラメータ {param_id} の値を保存しました（procedure_rules/parameters.yaml）。")
    return redirect(url_for("policy.version", version_id=version_id))


@bp.route("/versions/<int:version_id>/procedures/<procedure_id>")
@allow("policy")
@answered_by(flash_and_stay)
def procedure(version_id: int, procedure_id: str):
    page = procedure_page(version_or_404(version_id), procedure_id, current_app.config)
    return render_template("policy/procedure.html", **page)


def keep_typed_words(error: DomainError) -> Any:
    """Show the procedure form again with what was typed and why it was not saved."""
    args = request.view_args or {}
    try:
        page = procedure_page(
            version_or_404(args["version_id"]), args["procedure_id"], current_app.config
        )
    except DomainError:
        return flash_and_stay(error)
    page["values"] = {key: request.form.get(key, "") for key in FIELDS}
    return render_template("policy/procedure.html", **page, refusal=error), error.status


@bp.route("/versions/<int:version_id>/procedures/<procedure_id>", methods=["POST"])
@allow("policy")
@answered_by(keep_typed_words)
def save_procedure(version_id: int, procedure_id: str):
    item = save_procedure_words(
        version_or_404(version_id),
        procedure_id,
        parse_words(request.form),
        expected_revision=_revision() or 0,
        actor=actor(),
        now=clock.now(),
        limit=int(current_app.config["POLICY_FILE_LIMIT"]),
    )
    flash(
        f"手続 {procedure_id} の文言を保存しました（{item.name}）。下に検査の結果を表示しています。"
    )
    return redirect(url_for("policy.procedure", version_id=version_id, procedure_id=procedure_id))


@bp.route("/versions/<int:version_id>/municipality")
@allow("policy")
@answered_by(flash_and_stay)
def municipality(version_id: int):
    page = municipality_page(version_or_404(version_id), current_app.config)
    return render_template("policy/municipality.html", **page)


def keep_typed_profile(error: DomainError) -> Any:
    """Show the profile form again with why it was not saved (the rows as typed)."""
    args = request.view_args or {}
    try:
        page = municipality_page(version_or_404(args["version_id"]), current_app.config)
    except DomainError:
        return flash_and_stay(error)
    return render_template(
        "policy/municipality.html", **page, typed=request.form, refusal=error
    ), error.status


@bp.route("/versions/<int:version_id>/municipality", methods=["POST"])
@allow("policy")
@answered_by(keep_typed_profile)
def save_municipality(version_id: int):
    version = version_or_404(version_id)
    save_profile(
        version,
        parse_profile(request.form, profile(version).options),
        expected_revision=_revision() or 0,
        actor=actor(),
        now=clock.now(),
        limit=int(current_app.config["POLICY_FILE_LIMIT"]),
    )
    flash(
        "市の設定を保存しました（procedure_rules/municipality.yaml）。下に検査の結果を表示しています。"
    )
    return redirect(url_for("policy.municipality", version_id=version_id))


@bp.route("/versions/<int:version_id>/files/<path:name>/preview", methods=["POST"])
@allow("policy")
@answered_by(flash_and_stay)
def preview_typed_template(version_id: int, name: str):
    """The form of a template file as a PDF with what is typed in the editor, not saved."""
    version = version_or_404(version_id)
    file_of(version, name)  # 404 in Japanese for a file the version does not have
    text = request.form.get("text", "").replace("\r\n", "\n")
    pdf, problem = preview_typed(files_of(version), name, text)
    if pdf is not None:
        response = Response(pdf, mimetype="application/pdf")
        response.headers["Cache-Control"] = "private, no-store"
        return response
    assert problem is not None
    return render_template("policy/preview_problem.html", problem=problem), 422

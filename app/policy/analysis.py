"""What a draft would change: the impact report, one case side by side, the diff."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from flask import Response, current_app, flash, redirect, render_template, request, url_for

from app import clock
from app.auth.access import allow
from app.errors import DomainError, answered_by
from app.policy.blueprint import bp
from app.policy.context import actor, flash_and_stay, version_or_404
from app.services.case_scenario import save_case_as_scenario
from app.services.impact import KIND_LABELS, compare_page, impact_report
from app.services.policy_preview import form_preview
from app.services.ruleset_diff import diff_versions
from app.services.ruleset_store import get_version, latest_published
from app.services.ruleset_workspace import draft_ruleset


@bp.route("/versions/<int:version_id>/impact")
@allow("policy")
@answered_by(flash_and_stay)
def impact(version_id: int):
    version = version_or_404(version_id)
    draft = draft_ruleset(version, current_app.config)
    report = impact_report(
        current_app,
        draft,
        cases=int(current_app.config["POLICY_IMPACT_CASES"]),
        actor=actor(),
        now=clock.now(),
        version_name=version.name,
    )
    return render_template(
        "policy/impact.html", version=version, report=report, kind_labels=KIND_LABELS
    )


@bp.route("/versions/<int:version_id>/publish")
@allow("policy")
@answered_by(flash_and_stay)
def publish_confirm(version_id: int):
    """Before publishing: the impact report once more, then the publish button."""
    version = version_or_404(version_id)
    if version.status != "approved":
        raise DomainError(
            f"版 #{version_id} は{version.status_label}なので、公開できません。",
            hint="承認済みの版だけを公開できます。",
            code="not_approved",
        )
    report = impact_report(
        current_app,
        draft_ruleset(version, current_app.config),
        cases=int(current_app.config["POLICY_IMPACT_CASES"]),
        actor=actor(),
        now=clock.now(),
        version_name=version.name,
    )
    return render_template(
        "policy/publish.html", version=version, report=report, kind_labels=KIND_LABELS
    )


@bp.route("/versions/<int:version_id>/compare")
@allow("policy")
@answered_by(flash_and_stay)
def compare(version_id: int):
    version = version_or_404(version_id)
    draft = draft_ruleset(version, current_app.config)
    raw_date = request.args.get("as_of", "").strip()
    try:
        as_of = date.fromisoformat(raw_date) if raw_date else None
    except ValueError:
        raise DomainError(
            f"日付「{raw_date}」が読めません。",
            hint="2027-04-01 のように年-月-日で入力してください。",
        ) from None
    shown = compare_page(
        current_app,
        draft,
        scenario=request.args.get("scenario", ""),
        case_number=request.args.get("case", ""),
        as_of=as_of,
        actor=actor(),
        now=clock.now(),
    )
    return render_template(
        "policy/compare.html",
        version=version,
        draft=draft,
        shown=shown,
        kind_labels=KIND_LABELS,
        args=request.args,
    )


@bp.route("/diff")
@allow("policy")
def diff():
    newer = get_version(request.args.get("b", ""))
    base_ref = request.args.get("a", "")
    older = (
        get_version(base_ref)
        if base_ref
        else (get_version(newer.parent_id) if newer.parent_id else latest_published() or newer)
    )
    return render_template(
        "policy/diff.html", a=older, b=newer, changes=diff_versions(older, newer)
    )


@bp.route("/versions/<int:version_id>/forms/<form_id>/preview.pdf")
@allow("policy")
@answered_by(flash_and_stay)
def form_pdf(version_id: int, form_id: str):
    shown = form_preview(
        current_app,
        version_or_404(version_id),
        form_id,
        case_number=request.args.get("case", ""),
        actor=actor(),
        now=clock.now(),
        config=current_app.config,
    )
    response = Response(shown.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(shown.file_name)}"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/versions/<int:version_id>/scenarios/from-case", methods=["POST"])
@allow("policy")
@answered_by(flash_and_stay)
def scenario_from_case(version_id: int):
    version = version_or_404(version_id)
    name = save_case_as_scenario(
        version,
        draft_ruleset(version, current_app.config),
        request.form.get("case", ""),
        request.form.get("name", ""),
        actor=actor(),
        now=clock.now(),
        limit=int(current_app.config["POLICY_FILE_LIMIT"]),
    )
    flash(
        "案件をシナリオとして保存しました。氏名・番号・住所は架空の値に置き換えています。"
        "期待する手続は今の判定の結果です。正しい結果に直してから承認を依頼してください。"
    )
    return redirect(url_for("policy.file", version_id=version_id, name=name))

"""Views of the policy workspace (制度所管課): versions, the timeline and the four-eyes flow.

The file editor and plain forms live in ``app.policy.editor``; impact, side-by-side and
diff in ``app.policy.analysis``; the schema's key help in ``app.policy.keyhelp``; all add to
the same blueprint.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for

from app import clock
from app.auth.access import allow
from app.errors import answered_by
from app.policy import analysis, editor, keyhelp
from app.policy.blueprint import bp
from app.policy.context import actor, flash_and_stay, form_date, version_or_404
from app.services import versions
from app.services.rules import timeline
from app.services.ruleset_store import create_draft
from app.services.ruleset_workspace import version_page, workspace_index

ROUTE_MODULES = (analysis, editor, keyhelp)
__all__ = ["ROUTE_MODULES", "bp"]


@bp.route("/")
@allow("policy")
def index():
    return render_template("policy/index.html", **workspace_index(current_app, clock.today()))


@bp.route("/versions/<int:version_id>")
@allow("policy")
def version(version_id: int):
    return render_template(
        "policy/version.html", **version_page(version_or_404(version_id), current_app.config)
    )


@bp.route("/versions/<int:version_id>/draft", methods=["POST"])
@allow("policy")
@answered_by(flash_and_stay)
def new_draft(version_id: int):
    draft = create_draft(version_or_404(version_id), actor=actor(), now=clock.now())
    flash(f"版 #{version_id} から下書き #{draft.id} を作りました。")
    return redirect(url_for("policy.version", version_id=draft.id))


@bp.route("/versions/<int:version_id>/submit", methods=["POST"])
@allow("policy")
@answered_by(flash_and_stay)
def submit(version_id: int):
    versions.submit(
        version_or_404(version_id),
        note=request.form.get("note", ""),
        effective_from=form_date("effective_from"),
        actor=actor(),
        now=clock.now(),
        config=current_app.config,
    )
    flash("承認を依頼しました。ほかの制度所管課の職員が承認すると公開できます。")
    return redirect(url_for("policy.version", version_id=version_id))


@bp.route("/versions/<int:version_id>/approve", methods=["POST"])
@allow("policy")
@answered_by(flash_and_stay)
def approve(version_id: int):
    versions.approve(
        version_or_404(version_id), actor=actor(), now=clock.now(), config=current_app.config
    )
    flash("承認しました。影響を確かめてから公開してください。")
    return redirect(url_for("policy.version", version_id=version_id))


@bp.route("/versions/<int:version_id>/publish", methods=["POST"])
@allow("policy")
@answered_by(flash_and_stay)
def publish(version_id: int):
    published = versions.publish(
        version_or_404(version_id), actor=actor(), now=clock.now(), config=current_app.config
    )
    timeline(current_app).forget()
    assert published.effective_from is not None
    flash(f"公開しました。{published.effective_from.isoformat()} 以後の申請にこの版が使われます。")
    return redirect(url_for("policy.version", version_id=version_id))


@bp.route("/versions/<int:version_id>/withdraw", methods=["POST"])
@allow("policy")
@answered_by(flash_and_stay)
def withdraw(version_id: int):
    versions.withdraw(version_or_404(version_id), actor=actor(), now=clock.now())
    flash("取り下げました。")
    return redirect(url_for("policy.version", version_id=version_id))


@bp.route("/versions/<int:version_id>/return", methods=["POST"])
@allow("policy")
@answered_by(flash_and_stay)
def return_to_draft(version_id: int):
    versions.return_to_draft(version_or_404(version_id), actor=actor(), now=clock.now())
    flash("下書きに戻しました。編集して、もう一度承認を依頼してください。")
    return redirect(url_for("policy.version", version_id=version_id))


@bp.route("/versions/<int:version_id>/rollback", methods=["POST"])
@allow("policy")
@answered_by(flash_and_stay)
def rollback(version_id: int):
    draft = versions.rollback(version_or_404(version_id), actor=actor(), now=clock.now())
    flash(
        f"版 #{version_id} の内容で下書き #{draft.id} を作りました。承認を経て公開すると元に戻ります。"
    )
    return redirect(url_for("policy.version", version_id=draft.id))

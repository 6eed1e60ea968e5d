"""The four-eyes flow of a rule-set version: submit, approve, publish, withdraw, roll back.

draft → submitted (with a change note and an effective date) → approved (by another
policy user, only when the version is lint-clean and every scenario passes) → published
(immutable from then on). Every step is audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import StaffUser
from app.models.ruleset import RuleSetVersion
from app.services.ruleset_check import VersionCheck, check_version
from app.services.ruleset_store import (
    VersionError,
    files_of,
    latest_published,
    new_version,
    record,
    require_draft,
)

NOTE_MAX = 4000


def check(version: RuleSetVersion, config: Mapping[str, Any]) -> VersionCheck:
    """Lint a version and run its scenarios within the configured budget."""
    return check_version(
        files_of(version), version.content_hash, seconds=int(config.get("POLICY_LINT_SECONDS", 30))
    )


def _require_clean(result: VersionCheck, step: str) -> None:
    """Refuse a step while the version has problems or failing scenarios."""
    if result.refused:
        raise VersionError(result.refused, code="check_refused")
    if result.problems:
        raise VersionError(
            f"ルールに {len(result.problems)} 件の問題があるので{step}できません。",
            hint="各ファイルの問題を直して保存してください。",
            code="lint_failed",
        )
    failed = result.failed_scenarios
    if failed:
        names = "、".join(s.name for s in failed[:3]) + (" ほか" if len(failed) > 3 else "")
        raise VersionError(
            f"シナリオテスト {len(failed)} 件が通らないので{step}できません（{names}）。",
            hint="ルールを直すか、変更が正しいならシナリオの期待値を直してください。",
            code="scenarios_failed",
        )


def policy_user(username: str) -> StaffUser | None:
    """Return the active policy user with this name, if there is one."""
    user = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None or user.role != "policy" or not user.active:
        return None
    return user


def submit(
    version: RuleSetVersion,
    *,
    note: str,
    effective_from: date | None,
    actor: str,
    now: datetime,
    config: Mapping[str, Any],
) -> VersionCheck:
    """Submit a draft for approval (committed) with its change note and effective date.

    :raises VersionError: not a draft, no note, no date, a date in the past, or the check fails.
    """
    require_draft(version)
    note = note.strip()
    if not note:
        raise VersionError(
            "変更の説明（何を、なぜ、根拠の条文）を書いてください。", code="note_missing"
        )
    if len(note) > NOTE_MAX:
        raise VersionError(f"変更の説明は {NOTE_MAX} 文字までにしてください。", code="note_long")
    if effective_from is None:
        raise VersionError(
            "適用開始日（この日以後の申請に使う日）を選んでください。", code="no_effective_from"
        )
    if effective_from < now.date():
        raise VersionError(
            f"適用開始日 {effective_from.isoformat()} は過去の日付です。",
            hint="過去の申請の判定は変えられません。今日以後の日付を選んでください。",
            code="effective_in_past",
        )
    result = check(version, config)
    _require_clean(result, "提出")
    version.status = "submitted"
    version.note = note
    version.effective_from = effective_from
    version.submitted_by = actor
    version.submitted_at = now
    version.updated_at = now
    record(actor, "ruleset_submitted", version, now, effective_from=effective_from.isoformat())
    db.session.commit()
    return result


def approve(
    version: RuleSetVersion, *, actor: str, now: datetime, config: Mapping[str, Any]
) -> VersionCheck:
    """Approve a submitted version (committed): another policy user, lint clean, scenarios pass.

    :raises VersionError: not submitted, the author approving, not a policy user, or the check fails.
    """
    if version.status != "submitted":
        raise VersionError(
            f"版 {version.name} は「{version.status_label}」です。承認できるのは承認待ちの版だけです。",
            code="not_submitted",
        )
    if actor in (version.created_by, version.submitted_by):
        raise VersionError(
            "自分で作成・提出した版は承認できません。",
            hint="ほかの制度所管課の職員に承認を依頼してください。",
            code="self_approval",
            status=403,
        )
    if policy_user(actor) is None:
        raise VersionError(
            "承認できるのは制度所管課の職員だけです。", code="not_policy", status=403
        )
    result = check(version, config)
    _require_clean(result, "承認")
    version.status = "approved"
    version.approved_by = actor
    version.approved_at = now
    version.updated_at = now
    record(actor, "ruleset_approved", version, now)
    db.session.commit()
    return result


def publish(
    version: RuleSetVersion,
    *,
    actor: str,
    now: datetime,
    config: Mapping[str, Any],
    effective_from: date | None = None,
    approved_by: str | None = None,
) -> RuleSetVersion:
    """Publish a version (committed): from then on it applies from its effective date.

    Refused unless the version is approved; ``approved_by`` names another policy user who
    approved it outside the app (an emergency, from the command line). When approval is not
    required (POLICY_REQUIRE_APPROVAL off) a submitted version may be published directly.

    :raises VersionError: not approved, a bad emergency approver, no date, or the check fails.
    """
    effective = effective_from or version.effective_from
    if effective is None:
        raise VersionError("適用開始日を指定してください。", code="no_effective_from")
    if approved_by is not None:
        if version.status not in ("draft", "submitted", "approved"):
            raise VersionError(
                f"版 {version.name} は「{version.status_label}」なので公開できません。",
                code="not_publishable",
            )
        if approved_by in (version.created_by, actor) or policy_user(approved_by) is None:
            raise VersionError(
                f"承認者「{approved_by}」は認められません。",
                hint="作成者・公開者とは別の、制度所管課の職員の名前を指定してください。",
                code="bad_approver",
                status=403,
            )
        _require_clean(check(version, config), "公開")
        version.approved_by = approved_by
        version.approved_at = now
        record(actor, "ruleset_emergency_approval", version, now, approved_by=approved_by)
    elif version.status != "approved":
        if not (version.status == "submitted" and not config.get("POLICY_REQUIRE_APPROVAL", True)):
            raise VersionError(
                f"版 {version.name} は「{version.status_label}」です。公開できるのは承認済みの版だけです。",
                hint="ほかの制度所管課の職員に承認してもらってください。",
                code="not_approved",
            )
        _require_clean(check(version, config), "公開")
    if effective < now.date():
        raise VersionError(
            f"適用開始日 {effective.isoformat()} は過去の日付です。",
            hint="今日以後の日付を選んでください。",
            code="effective_in_past",
        )
    version.status = "published"
    version.effective_from = effective
    version.published_by = actor
    version.published_at = now
    version.updated_at = now
    record(actor, "ruleset_published", version, now, effective_from=effective.isoformat())
    db.session.commit()
    return version


def withdraw(version: RuleSetVersion, *, actor: str, now: datetime) -> None:
    """Withdraw a version that is not published (committed).

    :raises VersionError: the version is published already.
    """
    if version.status in ("published", "withdrawn"):
        raise VersionError(
            f"版 {version.name} は「{version.status_label}」なので取り下げられません。",
            hint="公開済みの版を止めるには、前の版の内容で新しい版を作って公開してください（ロールバック）。",
            code="not_withdrawable",
        )
    version.status = "withdrawn"
    version.withdrawn_by = actor
    version.withdrawn_at = now
    version.updated_at = now
    record(actor, "ruleset_withdrawn", version, now)
    db.session.commit()


def return_to_draft(version: RuleSetVersion, *, actor: str, now: datetime) -> None:
    """Send a submitted or approved version back to draft so it can be edited (committed).

    :raises VersionError: the version is not submitted or approved.
    """
    if version.status not in ("submitted", "approved"):
        raise VersionError(
            f"版 {version.name} は「{version.status_label}」なので下書きに戻せません。",
            code="not_returnable",
        )
    version.status = "draft"
    version.approved_by = version.approved_at = None
    version.updated_at = now
    record(actor, "ruleset_returned", version, now)
    db.session.commit()


def rollback(target: RuleSetVersion, *, actor: str, now: datetime) -> RuleSetVersion:
    """Start a draft (committed) whose content is an earlier version's; it needs approval too."""
    parent = latest_published()
    draft = new_version(
        files_of(target),
        actor=actor,
        now=now,
        parent=parent,
        note=f"版 {target.name}（#{target.id}）の内容に戻す",
    )
    record(actor, "ruleset_rollback_started", draft, now, content_of=target.name)
    db.session.commit()
    return draft

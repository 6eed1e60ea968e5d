"""Four eyes and the dated publish: submit, approve, publish, effective dates, rollback."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from flask import Flask

from app.extensions import db
from app.models import AuditEvent
from app.services import versions
from app.services.rules import ruleset_for, version_in_force
from app.services.ruleset_check import check_version
from app.services.ruleset_store import (
    VersionError,
    create_draft,
    files_of,
    latest_published,
    save_file,
)
from tests.policy.conftest import NOW, forget_timeline, version

D = date(2027, 4, 1)


def _publish_through_four_eyes(app: Flask, draft_id: int, effective: date) -> None:
    with app.app_context():
        versions.submit(
            version(draft_id),
            note="葬祭費の額の改定（条例第7条）",
            effective_from=effective,
            actor="alice",
            now=NOW,
            config=app.config,
        )
        versions.approve(version(draft_id), actor="bob", now=NOW, config=app.config)
        versions.publish(version(draft_id), actor="bob", now=NOW, config=app.config)
        forget_timeline(app)


def test_submit_needs_a_note_and_a_date_not_in_the_past(
    policy_app: Flask, amount_draft: Callable[..., int]
) -> None:
    draft_id = amount_draft()
    with policy_app.app_context():
        cases = [
            ("", D, "note_missing"),
            ("改定", None, "no_effective_from"),
            ("改定", NOW.date() - timedelta(days=1), "effective_in_past"),
        ]
        for note, effective, code in cases:
            with pytest.raises(VersionError) as refused:
                versions.submit(
                    version(draft_id),
                    note=note,
                    effective_from=effective,
                    actor="alice",
                    now=NOW,
                    config=policy_app.config,
                )
            assert refused.value.code == code
        assert version(draft_id).status == "draft"


def test_the_author_cannot_approve_their_own_version(
    policy_app: Flask, amount_draft: Callable[..., int]
) -> None:
    draft_id = amount_draft()
    with policy_app.app_context():
        versions.submit(
            version(draft_id),
            note="改定",
            effective_from=D,
            actor="alice",
            now=NOW,
            config=policy_app.config,
        )
        with pytest.raises(VersionError) as refused:
            versions.approve(version(draft_id), actor="alice", now=NOW, config=policy_app.config)
        assert refused.value.code == "self_approval"
        assert "自分で作成・提出した版は承認できません" in refused.value.message
        with pytest.raises(VersionError) as clerk:
            versions.approve(version(draft_id), actor="clerk", now=NOW, config=policy_app.config)
        assert clerk.value.code == "not_policy"
        assert version(draft_id).status == "submitted"


def test_publish_is_refused_until_approved(
    policy_app: Flask, amount_draft: Callable[..., int]
) -> None:
    draft_id = amount_draft()
    with policy_app.app_context():
        versions.submit(
            version(draft_id),
            note="改定",
            effective_from=D,
            actor="alice",
            now=NOW,
            config=policy_app.config,
        )
        with pytest.raises(VersionError) as refused:
            versions.publish(version(draft_id), actor="bob", now=NOW, config=policy_app.config)
        assert refused.value.code == "not_approved"
        policy_app.config["POLICY_REQUIRE_APPROVAL"] = False  # the admin setting, off
        versions.publish(version(draft_id), actor="alice", now=NOW, config=policy_app.config)
        assert version(draft_id).status == "published"


def test_a_broken_draft_cannot_be_submitted_and_its_problems_name_rule_set_paths(
    policy_app: Flask,
) -> None:
    with policy_app.app_context():
        draft = create_draft(latest_published(), actor="alice", now=NOW)
        name = "procedure_rules/events.yaml"
        item = next(f for f in draft.files if f.name == name)
        save_file(
            draft,
            name,
            item.content + b"\n  - id: [\n",
            expected_revision=item.revision,
            actor="alice",
            now=NOW,
            limit=10**6,
        )
        result = versions.check(version(draft.id), policy_app.config)
        assert result.problems and not result.clean
        assert all(p.file.startswith("procedure_rules/") for p in result.problems)
        assert not any("/tmp" in str(p) or "kakanai-ruleset" in str(p) for p in result.problems)
        assert any(p.file == name and p.line > 1 for p in result.problems)
        with pytest.raises(VersionError) as refused:
            versions.submit(
                version(draft.id),
                note="改定",
                effective_from=D,
                actor="alice",
                now=NOW,
                config=policy_app.config,
            )
        assert refused.value.code == "lint_failed" and "問題" in refused.value.message


def test_yaml_aliases_are_refused_with_a_japanese_message(policy_app: Flask) -> None:
    with policy_app.app_context():
        draft = create_draft(latest_published(), actor="alice", now=NOW)
        name = "procedure_rules/roles.yaml"
        item = next(f for f in draft.files if f.name == name)
        text = item.content.decode() + "\n# alias\n"
        text = text.replace("roles:", "roles: &all", 1) if "roles:" in text else text
        save_file(
            draft,
            name,
            (text + "x: *all\n").encode(),
            expected_revision=item.revision,
            actor="alice",
            now=NOW,
            limit=10**6,
        )
        result = versions.check(version(draft.id), policy_app.config)
        assert any("エイリアス" in p.message for p in result.problems)


def test_a_failing_scenario_blocks_submission(
    policy_app: Flask, amount_draft: Callable[..., int]
) -> None:
    # From 2025-05-01 the scenario of 2025-05-12 that expects 50,000円 no longer holds.
    draft_id = amount_draft(70000, date(2025, 5, 1))
    with policy_app.app_context():
        result = versions.check(version(draft_id), policy_app.config)
        assert not result.problems and result.failed_scenarios
        assert all(s.file.startswith("procedure_rules/scenarios/") for s in result.scenarios)
        assert any("50,000円" in line for s in result.failed_scenarios for line in s.differences)
        with pytest.raises(VersionError) as refused:
            versions.submit(
                version(draft_id),
                note="改定",
                effective_from=D,
                actor="alice",
                now=NOW,
                config=policy_app.config,
            )
        assert refused.value.code == "scenarios_failed"


def test_the_time_budget_refuses_a_check_that_takes_too_long(policy_app: Flask) -> None:
    with policy_app.app_context():
        seed = latest_published()
        result = check_version(files_of(seed), "budget-test", seconds=0)
    assert result.refused and "秒で終わりませんでした" in result.refused and not result.clean


@pytest.mark.parametrize(
    ("day", "expected"),
    [(D - timedelta(days=1), "old"), (D, "new"), (D + timedelta(days=1), "new")],
)
def test_a_version_applies_from_its_effective_date(
    policy_app: Flask, amount_draft: Callable[..., int], day: date, expected: str
) -> None:
    with policy_app.app_context():
        seed = latest_published()
        seed_name = seed.name
    draft_id = amount_draft(70000, D)
    _publish_through_four_eyes(policy_app, draft_id, D)
    with policy_app.app_context():
        new_name = version(draft_id).name
        in_force = version_in_force(policy_app, day)
        assert in_force.name == (new_name if expected == "new" else seed_name)
        assert ruleset_for(policy_app, day).version == in_force.name


def test_every_step_is_audited(policy_app: Flask, amount_draft: Callable[..., int]) -> None:
    draft_id = amount_draft()
    _publish_through_four_eyes(policy_app, draft_id, D)
    with policy_app.app_context():
        events = db.session.query(AuditEvent).filter(AuditEvent.action.like("ruleset_%")).all()
        by_action = {(e.action, e.actor) for e in events if e.detail.get("version_id") == draft_id}
        assert {
            ("ruleset_draft_created", "alice"),
            ("ruleset_file_saved", "alice"),
            ("ruleset_submitted", "alice"),
            ("ruleset_approved", "bob"),
            ("ruleset_published", "bob"),
        } <= by_action
        published = version(draft_id)
        assert (published.approved_by, published.published_by, published.effective_from) == (
            "bob",
            "bob",
            D,
        )


def test_rollback_is_a_new_version_with_the_old_content_through_approval(
    policy_app: Flask, amount_draft: Callable[..., int]
) -> None:
    with policy_app.app_context():
        seed = latest_published()
        seed_id, seed_files = seed.id, files_of(seed)
    draft_id = amount_draft()
    _publish_through_four_eyes(policy_app, draft_id, NOW.date())
    with policy_app.app_context():
        back = versions.rollback(version(seed_id), actor="alice", now=NOW)
        assert back.status == "draft" and back.parent_id == draft_id
        assert files_of(back) == seed_files and back.id not in (seed_id, draft_id)
        back_id = back.id
    _publish_through_four_eyes(policy_app, back_id, NOW.date() + timedelta(days=1))
    with policy_app.app_context():
        assert version_in_force(policy_app, NOW.date() + timedelta(days=1)).version_id == back_id
        assert version_in_force(policy_app, NOW.date()).version_id == draft_id


def test_a_published_version_cannot_be_withdrawn(policy_app: Flask) -> None:
    with policy_app.app_context(), pytest.raises(VersionError) as refused:
        versions.withdraw(latest_published(), actor="alice", now=NOW)
    assert "ロールバック" in refused.value.hint

"""Versions in the database: the seed, drafts, immutability, size and name limits, conflicts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from flask import Flask

from app.extensions import db
from app.models import AuditEvent
from app.models.ruleset import ImmutableVersion, RuleSetVersion
from app.services.rules import current_ruleset, evaluate_case
from app.services.ruleset_store import (
    EditConflict,
    VersionError,
    config_folders,
    content_hash,
    create_draft,
    files_of,
    get_version,
    latest_published,
    read_folders,
    save_file,
)
from tests.policy.conftest import NOW, version

ROOT = Path(__file__).resolve().parents[2]
PARAMS = "procedure_rules/parameters.yaml"


def test_first_use_publishes_the_repository_folders_as_the_first_version(policy_app: Flask) -> None:
    with policy_app.app_context():
        (seed,) = db.session.query(RuleSetVersion).all()
        files = files_of(seed)
        assert seed.status == "published" and seed.created_by == "system"
        assert {n.split("/")[0] for n in files} == {
            "procedure_rules",
            "form_definitions",
            "pdf_templates",
        }
        on_disk = read_folders(config_folders(policy_app.config), 10**7)
        assert files == on_disk
        assert seed.content_hash == content_hash(on_disk)
        # The name every result, footer and packet records is the version's name.
        assert current_ruleset(policy_app).version == seed.name
        result = evaluate_case(policy_app, {"case.events": ["death"]}, date(2025, 4, 1))
        assert result.ruleset_version == seed.name


def test_a_draft_copies_its_source_and_names_it_as_parent(policy_app: Flask) -> None:
    with policy_app.app_context():
        seed = latest_published()
        draft = create_draft(seed, actor="alice", now=NOW)
        assert draft.status == "draft" and draft.parent_id == seed.id
        assert files_of(draft) == files_of(seed)
        assert draft.content_hash == seed.content_hash


def test_a_published_version_refuses_every_save(policy_app: Flask) -> None:
    with policy_app.app_context():
        seed = latest_published()
        with pytest.raises(VersionError) as refused:
            save_file(
                seed,
                PARAMS,
                b"parameters: []\n",
                expected_revision=1,
                actor="alice",
                now=NOW,
                limit=10**6,
            )
        assert refused.value.code == "not_a_draft"
        assert "公開済み" in refused.value.message and "下書き" in refused.value.hint


def test_a_published_versions_rows_cannot_be_changed_even_by_code(policy_app: Flask) -> None:
    with policy_app.app_context():
        seed = latest_published()
        seed.files[0].content = b"changed"
        with pytest.raises(ImmutableVersion):
            db.session.flush()
        db.session.rollback()
        seed = latest_published()
        seed.note = "rewritten"
        with pytest.raises(ImmutableVersion):
            db.session.flush()
        db.session.rollback()


def test_two_editors_of_one_file_get_a_conflict_not_an_overwrite(policy_app: Flask) -> None:
    with policy_app.app_context():
        draft = create_draft(latest_published(), actor="alice", now=NOW)
        opened = next(f for f in draft.files if f.name == PARAMS).revision
        first = files_of(draft)[PARAMS] + b"# alice\n"
        save_file(
            draft, PARAMS, first, expected_revision=opened, actor="alice", now=NOW, limit=10**6
        )
        with pytest.raises(EditConflict) as conflict:
            save_file(
                version(draft.id),
                PARAMS,
                b"# bob\n",
                expected_revision=opened,
                actor="bob",
                now=NOW,
                limit=10**6,
            )
        assert conflict.value.status == 409
        assert "上書きはしませんでした" in conflict.value.message
        assert files_of(version(draft.id))[PARAMS] == first


def test_a_saved_draft_gets_a_new_name(policy_app: Flask) -> None:
    with policy_app.app_context():
        draft = create_draft(latest_published(), actor="alice", now=NOW)
        before = draft.content_hash
        item = next(f for f in draft.files if f.name == PARAMS)
        save_file(
            draft,
            PARAMS,
            item.content + b"\n",
            expected_revision=item.revision,
            actor="alice",
            now=NOW,
            limit=10**6,
        )
        assert version(draft.id).content_hash != before
        assert db.session.query(AuditEvent).filter_by(action="ruleset_file_saved").count() == 1


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        (PARAMS, b"x" * 2000, "file_too_large"),
        (PARAMS, "パラメータ".encode("shift_jis"), "not_utf8"),
        ("../etc/passwd.yaml", b"a: 1\n", "ruleset_refused"),
        ("app/config.yaml", b"a: 1\n", "ruleset_refused"),
    ],
)
def test_bad_files_are_refused_in_japanese_and_nothing_changes(
    policy_app: Flask, name: str, data: bytes, code: str
) -> None:
    with policy_app.app_context():
        draft = create_draft(latest_published(), actor="alice", now=NOW)
        before = files_of(draft)
        with pytest.raises(VersionError) as refused:
            save_file(draft, name, data, expected_revision=1, actor="alice", now=NOW, limit=1000)
        assert refused.value.code == code
        assert any(
            "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in refused.value.message
        )
        assert files_of(version(draft.id)) == before


def test_an_unknown_version_is_a_japanese_404(policy_app: Flask) -> None:
    with policy_app.app_context(), pytest.raises(VersionError) as refused:
        get_version("9999")
    assert refused.value.status == 404 and "見つかりません" in refused.value.message

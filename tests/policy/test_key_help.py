"""The editor shows the schema's help (app/engine/schema.py): for the file, and for a key problem."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from app.engine import schema
from app.services.ruleset_store import create_draft, file_of, latest_published, save_file
from tests.policy.conftest import NOW

PROCEDURES = "procedure_rules/procedures/hoken_nenkin.yaml"


def _draft_with(policy_app: Flask, old: str, new: str) -> int:
    """A draft by alice whose kokuho.yaml has ``old`` replaced by ``new`` (once)."""
    with policy_app.app_context():
        base = latest_published()
        assert base is not None
        draft = create_draft(base, actor="alice", now=NOW)
        item = file_of(draft, PROCEDURES)
        text = item.content.decode("utf-8")
        assert old in text
        save_file(
            draft,
            PROCEDURES,
            text.replace(old, new, 1).encode("utf-8"),
            expected_revision=item.revision,
            actor="alice",
            now=NOW,
            limit=524288,
        )
        return draft.id


def test_the_editor_lists_the_keys_of_the_file_with_their_help(
    policy_app: Flask, client: FlaskClient, login_as: Callable[[str], Any]
) -> None:
    login_as("policy")
    page = client.get(f"/policy/versions/1/files/{PROCEDURES}").get_data(as_text=True)
    assert 'id="key-help"' in page
    for key, text in schema.KINDS["procedure"].keys.items():
        assert f"<code>{key}</code></dt><dd>{escape(text)}</dd>" in page
    assert schema.KINDS["deadline"].keys["rolls_over"] in page
    # a fact file offers the fact keys, not the procedure keys
    facts = client.get("/policy/versions/1/files/procedure_rules/facts/death.yaml").get_data(
        as_text=True
    )
    assert schema.KINDS["fact"].keys["derive"] in facts
    assert schema.KINDS["procedure"].keys["urgent"] not in facts


def test_a_misspelt_key_is_explained_with_the_help_of_the_key_meant(
    policy_app: Flask, client: FlaskClient, login_as: Callable[[str], Any]
) -> None:
    draft = _draft_with(policy_app, "    title:", "    titel:")
    login_as("policy")
    page = client.get(f"/policy/versions/{draft}/files/{PROCEDURES}").get_data(as_text=True)
    assert escape("不明なキー 'titel'") in page
    assert (
        f'<span class="key-help">title: {escape(schema.KINDS["procedure"].keys["title"])}</span>'
        in page
    )


def test_the_help_names_the_key_a_problem_is_about() -> None:
    from app.engine.errors import Problem
    from app.policy.keyhelp import problem_help

    missing = Problem(PROCEDURES, 3, 5, "手続 'x'", "'reason' がありません", "reason: を書きます")
    assert (
        problem_help(missing, PROCEDURES) == "reason: " + schema.KINDS["procedure"].keys["reason"]
    )
    unknown = Problem(
        PROCEDURES, 3, 5, "手続 'x'", "不明なキー 'titel'", "'title' ではありませんか"
    )
    assert problem_help(unknown, PROCEDURES).startswith("title: ")
    other = Problem(PROCEDURES, 3, 5, "手続 'x'", "式が読めません", "")
    assert problem_help(other, PROCEDURES) == ""

"""Fixtures of the policy workspace: two policy users, drafts, cases holding scenario facts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from app.clock import install_clock
from app.extensions import db
from app.services.rules import current_ruleset, timeline
from app.services.ruleset_params import DatedValue, parameter, save_parameter_values
from app.services.ruleset_store import create_draft, get_version, latest_published

NOW = datetime(2026, 12, 3, 10, 0)


@pytest.fixture
def policy_app(app: Flask, make_user: Callable[..., Any]) -> Flask:
    """The app with the seed published and two policy users, alice and bob."""
    make_user("policy", "alice")
    make_user("policy", "bob")
    make_user("counter", "clerk")
    # The seed is published when the rule set is first loaded, by the app's clock. Tests
    # publish at the fixed NOW: seed an hour before it, or a run on a later day would find
    # the seed "published last" and every parent and rollback would be off by one.
    install_clock(app, lambda: NOW - timedelta(hours=1))
    current_ruleset(app)
    install_clock(app)
    return app


@pytest.fixture
def amount_draft(policy_app: Flask) -> Callable[..., int]:
    """Factory: a draft by alice where 国保 葬祭費 becomes ``amount`` from ``valid_from``."""

    def make(amount: int = 70000, valid_from: date = date(2027, 4, 1), actor: str = "alice") -> int:
        with policy_app.app_context():
            base = latest_published()
            assert base is not None
            draft = create_draft(base, actor=actor, now=NOW)
            current = parameter(draft, "sosaihi_kokuho")
            save_parameter_values(
                draft,
                "sosaihi_kokuho",
                [*current.values, DatedValue(valid_from, amount)],
                expected_revision=current.revision,
                actor=actor,
                now=NOW,
                limit=524288,
            )
            return draft.id

    return make


def version(ref: int) -> Any:
    """Return a version in the current app context, fresh from the database."""
    db.session.expire_all()
    return get_version(ref)


def forget_timeline(app: Flask) -> None:
    """Read the published versions again (as every process does within CHECK_SECONDS)."""
    timeline(app).forget()

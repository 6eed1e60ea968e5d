"""Counter tests run against the sample rule set of tests/data/rules (small and stable)."""

from datetime import date, datetime
from pathlib import Path

import pytest

from app.extensions import db
from app.models import Case
from app.services.cases import open_case
from app.services.rules import current_ruleset

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "rules"


@pytest.fixture
def app(app):
    app.config["RULES_DIR"] = str(SAMPLE / "procedure_rules")
    app.config["FORMS_DIR"] = str(SAMPLE / "form_definitions")
    return app


@pytest.fixture
def ruleset(app):
    return current_ruleset(app)


@pytest.fixture
def make_case(app, make_user):
    """Factory: ``make_case(events=["death"])`` opens a case and returns its id."""
    staff = make_user("counter", username="case-owner")

    def make(events=("death",), as_of=date(2025, 4, 10)):
        with app.app_context():
            case = open_case(staff.id, list(events), "counter", as_of, datetime.now(), "c")
            return case.id

    return make


@pytest.fixture
def get_case(app):
    def get(case_id):
        return db.session.get(Case, case_id)

    return get

"""Factories for the resident review tests: a case loaded from a scenario, a drawn signature."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image, ImageDraw

from app import clock
from app.extensions import db
from app.models import Case
from app.services.cases import change_status, open_case, record_fact
from app.services.resident_sessions import start_resident_session

ROOT = Path(__file__).resolve().parents[2]


def scenario_facts(file: str, index: int) -> tuple[dict[str, Any], date]:
    """Return the facts and application date of a scenario of procedure_rules/scenarios/."""
    loaded = yaml.safe_load((ROOT / "procedure_rules" / "scenarios" / file).read_text("utf-8"))
    scenario = loaded["scenarios"][index]
    as_of = scenario["as_of"]
    return scenario["facts"], as_of if isinstance(as_of, date) else date.fromisoformat(as_of)


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


@pytest.fixture
def make_review_case(app, make_user):
    """Factory: a case holding a scenario's facts (3 forms by default), optionally in review."""
    staff = make_user("counter")

    def make(file: str = "move_out.yaml", index: int = 1, review: bool = True) -> int:
        facts, as_of = scenario_facts(file, index)
        with app.app_context():
            now = datetime.now()
            case = open_case(staff.id, list(facts["case.events"]), "remote", as_of, now, "c")
            for fact_id, value in facts.items():
                if fact_id != "case.events":
                    record_fact(case, fact_id, _json(value), actor="c", now=now, commit=False)
            db.session.commit()
            if review:
                change_status(case, "review", actor="c", now=now)
            return case.id

    return make


def signature_png(width: int = 600, height: int = 200, ink: bool = True) -> bytes:
    """Return a PNG like the pad sends: transparent, with a drawn stroke when ``ink``."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    if ink:
        draw = ImageDraw.Draw(image)
        draw.line([(40, 150), (150, 40), (260, 160), (380, 50), (520, 140)], fill="black", width=6)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def join_case(app, client):
    """Factory: admit the test client as the resident of a case (session as after the PIN)."""

    def join(case_id: int) -> None:
        with app.app_context():
            now = clock.now()
            sid = start_resident_session(case_id, now=now, expires_at=now + timedelta(hours=1))
        with client.session_transaction() as session:
            session.clear()
            session["resident_case_id"] = case_id
            session["sid"] = sid

    return join


def case_of(case_id: int) -> Case:
    case = db.session.get(Case, case_id)
    assert case is not None
    return case

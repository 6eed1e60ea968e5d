"""Retention: residents' data of long-finished cases is deleted; the case shell stays."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Case, FactChange, FactValue
from app.services.cases import CaseError, change_status, open_case, record_fact

pytestmark = pytest.mark.db
NOW = datetime(2026, 4, 1, 9, 30)


def _finished_case(staff_id: int, closed_days_ago: int, status: str = "closed") -> int:
    case = open_case(staff_id, ["death"], "counter", date(2026, 1, 5), NOW, "counter1")
    record_fact(case, "death.place", "みどり市立病院", actor="counter1", now=NOW)
    record_fact(case, "death.place", "自宅", actor="counter1", now=NOW)
    change_status(case, "cancelled", actor="counter1", now=NOW, reason="山田様の依頼で取消")
    if status == "closed":
        case.status = "closed"
    case.closed_at = datetime.now() - timedelta(days=closed_days_ago)  # the CLI's clock
    db.session.commit()
    return case.id


def _count(model, case_id):
    return db.session.scalar(select(func.count()).where(model.case_id == case_id))


def test_purge_deletes_residents_data_of_expired_cases_only(app, make_user):
    staff = make_user("counter")
    with app.app_context():
        old = _finished_case(staff.id, closed_days_ago=91)
        recent = _finished_case(staff.id, closed_days_ago=89)
        open_one = open_case(staff.id, ["death"], "counter", date(2026, 1, 5), NOW, "c").id

    result = app.test_cli_runner().invoke(args=["cases", "purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "2026-000001" in result.output and "2026-000002" not in result.output
    with app.app_context():
        assert _count(FactValue, old) == 1  # a dry run changes nothing

    result = app.test_cli_runner().invoke(args=["cases", "purge"])
    assert result.exit_code == 0, result.output
    assert "purged 1 case(s)" in result.output
    with app.app_context():
        case = db.session.get(Case, old)
        assert case.purged_at is not None and case.number == "2026-000001"
        assert _count(FactValue, old) == 0 and _count(FactChange, old) == 0
        assert _count(FactValue, recent) == 1 and _count(FactChange, recent) == 2
        trail = db.session.scalars(select(AuditEvent).where(AuditEvent.case_id == old)).all()
        actions = [event.action for event in trail]
        assert "case_opened" in actions and actions[-1] == "purged"
        assert all("山田" not in str(event.detail) for event in trail)  # the reason is scrubbed
        assert db.session.get(Case, open_one).purged_at is None

    again = app.test_cli_runner().invoke(args=["cases", "purge"])
    assert "purged 0 case(s)" in again.output


def test_a_purged_case_cannot_be_reopened(app, make_user):
    staff = make_user("counter")
    with app.app_context():
        case_id = _finished_case(staff.id, closed_days_ago=200)
    app.test_cli_runner().invoke(args=["cases", "purge"])
    with app.app_context():
        case = db.session.get(Case, case_id)
        with pytest.raises(CaseError, match="保存期間"):
            change_status(case, "interviewing", actor="counter1", now=NOW, reason="再開")


def test_a_purged_case_page_says_so_and_offers_no_reopening(app, client, login_as):
    staff = login_as("counter")
    with app.app_context():
        case_id = _finished_case(staff.id, closed_days_ago=120)
    app.test_cli_runner().invoke(args=["cases", "purge"])
    page = client.get(f"/counter/cases/{case_id}")
    assert page.status_code == 200
    assert "保存期間が過ぎたため" in page.text
    assert "再開の理由" not in page.text and "「聞き取り中」にする" not in page.text

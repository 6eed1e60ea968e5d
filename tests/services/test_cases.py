from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, select, text

from app.extensions import db
from app.models import AuditEvent, Case
from app.services.cases import (
    CaseError,
    audit_detail,
    change_status,
    cipher,
    fact_history,
    fact_values,
    open_case,
    record_fact,
)

pytestmark = pytest.mark.db
NOW = datetime(2026, 4, 1, 9, 30)


@pytest.fixture
def make_case(app, make_user):
    """Factory: ``make_case(events=["death"], channel="counter")`` returns a case id."""
    staff = make_user("counter")

    def make(events=("death",), channel="counter"):
        with app.app_context():
            case = open_case(staff.id, list(events), channel, date(2026, 4, 1), NOW, "counter1")
            return case.id

    return make


def test_case_numbers_count_up_per_year(app, make_case):
    first, second = make_case(), make_case()
    with app.app_context():
        assert db.session.get(Case, first).number == "2026-000001"
        assert db.session.get(Case, second).number == "2026-000002"


def test_a_case_needs_an_event(app, make_user):
    staff = make_user("counter")
    with app.app_context(), pytest.raises(CaseError, match="ライフイベント"):
        open_case(staff.id, [], "counter", date(2026, 4, 1), NOW, "x")


def test_recorded_fact_is_committed_encrypted_and_starts_the_interview(app, make_case):
    case_id = make_case()
    with app.app_context():
        case = db.session.get(Case, case_id)
        record_fact(case, "household[0].name", "髙橋 一郎", actor="counter1", now=NOW)
        db.session.remove()  # a new session sees only what was committed
        case = db.session.get(Case, case_id)
        assert fact_values(case)["household[0].name"] == "髙橋 一郎"
        assert case.status == "interviewing"
        raw = db.session.execute(text("SELECT value_enc FROM fact_value")).scalar_one()
        assert "髙橋" not in raw and "\\u9ad9" not in raw


def test_stale_revision_is_refused_not_overwritten(app, make_case):
    case_id = make_case()
    with app.app_context():
        case = db.session.get(Case, case_id)
        record_fact(case, "death.date", "2026-03-30", actor="a", now=NOW, expected_revision=0)
        with pytest.raises(CaseError) as error:
            record_fact(case, "death.date", "2026-03-29", actor="b", now=NOW, expected_revision=0)
        assert error.value.code == "conflict" and "2026-03-30" in error.value.message
        assert fact_values(case)["death.date"] == "2026-03-30"


def _save_elsewhere_before_our_write(fact_id, value_enc, revision):
    """Make another connection save ``fact_id`` just before this session writes (a race)."""

    done = []

    @event.listens_for(db.session(), "do_orm_execute")
    def other_staff_saves(state):
        if done or not (state.is_update or state.is_delete):
            return
        done.append(True)
        with db.engine.begin() as other:
            other.execute(
                text(
                    "UPDATE fact_value SET value_enc = :v, revision = :r, set_by = 'other' "
                    "WHERE fact_id = :f"
                ),
                {"v": value_enc, "r": revision, "f": fact_id},
            )


@pytest.mark.parametrize("new_value", ["2026-03-28", None])
def test_a_save_racing_another_is_refused_not_overwritten(app, make_case, new_value):
    case_id = make_case()
    with app.app_context():
        case = db.session.get(Case, case_id)
        record_fact(case, "death.date", "2026-03-30", actor="a", now=NOW)
        theirs = cipher().seal("2026-03-29")
        # Both read revision 1; the other member of staff commits revision 2 first.
        _save_elsewhere_before_our_write("death.date", theirs, 2)
        with pytest.raises(CaseError) as error:
            record_fact(case, "death.date", new_value, actor="b", now=NOW, expected_revision=1)
        assert error.value.code == "conflict"
        db.session.expire_all()
        assert fact_values(case)["death.date"] == "2026-03-29"
        assert len(fact_history(case, "death.date")) == 1  # our refused change left no trace


def test_locked_fact_changes_only_with_a_reason_and_is_audited(app, make_case):
    case_id = make_case()
    with app.app_context():
        case = db.session.get(Case, case_id)
        record_fact(
            case,
            "household[0].name",
            "山田 太郎",
            actor="registry",
            now=NOW,
            provenance="registry",
            lock=True,
        )
        with pytest.raises(CaseError) as error:
            record_fact(case, "household[0].name", "山田 太朗", actor="a", now=NOW)
        assert error.value.code == "locked"
        later = NOW + timedelta(minutes=1)
        record_fact(
            case, "household[0].name", "山田 太朗", actor="a", now=later, reason="戸籍の表記どおり"
        )
        history = fact_history(case, "household[0].name")
        assert [(h["old"], h["new"], h["reason"]) for h in history] == [
            ("山田 太郎", "山田 太朗", "戸籍の表記どおり"),
            (None, "山田 太郎", None),
        ]


def test_lifecycle_and_reopening_needs_a_reason(app, make_case):
    case_id = make_case()
    with app.app_context():
        case = db.session.get(Case, case_id)
        with pytest.raises(CaseError, match="変更できません"):
            change_status(case, "signed", actor="a", now=NOW)
        for status in ("interviewing", "review", "signed", "issued", "closed"):
            change_status(case, status, actor="a", now=NOW)
        with pytest.raises(CaseError, match="理由"):
            change_status(case, "interviewing", actor="a", now=NOW)
        change_status(case, "interviewing", actor="a", now=NOW, reason="記載誤りの訂正")
        reopen = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "status").order_by(AuditEvent.id.desc())
        ).first()
        assert audit_detail(reopen) == {
            "from": "closed",
            "to": "interviewing",
            "reason": "記載誤りの訂正",
        }
        assert "記載誤り" not in str(reopen.detail)  # sealed at rest


def test_closed_case_cannot_be_edited(app, make_case):
    case_id = make_case()
    with app.app_context():
        case = db.session.get(Case, case_id)
        change_status(case, "cancelled", actor="a", now=NOW)
        with pytest.raises(CaseError) as error:
            record_fact(case, "death.date", "2026-03-30", actor="a", now=NOW)
        assert error.value.code == "not_editable"


def test_free_text_reasons_are_sealed_at_rest(app, make_user):
    """Issue 18 Low 12: change and status reasons are staff's free text: sealed like facts."""
    from sqlalchemy import select as _select

    from app.models import AuditEvent as _AuditEvent
    from app.models import FactChange as _FactChange
    from app.services.cases import audit_detail, fact_history

    staff = make_user("counter")
    with app.app_context():
        case = open_case(staff.id, ["death"], "counter", date(2026, 1, 5), datetime.now(), "c1")
        record_fact(case, "death.place", "自宅", actor="c1", now=datetime.now())
        record_fact(
            case, "death.place", "病院", actor="c1", now=datetime.now(), reason="山田花子様の申出"
        )
        change_status(case, "cancelled", actor="c1", now=datetime.now(), reason="山田様の依頼で取消")
        stored = [ch.reason for ch in db.session.scalars(_select(_FactChange))]
        events = list(db.session.scalars(_select(_AuditEvent)))
        assert all("山田" not in (r or "") for r in stored)
        assert all("山田" not in str(ev.detail) for ev in events)
        assert fact_history(case)[0]["reason"] == "山田花子様の申出"
        assert any(audit_detail(ev).get("reason") == "山田様の依頼で取消" for ev in events)

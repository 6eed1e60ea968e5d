from datetime import date, datetime, timedelta

import pytest

from app.extensions import db
from app.models import Case
from app.services.cases import change_status, open_case
from app.services.joining import (
    JoinError,
    admit,
    admit_kiosk,
    attach_kiosk,
    check_link,
    issue_join_link,
    register_kiosk,
)
from app.services.kiosks import (
    exchange_setup_code,
)

pytestmark = pytest.mark.db
NOW = datetime(2026, 4, 1, 10, 0)


@pytest.fixture
def case_id(app, make_user):
    staff = make_user("counter")
    with app.app_context():
        return open_case(staff.id, ["move_in"], "remote", date(2026, 4, 1), NOW, "c").id


def _issue(case_id, minutes=30):
    return issue_join_link(db.session.get(Case, case_id), actor="c", now=NOW, minutes=minutes)


def test_right_pin_admits_to_exactly_that_case(app, case_id):
    with app.app_context():
        link = _issue(case_id)
        assert len(link.pin) == 6 and link.pin.isdigit()
        assert admit(link.token, link.pin, now=NOW, max_attempts=5) == case_id


def test_link_expires(app, case_id):
    with app.app_context():
        link = _issue(case_id, minutes=30)
        with pytest.raises(JoinError) as error:
            admit(link.token, link.pin, now=NOW + timedelta(minutes=31), max_attempts=5)
        assert error.value.code == "expired" and "新しいリンク" in error.value.message


def test_five_wrong_pins_lock_the_link_even_for_the_right_pin(app, case_id):
    with app.app_context():
        link = _issue(case_id)
        wrong = "000000" if link.pin != "000000" else "111111"
        for remaining in (4, 3, 2, 1):
            with pytest.raises(JoinError) as error:
                admit(link.token, wrong, now=NOW, max_attempts=5)
            assert error.value.code == "wrong_pin" and f"あと{remaining}回" in error.value.message
        with pytest.raises(JoinError) as error:
            admit(link.token, wrong, now=NOW, max_attempts=5)
        assert error.value.code == "locked"
        with pytest.raises(JoinError) as error:
            admit(link.token, link.pin, now=NOW, max_attempts=5)
        assert error.value.code == "locked"


def test_new_link_revokes_the_old_one(app, case_id):
    with app.app_context():
        old = _issue(case_id)
        _issue(case_id)
        with pytest.raises(JoinError) as error:
            check_link(old.token, NOW)
        assert error.value.code == "unknown"


def test_signed_case_no_longer_admits(app, case_id):
    with app.app_context():
        link = _issue(case_id)
        case = db.session.get(Case, case_id)
        for status in ("interviewing", "review", "signed"):
            change_status(case, status, actor="c", now=NOW)
        with pytest.raises(JoinError) as error:
            admit(link.token, link.pin, now=NOW, max_attempts=5)
        assert error.value.code == "closed"


def test_malformed_pin_is_explained_and_not_counted(app, case_id):
    with app.app_context():
        link = _issue(case_id)
        with pytest.raises(JoinError) as error:
            admit(link.token, "12ab", now=NOW, max_attempts=5)
        assert error.value.code == "bad_pin"
        assert admit(link.token, link.pin, now=NOW, max_attempts=5) == case_id


def test_kiosk_waits_until_staff_attach_it(app, case_id):
    with app.app_context():
        kiosk, code = register_kiosk("みどり市 北支所 1番", actor="admin", now=NOW)
        _, token = exchange_setup_code(code, now=NOW)
        with pytest.raises(JoinError) as error:
            admit_kiosk(token, now=NOW)
        assert error.value.code == "kiosk_waiting"
        attach_kiosk(kiosk, db.session.get(Case, case_id), actor="c", now=NOW)
        assert admit_kiosk(token, now=NOW) == case_id
        with pytest.raises(JoinError) as error:
            admit_kiosk("forged-token", now=NOW)
        assert error.value.code == "kiosk_unknown"

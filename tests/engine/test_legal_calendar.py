"""The legal calendar: closed days from the law and the library, and where deadlines roll."""

from datetime import date

import pytest

from app.engine.legal_calendar import LegalCalendar


@pytest.fixture
def calendar() -> LegalCalendar:
    return LegalCalendar.of_profile()


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2027, 1, 11), "成人の日"),  # second Monday of January (祝日法 第2条)
        (date(2026, 9, 22), "国民の休日"),  # between 敬老の日 9/21 and 秋分の日 9/23
        (date(2026, 5, 6), "振替休日"),  # 憲法記念日 2026-05-03 is a Sunday (祝日法 第3条第2項)
        (date(2026, 12, 29), "年末年始の休日"),
        (date(2027, 1, 3), "年末年始の休日"),
        (date(2026, 12, 6), "日曜日"),
        (date(2026, 12, 5), "土曜日"),
    ],
)
def test_closed_days_and_why(calendar: LegalCalendar, day: date, reason: str) -> None:
    assert reason in (calendar.closed_reason(day) or "")


def test_an_ordinary_weekday_is_open(calendar: LegalCalendar) -> None:
    assert calendar.closed_reason(date(2026, 12, 2)) is None  # a Wednesday


def test_a_filing_period_ending_in_the_year_end_runs_to_the_first_open_day(
    calendar: LegalCalendar,
) -> None:
    # 2026-12-29 (Tue) .. 2027-01-03 (Sun) closed; 2027-01-04 is a Monday and open.
    deadline = calendar.deadline(date(2026, 12, 30), rolls_over=True)
    assert deadline.due == date(2027, 1, 4)
    assert deadline.rolled


def test_a_limitation_period_does_not_roll(calendar: LegalCalendar) -> None:
    deadline = calendar.deadline(date(2026, 12, 30), rolls_over=False)
    assert deadline.due == date(2026, 12, 30)
    assert not deadline.rolled


def test_golden_week_and_a_weekend_roll_together(calendar: LegalCalendar) -> None:
    # 2026-05-02 Sat, 03 Sun (憲法記念日), 04 みどりの日, 05 こどもの日, 06 振替休日 → 05-07 Thu.
    assert calendar.deadline(date(2026, 5, 2), rolls_over=True).due == date(2026, 5, 7)


def test_the_city_may_close_other_days() -> None:
    city = LegalCalendar.of_profile(extra_closed=[date(2026, 12, 2)])
    assert city.closed_reason(date(2026, 12, 2)) == "市の休日"
    assert city.next_open_day(date(2026, 12, 2)) == date(2026, 12, 3)

"""Ages under 年齢計算ニ関スル法律: an age is reached on the day before the birthday."""

from __future__ import annotations

from datetime import date

from app.engine.ages import add_months, add_years, age_on, age_reached_on, march31_after


def test_age_is_reached_on_the_day_before_the_birthday() -> None:
    birth = date(1960, 4, 2)
    assert age_on(birth, date(2025, 3, 31)) == 64
    assert age_on(birth, date(2025, 4, 1)) == 65  # the day before the 65th birthday
    assert age_on(birth, date(2025, 4, 2)) == 65


def test_kaigo_first_category_starts_the_day_before_the_65th_birthday() -> None:
    assert age_reached_on(date(1960, 4, 2), 65) == date(2025, 4, 1)


def test_born_on_29_february() -> None:
    birth = date(2000, 2, 29)
    assert age_reached_on(birth, 1) == date(2001, 2, 28)
    assert age_on(birth, date(2001, 2, 27)) == 0
    assert age_on(birth, date(2001, 2, 28)) == 1
    assert age_reached_on(birth, 4) == date(2004, 2, 28)


def test_born_on_1_april_finishes_the_school_year_a_year_earlier() -> None:
    # Reaching 18 on 31 March: the 児童手当 ends that same 31 March.
    assert march31_after(age_reached_on(date(2007, 4, 1), 18)) == date(2025, 3, 31)
    assert march31_after(age_reached_on(date(2007, 4, 2), 18)) == date(2026, 3, 31)


def test_month_arithmetic_clamps_to_the_month_end() -> None:
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 11, 15), 3) == date(2026, 2, 15)
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)

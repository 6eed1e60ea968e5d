"""Ages and age-based dates under 年齢計算ニ関スル法律: an age is reached at the end of the
day before the birthday (so 介護保険 starts on the day before the 65th birthday)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def anniversary(birth: date, years: int) -> date:
    """Return the birthday ``years`` after birth; 29 February falls on 1 March in common years."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:  # 29 Feb in a common year: the period ends with February (民法143条)
        return date(birth.year + years, 3, 1)


def age_reached_on(birth: date, years: int) -> date:
    """Return the day on which a person reaches ``years``: the day before that birthday."""
    return anniversary(birth, years) - timedelta(days=1)


def age_on(birth: date, on: date) -> int:
    """Return the age in whole years reached by the end of ``on`` (the day before a birthday counts)."""
    after = on + timedelta(days=1)
    years = after.year - birth.year
    if (after.month, after.day) < (birth.month, birth.day):
        years -= 1
    return years


def add_months(day: date, months: int) -> date:
    """Add calendar months, clamping to the month's last day (1月31日 + 1 month = 2月28日/29日)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    """Add years; 29 February becomes 28 February in a common year."""
    return add_months(day, 12 * years)


def march31_after(day: date) -> date:
    """Return the first 31 March on or after ``day`` (the end of a school year)."""
    end = date(day.year, 3, 31)
    return end if day <= end else date(day.year + 1, 3, 31)

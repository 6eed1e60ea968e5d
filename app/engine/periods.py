"""Periods as 民法 counts them: where a period of years, months and days ends.

- 第140条: a period in days, weeks, months or years does not count its first day (初日不算入)
  unless it starts at midnight; a law may say otherwise — 戸籍法 第43条 counts a 届出期間
  from the day of the event itself ("same_day").
- 第141条: a period ends at the end of its last day.
- 第143条: weeks, months and years are counted by the calendar; the period ends on the day
  before the day that corresponds to its first day, or on the last day of the final month
  when that month has no corresponding day.
Rolling to the next open day (民法 第142条, 地方自治法 第4条の2 第4項) is the legal
calendar's job (``legal_calendar.LegalCalendar.deadline``), not this module's.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

DAY_AFTER = "day_after"  # 初日不算入 (民法 第140条)
SAME_DAY = "same_day"  # the law counts the first day (戸籍法 第43条, or 「…の日を含めて」)
START_RULES = (DAY_AFTER, SAME_DAY)


def first_day(origin: date, start: str) -> date:
    """Return the first day counted of a period running from ``origin`` under a start rule."""
    return origin + timedelta(days=1) if start == DAY_AFTER else origin


def period_end(origin: date, start: str, years: int = 0, months: int = 0, days: int = 0) -> date:
    """Return the last day of a period from ``origin``: years and months by 第143条, then days."""
    begin = first_day(origin, start)
    end = begin - timedelta(days=1)  # a period of nothing ends before it begins
    total_months = years * 12 + months
    if total_months:
        index = begin.year * 12 + begin.month - 1 + total_months
        year, month0 = divmod(index, 12)
        last = calendar.monthrange(year, month0 + 1)[1]
        if begin.day > last:
            # 第143条第2項 ただし書: no corresponding day, so the period ends with the month.
            end = date(year, month0 + 1, last)
        else:
            end = date(year, month0 + 1, begin.day) - timedelta(days=1)
    return end + timedelta(days=days)

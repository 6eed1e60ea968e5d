"""The municipality's legal calendar: which days it is closed, and where a 届出 period ends.

A 届出 period whose last day falls on a day the municipality is closed runs to the next
open day (地方自治法 第4条の2 第4項: 期限が地方公共団体の休日に当たるときは、その翌日;
民法 第142条 for periods in general). The closed days are those of 第4条の2 第2項 as the
city's 休日条例 names them: Sundays and Saturdays, the national holidays of 国民の祝日に関する
法律 (with 振替休日 and 国民の休日, from the maintained ``jpholiday`` library, never a table
typed here), the year-end days (usually 12月29日–1月3日) and any other day the profile lists.
A 時効 (葬祭費's 2 years, 国民健康保険法 第110条) is not a 届出期間 and does not roll over:
whether a deadline rolls is the procedure's choice, made here only when asked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import jpholiday

# 12月29日から翌年1月3日まで: the year-end days in the 休日を定める条例 of most cities
# (e.g. 地方自治法 第4条の2 第2項 第3号 names 「年末又は年始における日で条例で定めるもの」).
YEAR_END_DAYS: tuple[tuple[int, int], ...] = (
    (12, 29),
    (12, 30),
    (12, 31),
    (1, 1),
    (1, 2),
    (1, 3),
)

# A deadline never rolls more than this many days: every real run of closed days (the
# longest is Golden Week plus a weekend, or the year-end with a weekend) is far shorter.
_MAX_ROLL_DAYS = 31


@dataclass(frozen=True)
class Deadline:
    """A deadline as shown: the day the law's period ends, and the open day it runs to."""

    period_end: date
    due: date

    @property
    def rolled(self) -> bool:
        """Return whether the period ended on a closed day and runs to a later open day."""
        return self.due != self.period_end


@dataclass(frozen=True)
class LegalCalendar:
    """The days a municipality is closed: weekends, national holidays, its own closed days."""

    year_end_days: tuple[tuple[int, int], ...] = YEAR_END_DAYS
    extra_closed: frozenset[date] = field(default_factory=frozenset)
    saturdays_closed: bool = True

    @classmethod
    def of_profile(
        cls,
        year_end_days: Iterable[tuple[int, int]] = YEAR_END_DAYS,
        extra_closed: Iterable[date] = (),
    ) -> LegalCalendar:
        """Build the calendar from the municipality profile's closed days."""
        return cls(tuple(year_end_days), frozenset(extra_closed))

    def closed_reason(self, day: date) -> str | None:
        """Return why the municipality is closed on ``day`` (Japanese), or None when open."""
        holiday = jpholiday.is_holiday_name(day)
        if holiday:
            return str(holiday)
        if (day.month, day.day) in self.year_end_days:
            return "年末年始の休日"
        if day in self.extra_closed:
            return "市の休日"
        if day.weekday() == 6:
            return "日曜日"
        if day.weekday() == 5 and self.saturdays_closed:
            return "土曜日"
        return None

    def is_closed(self, day: date) -> bool:
        """Return whether the municipality is closed on ``day``."""
        return self.closed_reason(day) is not None

    def next_open_day(self, day: date) -> date:
        """Return ``day`` if the municipality is open then, else the first open day after it."""
        current = day
        for _ in range(_MAX_ROLL_DAYS):
            if not self.is_closed(current):
                return current
            current += timedelta(days=1)
        raise ValueError(f"{day.isoformat()} から{_MAX_ROLL_DAYS}日間、開庁日がありません")

    def deadline(self, period_end: date, *, rolls_over: bool) -> Deadline:
        """Return the deadline of a period ending on ``period_end``, rolled when it is a 届出期間."""
        due = self.next_open_day(period_end) if rolls_over else period_end
        return Deadline(period_end=period_end, due=due)

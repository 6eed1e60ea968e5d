"""和暦 (Japanese era dates): format a date in its era and parse the ways people write one.

Era first days follow REFERENCE.md; 1912-07-30 and 1926-12-25 belong to two eras, and both
readings are accepted as input (住民記録システム標準仕様書 1.1.8) while output uses the new era.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from app.errors import DomainError


@dataclass(frozen=True)
class Era:
    """One 元号: its name, its one-letter abbreviation and its first and last day."""

    name: str
    letter: str
    first: date
    last: date | None


ERAS: tuple[Era, ...] = (
    Era("明治", "M", date(1868, 1, 25), date(1912, 7, 30)),
    Era("大正", "T", date(1912, 7, 30), date(1926, 12, 25)),
    Era("昭和", "S", date(1926, 12, 25), date(1989, 1, 7)),
    Era("平成", "H", date(1989, 1, 8), date(2019, 4, 30)),
    Era("令和", "R", date(2019, 5, 1), None),
)
_BY_NAME = {era.name: era for era in ERAS} | {era.letter: era for era in ERAS}


class OutsideEraError(DomainError, ValueError):
    """The date lies before 明治 and has no 和暦 reading."""

    default_code = "outside_era"


class WarekiParseError(DomainError, ValueError):
    """The text is not a date in any form we read (``impossible``: well formed, no such day)."""

    default_code = "date_unreadable"

    def __init__(self, message: str, impossible: bool = False) -> None:
        super().__init__(message)
        self.impossible = impossible


@dataclass(frozen=True)
class WarekiParts:
    """A date split into the columns of a form: era, year (元年 for 1), month, day."""

    era: str
    year: str
    month: str
    day: str

    def as_dict(self) -> dict[str, str]:
        """Return the parts as the mapping the form renderer expects."""
        return {"era": self.era, "year": self.year, "month": self.month, "day": self.day}


@dataclass(frozen=True)
class ParsedDate:
    """A parsed date and, when written in an era, whether that era had ended by then."""

    value: date
    era: str | None
    outside_era: bool


def era_of(day: date) -> Era:
    """Return the era a date is written in (the newer one on a changeover day).

    :raises OutsideEraError: the date is before 明治 began.
    """
    for era in reversed(ERAS):
        if day >= era.first:
            return era
    raise OutsideEraError(f"{day.isoformat()} は明治より前の日付で、和暦で表せません")


@lru_cache(maxsize=4096)  # forms print the same few dates (as_of, birth dates) many times
def wareki_parts(day: date) -> WarekiParts:
    """Split a date into era, year (元年 for the first year), month and day."""
    era = era_of(day)
    year = day.year - era.first.year + 1
    return WarekiParts(era.name, "元" if year == 1 else str(year), str(day.month), str(day.day))


@lru_cache(maxsize=4096)
def format_wareki(day: date) -> str:
    """Format a date as 和暦, e.g. 令和7年4月1日 or 令和元年5月1日."""
    parts = wareki_parts(day)
    return f"{parts.era}{parts.year}年{parts.month}月{parts.day}日"


def format_wareki_or_iso(day: date) -> str:
    """Format a date in 和暦, or in ISO form (2026-01-01) when it lies before 明治."""
    try:
        return format_wareki(day)
    except OutsideEraError:
        return day.isoformat()


def format_wareki_or_blank(day: date | None) -> str:
    """Format a date in 和暦; an unknown date (None) gives "" and a date before 明治 its ISO form.

    For printed documents and screens where a missing date leaves the box empty.
    """
    return "" if day is None else format_wareki_or_iso(day)


_ERA_NAMES = "|".join(era.name for era in ERAS)
_KANJI = re.compile(
    rf"^(?P<era>{_ERA_NAMES})\s*(?P<year>元|\d{{1,3}})\s*年\s*(?P<month>\d{{1,2}})\s*月\s*(?P<day>\d{{1,2}})\s*日$"
)
_LETTER = re.compile(
    r"^(?P<era>[MTSHR])\s*(?P<year>\d{1,3})[./-](?P<month>\d{1,2})[./-](?P<day>\d{1,2})$"
)
_WESTERN = re.compile(r"^(?P<year>\d{4})[-/.年](?P<month>\d{1,2})[-/.月](?P<day>\d{1,2})日?$")


def _normalise(text: str) -> str:
    # NFKC turns full-width digits and letters (Ｒ７．４．１) into ASCII, and ㋿ into 令和.
    """Normalise full-width text for date parsing."""
    return unicodedata.normalize("NFKC", text).strip().upper()


def parse_date(text: str) -> ParsedDate:
    """Parse 令和7年4月1日, 令和元年5月1日, R7.4.1, H31.4.30, 2025-04-01 or 2025/4/1.

    A date written in an era after that era ended (平成32年) parses but is flagged
    ``outside_era``; both readings of a changeover day are valid.

    :raises WarekiParseError: the text is no date, or no such day exists.
    """
    normal = _normalise(text)
    match = _WESTERN.match(normal)
    if match:
        try:
            value = date(int(match["year"]), int(match["month"]), int(match["day"]))
        except ValueError:
            raise WarekiParseError(f"{text}という日付はありません", impossible=True) from None
        return ParsedDate(value, None, False)
    match = _KANJI.match(normal) or _LETTER.match(normal)
    if not match:
        raise WarekiParseError(f"{text} は日付として読めません")
    era = _BY_NAME[match["era"]]
    year = 1 if match["year"] == "元" else int(match["year"])
    if year < 1:
        raise WarekiParseError(f"{text} の年が正しくありません")
    try:
        value = date(era.first.year + year - 1, int(match["month"]), int(match["day"]))
    except ValueError:
        raise WarekiParseError(f"{text}という日付はありません", impossible=True) from None
    outside = value < era.first or (era.last is not None and value > era.last)
    return ParsedDate(value, era.name, outside)

"""和暦: era boundaries, 元年, both readings of changeover days, input forms, out-of-era dates."""

from __future__ import annotations

from datetime import date

import pytest

from app.engine.wareki import (
    OutsideEraError,
    WarekiParseError,
    format_wareki,
    parse_date,
    wareki_parts,
)


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (date(1868, 1, 25), "明治元年1月25日"),
        (date(1912, 7, 29), "明治45年7月29日"),
        (date(1912, 7, 30), "大正元年7月30日"),
        (date(1926, 12, 24), "大正15年12月24日"),
        (date(1926, 12, 25), "昭和元年12月25日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2025, 4, 1), "令和7年4月1日"),
    ],
)
def test_format_at_era_boundaries(day: date, text: str) -> None:
    assert format_wareki(day) == text


def test_parts_write_the_first_year_as_gannen() -> None:
    assert wareki_parts(date(2019, 5, 1)).as_dict() == {
        "era": "令和",
        "year": "元",
        "month": "5",
        "day": "1",
    }


def test_date_before_meiji_has_no_era() -> None:
    with pytest.raises(OutsideEraError):
        format_wareki(date(1868, 1, 24))


@pytest.mark.parametrize(
    "text",
    [
        "令和7年4月1日",
        "R7.4.1",
        "r7.4.1",
        "Ｒ７．４．１",
        "2025-04-01",
        "2025/4/1",
        "2025年4月1日",
        "令和 7年 4月 1日",
    ],
)
def test_every_input_form_reads_the_same_day(text: str) -> None:
    assert parse_date(text).value == date(2025, 4, 1)
    assert not parse_date(text).outside_era


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("明治45年7月30日", date(1912, 7, 30)),
        ("大正元年7月30日", date(1912, 7, 30)),
        ("大正15年12月25日", date(1926, 12, 25)),
        ("昭和元年12月25日", date(1926, 12, 25)),
        ("H31.4.30", date(2019, 4, 30)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("S64.1.7", date(1989, 1, 7)),
    ],
)
def test_both_readings_of_changeover_days_are_valid(text: str, day: date) -> None:
    parsed = parse_date(text)
    assert parsed.value == day
    assert not parsed.outside_era


@pytest.mark.parametrize(
    "text", ["平成31年5月1日", "H32.1.1", "昭和64年1月8日", "大正元年7月29日", "明治元年1月24日"]
)
def test_dates_outside_their_era_are_flagged(text: str) -> None:
    assert parse_date(text).outside_era


@pytest.mark.parametrize(
    "text", ["", "令和", "令和7年2月30日", "2025-13-01", "X7.4.1", "令和0年1月1日", "昨日"]
)
def test_not_a_date(text: str) -> None:
    with pytest.raises(WarekiParseError):
        parse_date(text)


def test_format_wareki_or_blank_tolerates_none_and_pre_meiji() -> None:
    from datetime import date as _date

    from app.engine.wareki import format_wareki_or_blank, format_wareki_or_iso

    assert format_wareki_or_blank(None) == ""
    assert format_wareki_or_blank(_date(2019, 5, 1)) == "令和元年5月1日"
    assert format_wareki_or_iso(_date(1860, 1, 1)) == "1860-01-01"

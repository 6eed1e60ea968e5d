"""Deadlines as the law counts them (民法 第140条・第143条, 戸籍法 第43条), rolled by the legal
calendar only for a 届出期間, and the reason a clerk reads out with its facts filled in."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from app.engine import LoadError, evaluate, load
from app.engine.periods import DAY_AFTER, SAME_DAY, period_end
from tests.engine.conftest import SAMPLE_PATHS

LAYER = """procedures:
  - id: test_jiko
    title: 時効のある給付
    events: [death]
    department: shimin
    legal_basis: {law: kokuho_ho, article: 第110条}
    reason: "{deceased.name}さん（{deceased.birth_date}生まれ）が{death.date}に亡くなったため"
    plain: なくなった ひとの ための てつづき です。
    deadline: {from: death.date, years: 2, start: day_after, rolls_over: false, why: 時効, label: 2年}
    automatic: true
    note: 自動的に案内されます
  - id: test_todoke
    title: 届出期間のある届
    events: [death]
    department: shimin
    legal_basis: {law: jukiho, article: 第25条}
    for_each: "p in household: not ('deceased' in p.roles) and p.age >= 18"
    reason: "{p.name}さんが残された世帯員のため"
    plain: のこされた かぞくの ための てつづき です。
    deadline: {from: death.date, days: 14, start: day_after, rolls_over: true, why: 届出期間, label: 14日以内}
    automatic: true
    note: 自動的に案内されます
"""


def _facts(death: str) -> dict[str, Any]:
    return {
        "case.events": ["death"],
        "death.date": death,
        "household[0].roles": ["deceased", "household_head"],
        "household[0].name": "山田 太郎",
        "household[0].birth_date": "1947-03-02",
        "household[1].roles": ["spouse", "applicant"],
        "household[1].name": "山田 花子",
        "household[1].birth_date": "1950-08-15",
    }


@pytest.fixture(scope="module")
def layered(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder: Path = tmp_path_factory.mktemp("layer")
    (folder / "procedures.yaml").write_text(LAYER, encoding="utf-8")
    return load([*SAMPLE_PATHS, folder])


@pytest.mark.parametrize(
    ("origin", "start", "period", "end"),
    [
        # 住民基本台帳法第22条「十四日以内」: 初日不算入, 4月1日の転入は4月15日まで.
        (date(2025, 4, 1), DAY_AFTER, {"days": 14}, date(2025, 4, 15)),
        # 戸籍法第49条・第43条: 出生の日から起算, 4月1日の出生は4月14日まで.
        (date(2025, 4, 1), SAME_DAY, {"days": 14}, date(2025, 4, 14)),
        # 民法第143条: 2年 from the day after 2025-04-09 ends 2027-04-09.
        (date(2025, 4, 9), DAY_AFTER, {"years": 2}, date(2027, 4, 9)),
        # 第143条: the period starting 3月1日 for a month ends 3月31日 (not 3月28日).
        (date(2025, 2, 28), DAY_AFTER, {"months": 1}, date(2025, 3, 31)),
        # 第143条第2項ただし書: no 31st in February, so the month's last day.
        (date(2025, 1, 30), DAY_AFTER, {"months": 1}, date(2025, 2, 28)),
        (date(2024, 1, 30), DAY_AFTER, {"months": 1}, date(2024, 2, 29)),
        # 戸籍法第49条 国外: 3か月, counted from the day of birth itself.
        (date(2025, 1, 1), SAME_DAY, {"months": 3}, date(2025, 3, 31)),
    ],
)
def test_period_end_counts_as_the_civil_code(
    origin: date, start: str, period: dict[str, int], end: date
) -> None:
    assert period_end(origin, start, **period) == end


def test_a_todoke_period_ending_on_a_holiday_runs_to_the_next_open_day(layered: Any) -> None:
    # 4月15日 + 14 days = 4月29日 (昭和の日): the 届出 runs to 4月30日; 時効 2年 does not roll.
    result = evaluate(layered, _facts("2025-04-15"), date(2025, 4, 30))
    todoke = result.procedure("test_todoke[1]")
    assert todoke is not None
    assert (todoke.deadline_period_end, todoke.deadline) == (date(2025, 4, 29), date(2025, 4, 30))
    assert todoke.to_json()["deadline_rolled"] is True
    assert not todoke.overdue
    assert not [w for w in result.warnings if "届出期間のある届" in w.message]


def test_overdue_only_after_the_rolled_date(layered: Any) -> None:
    result = evaluate(layered, _facts("2025-04-15"), date(2025, 5, 1))
    todoke = result.procedure("test_todoke[1]")
    assert todoke is not None and todoke.overdue
    assert any(
        w.code == "deadline_passed" and w.message.startswith("期限超過: 届出期間のある届")
        for w in result.warnings
    )


def test_a_jiko_does_not_roll(layered: Any) -> None:
    # 2年 from the day after 2025-05-03 ends 2027-05-03 (憲法記念日): a 時効 keeps it.
    jiko = evaluate(layered, _facts("2025-05-03"), date(2025, 5, 10)).procedure("test_jiko")
    assert jiko is not None
    assert jiko.deadline == jiko.deadline_period_end == date(2027, 5, 3)


def test_reason_is_filled_with_wareki_and_names(layered: Any) -> None:
    result = evaluate(layered, _facts("2025-04-15"), date(2025, 4, 20))
    jiko = result.procedure("test_jiko")
    assert jiko is not None
    assert jiko.reason == "山田 太郎さん（昭和22年3月2日生まれ）が令和7年4月15日に亡くなったため"
    assert jiko.plain == "なくなった ひとの ための てつづき です。"
    todoke = result.procedure("test_todoke[1]")
    assert todoke is not None
    assert todoke.reason == "山田 花子さんが残された世帯員のため"
    assert todoke.person_name == "山田 花子"
    assert todoke.reason_facts == (("年齢（申請日時点）", "74"),)


def test_the_old_deadline_form_is_refused_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / "procedures.yaml").write_text(
        LAYER.replace(
            "{from: death.date, years: 2, start: day_after, rolls_over: false, why: 時効, label: 2年}",
            '{from: "add_years(death.date, 2)", days: 1, start: day_after, rolls_over: false, label: 2年}',
        ),
        encoding="utf-8",
    )
    with pytest.raises(LoadError) as caught:
        load([*SAMPLE_PATHS, tmp_path])
    (problem,) = caught.value.problems
    assert "add_years" in problem.message
    assert "years:" in problem.hint


def _profile(tmp_path: Path, closed_days: str) -> Path:
    """Copy the sample rule set with a municipality profile carrying these closed days."""
    import shutil

    root = tmp_path / "rules"
    shutil.copytree(SAMPLE_PATHS[0], root / "procedure_rules")
    shutil.copytree(SAMPLE_PATHS[1], root / "form_definitions")
    muni = root / "procedure_rules" / "municipality.yaml"
    text = muni.read_text(encoding="utf-8").replace("  options:", closed_days + "  options:", 1)
    muni.write_text(text, encoding="utf-8")
    return root


def test_the_calendar_comes_from_the_municipality_profile(tmp_path: Path) -> None:
    # A town whose 休日条例 closes 12/30–1/4 and also a 町民の日 on 2026-06-01 (a Monday).
    root = _profile(
        tmp_path,
        '  closed_days:\n    calendar: japan\n    year_end: {from: "12-30", to: "01-04"}\n'
        "    extra: [2026-06-01]\n    basis: 休日条例第1条\n",
    )
    ruleset = load([root / "procedure_rules", root / "form_definitions"])
    calendar = ruleset.calendar
    assert calendar.is_closed(date(2027, 1, 4))
    assert not calendar.is_closed(date(2026, 12, 29))  # a Tuesday, open in this town
    assert calendar.deadline(date(2026, 5, 30), rolls_over=True).due == date(2026, 6, 2)
    assert ruleset.municipality.closed_days_basis == "休日条例第1条"
    # a death on 2026-05-18: 14 days from the day after end on 6月1日, the 町民の日 -> 6月2日
    result = evaluate(
        ruleset,
        {**_facts("2026-05-18"), "household[0].kokuho_member": True},
        date(2026, 5, 20),
    )
    soshitsu = result.procedure("kokuho_soshitsu")
    assert soshitsu is not None
    assert (soshitsu.deadline_period_end, soshitsu.deadline) == (date(2026, 6, 1), date(2026, 6, 2))


def test_an_unknown_calendar_is_refused_at_its_position(tmp_path: Path) -> None:
    root = _profile(tmp_path, "  closed_days:\n    calendar: japn\n")
    with pytest.raises(LoadError) as caught:
        load([root / "procedure_rules", root / "form_definitions"])
    (problem,) = caught.value.problems
    assert problem.file.endswith("municipality.yaml")
    lines = (root / "procedure_rules" / "municipality.yaml").read_text(encoding="utf-8")
    line = lines.splitlines().index("    calendar: japn") + 1
    assert (problem.line, problem.column) == (line, 15)
    assert "japn" in problem.message
    assert "japan" in problem.hint


def test_a_per_person_reason_that_names_nobody_is_a_lint_warning(tmp_path: Path) -> None:
    """Issue 16-3: four identical lines for four members say nothing; name the member."""
    (tmp_path / "procedures.yaml").write_text(
        LAYER.replace(
            'reason: "{p.name}さんが残された世帯員のため"', "reason: 残された世帯員のため"
        ),
        encoding="utf-8",
    )
    warned = [
        w for w in load([*SAMPLE_PATHS, tmp_path]).lint_warnings if w.ident == "手続 'test_todoke'"
    ]
    assert [(w.message, w.hint) for w in warned] == [
        (
            "1人ずつの手続の理由が、どの人のことかを言っていません",
            "{p.name}さんが… のように、その人の事実を差し込みます",
        )
    ]


def test_a_per_person_reason_that_names_the_member_is_not_warned(layered: Any) -> None:
    assert not [
        w for w in layered.lint_warnings if "どの人のことか" in w.message and "test_" in w.ident
    ]

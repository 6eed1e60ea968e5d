"""Office statistics (窓口の統計): counts and durations only, never a resident's data —
cases per event and day, time from opening to issue, where form facts came from,
procedures per case, per-department counts and residents' correction requests."""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from app.engine import Result
from app.extensions import db
from app.models import AuditEvent, Case, FactValue, ResidentRequest, RoutedProcedure

# provenance -> the group the statistics show it in (typed by staff, or not)
SOURCE_GROUPS = {
    "registry": "住民記録",
    "id_qr": "カード・QR読取",
    "mynumber_card": "カード・QR読取",
    "residence_card": "カード・QR読取",
    "pre_entry": "事前入力",
    "booking": "予約",
    "derived": "自動計算",
    "interview": "聞き取り（入力）",
    "resident": "住民の申出",
}


def field_sources(result: Result, provenance: dict[str, str]) -> dict[str, int]:
    """Count a case's form fields by where their value came from (typed = ``interview``).

    A field filled from several facts counts as typed when any of them was typed; a field
    that reads no stored fact (a fixed text, today's date) is not counted.
    """
    counts: Counter[str] = Counter()
    for form in result.forms:
        for facts in form.sources.values():
            known = [provenance[f] for f in facts if f in provenance]
            if known:
                counts["interview" if "interview" in known else known[0]] += 1
    return dict(counts)


@dataclass
class OfficeStatistics:
    """What the office page shows for a period: every number is a count or a duration."""

    since: date
    until: date
    cases_by_day_event: dict[date, Counter[str]] = field(default_factory=dict)
    cases_by_event: Counter[str] = field(default_factory=Counter)
    issue_minutes: list[float] = field(default_factory=list)
    sources: Counter[str] = field(default_factory=Counter)
    procedures_per_case: list[int] = field(default_factory=list)
    departments: Counter[str] = field(default_factory=Counter)
    corrections: int = 0
    corrections_by_form: Counter[str] = field(default_factory=Counter)
    form_fields: Counter[str] = field(default_factory=Counter)  # issued cases' fields by source

    @property
    def cases(self) -> int:
        """Return the number of cases opened in the period."""
        return sum(sum(c.values()) for c in self.cases_by_day_event.values())

    @property
    def issue_median(self) -> float | None:
        """Return the median minutes from opening to issue, or None without an issued case."""
        return statistics.median(self.issue_minutes) if self.issue_minutes else None

    @property
    def issue_p90(self) -> float | None:
        """Return the 90th percentile (nearest rank) of minutes from opening to issue."""
        if not self.issue_minutes:
            return None
        ordered = sorted(self.issue_minutes)
        return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]

    @property
    def not_typed_share(self) -> float | None:
        """Return the share of facts not typed by staff (registry, card, pre-entry, booking)."""
        total = sum(self.sources.values())
        if not total:
            return None
        return 1 - self.sources.get(SOURCE_GROUPS["interview"], 0) / total

    @property
    def fields_not_typed_share(self) -> float | None:
        """Return the share of issued forms' fields not typed by staff."""
        total = sum(self.form_fields.values())
        if not total:
            return None
        return 1 - self.form_fields.get(SOURCE_GROUPS["interview"], 0) / total

    @property
    def procedures_median(self) -> float | None:
        """Return the median number of procedures an issued case was routed."""
        return statistics.median(self.procedures_per_case) if self.procedures_per_case else None


def office_statistics(since: date, until: date) -> OfficeStatistics:
    """Count the cases opened from ``since`` to ``until`` (both inclusive) and their outcomes."""
    stats = OfficeStatistics(since, until)
    start = datetime.combine(since, datetime.min.time())
    end = datetime.combine(until + timedelta(days=1), datetime.min.time())
    cases = db.session.execute(
        select(Case.id, Case.events, Case.created_at).where(
            Case.created_at >= start, Case.created_at < end
        )
    ).all()
    ids = select(Case.id).where(Case.created_at >= start, Case.created_at < end).scalar_subquery()
    day = since
    while day <= until:
        stats.cases_by_day_event[day] = Counter()
        day += timedelta(days=1)
    for row in cases:
        for event in row.events or []:
            stats.cases_by_day_event[row.created_at.date()][event] += 1
            stats.cases_by_event[event] += 1
    if not cases:
        return stats
    opened = {row.id: row.created_at for row in cases}
    routed = db.session.execute(
        select(
            RoutedProcedure.case_id,
            func.min(RoutedProcedure.routed_at),
            func.count(),
        )
        .where(RoutedProcedure.case_id.in_(ids))
        .group_by(RoutedProcedure.case_id)
    ).all()
    for case_id, first_routed, count in routed:
        stats.issue_minutes.append((first_routed - opened[case_id]).total_seconds() / 60)
        stats.procedures_per_case.append(int(count))
    for department, count in db.session.execute(
        select(RoutedProcedure.department_id, func.count())
        .where(RoutedProcedure.case_id.in_(ids))
        .group_by(RoutedProcedure.department_id)
    ).all():
        stats.departments[department] = int(count)
    for provenance, count in db.session.execute(
        select(FactValue.provenance, func.count())
        .where(FactValue.case_id.in_(ids))
        .group_by(FactValue.provenance)
    ).all():
        stats.sources[SOURCE_GROUPS.get(provenance, "その他")] += int(count)
    for (detail,) in db.session.execute(
        select(AuditEvent.detail).where(AuditEvent.case_id.in_(ids), AuditEvent.action == "routed")
    ).all():
        for provenance, count in (detail or {}).get("field_sources", {}).items():
            stats.form_fields[SOURCE_GROUPS.get(provenance, "その他")] += int(count)
    for form_key, count in db.session.execute(
        select(ResidentRequest.form_key, func.count())
        .where(ResidentRequest.case_id.in_(ids))
        .group_by(ResidentRequest.form_key)
    ).all():
        stats.corrections_by_form[form_key.split("[")[0]] += int(count)
        stats.corrections += int(count)
    return stats


def statistics_csv(
    stats: OfficeStatistics, event_titles: dict[str, str], department_names: dict[str, str]
) -> str:
    """Return the period's counts as CSV (UTF-8 with BOM, for spreadsheets): one row a day."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    events = sorted(event_titles)
    writer.writerow(["日付", "受付件数", *(event_titles[e] for e in events)])
    for day, counts in stats.cases_by_day_event.items():
        writer.writerow(
            [day.isoformat(), sum(counts.values()), *(counts.get(e, 0) for e in events)]
        )
    writer.writerow([])
    writer.writerow(["項目", "値"])
    writer.writerow(["受付件数", stats.cases])
    writer.writerow(["交付までの時間（中央値・分）", _minutes(stats.issue_median)])
    writer.writerow(["交付までの時間（90パーセンタイル・分）", _minutes(stats.issue_p90)])
    writer.writerow(["手続数（中央値・交付した案件）", stats.procedures_median or ""])
    for source, count in sorted(stats.form_fields.items()):
        writer.writerow([f"書類の欄の出所: {source}", count])
    writer.writerow(["住民からの訂正依頼", stats.corrections])
    for source, count in sorted(stats.sources.items()):
        writer.writerow([f"項目の出所: {source}", count])
    for department, count in sorted(stats.departments.items()):
        writer.writerow([f"回付した手続: {department_names.get(department, department)}", count])
    return out.getvalue()


def _minutes(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"

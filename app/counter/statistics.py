"""Office statistics (統計) for 管理者 and counter leads: counts and durations, as a page
with charts and as CSV; never a resident's data."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Response, render_template, request

from app import clock
from app.auth.access import allow
from app.counter import charts
from app.counter.blueprint import bp
from app.counter.context import ruleset
from app.services.statistics import OfficeStatistics, office_statistics, statistics_csv

DEFAULT_DAYS = 30
MAX_DAYS = 366


def _period() -> tuple[date, date]:
    today = clock.now().date()
    try:
        until = date.fromisoformat(request.args.get("until") or "")
    except ValueError:
        until = today
    try:
        since = date.fromisoformat(request.args.get("since") or "")
    except ValueError:
        since = until - timedelta(days=DEFAULT_DAYS - 1)
    if since > until:
        since, until = until, since
    return max(since, until - timedelta(days=MAX_DAYS - 1)), until


def _names() -> tuple[dict[str, str], dict[str, str]]:
    rules = ruleset()
    events = {e.id: e.title for e in rules.events.values()}
    departments = {d.id: d.name for d in rules.municipality.departments.values()}
    return events, departments


@bp.route("/statistics/")
@allow("counter", "admin")
def statistics_page():
    since, until = _period()
    stats: OfficeStatistics = office_statistics(since, until)
    events, departments = _names()
    return render_template(
        "counter/statistics.html",
        stats=stats,
        events=events,
        departments=departments,
        chart_days=charts.cases_per_day(stats.cases_by_day_event, events),
        chart_sources=charts.horizontal_counts(dict(stats.sources), "項目の出所"),
        chart_departments=charts.horizontal_counts(
            {departments.get(k, k): v for k, v in stats.departments.items()},
            "課ごとの回付件数",
        ),
    )


@bp.route("/statistics/statistics.csv")
@allow("counter", "admin")
def statistics_csv_download():
    since, until = _period()
    events, departments = _names()
    body = statistics_csv(office_statistics(since, until), events, departments)
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="statistics-{since}-{until}.csv"'},
    )

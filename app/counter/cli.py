"""``flask cases``: case housekeeping run by the operators (a daily timer)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from app import clock
from app.services.retention import expired_cases, purge_cases


@click.group("cases", cls=AppGroup)
def cases_cli() -> None:
    """Cases (受付案件): housekeeping."""


@cases_cli.command("purge")
@click.option(
    "--dry-run", is_flag=True, help="List the cases that would be purged; change nothing."
)
def purge(dry_run: bool) -> None:
    """Delete residents' data of cases finished more than RETENTION_DAYS ago (run daily)."""
    days = current_app.config["RETENTION_DAYS"]
    now = clock.now()
    cases = expired_cases(now, days)
    for case in cases:
        since = case.closed_at or case.updated_at  # signed/issued cases are never "closed"
        click.echo(f"{case.number}  final since {since:%Y-%m-%d}  ({case.status})")
    if dry_run:
        click.echo(f"{len(cases)} case(s) finished more than {days} days ago would be purged.")
        return
    purge_cases(cases, actor="retention", now=now)
    click.echo(f"purged {len(cases)} case(s) finished more than {days} days ago.")

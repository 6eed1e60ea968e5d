"""Demo data for a local trial: one staff account per role (idempotent)."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db
from app.models import StaffUser
from app.services.accounts import create_user

DEMO_USERS = (
    ("madoguchi", "counter", "窓口 一郎", "madoguchi-demo-2026"),
    ("seido", "policy", "制度 花子", "seido-demo-2026"),
    ("kanri", "admin", "管理 次郎", "kanri-demo-2026"),
)


def load_demo(now: datetime) -> list[str]:
    """Create the demo staff accounts that do not exist yet; return the ones created."""
    created = []
    for username, role, name, password in DEMO_USERS:
        if db.session.scalar(select(StaffUser).filter_by(username=username)) is None:
            create_user(username, password, role, name, now=now)
            created.append(username)
    return created


@click.group("demo", cls=AppGroup)
def demo_cli() -> None:
    """Demo data for a local trial (never in production)."""


@demo_cli.command("load")
def load() -> None:
    """Load the demo data; running it again changes nothing."""
    created = load_demo(now=datetime.now())
    click.echo(
        f"demo data: {len(created)} account(s) created" if created else "demo data: up to date"
    )
    click.echo("demo logins (role / user / password):")
    for username, role, _name, password in DEMO_USERS:
        click.echo(f"  {role:8} {username:10} {password}")

"""Demo data for a local trial: one staff account per role and the demo resident registry (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import StaffUser
from app.registry.demo import index_key, load_seed, seed_residents
from app.services.accounts import create_user
from app.services.cases import cipher

DEMO_USERS = (
    ("madoguchi", "counter", "窓口 一郎", "madoguchi-demo-2026"),
    ("seido", "policy", "制度 花子", "seido-demo-2026"),
    ("kanri", "admin", "管理 次郎", "kanri-demo-2026"),
)


@dataclass(frozen=True)
class DemoLoad:
    """What one run of the demo loader added (nothing on a second run)."""

    accounts: list[str]
    households: int


def load_demo(now: datetime) -> DemoLoad:
    """Create the demo staff accounts and registry households that do not exist yet."""
    created = []
    for username, role, name, password in DEMO_USERS:
        if db.session.scalar(select(StaffUser).filter_by(username=username)) is None:
            create_user(username, password, role, name, now=now)
            created.append(username)
    return DemoLoad(accounts=created, households=load_demo_residents())


def load_demo_residents() -> int:
    """Seed the fictional みどり市 households not yet in the demo registry; return how many."""
    added = seed_residents(
        db.session, load_seed(), cipher(), index_key(current_app.config["SECRET_KEY"])
    )
    db.session.commit()
    return added


@click.group("demo", cls=AppGroup)
def demo_cli() -> None:
    """Demo data for a local trial (never in production)."""


@demo_cli.command("load")
def load() -> None:
    """Load the demo data; running it again changes nothing."""
    loaded = load_demo(now=clock.now())
    click.echo(
        f"demo data: {len(loaded.accounts)} account(s) created"
        if loaded.accounts
        else "demo data: up to date"
    )
    click.echo(
        f"demo registry: {loaded.households} household(s) added"
        if loaded.households
        else "demo registry: up to date"
    )
    click.echo("demo logins (role / user / password):")
    for username, role, _name, password in DEMO_USERS:
        click.echo(f"  {role:8} {username:10} {password}")

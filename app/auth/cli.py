"""``flask users``: manage staff accounts from the command line."""

import click
from flask.cli import AppGroup

from app import clock
from app.models.user import STAFF_ROLES
from app.services.accounts import AccountError, create_user


@click.group("users", cls=AppGroup)
def users_cli() -> None:
    """Staff accounts (職員アカウント)."""


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(STAFF_ROLES), required=True, help="Staff role.")
@click.option("--name", "display_name", default="", help="Display name, e.g. 窓口 太郎.")
@click.password_option(help="At least 12 characters; prompted when not given.")
def create(username: str, role: str, display_name: str, password: str) -> None:
    """Create a staff account with an argon2-hashed password."""
    try:
        user = create_user(username, password, role, display_name, now=clock.now())
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {user.username} ({user.role})")

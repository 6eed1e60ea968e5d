"""``flask kiosks``: list, set up and revoke branch kiosks from the command line."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Kiosk
from app.services.joining import register_kiosk
from app.services.kiosks import find_kiosk, new_setup_code, revoke_kiosk


@click.group("kiosks", cls=AppGroup)
def kiosks_cli() -> None:
    """Branch kiosks (支所キオスク端末)."""


def _kiosk(name_or_id: str) -> Kiosk:
    kiosk = find_kiosk(name_or_id)
    if kiosk is None:
        raise click.ClickException(
            f"no kiosk named or numbered {name_or_id!r} (see: flask kiosks list)"
        )
    return kiosk


@kiosks_cli.command("list")
def list_kiosks() -> None:
    """List kiosks: id, name, state."""
    for kiosk in db.session.scalars(select(Kiosk).order_by(Kiosk.id)):
        state = (
            "revoked"
            if not kiosk.active
            else "set up"
            if kiosk.credential_issued_at
            else "awaiting setup"
        )
        click.echo(f"{kiosk.id}\t{kiosk.name}\t{state}")


@kiosks_cli.command("register")
@click.argument("name")
@click.option("--actor", default="cli", show_default=True, help="Recorded in the audit log.")
def register(name: str, actor: str) -> None:
    """Register a kiosk and print its one-time setup code (15 minutes)."""
    kiosk, code = register_kiosk(name, actor=actor, now=clock.now())
    click.echo(f"registered {kiosk.id} {kiosk.name}; setup code (15 min, once): {code}")


@kiosks_cli.command("setup-code")
@click.argument("kiosk")
@click.option("--actor", default="cli", show_default=True, help="Recorded in the audit log.")
def setup_code(kiosk: str, actor: str) -> None:
    """Issue a new one-time setup code for KIOSK (id or name), e.g. for a replaced tablet."""
    found = _kiosk(kiosk)
    if not found.active:
        raise click.ClickException(f"kiosk {found.name} is revoked; register a new one")
    click.echo(
        f"setup code for {found.name} (15 min, once): {new_setup_code(found, actor=actor, now=clock.now())}"
    )


@kiosks_cli.command("revoke")
@click.argument("kiosk")
@click.option("--actor", default="cli", show_default=True, help="Recorded in the audit log.")
def revoke(kiosk: str, actor: str) -> None:
    """Revoke KIOSK (id or name): its credential, setup code, attachment and resident session end."""
    found = _kiosk(kiosk)
    revoke_kiosk(found, actor=actor, now=clock.now())
    click.echo(f"revoked {found.id} {found.name}")

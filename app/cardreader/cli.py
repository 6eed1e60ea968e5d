"""``flask cardagents``: list and revoke the counter PCs' card agents."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app import clock
from app.services.card_agents import CardIntakeError, list_agents, revoke_agent


@click.group("cardagents", cls=AppGroup)
def cardagents_cli() -> None:
    """Card agents (カード読取端末)."""


@cardagents_cli.command("list")
def list_command() -> None:
    """List every paired agent: id, state, desk, name, who paired it, last seen."""
    for agent in list_agents():
        state = "active" if agent.active else f"revoked {agent.revoked_at:%Y-%m-%d %H:%M}"
        seen = f"{agent.last_seen_at:%Y-%m-%d %H:%M}" if agent.last_seen_at else "never"
        click.echo(f"{agent.id}\t{state}\t{agent.desk}\t{agent.name}\t{agent.paired_by}\t{seen}")


@cardagents_cli.command("revoke")
@click.argument("agent_id", type=int)
def revoke_command(agent_id: int) -> None:
    """Revoke one agent: it can no longer send readings (pair it again to reuse the PC)."""
    try:
        revoke_agent(agent_id, actor="cli", now=clock.now())
    except CardIntakeError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"revoked card agent {agent_id}")

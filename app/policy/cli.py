"""``flask rules``: lint, test, evaluate and explain procedure rules."""

import click
from flask.cli import AppGroup


@click.group("rules", cls=AppGroup)
def rules_cli() -> None:
    """Procedure rules (手続ルール): lint, scenario tests, evaluate, explain."""

"""``flask rules``: lint, test, evaluate and explain procedure rules."""

import click


@click.group("rules")
def rules_cli() -> None:
    """Procedure rules (手続ルール): lint, scenario tests, evaluate, explain."""

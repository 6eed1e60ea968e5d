"""``flask documents``: preview and verify form PDFs."""

import click
from flask.cli import AppGroup


@click.group("documents", cls=AppGroup)
def documents_cli() -> None:
    """Documents (帳票): preview a form as PDF, verify a sealed packet."""

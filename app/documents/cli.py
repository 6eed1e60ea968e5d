"""``flask documents``: preview and verify form PDFs."""

import click


@click.group("documents")
def documents_cli() -> None:
    """Documents (帳票): preview a form as PDF, verify a sealed packet."""

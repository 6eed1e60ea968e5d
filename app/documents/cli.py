"""``flask documents``: preview a form as PDF, verify a sealed packet."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.documents import RenderContext, documents, verify_pdf
from app.documents.catalog import TemplateError


@click.group("documents", cls=AppGroup)
def documents_cli() -> None:
    """Documents (帳票): preview a form as PDF, verify a sealed packet."""


@documents_cli.command("preview")
@click.argument("form_id")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="PDF file to write."
)
@click.option("--tagged", is_flag=True, help="Write the tagged PDF/UA variant (screen readers).")
def preview(form_id: str, output: Path | None, tagged: bool) -> None:
    """Render FORM_ID with its sample.yaml data to a PDF file."""
    docs = documents()
    try:
        template = docs.catalog.form(form_id)
    except TemplateError as exc:
        known = ", ".join(sorted(docs.catalog.forms)) or "none"
        raise click.ClickException(f"{exc}\nknown forms: {known}") from None
    context = RenderContext(case_number="見本", ruleset_version="sample", municipality="見本市")
    pdf = docs.render_form_pdf(form_id, template.sample, context, tagged=tagged)
    target = output or Path(template.file_name)
    target.write_bytes(pdf)
    click.echo(f"wrote {target} ({len(pdf):,} bytes)")


@documents_cli.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify(file: Path) -> None:
    """Check that FILE carries the municipality's seal and is unchanged; exit 1 if not."""
    verdict = verify_pdf(file.read_bytes(), current_app.instance_path)
    click.echo(f"{file}: {verdict}")
    if not verdict.valid:
        raise SystemExit(1)

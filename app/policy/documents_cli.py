"""``flask documents``: preview a form as PDF, verify a sealed packet."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.documents import RenderContext, documents, verify_pdf
from app.documents.catalog import TemplateError
from app.errors import DomainError
from app.policy.cli import parse_as_of, read_facts
from app.services.rules import current_ruleset, evaluate_case
from app.services.ruleset_store import get_version
from app.services.version_documents import documents_for_version


@click.group("documents", cls=AppGroup)
def documents_cli() -> None:
    """Documents (帳票): preview a form as PDF, verify a sealed packet."""


@documents_cli.command("preview")
@click.argument("form_id")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="PDF file to write."
)
@click.option("--tagged", is_flag=True, help="Write the tagged PDF/UA variant (screen readers).")
@click.option(
    "--version",
    "version_ref",
    default="",
    help="Print with the templates of this rule-set version (id or name); default the app's.",
)
def preview(form_id: str, output: Path | None, tagged: bool, version_ref: str) -> None:
    """Render FORM_ID with its sample.yaml data to a PDF file."""
    try:
        docs = documents_for_version(get_version(version_ref)) if version_ref else documents()
    except (DomainError, TemplateError) as exc:
        raise click.ClickException(str(getattr(exc, "message", exc))) from None
    try:
        template = docs.catalog.form(form_id)
    except TemplateError as exc:
        known = ", ".join(sorted(docs.catalog.forms)) or "none"
        raise click.ClickException(f"{exc}\nknown forms: {known}") from None
    context = RenderContext(
        case_number="見本", ruleset_version="sample", municipality="見本市", prefecture="見本県"
    )
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


@documents_cli.command("packet")
@click.option(
    "--facts", "facts_path", required=True, help="JSON file of fact id → value ('-' for stdin)."
)
@click.option("--as-of", "as_of", help="Application date YYYY-MM-DD (default: today).")
@click.option("--case-number", default="見本", help="Printed in every footer.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="PDF file to write.",
)
@click.option("--tagged", is_flag=True, help="The tagged PDF/UA variant.")
def packet(
    facts_path: str, as_of: str | None, case_number: str, output: Path, tagged: bool
) -> None:
    """Evaluate a case's facts and write its packet: the cover sheet, then every form."""
    ruleset = current_ruleset(current_app)
    result = evaluate_case(current_app, read_facts(facts_path), parse_as_of(as_of)).to_json()
    context = RenderContext(
        case_number=case_number,
        ruleset_version=result["ruleset_version"],
        municipality=ruleset.municipality.name,
        prefecture=ruleset.municipality.prefecture,
    )
    pdf = documents().render_packet_pdf(
        result["forms"], context, procedures=result["procedures"], tagged=tagged
    )
    output.write_bytes(pdf)
    click.echo(
        f"wrote {output}: {len(result['procedures'])} procedures, {len(result['forms'])} forms"
        f" ({len(pdf):,} bytes)"
    )

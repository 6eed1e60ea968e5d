"""``flask rules versions|import|export|diff|publish``: rule-set versions for operators.

Registered on the same ``rules`` group as lint/test/evaluate (``app.policy.cli``).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import click
from flask import current_app

from app import clock
from app.errors import DomainError
from app.models.ruleset import RuleSetVersion
from app.policy.cli import rules_cli
from app.services.rules import timeline
from app.services.ruleset_diff import diff_versions
from app.services.ruleset_store import (
    all_versions,
    dir_folders,
    export_version,
    get_version,
    import_files,
    read_folders,
)
from app.services.versions import publish


def _fail(exc: DomainError) -> click.ClickException:
    """Turn a refused step into a clean message (no traceback)."""
    hint = f"\n{exc.hint}" if exc.hint else ""
    return click.ClickException(f"{exc.message}{hint}")


def version_row(version: RuleSetVersion) -> dict[str, Any]:
    """Return the fields ``flask rules versions`` lists for one version."""

    def stamp(value: Any) -> str | None:
        return value.isoformat(timespec="seconds") if value is not None else None

    return {
        "id": version.name,
        "number": version.id,
        "content_hash": version.content_hash,
        "parent": version.parent_id,
        "status": version.status,
        "effective_from": version.effective_from.isoformat() if version.effective_from else None,
        "created_by": version.created_by,
        "created_at": stamp(version.created_at),
        "approved_by": version.approved_by,
        "published_by": version.published_by,
        "published_at": stamp(version.published_at),
        "note": version.note,
    }


@rules_cli.command("versions")
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON list (the stable machine contract)."
)
def versions_command(as_json: bool) -> None:
    """List every rule-set version, newest first: status, dates, people, note."""
    timeline(current_app).entries()  # seeds the first version on a fresh database
    rows = [version_row(v) for v in all_versions()]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(
            f"#{row['number']:<4} {row['id']}  {row['status']:<9}  from {row['effective_from'] or '-':<10}  "
            f"by {row['created_by']}  approved {row['approved_by'] or '-'}  "
            f"published {row['published_by'] or '-'} {row['published_at'] or ''}  {row['note']}"
        )


@rules_cli.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--note", default="", help="Change note (what and why, with the legal basis).")
@click.option("--actor", default="cli", help="Who imports (recorded in the audit trail).")
def import_command(directory: Path, note: str, actor: str) -> None:
    """Import DIRECTORY (procedure_rules/, form_definitions/, pdf_templates/) as a version.

    On an empty database it becomes the first published version; later imports are drafts
    that go through the same approval as edits in the browser.
    """
    try:
        files = read_folders(dir_folders(directory), int(current_app.config["POLICY_FILE_LIMIT"]))
        version = import_files(
            files, actor=actor, now=clock.now(), note=note or f"{directory} から取り込み"
        )
    except DomainError as exc:
        raise _fail(exc) from None
    click.echo(f"imported #{version.id} {version.name} ({len(files)} files) as {version.status}")


@rules_cli.command("export")
@click.argument("version_ref")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export_command(version_ref: str, directory: Path) -> None:
    """Write VERSION (number or hash prefix) as files under DIRECTORY."""
    try:
        version = get_version(version_ref)
    except DomainError as exc:
        raise _fail(exc) from None
    count = export_version(version, directory)
    click.echo(f"wrote {count} files of #{version.id} {version.name} to {directory}")


@rules_cli.command("diff")
@click.argument("a")
@click.argument("b")
def diff_command(a: str, b: str) -> None:
    """Show what changed from version A to version B, file by file, with changed ids."""
    try:
        old, new = get_version(a), get_version(b)
    except DomainError as exc:
        raise _fail(exc) from None
    changes = diff_versions(old, new)
    if not changes:
        click.echo(f"#{old.id} {old.name} と #{new.id} {new.name} の内容は同じです")
        return
    for change in changes:
        click.echo(f"== {change.label}: {change.name}")
        if change.changed_ids:
            click.echo("   変わった項目: " + ", ".join(change.changed_ids))
        for line in change.lines:
            click.echo(line)


@rules_cli.command("publish")
@click.argument("version_ref")
@click.option(
    "--effective-from",
    "effective_from",
    required=True,
    help="YYYY-MM-DD: applies to applications from this date.",
)
@click.option(
    "--approved-by",
    "approved_by",
    help="Emergency: another policy user who approved it outside the app.",
)
@click.option("--actor", default="cli", help="Who publishes (recorded in the audit trail).")
def publish_command(
    version_ref: str, effective_from: str, approved_by: str | None, actor: str
) -> None:
    """Publish VERSION from a date; refused unless it is approved (or --approved-by)."""
    try:
        day = date.fromisoformat(effective_from)
    except ValueError:
        raise click.BadParameter(
            "YYYY-MM-DD の形で書いてください", param_hint="--effective-from"
        ) from None
    try:
        version = publish(
            get_version(version_ref),
            actor=actor,
            now=clock.now(),
            config=current_app.config,
            effective_from=day,
            approved_by=approved_by,
        )
    except DomainError as exc:
        raise _fail(exc) from None
    timeline(current_app).forget()
    click.echo(f"published #{version.id} {version.name} from {day.isoformat()}")

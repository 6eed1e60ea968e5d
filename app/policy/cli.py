"""``flask rules``: lint, test, evaluate and explain procedure rules."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from app import clock
from app.engine import LoadError, RuleSet, evaluate, load
from app.engine.explain import explain
from app.engine.scenarios import run_scenarios
from app.services.rules import rule_paths


def _paths(given: tuple[str, ...]) -> list[Path]:
    """Return the given paths, or the app's rule and form folders."""
    return [Path(p) for p in given] if given else rule_paths(current_app.config)


def _load(given: tuple[str, ...]) -> RuleSet:
    """Load the rules or exit with every problem printed."""
    try:
        return load(_paths(given))
    except LoadError as exc:
        # The same lines as the loader's (and the policy screen's): file:line:column relative
        # to the rule set, in Japanese; then the count, and exit 1 without click's "Error:".
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(f"ルールに問題が {len(exc.problems)} 件あります", err=True)
        raise SystemExit(1) from None


def read_facts(path: str) -> dict[str, Any]:
    """Read a JSON object of facts from a file or standard input."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        data = json.loads(text)
    except OSError as exc:
        raise click.ClickException(f"{path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise click.ClickException(
            f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise click.ClickException(f"{path}: must be a JSON object of fact id → value")
    return data


def read_case(path: str) -> tuple[dict[str, Any], str | None]:
    """Read a case file: fact id → value, or the API's ``{"facts": …, "as_of": …}``.

    Returns the facts and the envelope's as_of (None without one). An envelope with other
    keys, or whose facts are not an object, is refused rather than read as facts.
    """
    data = read_facts(path)
    if "facts" not in data:
        return data, None
    extra = sorted(set(data) - {"facts", "as_of", "strict"})
    if extra or not isinstance(data["facts"], dict):
        raise click.ClickException(
            f'{path}: {{"facts": {{…}}, "as_of": "YYYY-MM-DD"}} の形にしてください'
            + (f"（不明なキー: {', '.join(extra)}）" if extra else "（facts がオブジェクトではありません）")
        )
    as_of = data.get("as_of")
    if as_of is not None and not isinstance(as_of, str):
        raise click.ClickException(f"{path}: as_of は \"YYYY-MM-DD\" の文字列で書いてください")
    return data["facts"], as_of


def parse_as_of(value: str | None) -> date:
    """Parse --as-of, defaulting to today."""
    if value is None:
        return clock.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("write the date as YYYY-MM-DD", param_hint="--as-of") from None


def case_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add the options naming a case: its facts file, application date and rule folders."""
    for option in reversed(
        (
            click.option(
                "--facts",
                "facts_path",
                required=True,
                help="JSON file of fact id → value ('-' for stdin).",
            ),
            click.option("--as-of", "as_of", help="Application date YYYY-MM-DD (default: today)."),
            click.option(
                "--rules",
                "paths",
                multiple=True,
                type=click.Path(exists=True),
                help="Rule/form folders (default: RULES_DIR and FORMS_DIR).",
            ),
        )
    ):
        command = option(command)
    return command


@click.group("rules", cls=AppGroup)
def rules_cli() -> None:
    """Procedure rules (手続ルール): lint, scenario tests, evaluate, explain."""


@rules_cli.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
def lint(paths: tuple[str, ...]) -> None:
    """Check the rules and forms; print every problem as file:line:column: id: what (fix)."""
    ruleset = _load(paths)
    for warning in ruleset.lint_warnings:
        click.echo(f"警告: {warning}", err=True)
    click.echo(
        f"ok: {len(ruleset.procedures)} procedures, {len(ruleset.forms)} forms, "
        f"{len(ruleset.facts)} facts, {len(ruleset.scenarios)} scenarios (version {ruleset.version})"
    )


@rules_cli.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("-k", "match", help="Run only scenarios whose name contains this text.")
def test(paths: tuple[str, ...], match: str | None) -> None:
    """Run the YAML scenario tests and show a readable difference for each failure."""
    ruleset = _load(paths)
    outcomes = [o for o in run_scenarios(ruleset) if not match or match in o.scenario.name]
    failed = 0
    for outcome in outcomes:
        pos = outcome.scenario.pos
        if outcome.passed:
            click.echo(f"PASS {outcome.scenario.name}")
            continue
        failed += 1
        click.echo(f"FAIL {outcome.scenario.name}  ({pos.file}:{pos.line})")
        for line in outcome.differences:
            click.echo(line)
    click.echo(f"{len(outcomes) - failed} passed, {failed} failed")
    if failed:
        raise SystemExit(1)


@rules_cli.command("evaluate")
@case_options
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1, listing every problem, if any fact, role or key is not used as given.",
)
def evaluate_command(
    facts_path: str, as_of: str | None, paths: tuple[str, ...], strict: bool
) -> None:
    """Print the Result for a case as JSON (the stable machine contract).

    The file holds fact id → value, or the API's envelope ``{"facts": …, "as_of": …}``.
    """
    ruleset = _load(paths)
    facts, envelope_as_of = read_case(facts_path)
    if as_of is not None and envelope_as_of is not None and as_of != envelope_as_of:
        raise click.ClickException(
            f"--as-of {as_of} とファイルの as_of {envelope_as_of} が違います。どちらか一つにしてください"
        )
    day = parse_as_of(as_of or envelope_as_of)
    if as_of is None and envelope_as_of is None:
        click.echo(f"as_of: {day.isoformat()}（今日の日付を使いました）", err=True)
    result = evaluate(ruleset, facts, day)
    problems = result.input_problems()
    if strict and problems:
        for problem in problems:
            click.echo(f"{problem.fact}: {problem.code}: {problem.message}", err=True)
        click.echo(
            json.dumps(
                {"problems": [p.to_json() for p in problems]}, ensure_ascii=False, indent=2
            )
        )
        raise SystemExit(1)
    click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))


@rules_cli.command("explain")
@click.argument("procedure_id")
@case_options
def explain_command(
    procedure_id: str, facts_path: str, as_of: str | None, paths: tuple[str, ...]
) -> None:
    """Explain whether and why one procedure applies to a case."""
    ruleset = _load(paths)
    try:
        lines = explain(ruleset, read_facts(facts_path), parse_as_of(as_of), procedure_id)
    except KeyError:
        ids = [p.id for p in ruleset.procedures]
        from app.engine.errors import did_you_mean

        hint = did_you_mean(procedure_id, ids)
        raise click.ClickException(
            f"不明な手続 '{procedure_id}'" + (f"（{hint}）" if hint else "")
        ) from None
    for line in lines:
        click.echo(line)

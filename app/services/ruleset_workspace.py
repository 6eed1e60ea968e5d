"""What the policy workspace's pages show: the timeline, a version with its check, a draft
rule set to compare with the one in force."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import Flask

from app.engine import RuleSet, evaluate
from app.models.ruleset import CONTENT_ROOTS, RuleSetVersion
from app.services.rules import InForce, cached_ruleset, timeline
from app.services.ruleset_check import VersionCheck
from app.services.ruleset_municipality import CITY_FIELDS, MUNICIPALITY_FILE, profile
from app.services.ruleset_params import ParameterView, parameter, parameters
from app.services.ruleset_procedures import FIELDS, ProcedureView, procedure, procedures
from app.services.ruleset_store import (
    FROM_THE_START,
    TEXT_SUFFIXES,
    VersionError,
    all_versions,
    file_of,
)
from app.services.versions import check

ROOT_LABELS = {
    "procedure_rules": "手続ルール（procedure_rules/）",
    "form_definitions": "帳票の項目（form_definitions/）",
    "pdf_templates": "帳票のひな形（pdf_templates/）",
}


@dataclass(frozen=True)
class Period:
    """One stretch of application dates and the version that applies to it."""

    start: date | None  # None: from the start
    end: date | None  # None: open-ended
    entry: InForce


def periods(app: Flask) -> list[Period]:
    """Return the timeline: for each stretch of application dates, the version in force."""
    entries = timeline(app).entries()  # newest effective date first
    result: list[Period] = []
    end: date | None = None
    seen_from: set[date] = set()
    for entry in entries:
        if entry.effective_from in seen_from:
            continue  # published earlier for the same date: replaced by the later publish
        seen_from.add(entry.effective_from)
        start = None if entry.effective_from == FROM_THE_START else entry.effective_from
        result.append(Period(start, end, entry))
        end = entry.effective_from - timedelta(days=1) if start is not None else None
    return result


def workspace_index(app: Flask, today: date) -> dict[str, Any]:
    """Return the versions list page: every version, the timeline and the one in force today."""
    line = periods(app)
    return {
        "versions": all_versions(),
        "periods": line,
        "in_force": timeline(app).in_force(today),
        "today": today,
    }


def files_by_root(version: RuleSetVersion) -> dict[str, list[Any]]:
    """Return a version's files grouped by content folder, in name order."""
    groups: dict[str, list[Any]] = {root: [] for root in CONTENT_ROOTS}
    for item in version.files:
        groups[item.name.split("/", 1)[0]].append(item)
    return groups


def version_page(version: RuleSetVersion, config: Mapping[str, Any]) -> dict[str, Any]:
    """Return a version's page: its files, check result and whether each step is open."""
    result = check(version, config)
    return {
        "version": version,
        "groups": files_by_root(version),
        "root_labels": ROOT_LABELS,
        "check": result,
        "require_approval": bool(config.get("POLICY_REQUIRE_APPROVAL", True)),
        "parameters": parameters_of(version),
        "procedures": procedures_by_file(version),
    }


def draft_ruleset(version: RuleSetVersion, config: Mapping[str, Any]) -> RuleSet:
    """Return a version's compiled rule set, once its check in a budgeted process is clean.

    :raises VersionError: the version has load problems (scenarios may fail: that is what
        comparing is for).
    """
    result: VersionCheck = check(version, config)
    if result.refused:
        raise VersionError(result.refused, code="check_refused")
    if result.problems:
        raise VersionError(
            f"版 {version.name} には {len(result.problems)} 件の問題があるので評価できません。",
            hint="ファイルの問題を直して保存してください。",
            code="lint_failed",
        )
    return cached_ruleset(version)


def file_page(
    version: RuleSetVersion, name: str, config: Mapping[str, Any], text: str | None = None
) -> dict[str, Any]:
    """Return the editor page of one file: its text (or what was typed), revision, problems."""
    item = file_of(version, name)
    result = check(version, config)
    editable_text = name.endswith(tuple(TEXT_SUFFIXES))
    return {
        "version": version,
        "item": item,
        "text": text
        if text is not None
        else (item.content.decode("utf-8", errors="replace") if editable_text else ""),
        "is_text": editable_text,
        "problems": result.problems_in(name),
        "problem_marks": [
            {
                "line": p.line,
                "column": p.column,
                "message": f"{p.message}（{p.hint}）" if p.hint else p.message,
            }
            for p in result.problems_in(name)
        ],
        "all_problems": result.problems,
        "check": result,
        "mode": "yaml" if name.endswith((".yaml", ".yml")) else "text",
    }


def parameter_page(version: RuleSetVersion, param_id: str) -> dict[str, Any]:
    """Return the plain form of one parameter's dated values."""
    found = parameter(version, param_id)
    rows = [(v.valid_from.isoformat(), str(v.value)) for v in found.values]
    return {"version": version, "parameter": found, "rows": rows}


def parameters_of(version: RuleSetVersion) -> list[ParameterView]:
    """Return the parameters a version's plain forms can edit ([] when the file is unreadable)."""
    try:
        return parameters(version)
    except VersionError:
        return []


def procedures_by_file(version: RuleSetVersion) -> dict[str, list[ProcedureView]]:
    """Return the procedures the plain form can edit, grouped by their file."""
    groups: dict[str, list[ProcedureView]] = {}
    for found in procedures(version):
        groups.setdefault(found.file, []).append(found)
    return groups


def procedure_page(
    version: RuleSetVersion, procedure_id: str, config: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the plain form of one procedure's words, with the check's problems for it."""
    found = procedure(version, procedure_id)
    ident = f"手続 '{procedure_id}'"
    result = check(version, config)
    return {
        "version": version,
        "procedure": found,
        "labels": FIELDS,
        "values": {
            "title": found.title,
            "reason": found.reason,
            "plain": found.plain,
            "note": found.note,
            "bring": "\n".join(found.bring),
        },
        "problems": [p for p in result.problems_in(found.file) if p.ident == ident],
        "refused": result.refused,
        "examples": (
            reason_examples(version, procedure_id, config)
            if not result.problems and not result.refused
            else []
        ),
    }


def reason_examples(
    version: RuleSetVersion, procedure_id: str, config: Mapping[str, Any], limit: int = 5
) -> list[tuple[str, str, str]]:
    """Return how the procedure's reason reads in the scenarios it applies to (synthetic data):
    (scenario, the member it is for or "", the filled reason), a few."""
    rules = draft_ruleset(version, config)
    found: list[tuple[str, str, str]] = []
    for scenario in rules.scenarios:
        result = evaluate(rules, scenario.facts, scenario.as_of)
        for applied in result.procedures:
            if applied.id == procedure_id:
                found.append((scenario.name, applied.person_name or "", applied.reason or ""))
                if len(found) >= limit:
                    return found
    return found


def municipality_page(version: RuleSetVersion, config: Mapping[str, Any]) -> dict[str, Any]:
    """Return the plain form of the municipality profile, with the check's problems in it."""
    result = check(version, config)
    return {
        "version": version,
        "profile": profile(version),
        "city_labels": CITY_FIELDS,
        "file": MUNICIPALITY_FILE,
        "problems": result.problems_in(MUNICIPALITY_FILE),
    }

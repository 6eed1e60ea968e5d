"""What a draft would change: every scenario and the latest real cases, under the draft
and under the version in force, compared procedure by procedure, form by form.

Nothing is written but one audit event per report (real cases' facts were read). For real
cases only case numbers and the names of what changed are reported — never a field's value,
which may be a name or an address; for scenarios (synthetic data) values are shown.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.engine import Result, RuleSet, evaluate
from app.errors import DomainError
from app.extensions import db
from app.models import AuditEvent, Case
from app.services.cases import fact_values
from app.services.interview import case_as_of
from app.services.rules import ruleset_for


@dataclass(frozen=True)
class Change:
    """One difference in a case's outcome: which procedure, what, before and after."""

    procedure: str  # procedure id (or the form's id when no procedure names it)
    kind: str  # procedure_added / procedure_removed / deadline / form_added / form_removed / field
    what: str  # Japanese: what changed
    before: str = ""
    after: str = ""


KIND_LABELS = {
    "procedure_added": "手続が増える",
    "procedure_removed": "手続がなくなる",
    "deadline": "期限が変わる",
    "form_added": "帳票が増える",
    "form_removed": "帳票がなくなる",
    "field": "記入値が変わる",
    "error": "判定できない",
}


@dataclass(frozen=True)
class ImpactItem:
    """One scenario or case whose outcome differs."""

    kind: str  # scenario / case
    label: str  # the scenario's name, or the case number
    as_of: date
    changes: tuple[Change, ...]
    case_id: int | None = None


@dataclass
class ImpactReport:
    """Every scenario and case that would change, and counts per procedure."""

    scenarios_checked: int = 0
    cases_checked: int = 0
    items: list[ImpactItem] = field(default_factory=list)
    per_procedure: Counter[str] = field(default_factory=Counter)
    titles: dict[str, str] = field(default_factory=dict)

    @property
    def scenario_items(self) -> list[ImpactItem]:
        """Return the scenarios that change."""
        return [i for i in self.items if i.kind == "scenario"]

    @property
    def case_items(self) -> list[ImpactItem]:
        """Return the real cases that change."""
        return [i for i in self.items if i.kind == "case"]


def _show(value: Any) -> str:
    if value is None:
        return "（なし）"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def compare_results(before: Result, after: Result, *, values: bool) -> list[Change]:
    """Return what differs between two evaluations of the same facts on the same date."""
    changes: list[Change] = []
    old = {p.key: p for p in before.procedures}
    new = {p.key: p for p in after.procedures}
    owner: dict[str, str] = {}
    for p in (*before.procedures, *after.procedures):
        for form_key in p.forms:
            owner.setdefault(form_key, p.id)
    for key in sorted(new.keys() - old.keys()):
        changes.append(Change(new[key].id, "procedure_added", f"{new[key].title}（{key}）"))
    for key in sorted(old.keys() - new.keys()):
        changes.append(Change(old[key].id, "procedure_removed", f"{old[key].title}（{key}）"))
    for key in sorted(old.keys() & new.keys()):
        if old[key].deadline != new[key].deadline:
            changes.append(
                Change(
                    new[key].id,
                    "deadline",
                    f"{new[key].title} の期限",
                    _show(old[key].deadline),
                    _show(new[key].deadline),
                )
            )
    old_forms = {f.key: f for f in before.forms}
    new_forms = {f.key: f for f in after.forms}
    for key in sorted(new_forms.keys() - old_forms.keys()):
        form = new_forms[key]
        changes.append(Change(owner.get(form.id, form.id), "form_added", f"{form.title}（{key}）"))
    for key in sorted(old_forms.keys() - new_forms.keys()):
        form = old_forms[key]
        changes.append(
            Change(owner.get(form.id, form.id), "form_removed", f"{form.title}（{key}）")
        )
    for key in sorted(old_forms.keys() & new_forms.keys()):
        a, b = old_forms[key], new_forms[key]
        procedure = owner.get(a.id, a.id)
        for name in sorted(a.fields.keys() | b.fields.keys()):
            if a.fields.get(name) != b.fields.get(name):
                changes.append(
                    Change(
                        procedure,
                        "field",
                        f"{b.title} の {name}",
                        _show(a.fields.get(name)) if values else "",
                        _show(b.fields.get(name)) if values else "",
                    )
                )
        for name in sorted(a.rows.keys() | b.rows.keys()):
            if a.rows.get(name) != b.rows.get(name):
                changes.append(Change(procedure, "field", f"{b.title} の {name}（表）"))
    return changes


def _evaluate(ruleset: RuleSet, facts: dict[str, Any], as_of: date) -> Result | str:
    """Evaluate, or return the Japanese reason it could not be."""
    try:
        return evaluate(ruleset, facts, as_of)
    except DomainError as exc:
        return exc.message


def _compare(
    base: RuleSet, draft: RuleSet, facts: dict[str, Any], as_of: date, *, values: bool
) -> list[Change]:
    before = _evaluate(base, facts, as_of)
    after = _evaluate(draft, facts, as_of)
    if isinstance(before, str) or isinstance(after, str):
        if isinstance(before, str) and isinstance(after, str):
            return []
        reason = after if isinstance(after, str) else before
        return [Change("-", "error", str(reason))]
    return compare_results(before, after, values=values)


def recent_cases(limit: int) -> list[Case]:
    """Return the latest real cases (not purged), newest first."""
    if limit <= 0:
        return []
    return list(
        db.session.scalars(
            select(Case).where(Case.purged_at.is_(None)).order_by(Case.id.desc()).limit(limit)
        )
    )


def impact_report(
    app: Flask, draft: RuleSet, *, cases: int, actor: str, now: datetime, version_name: str
) -> ImpactReport:
    """Compare the draft with the version in force over every scenario and the latest cases."""
    report = ImpactReport()
    for p in draft.procedures:
        report.titles[p.id] = p.title
    for scenario in draft.scenarios:
        report.scenarios_checked += 1
        base = ruleset_for(app, scenario.as_of)
        changes = _compare(base, draft, dict(scenario.facts), scenario.as_of, values=True)
        if changes:
            report.items.append(
                ImpactItem("scenario", scenario.name, scenario.as_of, tuple(changes))
            )
    read = recent_cases(cases)
    for case in read:
        report.cases_checked += 1
        as_of = case_as_of(case)
        base = ruleset_for(app, as_of)
        changes = _compare(base, draft, fact_values(case), as_of, values=False)
        if changes:
            report.items.append(ImpactItem("case", case.number, as_of, tuple(changes), case.id))
    for item in report.items:
        for procedure in {c.procedure for c in item.changes}:
            report.per_procedure[procedure] += 1
    if read:
        db.session.add(
            AuditEvent(
                case_id=None,
                actor=actor,
                action="ruleset_impact_cases_read",
                detail={"version": version_name, "cases": [c.number for c in read][:1000]},
                at=now,
            )
        )
    db.session.commit()
    return report


@dataclass(frozen=True)
class SideBySide:
    """One case or scenario on one date, under the version in force and under the draft."""

    label: str
    as_of: date
    in_force: Result | str
    draft: Result | str
    in_force_version: str
    changes: tuple[Change, ...]


def side_by_side(
    app: Flask,
    draft: RuleSet,
    facts: dict[str, Any],
    as_of: date,
    *,
    label: str,
    values: bool,
) -> SideBySide:
    """Evaluate the same facts on one date under the version in force and under the draft."""
    base = ruleset_for(app, as_of)
    before = _evaluate(base, facts, as_of)
    after = _evaluate(draft, facts, as_of)
    changes = (
        compare_results(before, after, values=values)
        if isinstance(before, Result) and isinstance(after, Result)
        else []
    )
    return SideBySide(label, as_of, before, after, base.version, tuple(changes))


def case_facts_for_policy(
    case_id: int, *, actor: str, now: datetime
) -> tuple[Case, dict[str, Any]]:
    """Return a real case's facts for a side-by-side evaluation, auditing the read (committed).

    :raises DomainError: no such case (404).
    """
    case = db.session.get(Case, case_id)
    if case is None or case.purged_at is not None:
        raise DomainError("その受付番号の案件はありません。", code="unknown_case", status=404)
    facts = fact_values(case)
    db.session.add(
        AuditEvent(case_id=case.id, actor=actor, action="ruleset_case_compared", detail={}, at=now)
    )
    db.session.commit()
    return case, facts


def case_by_number(number: str) -> Case | None:
    """Return the case with this case number, if any."""
    return db.session.scalar(select(Case).where(Case.number == number.strip()))


def compare_page(
    app: Flask,
    draft: RuleSet,
    *,
    scenario: str,
    case_number: str,
    as_of: date | None,
    actor: str,
    now: datetime,
) -> SideBySide | None:
    """Evaluate a chosen scenario or real case (audited) under the draft and the version in force.

    :raises DomainError: no scenario or case by that name or number.
    """
    if case_number.strip():
        found = case_by_number(case_number)
        if found is None or found.purged_at is not None:
            raise DomainError(
                f"受付番号「{case_number}」の案件はありません。",
                hint="受付番号を確かめてください。",
                code="unknown_case",
                status=404,
            )
        case, facts = case_facts_for_policy(found.id, actor=actor, now=now)
        day = as_of or case_as_of(case)
        return side_by_side(app, draft, facts, day, label=f"案件 {case.number}", values=False)
    if scenario:
        chosen = next((s for s in draft.scenarios if s.name == scenario), None)
        if chosen is None:
            raise DomainError(
                f"シナリオ「{scenario}」はこの版にありません。", code="unknown_scenario"
            )
        day = as_of or chosen.as_of
        return side_by_side(
            app, draft, dict(chosen.facts), day, label=f"シナリオ {chosen.name}", values=True
        )
    return None

"""Run the scenario tests policy staff write in YAML and describe any difference readably."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from app.engine.evaluate import evaluate
from app.engine.factids import FIELD_KEY
from app.engine.model import RuleSet, Scenario
from app.engine.result import Result


@dataclass(frozen=True)
class ScenarioOutcome:
    """A scenario and the differences found (none means it passed)."""

    scenario: Scenario
    differences: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Tell whether the scenario's expectations all held."""
        return not self.differences


def _compare_set(what: str, expected: list[str], actual: list[tuple[str, str]]) -> list[str]:
    """Compare expected ids (``id`` or ``id[n]``) with actual (key, id) pairs."""
    wanted = set(expected)
    lines: list[str] = []
    for item in expected:
        if not any(item in (key, pid) for key, pid in actual):
            lines.append(f"  - {what}: expected {item}, but it did not come out")
    for key, pid in actual:
        if key not in wanted and pid not in wanted:
            lines.append(f"  + {what}: {key} came out, but the scenario does not expect it")
    return lines


def _field_value(result: Result, key: str) -> tuple[bool, Any]:
    """Return (found, value) for a scenario field key, or (False, why not)."""
    match = FIELD_KEY.match(key)
    if not match:
        return (
            False,
            f"cannot read field key {key!r} (write <form>.<field> or <form>.<rows>[n].<field>)",
        )
    form = result.form(match["form"])
    if form is None:
        return False, f"form {match['form']} was not produced"
    if match["row"]:
        rows = form.rows.get(match["row"])
        if rows is None:
            return False, f"form {match['form']} has no rows {match['row']}"
        n = int(match["n"])
        if n >= len(rows):
            return False, f"{match['form']}.{match['row']} has only {len(rows)} row(s)"
        row = rows[n]
        if match["field"] not in row:
            return False, f"{match['form']}.{match['row']} has no field {match['field']}"
        return True, row[match["field"]]
    if match["field"] not in form.fields:
        return False, f"form {match['form']} has no field {match['field']}"
    return True, form.fields[match["field"]]


def _same(expected: Any, actual: Any) -> bool:
    """Compare an expected YAML value with a printed field value."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and {k: str(v) for k, v in expected.items()} == actual
    if expected is None or actual is None:
        return expected is actual
    return str(expected) == str(actual)


def _compare_by_procedure(result: Result, expect: dict[str, Any]) -> list[str]:
    """Compare the deadline (a date) and department (an id) each named procedure came out with."""
    lines: list[str] = []
    applied = {p.key: p for p in result.procedures}
    by_id: dict[str, list[str]] = {}
    for p in result.procedures:
        by_id.setdefault(p.id, []).append(p.key)
    for what in ("deadlines", "departments"):
        for name, wanted in (expect.get(what) or {}).items():
            keys = [name] if name in applied else by_id.get(name, [])
            if len(keys) != 1:
                why = "did not come out" if not keys else f"came out {len(keys)} times (write {keys[0]})"
                lines.append(f"  ! {what} {name}: the procedure {why}")
                continue
            item = applied[keys[0]]
            if what == "deadlines":
                actual: Any = item.deadline.isoformat() if item.deadline else None
                expected = wanted.isoformat() if isinstance(wanted, date) else wanted
            else:
                actual, expected = item.department.get("id"), wanted
            if expected != actual:
                lines.append(f"  ≠ {what[:-1]} {name}: expected {expected!r}, got {actual!r}")
    return lines


def run_scenario(ruleset: RuleSet, scenario: Scenario) -> ScenarioOutcome:
    """Evaluate one scenario and list every way the result differs from what it expects."""
    result = evaluate(ruleset, scenario.facts, scenario.as_of)
    expect = scenario.expect
    lines: list[str] = []
    if "procedures" in expect:
        lines += _compare_set(
            "procedure",
            list(expect["procedures"] or []),
            [(p.key, p.id) for p in result.procedures],
        )
    if "undecided" in expect:
        lines += _compare_set(
            "undecided", list(expect["undecided"] or []), [(u.key, u.id) for u in result.undecided]
        )
    for key, wanted in (expect.get("fields") or {}).items():
        found, actual = _field_value(result, key)
        if not found:
            lines.append(f"  ! field {key}: {actual}")
        elif not _same(wanted, actual):
            lines.append(f"  ≠ field {key}: expected {wanted!r}, got {actual!r}")
    lines += _compare_by_procedure(result, expect)
    for warning in result.warnings:
        if warning.code in ("invalid_fact", "unknown_fact", "unknown_role"):
            lines.append(f"  ! facts: {warning.message}")
    return ScenarioOutcome(scenario, tuple(lines))


def run_scenarios(ruleset: RuleSet) -> list[ScenarioOutcome]:
    """Run every scenario of the rule set, in file order."""
    return [run_scenario(ruleset, s) for s in ruleset.scenarios]

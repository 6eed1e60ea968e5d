"""What the interview screen shows: questions per person and the side panel, from a Result."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from wtforms import Form

from app.counter.fact_forms import fact_form_class
from app.engine import Result, RuleSet
from app.engine.formats import OutsideEra, format_value
from app.services.cases import StoredFact
from app.services.interview import display_value, split_fact_id

PROVENANCE_LABELS = {
    "interview": "聞き取り",
    "registry": "住民記録より",
    "id_qr": "カード読取",
    "pre_entry": "事前入力",
    "derived": "自動計算",
    "resident": "住民の申出",
}


@dataclass
class QuestionRow:
    """One fact on the interview screen: asked next, or already answered (and editable)."""

    fact_id: str
    label: str
    help: str
    form: Form
    stored: StoredFact | None
    display: str
    asked: bool
    dom_id: str


@dataclass
class Section:
    """The questions about the case, or about one household member."""

    title: str
    person: int | None
    roles: str
    rows: list[QuestionRow] = field(default_factory=list)

    @property
    def open_count(self) -> int:
        return sum(1 for r in self.rows if r.asked)


def dom_id(fact_id: str) -> str:
    """Return an HTML id for a fact id (``household[1].name`` -> ``f-household-1-name``)."""
    return "f-" + fact_id.replace("[", "-").replace("].", "-").replace(".", "-")


def _row(
    ruleset: RuleSet, fact_id: str, stored: StoredFact | None, asked: bool
) -> QuestionRow | None:
    _index, name = split_fact_id(fact_id)
    fact = ruleset.facts.get(name)
    if fact is None or fact.derived:
        return None
    form_cls = fact_form_class(ruleset, fact)
    value = stored.value if stored is not None else None
    data: Any = value
    if fact.type == "date" and value:
        data = display_value(ruleset, fact_id, value)
    elif fact.type == "boolean" and value is not None:
        data = "true" if value else "false"
    elif fact.type == "my_number" and value:
        data = ""  # never echo a My Number back into a page; staff retype to change it
    form = form_cls(prefix=dom_id(fact_id), data={"value": data})
    return QuestionRow(
        fact_id=fact_id,
        label=fact.label,
        help=fact.help,
        form=form,
        stored=stored,
        display=display_value(ruleset, fact_id, value),
        asked=asked,
        dom_id=dom_id(fact_id),
    )


def person_title(ruleset: RuleSet, index: int, facts: dict[str, StoredFact]) -> tuple[str, str]:
    """Return a member's heading (世帯員2 山田 花子) and their roles as text."""
    name = facts.get(f"household[{index}].name")
    roles = facts.get(f"household[{index}].roles")
    title = f"世帯員{index + 1}" + (f"　{name.value}" if name is not None else "")
    role_text = display_value(ruleset, f"household[{index}].roles", roles.value if roles else [])
    return title, role_text


def interview_sections(
    ruleset: RuleSet, result: Result, facts: dict[str, StoredFact]
) -> list[Section]:
    """Group next questions and answered facts into the case section and one per member."""
    sections: OrderedDict[int | None, Section] = OrderedDict()
    sections[None] = Section("案件について", None, "")

    def section(index: int | None) -> Section:
        if index not in sections:
            assert index is not None
            title, roles = person_title(ruleset, index, facts)
            sections[index] = Section(title, index, roles)
        return sections[index]

    members = sorted({i for i, _ in map(split_fact_id, facts) if i is not None})
    for index in members:
        section(index)
    asked = [q.fact for q in result.next_questions]
    for fact_id in asked:
        row = _row(ruleset, fact_id, facts.get(fact_id), asked=True)
        if row is not None:
            section(split_fact_id(fact_id)[0]).rows.append(row)
    order = {fid: fact.order for fid, fact in ruleset.facts.items()}
    answered = sorted(
        (fid for fid in facts if fid not in asked),
        key=lambda fid: (split_fact_id(fid)[0] or -1, order.get(split_fact_id(fid)[1], 0)),
    )
    for fact_id in answered:
        if split_fact_id(fact_id)[1] == "roles":
            continue
        row = _row(ruleset, fact_id, facts[fact_id], asked=False)
        if row is not None:
            section(split_fact_id(fact_id)[0]).rows.append(row)
    return [s for s in sections.values() if s.rows or s.person is not None]


def wareki(day: date | None) -> str:
    """Format a deadline for staff screens in 和暦."""
    if day is None:
        return ""
    try:
        return str(format_value("wareki", day))
    except OutsideEra:
        return day.isoformat()


def procedures_by_department(ruleset: RuleSet, result: Result) -> list[dict[str, Any]]:
    """Group applicable procedures by department, in the municipality profile's order."""
    order = list(ruleset.municipality.departments)
    groups: dict[str, dict[str, Any]] = {}
    for procedure in result.procedures:
        dept = procedure.department
        group = groups.setdefault(dept["id"], {"department": dept, "procedures": []})
        group["procedures"].append(procedure)
    return sorted(
        groups.values(),
        key=lambda g: order.index(g["department"]["id"]) if g["department"]["id"] in order else 99,
    )


def why_facts(
    ruleset: RuleSet, why_facts: dict[str, Any], facts: dict[str, StoredFact]
) -> list[tuple[str, str]]:
    """Turn a why-trace's fact ids into (who and what, value) lines staff can read."""
    lines = []
    for fact_id, value in why_facts.items():
        index, name = split_fact_id(fact_id)
        fact = ruleset.facts.get(name)
        label = fact.label if fact is not None else fact_id
        if index is not None:
            who, _roles = person_title(ruleset, index, facts)
            label = f"{who}の{label}"
        shown = display_value(ruleset, fact_id, value) if fact is not None else str(value)
        lines.append((label, shown))
    return lines

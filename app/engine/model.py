"""The compiled rule set: municipality, roles, facts, parameters, events, procedures, forms."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.engine.compiler import Compiled, Symbols
from app.engine.errors import Problem
from app.engine.factids import parse_person_key
from app.engine.facts import FactDef
from app.engine.legal_calendar import LegalCalendar
from app.engine.reasons import FactRef, ReasonText
from app.engine.runtime import UNKNOWN
from app.engine.source import Pos


@dataclass(frozen=True)
class Department:
    """A department (課) of the municipality and where its counter is."""

    id: str
    name: str
    floor: int | None = None
    counter: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the department as the Result shows it."""
        return {"id": self.id, "name": self.name, "floor": self.floor, "counter": self.counter}


@dataclass(frozen=True)
class Municipality:
    """The municipality profile: name, 全国地方公共団体コード, departments, local options."""

    name: str
    code: str
    prefecture: str
    address: str
    phone: str
    departments: dict[str, Department]
    options: dict[str, Any]
    calendar: LegalCalendar = field(default_factory=LegalCalendar)
    closed_days_basis: str | None = None  # the 休日条例 the closed days come from


@dataclass(frozen=True)
class Role:
    """A role a household member can hold (故人, 世帯主, 子 …); single roles name one member."""

    id: str
    label: str
    single: bool


@dataclass(frozen=True)
class Law:
    """A law (法令) of laws.yaml: its name, number (法令番号) and e-Gov page."""

    id: str
    name: str
    number: str | None
    url: str | None


@dataclass(frozen=True)
class LegalBasis:
    """The law and article a procedure or parameter rests on."""

    law: str
    article: str | None = None
    url: str | None = None
    law_id: str | None = None
    number: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the legal basis as the Result shows it (``law`` is the law's name)."""
        return {
            "law": self.law,
            "law_id": self.law_id,
            "number": self.number,
            "article": self.article,
            "url": self.url,
        }


@dataclass(frozen=True)
class Parameter:
    """A dated parameter (e.g. 葬祭費の額): values in force from given dates."""

    id: str
    label: str
    type: str
    legal_basis: LegalBasis
    starts: tuple[date, ...]
    ends: tuple[date | None, ...]
    values: tuple[Any, ...]

    def value_on(self, day: date) -> Any:
        """Return the value in force on ``day``, or UNKNOWN when none is."""
        index = bisect.bisect_right(self.starts, day) - 1
        if index < 0:
            return UNKNOWN
        end = self.ends[index]
        if end is not None and day > end:
            return UNKNOWN
        return self.values[index]


@dataclass(frozen=True)
class Event:
    """A life event (転入, 出生, 死亡 …) and the facts always worth asking for it."""

    id: str
    title: str
    asks: tuple[Compiled, ...]


@dataclass(frozen=True)
class Binding:
    """A compiled ``p in <persons>: <condition>``: the variable's slot, source and condition."""

    var: str
    slot: int
    source: Compiled
    cond: Compiled


@dataclass(frozen=True)
class Deadline:
    """When a procedure is due: a period from a day, counted as the law counts it.

    ``start_rule`` is ``day_after`` (初日不算入, 民法 第140条) or ``same_day`` (the law counts the
    first day, 戸籍法 第43条); ``rolls_over`` says whether a period ending on a closed day runs
    to the next open day (a 届出期間) or not (a 時効).
    """

    start: Compiled  # the day the period is counted from (``from:``)
    years: int
    months: int
    days: int
    start_rule: str
    rolls_over: bool
    why: str
    label: str
    when: Compiled | None = None  # in a list of deadlines: this one applies when true


@dataclass(frozen=True)
class Procedure:
    """A procedure (手続) a life event can bring, with when it applies and what it produces."""

    id: str
    title: str
    events: frozenset[str] | None
    department: Department
    legal_basis: LegalBasis
    valid_from: date | None
    valid_until: date | None
    applies_when: Compiled | None
    reason: ReasonText | None
    for_each: Binding | None
    deadline: Deadline | None
    forms: tuple[str, ...]
    automatic: bool
    note: str | None
    bring: tuple[str, ...]
    pos: Pos
    plain: str | None = None
    reason_refs: tuple[FactRef, ...] = ()
    deadline_cases: tuple[Deadline, ...] = ()  # every deadline, first matching ``when`` wins
    urgent: str | None = None  # why it must be done today (panel and cover sheet raise it)
    guidance: str | None = None  # ご案内のみ: where the resident goes (届出先); nothing filed here

    def deadline_facts(self) -> frozenset[str]:
        """Return the fact ids every deadline of the procedure reads (its when and from)."""
        refs: set[str] = set()
        for case in self.deadline_cases:
            refs |= case.start.facts
            if case.when is not None:
                refs |= case.when.facts
        return frozenset(refs)


@dataclass(frozen=True)
class FieldDef:
    """A form field: an expression over facts and how to print it."""

    id: str
    label: str
    value: Compiled
    format: str
    required: bool
    choices: dict[str, str] | None
    pos: Pos


@dataclass(frozen=True)
class RowGroup:
    """A table on a form with one row per matching household member."""

    id: str
    label: str
    for_each: Binding
    max: int | None
    fields: tuple[FieldDef, ...]


@dataclass(frozen=True)
class Form:
    """A form (様式) whose every field is filled from facts."""

    id: str
    title: str
    department: Department
    template: str
    per_person: Binding | None
    fields: tuple[FieldDef, ...]
    rows: tuple[RowGroup, ...]
    pos: Pos
    audience: Binding | None = None  # the members who sign or receive it (DV 支援措置)


@dataclass(frozen=True)
class Scenario:
    """A scenario test written by policy staff: facts, date and what must come out."""

    name: str
    as_of: date
    facts: dict[str, Any]
    expect: dict[str, Any]
    pos: Pos


@dataclass
class RuleSet:
    """Everything loaded and compiled from procedure_rules/ and form_definitions/."""

    municipality: Municipality
    roles: dict[str, Role]
    facts: dict[str, FactDef]  # case facts by 'group.name', person facts by bare name
    parameters: dict[str, Parameter]
    events: dict[str, Event]
    procedures: tuple[Procedure, ...]
    forms: dict[str, Form]
    scenarios: tuple[Scenario, ...]
    version: str
    symbols: Symbols
    files: tuple[str, ...]
    calendar: LegalCalendar = field(default_factory=LegalCalendar)
    lint_warnings: tuple[Problem, ...] = ()
    _params_on: dict[date, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)
    _for_events: dict[frozenset[str], tuple[Procedure, ...]] = field(
        default_factory=dict, init=False, repr=False
    )

    def procedures_for(self, events: frozenset[str]) -> tuple[Procedure, ...]:
        """Return, in file order, the procedures a case with these life events can bring."""
        found = self._for_events.get(events)
        if found is None:
            found = tuple(
                p for p in self.procedures if p.events is None or not p.events.isdisjoint(events)
            )
            if len(self._for_events) > 256:
                self._for_events.clear()
            self._for_events[events] = found
        return found

    def fact_def(self, key: str) -> FactDef | None:
        """Return the declaration behind a fact id such as ``death.date`` or ``household[2].name``."""
        parsed = parse_person_key(key)
        if parsed is not None:
            fact = self.facts.get(parsed[1])
            return fact if fact is not None and fact.per_person else None
        fact = self.facts.get(key)
        return fact if fact is not None and not fact.per_person else None

    def parameters_on(self, day: date) -> dict[str, Any]:
        """Return every parameter's value in force on ``day`` (cached per day)."""
        found = self._params_on.get(day)
        if found is None:
            if len(self._params_on) > 256:
                self._params_on.clear()
            found = {pid: p.value_on(day) for pid, p in self.parameters.items()}
            found = {k: v for k, v in found.items() if v is not UNKNOWN}
            self._params_on[day] = found
        return found

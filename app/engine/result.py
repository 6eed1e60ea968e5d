"""The Result of an evaluation: the contract read by documents, counter and resident views."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


def json_value(value: Any) -> Any:
    """Return a fact value as JSON would carry it (dates as ISO strings)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


@dataclass(frozen=True)
class Why:
    """Why a procedure applies: the rule, its reason text and the fact values it read."""

    rule: str
    text: str | None
    facts: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """Return the why-trace as JSON."""
        return {
            "rule": self.rule,
            "text": self.text,
            "facts": {k: json_value(v) for k, v in self.facts.items()},
        }


@dataclass(frozen=True)
class AppliedProcedure:
    """A procedure that applies (for the case, or for one household member)."""

    id: str
    title: str
    department: dict[str, Any]
    legal_basis: dict[str, Any]
    deadline: date | None
    deadline_label: str | None
    automatic: bool
    note: str | None
    bring: tuple[str, ...]
    person: int | None
    forms: tuple[str, ...]
    why: Why
    deadline_period_end: date | None = None  # the law's last day, before rolling
    deadline_rolls_over: bool | None = None
    deadline_why: str | None = None
    overdue: bool = False  # true only after the (rolled) deadline: 期限超過
    reason: str | None = None  # the reason text with its facts filled in
    reason_facts: tuple[tuple[str, str], ...] = ()  # (label, formatted value) the condition reads
    person_name: str | None = None  # the member's name, for a per-person procedure
    plain: str | None = None  # やさしい日本語 for the resident
    urgent: str | None = None  # why it must be done today, raised on the panel and cover sheet
    guidance: str | None = None  # ご案内のみ: the 届出先 the resident goes to; nothing filed here

    @property
    def key(self) -> str:
        """Return ``id`` or, for a per-person instance, ``id[member index]``."""
        return self.id if self.person is None else f"{self.id}[{self.person}]"

    def to_json(self) -> dict[str, Any]:
        """Return the procedure as JSON."""
        return {
            "id": self.id,
            "title": self.title,
            "department": self.department,
            "legal_basis": self.legal_basis,
            "deadline": json_value(self.deadline),
            "deadline_label": self.deadline_label,
            "automatic": self.automatic,
            "note": self.note,
            "bring": list(self.bring),
            "person": self.person,
            "forms": list(self.forms),
            "why": self.why.to_json(),
            "deadline_period_end": json_value(self.deadline_period_end),
            "deadline_rolled": self.deadline is not None
            and self.deadline != self.deadline_period_end,
            "deadline_rolls_over": self.deadline_rolls_over,
            "deadline_why": self.deadline_why,
            "overdue": self.overdue,
            "reason": self.reason,
            "reason_facts": [{"label": k, "value": v} for k, v in self.reason_facts],
            "person_name": self.person_name,
            "plain": self.plain,
            "urgent": self.urgent,
            "guidance": self.guidance,
        }


@dataclass(frozen=True)
class UndecidedProcedure:
    """A procedure that may apply once the facts it waits for are known."""

    id: str
    title: str
    department: dict[str, Any]
    person: int | None
    waiting_for: tuple[str, ...]

    @property
    def key(self) -> str:
        """Return ``id`` or ``id[member index]``."""
        return self.id if self.person is None else f"{self.id}[{self.person}]"

    def to_json(self) -> dict[str, Any]:
        """Return the undecided procedure as JSON."""
        return {
            "id": self.id,
            "title": self.title,
            "department": self.department,
            "person": self.person,
            "waiting_for": list(self.waiting_for),
        }


@dataclass(frozen=True)
class FilledForm:
    """A form with every field value formatted for print, and where each value came from."""

    id: str
    key: str
    title: str
    department: dict[str, Any]
    template: str
    person: int | None
    fields: dict[str, Any]
    rows: dict[str, list[dict[str, Any]]]
    sources: dict[str, list[str]]
    missing: tuple[str, ...]
    complete: bool
    audience: tuple[int, ...] | None = None  # members who sign or receive it; None: not declared

    def to_json(self) -> dict[str, Any]:
        """Return the form as JSON; ``{"fields", "rows"}`` is what the renderer consumes."""
        return {
            "id": self.id,
            "key": self.key,
            "title": self.title,
            "department": self.department,
            "template": self.template,
            "person": self.person,
            "fields": self.fields,
            "rows": self.rows,
            "sources": self.sources,
            "missing": list(self.missing),
            "complete": self.complete,
            "audience": None if self.audience is None else list(self.audience),
        }


@dataclass(frozen=True)
class Question:
    """A fact still worth asking, for the case (person None) or one member."""

    fact: str
    label: str
    type: str
    person: int | None
    choices: list[dict[str, str]] | None
    help: str | None

    def to_json(self) -> dict[str, Any]:
        """Return the question as JSON."""
        return {
            "fact": self.fact,
            "label": self.label,
            "type": self.type,
            "person": self.person,
            "choices": self.choices,
            "help": self.help,
        }


#: Warnings about the input itself (a fact, role or key that was not used as given): what
#: strict evaluation (``flask rules evaluate --strict``, ``"strict": true``) refuses.
INPUT_PROBLEMS = frozenset(
    {"unknown_fact", "invalid_fact", "unknown_role", "derived_fact_given", "ambiguous_key"}
)


@dataclass(frozen=True)
class Warning:
    """Something staff should notice: a stable code, a Japanese message and, for a warning
    about one input, the fact key it is about (``fact``), as a field for programs."""

    code: str
    message: str
    fact: str | None = None

    def to_json(self) -> dict[str, str]:
        """Return the warning as JSON (``fact`` only when the warning is about one)."""
        out = {"code": self.code, "message": self.message}
        if self.fact is not None:
            out["fact"] = self.fact
        return out


@dataclass(frozen=True)
class Result:
    """What ``evaluate`` answers: procedures, undecided ones, forms, questions, warnings."""

    as_of: date
    ruleset_version: str
    procedures: tuple[AppliedProcedure, ...]
    undecided: tuple[UndecidedProcedure, ...]
    forms: tuple[FilledForm, ...]
    missing_facts: tuple[str, ...]
    next_questions: tuple[Question, ...]
    warnings: tuple[Warning, ...] = field(default=())

    def procedure(self, key: str) -> AppliedProcedure | None:
        """Return the applied procedure with this id (or ``id[n]``), if any."""
        return next((p for p in self.procedures if key in (p.key, p.id)), None)

    def form(self, key: str) -> FilledForm | None:
        """Return the filled form with this key, if any."""
        return next((f for f in self.forms if f.key == key), None)

    def input_problems(self) -> tuple[Warning, ...]:
        """Return the warnings about the input (what strict evaluation refuses)."""
        return tuple(w for w in self.warnings if w.code in INPUT_PROBLEMS)

    def to_json(self) -> dict[str, Any]:
        """Return the whole Result in its documented JSON shape."""
        return {
            "as_of": self.as_of.isoformat(),
            "ruleset_version": self.ruleset_version,
            "procedures": [p.to_json() for p in self.procedures],
            "undecided": [u.to_json() for u in self.undecided],
            "forms": [f.to_json() for f in self.forms],
            "missing_facts": list(self.missing_facts),
            "next_questions": [q.to_json() for q in self.next_questions],
            "warnings": [w.to_json() for w in self.warnings],
        }

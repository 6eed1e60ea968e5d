"""The resident's reading view of a form: one line per entry, 「項目名: 値」, grouped as printed.

The values are exactly those the page image prints (the engine's formatted ``fields`` and
``rows``), so what the resident reads and confirms is bound to the same document hash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.engine import Result, RuleSet
from app.engine.model import FieldDef, Form
from app.engine.result import FilledForm

BLANK = "（空欄）"


@dataclass(frozen=True)
class ReadingEntry:
    """One entry of a form as the resident reads it: its label and the printed value."""

    field: str  # the field id (a row field: ``<row id>.<field id>``)
    label: str
    value: str

    @property
    def blank(self) -> bool:
        """Return whether the form leaves this entry empty."""
        return self.value == ""


@dataclass(frozen=True)
class ReadingGroup:
    """Entries printed together on the paper: a block (世帯主, 届出人) or one person's row."""

    title: str  # "" for the form's own entries
    entries: tuple[ReadingEntry, ...]


@dataclass(frozen=True)
class ReadingForm:
    """A whole form for reading, with the plain explanations of the procedures it serves."""

    key: str
    form_id: str
    groups: tuple[ReadingGroup, ...]
    plain: tuple[tuple[str, str], ...]  # (procedure title, やさしい日本語 explanation)


def printed(value: Any) -> str:
    """Return a formatted field value as one line of text (lists joined with 「、」)."""
    if value is None or value is False:
        return ""
    if value is True:
        return "○"
    if isinstance(value, (list, tuple)):
        return "、".join(text for text in (printed(v) for v in value) if text)
    if isinstance(value, Mapping):
        return "、".join(text for text in (printed(v) for v in value.values()) if text)
    return str(value).strip()


def split_label(label: str) -> tuple[str, str]:
    """Split 「世帯主 氏名」 into its block (世帯主) and entry (氏名); no space: no block."""
    head, sep, rest = label.partition(" ")
    if not sep or not rest.strip():
        return "", label
    return head, rest.strip()


def _field_groups(defs: Sequence[FieldDef], values: Mapping[str, Any]) -> list[ReadingGroup]:
    """Group the form's own fields in print order: a run sharing a label's block is one group."""
    groups: list[tuple[str, list[ReadingEntry]]] = []
    for definition in defs:
        block, name = split_label(definition.label)
        entry = ReadingEntry(definition.id, name, printed(values.get(definition.id)))
        if groups and groups[-1][0] == block:
            groups[-1][1].append(entry)
        else:
            groups.append((block, [entry]))
    return [ReadingGroup(title, tuple(entries)) for title, entries in groups]


def _row_groups(form: Form, rows: Mapping[str, Any]) -> list[ReadingGroup]:
    """Return one group per printed row (資格を取得する人 1人目 …), its fields in order."""
    out: list[ReadingGroup] = []
    for group in form.rows:
        items = rows.get(group.id) or []
        for number, row in enumerate(items, 1):
            entries = tuple(
                ReadingEntry(f"{group.id}.{d.id}", d.label, printed(row.get(d.id)))
                for d in group.fields
            )
            title = f"{group.label}（{number}）" if len(items) > 1 else group.label
            out.append(ReadingGroup(title, entries))
    return out


def _plain_texts(result: Result, form_id: str) -> tuple[tuple[str, str], ...]:
    """Return the やさしい日本語 of every applicable procedure that produces this form."""
    seen: dict[str, str] = {}
    for procedure in result.procedures:
        if form_id in procedure.forms and procedure.plain and procedure.title not in seen:
            seen[procedure.title] = procedure.plain.strip()
    return tuple(seen.items())


def explained_procedures(result: Result) -> list[tuple[str, str]]:
    """Return (title, やさしい日本語) of every applicable procedure that has a plain text."""
    seen: dict[str, str] = {}
    for procedure in result.procedures:
        title = procedure.title + (f"（{procedure.person_name}）" if procedure.person_name else "")
        if procedure.plain and title not in seen:
            seen[title] = procedure.plain.strip()
    return list(seen.items())


def reading_form(ruleset: RuleSet, result: Result, filled: FilledForm) -> ReadingForm:
    """Return one filled form as the resident reads it."""
    definition = ruleset.forms[filled.id]
    groups = _field_groups(definition.fields, filled.fields)
    groups.extend(_row_groups(definition, filled.rows))
    return ReadingForm(
        key=filled.key,
        form_id=filled.template,
        groups=tuple(g for g in groups if g.entries),
        plain=_plain_texts(result, filled.id),
    )


def reading_forms(ruleset: RuleSet, result: Result) -> dict[str, ReadingForm]:
    """Return every form of the case as the resident reads it, by form key."""
    return {f.key: reading_form(ruleset, result, f) for f in result.forms if f.id in ruleset.forms}


@dataclass(frozen=True)
class Direction:
    """Where the resident walks next: a department's floor and counter, and what for."""

    department: str
    floor: int | None
    counter: str | None
    procedures: tuple[str, ...]


def _counter_number(counter: str | None) -> int:
    digits = "".join(ch for ch in counter or "" if ch.isdigit())
    return int(digits) if digits else 10**6


def directions(result: Result) -> list[Direction]:
    """Return the departments to visit in the order of the walk: by floor, then counter."""
    found: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for procedure in result.procedures:
        if procedure.automatic or procedure.guidance:
            continue  # done by the office itself, or only guidance: nothing to file on the walk
        department = procedure.department
        entry = found.setdefault(str(department.get("id")), (department, []))
        if procedure.title not in entry[1]:
            entry[1].append(procedure.title)
    ordered: Iterable[tuple[dict[str, Any], list[str]]] = sorted(
        found.values(),
        key=lambda item: (
            item[0].get("floor") if item[0].get("floor") is not None else 10**6,
            _counter_number(item[0].get("counter")),
        ),
    )
    return [
        Direction(str(d.get("name") or ""), d.get("floor"), d.get("counter"), tuple(titles))
        for d, titles in ordered
    ]

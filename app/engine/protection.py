"""DV 等支援措置: keep a protected person's address off every output another person may receive.

住民基本台帳事務処理要領 第6の10: a person under a 支援措置 (DV, stalking, child abuse) must not
have their address reach the other party. In practice the address leaks through a document
that another member signs or receives (a 受給事由消滅届 the former recipient files, a 離婚届
draft both spouses see, a 国保 notice to the 世帯主), through the cover sheet, or through a
department's worklist. This module is the one place that decides what is hidden:

- the protected members are those whose ``shien_sochi`` is ``moshide`` (申し出る) or
  ``kettei`` (決定・延長済み);
- the protected facts are the addresses (and postal codes) where they live or lived:
  their own ``address``, the household address they live at, the 転出先 of a protected mover,
  the 前住所 of a protected member who moved in from another municipality (a 旧住所 on a
  notice tells where to look next), and ``dv.kyu_address`` (any other address they asked to
  protect), and the new 本籍 a protected spouse takes on divorce (often the new home). The 前住所 of a move within the city is the home the other party knows (often
  still lives at), so it stays: hiding it would blank the former recipient's own address;
- a form is *for others* when any member of its audience (the form's ``audience:``, else the
  member of a per-person form, else the applicant) is not protected, or when the audience is
  empty or unknown. On such a form every field read from a protected fact, and every value
  that contains a protected address, is replaced by ``MASK``;
- the procedures' texts (reason, note) lose any protected address too, since the cover sheet
  and the worklists carry them.

Pure: takes the facts and the engine's Result, returns a new Result and what was hidden.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from app.engine.result import AppliedProcedure, FilledForm, Result

MASK = "（支援措置のため記載しません）"
PROTECTED_VALUES = frozenset({"moshide", "kettei"})
_ADDRESS_FACTS = ("address",)
_MOVER_FACTS = ("move.old_address", "move.old_postal_code")
_OUT_FACTS = ("move.new_address", "move.new_postal_code")
_HOUSEHOLD_FACTS = ("household.address", "household.postal_code")


@dataclass(frozen=True)
class Protection:
    """Who is protected in a case, which facts hold their address, and what was hidden where."""

    members: frozenset[int]
    facts: frozenset[str]
    addresses: tuple[str, ...]
    masked: tuple[tuple[str, str], ...]  # (form key, field) hidden on outputs for others

    @property
    def active(self) -> bool:
        """Return whether anyone in the case is under a 支援措置."""
        return bool(self.members)

    def to_json(self) -> dict[str, Any]:
        """Return the summary the audit trail and the worklist record (no address in it)."""
        return {
            "members": sorted(self.members),
            "facts": sorted(self.facts),
            "masked": [f"{key}.{field}" for key, field in self.masked],
        }


def _members(facts: Mapping[str, Any]) -> dict[int, dict[str, Any]]:
    """Group the per-person facts by member index."""
    people: dict[int, dict[str, Any]] = {}
    for key, value in facts.items():
        if key.startswith("household[") and "]." in key:
            index, name = key[len("household[") :].split("].", 1)
            if index.isdigit():
                people.setdefault(int(index), {})[name] = value
    return people


def protected_members(facts: Mapping[str, Any]) -> frozenset[int]:
    """Return the indexes of the members under a 支援措置 (申出中 or 決定済み)."""
    return frozenset(
        i for i, person in _members(facts).items() if person.get("shien_sochi") in PROTECTED_VALUES
    )


def protected_facts(facts: Mapping[str, Any], members: frozenset[int]) -> frozenset[str]:
    """Return the fact ids that hold a protected member's address, present or past."""
    if not members:
        return frozenset()
    people = _members(facts)
    events = facts.get("case.events") or []
    ids: set[str] = {"dv.kyu_address"}
    for index in members:
        person = people.get(index, {})
        ids.update(f"household[{index}].{name}" for name in _ADDRESS_FACTS)
        if person.get("rikon_tojisha"):
            ids.add("divorce.fukushi_honseki")  # a new 本籍 is often chosen at the new home
        if not person.get("address") and not person.get("bessetai"):
            ids.update(_HOUSEHOLD_FACTS)  # they live at the household's address
        if person.get("moving"):
            if "move_in" in events or "move_in_abroad" in events:
                ids.update(_MOVER_FACTS)  # where they came from tells where to look next
            if "move_out" in events:
                ids.update(_OUT_FACTS)
    return frozenset(ids)


def _applicant(facts: Mapping[str, Any]) -> int | None:
    """Return the index of the member holding the applicant role, if any."""
    for index, person in _members(facts).items():
        if "applicant" in (person.get("roles") or []):
            return index
    return None


def audience(form: FilledForm, facts: Mapping[str, Any]) -> tuple[int, ...]:
    """Return the members who sign or receive the form (declared, its member, else applicant)."""
    if form.audience is not None:
        return form.audience
    if form.person is not None:
        return (form.person,)
    applicant = _applicant(facts)
    return () if applicant is None else (applicant,)


def for_others(form: FilledForm, facts: Mapping[str, Any], members: frozenset[int]) -> bool:
    """Return whether the form may reach someone outside the protected group."""
    readers = audience(form, facts)
    return not readers or any(index not in members for index in readers)


def _hide(value: Any, addresses: tuple[str, ...]) -> Any:
    """Return the value with every protected address in it replaced by the mask."""
    if isinstance(value, str):
        for address in addresses:
            if address and address in value:
                return MASK
    return value


def _mask_form(
    form: FilledForm, ids: frozenset[str], addresses: tuple[str, ...]
) -> tuple[FilledForm, list[str]]:
    """Return the form with protected values masked, and the fields that were."""
    hidden: list[str] = []

    def masked(path: str, value: Any) -> Any:
        if value in (None, ""):
            return value
        if ids.intersection(form.sources.get(path, ())) or _hide(value, addresses) == MASK:
            hidden.append(path)
            return MASK
        return value

    fields = {name: masked(name, value) for name, value in form.fields.items()}
    rows = {
        group: [
            {name: masked(f"{group}[{n}].{name}", value) for name, value in row.items()}
            for n, row in enumerate(items)
        ]
        for group, items in form.rows.items()
    }
    return replace(form, fields=fields, rows=rows), hidden


def _mask_procedure(procedure: AppliedProcedure, addresses: tuple[str, ...]) -> AppliedProcedure:
    """Return the procedure with any protected address taken out of its texts."""
    texts = {"reason": procedure.reason, "note": procedure.note}
    changed = {k: _hide(v, addresses) for k, v in texts.items() if _hide(v, addresses) != v}
    return replace(procedure, **changed) if changed else procedure


def protect(result: Result, facts: Mapping[str, Any]) -> tuple[Result, Protection]:
    """Return the Result with protected addresses hidden on outputs for others, and a summary."""
    members = protected_members(facts)
    if not members:
        return result, Protection(frozenset(), frozenset(), (), ())
    ids = protected_facts(facts, members)
    addresses = tuple(
        sorted(
            str(facts[i])
            for i in ids
            if not i.endswith("postal_code") and isinstance(facts.get(i), str) and facts[i]
        )
    )
    forms: list[FilledForm] = []
    masked: list[tuple[str, str]] = []
    for form in result.forms:
        if not for_others(form, facts, members):
            forms.append(form)
            continue
        new, hidden = _mask_form(form, ids, addresses)
        forms.append(new)
        masked.extend((form.key, name) for name in hidden)
    procedures = tuple(_mask_procedure(p, addresses) for p in result.procedures)
    protected = replace(result, forms=tuple(forms), procedures=procedures)
    return protected, Protection(members, ids, addresses, tuple(masked))

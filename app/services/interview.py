"""The interview of a case: answer a question, add household members, evaluate the case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.engine import FactDef, FactValueError, Result, RuleSet, evaluate, parse_fact_value
from app.engine.factids import split_fact_id
from app.engine.formats import OutsideEra, format_value
from app.engine.protection import Protection, protect
from app.engine.result import json_value
from app.engine.wareki import parse_date
from app.extensions import db
from app.models import Case
from app.registry.adapter import HouseholdRecord, ResidentRegistry
from app.services.cases import (
    CaseError,
    StoredFact,
    audit,
    fact_values,
    open_case,
    record_fact,
    stored_facts,
)

MAX_MEMBERS = 50


@dataclass(frozen=True)
class Answer:
    """A stored answer, the case's facts after it and their evaluation."""

    fact: StoredFact
    facts: dict[str, StoredFact]
    result: Result


def fact_def_for(ruleset: RuleSet, fact_id: str) -> FactDef:
    """Return the declaration of a full fact id (case or per-person).

    :raises CaseError: the id names no fact that can be asked.
    """
    index, name = split_fact_id(fact_id)
    fact = ruleset.facts.get(name)
    if (
        fact is None
        or fact.per_person != (index is not None)
        or fact.derived
        or (index is not None and index >= MAX_MEMBERS)
    ):
        raise CaseError("unknown_fact", f"「{fact_id}」は入力できる項目ではありません。")
    return fact


def case_as_of(case: Case) -> date:
    """Return the application date the case is evaluated on."""
    return case.as_of.date()


def evaluate_stored(
    ruleset: RuleSet, case: Case, facts: dict[str, StoredFact] | None = None
) -> Result:
    """Evaluate a case's stored facts on its application date, 支援措置 addresses hidden.

    Every document, cover sheet, screen and worklist of a case comes from this Result, so a
    protected member's address is kept off the outputs others may receive
    (``app.engine.protection``).
    """
    return evaluate_protected(ruleset, case, facts)[0]


def evaluate_protected(
    ruleset: RuleSet, case: Case, facts: dict[str, StoredFact] | None = None
) -> tuple[Result, Protection]:
    """Evaluate a case's stored facts and hide protected addresses; say what was hidden."""
    values = fact_values(case, facts)
    return protect(evaluate(ruleset, values, case_as_of(case)), values)


def answer(
    ruleset: RuleSet,
    case: Case,
    fact_id: str,
    raw: Any,
    *,
    actor: str,
    now: datetime,
    expected_revision: int | None = None,
    reason: str | None = None,
    provenance: str = "interview",
) -> Answer:
    """Check a typed answer against its fact's type, store it (committed), re-evaluate.

    An empty answer clears the fact.

    :raises CaseError: ``invalid`` with the Japanese message for the field, or any refusal of
        ``record_fact`` (conflict, locked, not editable).
    """
    fact = fact_def_for(ruleset, fact_id)
    blank = raw is None or (isinstance(raw, str) and not raw.strip())
    if blank:
        value = None
    else:
        try:
            value = json_value(parse_fact_value(fact, raw, case_as_of(case)))
        except FactValueError as error:
            raise CaseError("invalid", str(error.message)) from None
    # Read the case's facts once: the answer is checked against them, and the facts after
    # it are these with the answer in place (reading them all again cost as much as
    # the write). Changes of other facts committed meanwhile reach the screen as a live
    # update, as they would a moment later.
    facts = stored_facts(case)
    stored = record_fact(
        case,
        fact_id,
        value,
        actor=actor,
        now=now,
        provenance=provenance,
        expected_revision=expected_revision,
        reason=reason,
        current=facts.get(fact_id),
    )
    if value is None:
        facts.pop(fact_id, None)
    else:
        facts[fact_id] = stored
    return Answer(stored, facts, evaluate_stored(ruleset, case, facts))


def member_indexes(case: Case) -> list[int]:
    """Return the household member indexes that have any stored fact, in order."""
    found = {split_fact_id(fid)[0] for fid in stored_facts(case)}
    return sorted(i for i in found if i is not None)


def add_member(ruleset: RuleSet, case: Case, roles: list[str], *, actor: str, now: datetime) -> int:
    """Add a household member with roles (e.g. a newborn child) and return its index.

    :raises CaseError: an unknown role, or a single role already held by someone.
    """
    unknown = [r for r in roles if r not in ruleset.roles]
    if unknown:
        raise CaseError("unknown_role", f"役割「{'、'.join(unknown)}」は定義されていません。")
    if not roles:
        raise CaseError("no_role", "追加する人の役割（子・配偶者など）を1つ以上選んでください。")
    facts = stored_facts(case)
    for role in roles:
        holder = _single_role_holder(ruleset, facts, role)
        if holder is not None:
            raise CaseError(
                "role_taken",
                f"「{ruleset.roles[role].label}」は世帯員{holder + 1}に設定済みです。",
            )
    indexes = member_indexes(case)
    index = (indexes[-1] + 1) if indexes else 0
    if index >= MAX_MEMBERS:
        raise CaseError("too_many", f"世帯員は{MAX_MEMBERS}人までです。")
    record_fact(case, f"household[{index}].roles", list(roles), actor=actor, now=now)
    return index


def set_roles(
    ruleset: RuleSet, case: Case, index: int, roles: list[str], *, actor: str, now: datetime
) -> StoredFact:
    """Replace the roles of household member ``index`` (committed).

    :raises CaseError: an unknown role, or a single role another member already holds.
    """
    unknown = [r for r in roles if r not in ruleset.roles]
    if unknown:
        raise CaseError("unknown_role", f"役割「{'、'.join(unknown)}」は定義されていません。")
    facts = stored_facts(case)
    for role in roles:
        holder = _single_role_holder(ruleset, facts, role)
        if holder is not None and holder != index:
            raise CaseError(
                "role_taken",
                f"「{ruleset.roles[role].label}」は世帯員{holder + 1}に設定済みです。",
            )
    return record_fact(case, f"household[{index}].roles", list(roles) or None, actor=actor, now=now)


def _single_role_holder(ruleset: RuleSet, facts: dict[str, StoredFact], role: str) -> int | None:
    if not ruleset.roles[role].single:
        return None
    for fact_id, fact in facts.items():
        index, name = split_fact_id(fact_id)
        if name == "roles" and index is not None and role in (fact.value or []):
            return index
    return None


def display_value(ruleset: RuleSet, fact_id: str, value: Any) -> str:
    """Format a stored value for staff screens: 和暦 dates, choice labels, masked My Number."""
    if value is None:
        return ""
    _index, name = split_fact_id(fact_id)
    if name == "roles":
        return "・".join(ruleset.roles[r].label for r in value if r in ruleset.roles)
    fact = ruleset.facts.get(name)
    if fact is None:
        return str(value)
    kind = fact.type
    if kind == "date":
        day = value if isinstance(value, date) else date.fromisoformat(value)
        try:
            return str(format_value("wareki", day))
        except OutsideEra:  # before 明治: no era to show it in
            return day.isoformat()
    if kind == "my_number":
        return str(format_value("masked", value))
    if kind == "boolean":
        return "はい" if value else "いいえ"
    if kind == "choice":
        return fact.choices.get(value, str(value))
    if kind == "list":
        return "、".join(fact.choices.get(v, str(v)) for v in value)
    if kind == "money":
        return str(format_value("yen", value))
    if kind == "bank_account":
        return (
            f"{value['bank']} {value['branch']} {value['kind']} {value['number']} {value['holder']}"
        )
    return str(value)


def import_household(
    ruleset: RuleSet,
    case: Case,
    record: HouseholdRecord,
    *,
    actor: str,
    now: datetime,
    commit: bool = True,
) -> int:
    """Prefill a case from a registry household: each fact stored locked, with its provenance.

    Facts the rule set does not know are skipped (a registry may hold more than we ask).
    Returns the number of facts imported.

    :raises CaseError: the case already has household members (import into a fresh case).
    """
    if member_indexes(case):
        raise CaseError(
            "household_exists",
            "この案件には既に世帯員が入力されています。住民記録は新しい案件で取り込んでください。",
        )
    imported = 0
    for fact_id, value, provenance in record.fact_items():
        index, name = split_fact_id(fact_id)
        if name != "roles":
            fact = ruleset.facts.get(name)
            if fact is None or fact.derived or fact.per_person != (index is not None):
                continue
        record_fact(
            case,
            fact_id,
            value,
            actor=actor,
            now=now,
            provenance=provenance,
            lock=name != "roles",  # roles are the counter's to adjust (who died, who applies)
            commit=False,
        )
        imported += 1
    audit(case.id, actor, "registry_import", {"facts": imported}, now)
    if commit:
        db.session.commit()
    return imported


def find_households(
    registry: ResidentRegistry, name: str, birth_date: str, code: str, *, as_of: date
) -> list[HouseholdRecord]:
    """Look a resident up by 住民票コード, or by name and birth date (和暦 accepted).

    :raises CaseError: neither a code nor both name and birth date, or an unreadable date.
    """
    if code.strip():
        found = registry.find_by_juminhyo_code(code.strip())
        return [found] if found is not None else []
    if not (name.strip() and birth_date.strip()):
        raise CaseError(
            "search_incomplete", "氏名と生年月日の両方、または住民票コードを入力してください。"
        )
    try:
        day = parse_date(birth_date).value
    except ValueError as error:
        raise CaseError("bad_date", f"生年月日を読み取れません（{error}）。") from None
    return registry.find_by_name_and_birth_date(name, day)


def household_summary(record: HouseholdRecord) -> dict[str, Any]:
    """Summarise a registry household for the search results: address and members."""
    members = []
    for index in range(record.size):
        get = record.facts.get
        members.append(
            {
                "name": get(f"household[{index}].name", ""),
                "birth_date": get(f"household[{index}].birth_date", ""),
                "matched": index == record.person_index,
                "code": get(f"household[{index}].juminhyo_code", ""),
            }
        )
    return {"address": record.facts.get("household.address", ""), "members": members}


def assign_role(
    ruleset: RuleSet, case: Case, role: str, index: int | None, *, actor: str, now: datetime
) -> int:
    """Give a role (故人, 申請者 …) to household member ``index``, or to a new member when None.

    A single role moves: whoever held it before loses it. Returns the member's index.

    :raises CaseError: an unknown role or member.
    """
    if role not in ruleset.roles:
        raise CaseError("unknown_role", f"役割「{role}」は定義されていません。")
    if index is None:
        return add_member(ruleset, case, [role], actor=actor, now=now)
    facts = stored_facts(case)
    if index not in member_indexes(case):
        raise CaseError("unknown_member", f"世帯員{index + 1}は登録されていません。")
    if ruleset.roles[role].single:
        holder = _single_role_holder(ruleset, facts, role)
        if holder is not None and holder != index:
            held = [r for r in facts[f"household[{holder}].roles"].value if r != role]
            record_fact(case, f"household[{holder}].roles", held or None, actor=actor, now=now)
    current = facts.get(f"household[{index}].roles")
    roles = list(current.value) if current is not None else []
    if role not in roles:
        roles.append(role)
        record_fact(case, f"household[{index}].roles", roles, actor=actor, now=now)
    return index


def open_visit(
    ruleset: RuleSet,
    registry: ResidentRegistry,
    staff_id: int,
    events: list[str],
    channel: str,
    registry_code: str | None,
    *,
    actor: str,
    now: datetime,
) -> Case:
    """Open a case and prefill it from a registry household, in one transaction.

    :raises CaseError: an unknown event or 住民票コード, or what ``open_case`` refuses.
    """
    unknown = [e for e in events if e not in ruleset.events]
    if unknown:
        raise CaseError("unknown_event", "選べるライフイベントから選んでください。", status=400)
    record = registry.find_by_juminhyo_code(registry_code) if registry_code else None
    if registry_code and record is None:
        raise CaseError(
            "unknown_resident",
            "この住民票コードの住民は見つかりません。検索し直してください。",
            status=400,
        )
    case = open_case(staff_id, events, channel, now.date(), now, actor, commit=False)
    if record is not None:
        import_household(ruleset, case, record, actor=actor, now=now, commit=False)
    db.session.commit()
    return case


@dataclass(frozen=True)
class HouseholdSearch:
    """What a registry search found, or why the search could not run."""

    households: list[HouseholdRecord]
    problem: str | None


def search_households(
    registry: ResidentRegistry,
    name: str,
    birth_date: str,
    code: str,
    *,
    actor: str,
    now: datetime,
) -> HouseholdSearch:
    """Search the resident registry and audit the search (hit count only), committed."""
    households: list[HouseholdRecord] = []
    problem = None
    try:
        households = find_households(registry, name, birth_date, code, as_of=now.date())
    except CaseError as error:
        problem = error.message
    audit(None, actor, "registry_search", {"hits": len(households)}, now)
    db.session.commit()
    return HouseholdSearch(households, problem)

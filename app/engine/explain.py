"""Explain one procedure for a case in words: applies, undecided or not, and because of what."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from app.engine.compiler import UNKNOWN, Ctx
from app.engine.evaluate import evaluate, fact_key_text, prepare_facts
from app.engine.model import RuleSet
from app.engine.result import json_value


def _show(value: Any) -> str:
    if value is UNKNOWN or value is None:
        return "（未回答）"
    return str(json_value(value))


def explain(
    ruleset: RuleSet, facts: Mapping[str, Any], as_of: date, procedure_id: str
) -> list[str]:
    """Return lines explaining whether and why a procedure applies to the case on ``as_of``.

    :raises KeyError: there is no procedure with that id.
    """
    procedure = next((p for p in ruleset.procedures if p.id == procedure_id), None)
    if procedure is None:
        raise KeyError(procedure_id)
    result = evaluate(ruleset, facts, as_of)
    lines = [f"{procedure.id}: {procedure.title}（{procedure.department.name}）"]
    basis = procedure.legal_basis
    lines.append(f"  根拠: {basis.law} {basis.article or ''} {basis.url or ''}".rstrip())
    applied = [p for p in result.procedures if p.id == procedure_id]
    waiting = [u for u in result.undecided if u.id == procedure_id]
    for item in applied:
        who = "" if item.person is None else f"（household[{item.person}]）"
        lines.append(f"  判定: 該当します{who}")
        lines.append(f"  規則: {item.why.rule}")
        if item.why.text:
            lines.append(f"  理由: {item.why.text}")
        for key, value in item.why.facts.items():
            lines.append(f"    {key} = {_show(value)}")
        if item.deadline:
            lines.append(f"  期限: {item.deadline.isoformat()}（{item.deadline_label}）")
        if item.forms:
            lines.append(f"  様式: {', '.join(item.forms)}")
        if item.note:
            lines.append(f"  案内: {item.note}")
    for pending in waiting:
        who = "" if pending.person is None else f"（household[{pending.person}]）"
        facts_needed = ", ".join(pending.waiting_for)
        lines.append(
            f"  判定: まだ決まりません{who} — 次の事実が分かれば決まります: {facts_needed}"
        )
    if applied or waiting:
        return lines
    if (procedure.valid_from and as_of < procedure.valid_from) or (
        procedure.valid_until and as_of > procedure.valid_until
    ):
        lines.append(
            f"  判定: 該当しません — {as_of.isoformat()} は適用期間（{procedure.valid_from}〜{procedure.valid_until or ''}）の外です"
        )
        return lines
    events = facts.get("case.events") or []
    if procedure.events is not None and not procedure.events & set(events):
        lines.append(
            f"  判定: 該当しません — 事由 {', '.join(sorted(procedure.events))} のいずれでもありません（case.events = {list(events)}）"
        )
        return lines
    case, persons, _ = prepare_facts(ruleset, facts, as_of)
    ctx = Ctx(case, persons, as_of, ruleset.parameters_on(as_of), ruleset.municipality.options)
    rule = (
        procedure.applies_when.text
        if procedure.applies_when
        else procedure.for_each.cond.text
        if procedure.for_each
        else ""
    )
    if procedure.applies_when is not None:
        procedure.applies_when.fn(ctx)
    elif procedure.for_each is not None:
        for person in procedure.for_each.source.fn(ctx):
            ctx.vars[procedure.for_each.slot] = person
            procedure.for_each.cond.fn(ctx)
    lines.append(f"  判定: 該当しません — 条件が成り立ちません: {rule}")
    for read in dict.fromkeys(ctx.reads):
        lines.append(f"    {fact_key_text(read)} = {_show(ctx.value_of(read))}")
    return lines

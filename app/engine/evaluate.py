"""Evaluate a compiled rule set on a case's facts as of a date: pure and deterministic."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from app.engine import codegen, wareki
from app.engine.errors import FactValueError, did_you_mean
from app.engine.factids import PADDED_PERSON_KEY, parse_person_key
from app.engine.facts import parse_fact_value
from app.engine.formats import OutsideEra, format_value
from app.engine.legal_calendar import Deadline
from app.engine.model import Deadline as DeadlineRule
from app.engine.model import FieldDef, Form, Procedure, RuleSet
from app.engine.periods import period_end
from app.engine.reasons import PLACEHOLDER, FactRef, format_fact
from app.engine.result import (
    AppliedProcedure,
    FilledForm,
    Question,
    Result,
    UndecidedProcedure,
    Warning,
    Why,
)
from app.engine.runtime import UNKNOWN, Ctx, FactKey, Person

MAX_MEMBERS = 50  # a household larger than this is a data error, not a family


_KEY_TEXT: dict[FactKey, str] = {}  # fact keys are few (facts × members): remember their text


def fact_key_text(key: FactKey) -> str:
    """Return the public id of a fact key: ``death.date``, ``household[1].name``, ``role:deceased``."""
    text = _KEY_TEXT.get(key)
    if text is None:
        index, fid = key
        if fid.startswith("@"):
            text = f"role:{fid[1:]}"
        else:
            text = fid if index is None else f"household[{index}].{fid}"
        if len(_KEY_TEXT) < 100_000:
            _KEY_TEXT[key] = text
    return text


def _closest_fact(ruleset: RuleSet, key: str, index: int | None) -> str:
    """Return a 「'x' ではありませんか」 hint for an unknown fact key, or an empty string."""
    if index is None:
        return did_you_mean(key, [f for f, fact in ruleset.facts.items() if not fact.per_person])
    name = key.split(".", 1)[1]
    close = did_you_mean(name, [f for f, fact in ruleset.facts.items() if fact.per_person])
    return close.replace("'", f"'household[{index}].", 1) if close else ""


def prepare_facts(
    ruleset: RuleSet, facts: Mapping[str, Any], as_of: date
) -> tuple[dict[str, Any], list[Person], list[Warning]]:
    """Split flat facts into case facts and household members, parsing each value by its type."""
    warnings: list[Warning] = []
    case: dict[str, Any] = {}
    members: dict[int, dict[str, Any]] = {}
    roles: dict[int, tuple[str, ...]] = {}
    known_facts = ruleset.facts
    for key, raw in facts.items():
        index: int | None = None
        fid = key
        if key.startswith("household["):
            parsed = parse_person_key(key)
            if parsed is None or parsed[0] >= MAX_MEMBERS:
                padded = PADDED_PERSON_KEY.match(key)
                if padded is not None:
                    canonical = f"household[{int(padded[1])}].{padded[2]}"
                    warnings.append(
                        Warning(
                            "ambiguous_key",
                            f"{key} は番号の前に 0 が付いています。{canonical} と書いてください（無視しました）",
                            key,
                        )
                    )
                    continue
                warnings.append(
                    Warning("unknown_fact", f"{key} は使えない事実IDです（無視しました）", key)
                )
                continue
            index, fid = parsed
            members.setdefault(index, {})
            if fid == "roles":
                listed = raw if isinstance(raw, list) else [raw]
                unknown = [
                    str(r) for r in listed if not isinstance(r, str) or r not in ruleset.roles
                ]
                if unknown:
                    hint = did_you_mean(unknown[0], ruleset.roles)
                    warnings.append(
                        Warning(
                            "unknown_role",
                            f"{key} の役割 {'、'.join(unknown)} は定義されていません"
                            + (f"（{hint}）" if hint else ""),
                            key,
                        )
                    )
                roles[index] = tuple(r for r in listed if isinstance(r, str) and r in ruleset.roles)
                continue
        fact = known_facts.get(fid)
        if fact is None or fact.per_person != (index is not None):
            hint = _closest_fact(ruleset, key, index)
            warnings.append(
                Warning(
                    "unknown_fact",
                    f"{key} は定義されていない事実です（無視しました）"
                    + (f"。{hint}" if hint else ""),
                    key,
                )
            )
            continue
        if fact.derived:
            warnings.append(
                Warning(
                    "derived_fact_given",
                    f"{key} は自動で計算される事実です（入力値は無視しました）",
                    key,
                )
            )
            continue
        if raw is None:
            continue
        try:
            value = parse_fact_value(fact, raw, as_of)
        except FactValueError as exc:
            warnings.append(Warning("invalid_fact", f"{key}: {exc.message}", key))
            continue
        if index is None:
            case[fid] = value
        else:
            members[index][fid] = value
    size = max(members) + 1 if members else 0
    persons = [Person(i, members.get(i, {}), roles.get(i, ())) for i in range(size)]
    return case, persons, warnings


class _Run:
    """One evaluation: the context, and what it has found so far."""

    def __init__(self, ruleset: RuleSet, ctx: Ctx) -> None:
        self.ruleset = ruleset
        self.ctx = ctx
        self.questions: dict[FactKey, None] = {}
        self.warnings: list[Warning] = []

    def ask(self, keys: Iterable[FactKey]) -> None:
        """Remember facts worth asking next."""
        for key in keys:
            self.questions[key] = None

    def why(self, procedure: Procedure, reads: list[FactKey], rule: str, reason: str | None) -> Why:
        """Return the why-trace: the rule, its reason and the value of every fact it read."""
        seen: dict[str, Any] = {}
        if procedure.events is not None:
            seen["case.events"] = self.ctx.case.get("case.events")
        facts = self.ruleset.facts
        for key in reads:
            text = fact_key_text(key)
            if text not in seen:
                value = self.ctx.value_of(key)
                fact = facts.get(key[1])
                if fact is not None and fact.type == "my_number" and isinstance(value, str):
                    value = format_value("masked", value)  # a why-trace is shown on screen
                seen[text] = None if value is UNKNOWN else value
        return Why(rule, reason, seen)

    def deadline(self, procedure: Procedure) -> tuple[DeadlineRule, Deadline] | None:
        """Compute the deadline: the period's end (民法 第140条・第143条) and the day it runs to.

        Of a list of deadlines the first whose ``when`` is true counts; an unknown ``when``
        leaves the deadline unknown and asks its facts.
        """
        ctx = self.ctx
        for rule in procedure.deadline_cases:
            ctx.unk.clear()
            if rule.when is not None:
                verdict = rule.when.fn(ctx)
                if verdict is UNKNOWN:
                    self.ask(ctx.unk)
                    return None
                if verdict is False:
                    continue
            origin = rule.start.fn(ctx)
            if origin is UNKNOWN:
                self.ask(ctx.unk)
                return None
            end = period_end(origin, rule.start_rule, rule.years, rule.months, rule.days)
            return rule, self.ruleset.calendar.deadline(end, rolls_over=rule.rolls_over)
        return None

    def fact_value(self, ref: FactRef, person: Person | None) -> Any:
        """Return the value of a referenced fact (computing a derived one when needed)."""
        ctx = self.ctx
        if ref.kind == "case":
            key: FactKey = (None, ref.fact)
            owner = None
        else:
            owner = person if ref.kind == "member" else ctx.role_holders.get(ref.role or "")
            if owner is None:
                return UNKNOWN
            key = (owner.index, ref.fact)
        hit = ctx.cache.get(key)
        if hit is not None:
            return hit[0]
        fn = self.ruleset.symbols.derive_fns.get(ref.fact)
        if fn is not None:
            value = codegen.compute(ctx, key, fn, owner)[0]
        elif owner is None:
            value = ctx.case.get(ref.fact, UNKNOWN)
        else:
            value = owner.facts.get(ref.fact, UNKNOWN)
        return value

    def reason(self, procedure: Procedure) -> str | None:
        """Fill a reason's ``{fact.path}`` placeholders with formatted values (和暦 dates)."""
        template = procedure.reason
        if template is None:
            return None
        if not template.slots:
            return template.text
        ctx = self.ctx
        values = {}
        for path, compiled, choices in template.slots:
            values[path] = format_fact(compiled.fn(ctx), choices)
        ctx.unk.clear()
        return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template.text)

    def applied(
        self, procedure: Procedure, person: Person | None, reads: list[FactKey], rule: str
    ) -> AppliedProcedure:
        """Build an applied procedure (deadline, reason, why); warn once its deadline passed."""
        found = self.deadline(procedure)
        period, due = found if found is not None else (None, None)
        overdue = due is not None and due.due < self.ctx.as_of
        if overdue and due is not None and period is not None:
            self.warnings.append(
                Warning(
                    "deadline_passed",
                    f"期限超過: {procedure.title}の期限（{wareki.format_wareki_or_iso(due.due)}、"
                    f"{period.label}）を過ぎています",
                )
            )
        facts = tuple(
            (ref.label, format_fact(self.fact_value(ref, person), ref.choices))
            for ref in procedure.reason_refs
        )
        name = person.facts.get("name") if person is not None else None
        reason = self.reason(procedure)
        return AppliedProcedure(
            procedure.id,
            procedure.title,
            procedure.department.to_json(),
            procedure.legal_basis.to_json(),
            due.due if due else None,
            period.label if period else None,
            procedure.automatic,
            procedure.note,
            procedure.bring,
            person.index if person is not None else None,
            procedure.forms,
            self.why(procedure, reads, rule, reason),
            deadline_period_end=due.period_end if due else None,
            deadline_rolls_over=period.rolls_over if period else None,
            deadline_why=period.why if period else None,
            overdue=overdue,
            reason=reason,
            reason_facts=facts,
            person_name=name if isinstance(name, str) else None,
            plain=procedure.plain,
            urgent=procedure.urgent,
            guidance=procedure.guidance,
        )

    def undecided(
        self, procedure: Procedure, person: Person | None, waiting: list[FactKey]
    ) -> UndecidedProcedure:
        """Build an undecided procedure and ask for the facts it waits for."""
        self.ask(waiting)
        unique = tuple(dict.fromkeys(fact_key_text(k) for k in waiting))
        return UndecidedProcedure(
            procedure.id,
            procedure.title,
            procedure.department.to_json(),
            person.index if person else None,
            unique,
        )

    def procedures(self) -> tuple[list[AppliedProcedure], list[UndecidedProcedure]]:
        """Decide every procedure of the case's life events: applies, undecided or not."""
        ctx = self.ctx
        as_of = ctx.as_of
        raw_events = ctx.case.get("case.events")
        events = frozenset(raw_events) if raw_events is not None else None
        applied: list[AppliedProcedure] = []
        undecided: list[UndecidedProcedure] = []
        candidates = (
            self.ruleset.procedures if events is None else self.ruleset.procedures_for(events)
        )
        for procedure in candidates:
            if (procedure.valid_from and as_of < procedure.valid_from) or (
                procedure.valid_until and as_of > procedure.valid_until
            ):
                continue
            if procedure.events is not None and events is None:
                undecided.append(self.undecided(procedure, None, [(None, "case.events")]))
                continue
            ctx.unk.clear()
            ctx.reads.clear()
            if procedure.applies_when is not None:
                rule = procedure.applies_when.text
            else:
                rule = (
                    " or ".join(f"'{e}' in case.events" for e in sorted(procedure.events & events))
                    if procedure.events and events
                    else "always"
                )
            verdict = procedure.applies_when.fn(ctx) if procedure.applies_when else True
            if verdict is False:
                continue
            if verdict is UNKNOWN:
                undecided.append(self.undecided(procedure, None, list(ctx.unk)))
                continue
            reads = list(ctx.reads)
            binding = procedure.for_each
            if binding is None:
                applied.append(self.applied(procedure, None, reads, rule))
                continue
            members = binding.source.fn(ctx)
            if members is UNKNOWN:
                undecided.append(self.undecided(procedure, None, list(ctx.unk)))
                continue
            for person in members:
                ctx.unk.clear()
                ctx.reads.clear()
                ctx.vars[binding.slot] = person
                verdict = binding.cond.fn(ctx)
                if verdict is True:
                    person_rule = f"{rule}; {binding.cond.text}" if rule else binding.cond.text
                    applied.append(self.applied(procedure, person, reads + ctx.reads, person_rule))
                elif verdict is UNKNOWN:
                    undecided.append(self.undecided(procedure, person, list(ctx.unk)))
        return applied, undecided

    def fill_fields(
        self,
        fields: tuple[FieldDef, ...],
        prefix: str,
        values: dict[str, Any],
        sources: dict[str, list[str]],
        missing: list[FactKey],
    ) -> None:
        """Evaluate and format fields into ``values``; note sources and missing facts."""
        ctx = self.ctx
        reads = ctx.reads
        unk = ctx.unk
        for fdef in fields:
            unk.clear()
            reads.clear()
            value = fdef.value.fn(ctx)
            name = f"{prefix}{fdef.id}" if prefix else fdef.id
            sources[name] = [fact_key_text(k) for k in dict.fromkeys(reads)] if reads else []
            if value is UNKNOWN:
                values[fdef.id] = None
                if fdef.required:
                    missing.extend(unk)
                continue
            if fdef.format == "text" and type(value) is str:
                values[fdef.id] = value
                continue
            try:
                values[fdef.id] = format_value(fdef.format, value, fdef.choices)
            except OutsideEra as exc:
                self.warnings.append(
                    Warning(
                        "date_outside_era",
                        f"{fdef.label}の日付（{exc}）は和暦で表せないため西暦で記載します",
                    )
                )
                values[fdef.id] = str(exc)

    def fill(self, form: Form, person: Person | None) -> FilledForm:
        """Fill one form (for one member of a per-person form) with fields and rows."""
        ctx = self.ctx
        if person is not None and form.per_person is not None:
            ctx.vars[form.per_person.slot] = person
        fields: dict[str, Any] = {}
        sources: dict[str, list[str]] = {}
        missing: list[FactKey] = []
        self.fill_fields(form.fields, "", fields, sources, missing)
        rows: dict[str, list[dict[str, Any]]] = {}
        for group in form.rows:
            ctx.unk.clear()
            members = group.for_each.source.fn(ctx)
            out: list[dict[str, Any]] = []
            rows[group.id] = out
            if members is UNKNOWN:
                missing.extend(ctx.unk)
                continue
            for member in members:
                ctx.unk.clear()
                ctx.vars[group.for_each.slot] = member
                verdict = group.for_each.cond.fn(ctx)
                if verdict is UNKNOWN:
                    missing.extend(ctx.unk)
                if verdict is not True:
                    continue
                row: dict[str, Any] = {}
                n = len(out)
                self.fill_fields(group.fields, f"{group.id}[{n}].", row, sources, missing)
                out.append(row)
            if group.max is not None and len(out) > group.max:
                self.warnings.append(
                    Warning(
                        "rows_overflow",
                        f"{form.title}の「{group.label or group.id}」欄は{group.max}行までです（{len(out)}人分あります。続紙を添付してください）",
                    )
                )
        self.ask(missing)
        index = person.index if person is not None else None
        audience = self.audience(form) if form.audience is not None else None
        return FilledForm(
            form.id,
            form.id if index is None else f"{form.id}[{index}]",
            form.title,
            form.department.to_json(),
            form.template,
            index,
            fields,
            rows,
            sources,
            tuple(dict.fromkeys(fact_key_text(k) for k in missing)),
            not missing and all(fields[f.id] is not None for f in form.fields if f.required),
            audience,
        )

    def audience(self, form: Form) -> tuple[int, ...]:
        """Return the members who sign or receive the form; an undecided member counts as one."""
        ctx = self.ctx
        binding = form.audience
        assert binding is not None
        ctx.unk.clear()
        members = binding.source.fn(ctx)
        if members is UNKNOWN:
            return tuple(p.index for p in ctx.persons)
        chosen = []
        for member in members:
            ctx.unk.clear()
            ctx.vars[binding.slot] = member
            if binding.cond.fn(ctx) is not False:
                chosen.append(member.index)
        return tuple(chosen)

    def forms(self, applied: list[AppliedProcedure]) -> list[FilledForm]:
        """Fill every form the applied procedures produce, once per key."""
        ctx = self.ctx
        wanted: dict[str, tuple[Form, Person | None]] = {}
        for procedure in applied:
            for form_id in procedure.forms:
                form = self.ruleset.forms[form_id]
                binding = form.per_person
                if binding is None:
                    wanted.setdefault(form_id, (form, None))
                    continue
                if procedure.person is not None:
                    members = [ctx.persons[procedure.person]]
                else:
                    ctx.unk.clear()
                    members = binding.source.fn(ctx)
                    if members is UNKNOWN:
                        self.ask(ctx.unk)
                        continue
                for member in members:
                    ctx.unk.clear()
                    ctx.vars[binding.slot] = member
                    verdict = binding.cond.fn(ctx)
                    if verdict is True:
                        wanted.setdefault(f"{form_id}[{member.index}]", (form, member))
                    elif verdict is UNKNOWN:
                        self.ask(ctx.unk)
        return [self.fill(form, person) for form, person in wanted.values()]

    def event_questions(self) -> None:
        """Ask the facts each life event of the case always asks."""
        ctx = self.ctx
        events = ctx.case.get("case.events")
        if events is None:
            self.ask([(None, "case.events")])
            return
        for event_id in events:
            event = self.ruleset.events.get(event_id)
            for ask in event.asks if event else ():
                ctx.unk.clear()
                ask.fn(ctx)
                self.ask(ctx.unk)

    def next_questions(self) -> list[Question]:
        """Return the questions: case facts first, then per member, in declaration order."""
        facts = self.ruleset.facts
        questions: list[tuple[tuple[int, int, str], Question]] = []
        for key in self.questions:
            index, fid = key
            if fid.startswith("@"):
                role = self.ruleset.roles.get(fid[1:])
                label = role.label if role else fid[1:]
                question = Question(
                    fact_key_text(key),
                    f"{label}に当たる方はどなたですか",
                    "role",
                    None,
                    None,
                    "世帯の中から選んでください",
                )
                questions.append(((-1, -2, fid), question))
                continue
            fact = facts.get(fid)
            if fact is None or fact.derived or not fact.ask:
                continue
            choices = (
                [{"value": k, "label": v} for k, v in fact.choices.items()]
                if fact.choices
                else None
            )
            question = Question(
                fact_key_text(key), fact.label, fact.type, index, choices, fact.help or None
            )
            questions.append(((-1 if index is None else index, fact.order, fid), question))
        questions.sort(key=lambda item: item[0])
        return [q for _, q in questions]

    def missing_order(self, forms: list[FilledForm]) -> tuple[str, ...]:
        """Return the missing facts of all forms, first seen first."""
        seen: dict[str, None] = {}
        for form in forms:
            for key in form.missing:
                seen[key] = None
        return tuple(seen)


def _role_conflicts(ruleset: RuleSet, persons: list[Person]) -> list[Warning]:
    """Warn when a single role (故人, 世帯主 …) is given to more than one member."""
    holders: dict[str, list[int]] = {}
    for person in persons:
        for role in person.roles:
            holders.setdefault(role, []).append(person.index)
    out = []
    for role_id, indexes in holders.items():
        declared = ruleset.roles[role_id]
        if declared.single and len(indexes) > 1:
            who = "、".join(f"household[{i}]" for i in indexes)
            out.append(
                Warning(
                    "role_conflict",
                    f"{declared.label}が複数の方（{who}）に設定されています。household[{indexes[0]}]として扱います",
                )
            )
    return out


def evaluate(ruleset: RuleSet, facts: Mapping[str, Any], as_of: date) -> Result:
    """Work out the procedures, forms, missing facts, next questions and warnings for a case."""
    case, persons, warnings = prepare_facts(ruleset, facts, as_of)
    ctx = Ctx(case, persons, as_of, ruleset.parameters_on(as_of), ruleset.municipality.options)
    warnings += _role_conflicts(ruleset, persons)
    run = _Run(ruleset, ctx)
    run.event_questions()
    applied, undecided = run.procedures()
    forms = run.forms(applied)
    all_warnings = (
        warnings + run.warnings + [Warning(code, message) for code, message in ctx.warnings]
    )
    return Result(
        as_of,
        ruleset.version,
        tuple(applied),
        tuple(undecided),
        tuple(forms),
        run.missing_order(forms),
        tuple(run.next_questions()),
        tuple(dict.fromkeys(all_warnings)),
    )

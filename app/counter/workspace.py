"""What the interview screen shows: questions per person and the side panel, from a Result."""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from flask import render_template
from markupsafe import Markup

from app.counter.fact_forms import fact_form_class
from app.counter.reasons import reason_lines, spoken_reason
from app.counter.suggestions import Suggestion, suggestion_for
from app.engine import Result, RuleSet
from app.engine.result import AppliedProcedure
from app.models.case import PROVENANCE_LABELS
from app.services.cases import StoredFact
from app.services.interview import display_value, split_fact_id


@dataclass(frozen=True)
class QuestionRow:
    """One fact on the interview screen, asked next or already answered, and its HTML.

    ``key`` names the row's exact state; a row the browser already shows in that state
    is sent as a placeholder it fills with its own copy (see counter.js).
    """

    fact_id: str
    asked: bool
    html: Markup
    key: str


@dataclass
class RoleQuestion:
    """Who in the household holds a role the rules need (故人は誰か, 申請者は誰か)."""

    role: str
    label: str
    members: list[tuple[int, str]]
    dom_id: str


@dataclass
class Section:
    """The questions about the case, or about one household member."""

    title: str
    person: int | None
    roles: str
    role_ids: tuple[str, ...] = ()
    rows: list[QuestionRow] = field(default_factory=list)
    role_questions: list[RoleQuestion] = field(default_factory=list)
    locked_count: int = 0  # answered rows fixed from the registry (no Tab stop until opened)
    head: Markup = Markup()  # its heading, role editor and role questions (section_head)

    @property
    def open_count(self) -> int:
        return sum(1 for r in self.rows if r.asked) + len(self.role_questions)


def dom_id(fact_id: str) -> str:
    """Return an HTML id for a fact id (``household[1].name`` -> ``f-household-1-name``)."""
    return "f-" + fact_id.replace("[", "-").replace("].", "-").replace(".", "-")


ROWS_KEPT = 20000
# (rules version, fact, asked, state) -> the row's key and its placeholder
_KEYS: dict[tuple[Any, ...], tuple[str, Markup]] = {}
_ROWS: dict[str, Markup] = {}  # row key -> the row's HTML


def _row(
    ruleset: RuleSet,
    fact_id: str,
    stored: StoredFact | None,
    asked: bool,
    shown: frozenset[str],
    suggestion: Suggestion | None = None,
) -> QuestionRow | None:
    _index, name = split_fact_id(fact_id)
    fact = ruleset.facts.get(name)
    if fact is None or fact.derived:
        return None
    state = (stored.value, stored.revision, stored.provenance, stored.locked) if stored else None
    raw = (ruleset.version, fact_id, asked, repr(state), suggestion)
    known = _KEYS.get(raw)
    if known is None:
        if len(_KEYS) > ROWS_KEPT:
            _KEYS.clear()
            _ROWS.clear()
        # The state's digest, not the state, travels to the browser and back.
        digest = hashlib.blake2b(repr(raw).encode(), digest_size=8).hexdigest()
        known = _KEYS[raw] = (digest, Markup('<template data-keep="{}"></template>').format(digest))
    key, keep = known
    if key in shown:  # the browser has this very row: it keeps its own (and what is typed)
        return QuestionRow(fact_id, asked, keep, key)
    # Redrawing the interview after each answer re-renders every row, and almost every row
    # is unchanged: keep each row's HTML per (rules version, fact, state). Building the
    # WTForms widgets was most of the cost of an answer.
    html = _ROWS.get(key)
    if html is None:
        html = _ROWS[key] = _render_row(ruleset, fact, fact_id, stored, asked, key, suggestion)
    return QuestionRow(fact_id, asked, html, key)


def _render_row(
    ruleset: RuleSet,
    fact: Any,
    fact_id: str,
    stored: StoredFact | None,
    asked: bool,
    key: str,
    suggestion: Suggestion | None = None,
) -> Markup:
    value = stored.value if stored is not None else None
    data: Any = value if value is not None or suggestion is None else suggestion.text
    if fact.type == "date" and value:
        data = display_value(ruleset, fact_id, value)
    elif fact.type == "boolean" and value is not None:
        data = "true" if value else "false"
    elif fact.type == "my_number" and value:
        data = ""  # never echo a My Number back into a page; staff retype to change it
    form = fact_form_class(ruleset, fact)(prefix=dom_id(fact_id), data={"value": data})
    return Markup(  # noqa: S704 (the output of an autoescaping template)
        render_template(
            "counter/_row.html",
            fact_id=fact_id,
            label=fact.label,
            help=fact.help,
            field=form.value,  # type: ignore[attr-defined]
            stored=stored,
            display=display_value(ruleset, fact_id, value),
            asked=asked,
            dom_id=dom_id(fact_id),
            row_key=key,
            provenance_labels=PROVENANCE_LABELS,
            suggestion=suggestion,
        )
    )


def person_title(ruleset: RuleSet, index: int, facts: dict[str, StoredFact]) -> tuple[str, str]:
    """Return a member's heading (世帯員2 山田 花子) and their roles as text."""
    name = facts.get(f"household[{index}].name")
    roles = facts.get(f"household[{index}].roles")
    title = f"世帯員{index + 1}" + (f"　{name.value}" if name is not None else "")
    role_text = display_value(ruleset, f"household[{index}].roles", roles.value if roles else [])
    return title, role_text


def interview_sections(
    ruleset: RuleSet,
    result: Result,
    facts: dict[str, StoredFact],
    shown: frozenset[str],
    case_id: int,
) -> list[Section]:
    """Group next questions and answered facts into the case section and one per member.

    ``shown`` holds the keys of the rows the browser shows now: those come as placeholders.
    """
    sections: OrderedDict[int | None, Section] = OrderedDict()
    sections[None] = Section("案件について", None, "")

    def section(index: int | None) -> Section:
        if index not in sections:
            assert index is not None
            title, roles = person_title(ruleset, index, facts)
            held = facts.get(f"household[{index}].roles")
            sections[index] = Section(title, index, roles, tuple(held.value if held else ()))
        return sections[index]

    members = sorted({i for i, _ in map(split_fact_id, facts) if i is not None})
    for index in members:
        section(index)
    asked = [q.fact for q in result.next_questions]
    people = [(i, person_title(ruleset, i, facts)[0]) for i in members]
    for fact_id in asked:
        if fact_id.startswith("role:"):
            role = ruleset.roles.get(fact_id[5:])
            if role is not None:
                sections[None].role_questions.append(
                    RoleQuestion(role.id, f"{role.label}はどなたですか", people, f"r-{role.id}")
                )
            continue
        stored = facts.get(fact_id)
        offer = suggestion_for(ruleset, fact_id, facts) if stored is None else None
        row = _row(ruleset, fact_id, stored, asked=True, shown=shown, suggestion=offer)
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
        row = _row(ruleset, fact_id, facts[fact_id], asked=False, shown=shown)
        if row is not None:
            section(split_fact_id(fact_id)[0]).rows.append(row)
            if facts[fact_id].locked:
                section(split_fact_id(fact_id)[0]).locked_count += 1
    shown_sections = [s for s in sections.values() if s.rows or s.person is not None]
    for shown_section in shown_sections:
        shown_section.head = section_head(ruleset, case_id, shown_section)
    return shown_sections


def _kept(cache: dict[Any, Markup], bound: int, state: Any, draw: Callable[[], str]) -> Markup:
    """Return the HTML kept under ``state``, drawing and keeping it when missing.

    The panel and section caches of this module hold at most ``bound`` entries: a full
    cache starts over rather than tracking use (a case's screen refills it in one answer).
    """
    html = cache.get(state)
    if html is None:
        if len(cache) >= bound:
            cache.clear()
        html = cache[state] = Markup(draw())  # noqa: S704 (an autoescaping template's output)
    return html


HEADS_KEPT = 5000
_HEADS: dict[tuple[Any, ...], Markup] = {}  # a section head's exact state -> its HTML


def section_head(ruleset: RuleSet, case_id: int, section: Section) -> Markup:
    """Return a section's head (title, counts, role editor, role questions), kept per state.

    Every answer redraws every section; the head changes only with the counts, the
    member's name or roles, or who may be picked for a role: drawing its role checkboxes
    again each time cost more than the rows it heads.
    """
    state = (
        ruleset.version,
        case_id,
        section.title,
        section.person,
        section.roles,
        section.role_ids,
        section.open_count,
        section.locked_count,
        tuple((q.role, q.label, tuple(q.members)) for q in section.role_questions),
    )
    return _kept(
        _HEADS,
        HEADS_KEPT,
        state,
        lambda: render_template(
            "counter/_section_head.html", section=section, case_id=case_id, roles=ruleset.roles
        ),
    )


VERSIONS_KEPT = 32
_ADD_MEMBER: dict[str, Markup] = {}  # rules version -> the add-member block


def add_member_html(ruleset: RuleSet) -> Markup:
    """Return the block that adds a household member (one per rule-set version)."""
    return _kept(
        _ADD_MEMBER,
        VERSIONS_KEPT,
        ruleset.version,
        lambda: render_template("counter/_add_member.html", roles=ruleset.roles),
    )


PROCEDURES_KEPT = 5000
_PROCEDURES: dict[tuple[Any, ...], Markup] = {}  # a procedure's exact state -> its panel entry


_EVALUATED = tuple(  # the rest is the rule set's, and the version is in the key
    f.name
    for f in dataclasses.fields(AppliedProcedure)
    if f.name not in ("department", "legal_basis")
)


def _evaluated(procedure: AppliedProcedure) -> bytes:
    """Return what an evaluation decided of a procedure, as bytes compared exactly.

    Its department and legal basis are the rule set's (the version is in the key); the
    rest is pickled: far cheaper than the dataclass's repr, and a key that is equal only
    for equal states (a digest could, however rarely, show one case's entry in another).
    """
    return pickle.dumps(
        tuple(getattr(procedure, name) for name in _EVALUATED), pickle.HIGHEST_PROTOCOL
    )


def procedure_entries(
    ruleset: RuleSet,
    result: Result,
    facts: dict[str, StoredFact],
    event_titles: list[str],
    show_rules: bool,
) -> dict[str, Markup]:
    """Return each applied procedure's panel entry (HTML) by key, kept per exact state.

    The panel is redrawn after each answer and most procedures did not change: rendering
    them all was the largest part of drawing it. An entry is kept per (rules version, the
    procedure as evaluated, the names of the household (its reason lines name members),
    the case's events, whether the rule is shown, and the revisions of the facts its
    reason reads), so any new answer to one of those facts draws it again, even with the
    same value. Its reason lines are worked out only when it is drawn.
    """
    names = [(fid, stored.value) for fid, stored in facts.items() if fid.endswith("].name")]
    context = (ruleset.version, pickle.dumps(names), tuple(event_titles), show_rules)
    entries = {}
    for procedure in result.procedures:
        read = tuple((fid, facts[fid].revision) for fid in procedure.why.facts if fid in facts)
        state = (context, procedure.key, _evaluated(procedure), read)
        entries[procedure.key] = _kept(
            _PROCEDURES,
            PROCEDURES_KEPT,
            state,
            partial(_draw_procedure, ruleset, procedure, facts, event_titles, show_rules),
        )
    return entries


def _draw_procedure(
    ruleset: RuleSet,
    procedure: AppliedProcedure,
    facts: dict[str, StoredFact],
    event_titles: list[str],
    show_rules: bool,
) -> str:
    """Render one procedure's panel entry, with the reason lines worked out for it."""
    return render_template(
        "counter/_procedure.html",
        p=procedure,
        spoken=spoken_reason(procedure, event_titles),
        lines=reason_lines(procedure, why_facts(ruleset, procedure.why.facts, facts)),
        show_rules=show_rules,
    )


FORMS_KEPT = 5000
_FORMS: dict[tuple[Any, ...], Markup] = {}  # a case's forms as the panel lists them -> HTML


def forms_list_html(case_id: int, result: Result) -> Markup:
    """Return the panel's list of forms with their links, kept while nothing in it changes.

    Most answers change no form's completeness; building the links (one ``url_for`` per
    form and three for the packet) was a tenth of drawing the panel.
    """
    state = (case_id, tuple((f.key, f.title, f.complete, len(f.missing)) for f in result.forms))
    return _kept(
        _FORMS,
        FORMS_KEPT,
        state,
        lambda: render_template("counter/_forms_list.html", case_id=case_id, forms=result.forms),
    )


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

"""Load procedure_rules/ and form_definitions/: read, validate, compile; report every problem.

Each problem reads ``file:line:column: <what> '<id>': <what is wrong> (<how to fix>)``.
"""

from __future__ import annotations

import gc
import hashlib
import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from app.engine.compiler import Compiled, CompileError, Compiler, FactInfo, Scope, Symbols
from app.engine.errors import FactValueError, LoadError, Problem, did_you_mean
from app.engine.facts import FACT_TYPE_NAMES, SENSITIVITIES, FactDef, parse_fact_value
from app.engine.model import (
    Binding,
    Deadline,
    Department,
    Event,
    FieldDef,
    Form,
    LegalBasis,
    Municipality,
    Parameter,
    Procedure,
    Role,
    RowGroup,
    RuleSet,
    Scenario,
)
from app.engine.source import Pos, YList, YMap, read_yaml
from app.engine.types import BOOL, DATE, FACT_TYPES, NUM, PERSON, TEXT, Ty

KINDS = (
    "municipality",
    "roles",
    "facts",
    "parameters",
    "events",
    "procedures",
    "scenarios",
    "form",
)
FORMATS = {
    "text": None,
    "wareki": "date",
    "wareki_parts": "date",
    "iso_date": "date",
    "katakana": "text",
    "hiragana": "text",
    "zenkaku": None,
    "yen": "number",
    "digits": "text",
    "postal": "text",
    "checkbox": "boolean",
    "choice_label": "choice",
    "masked": "text",
}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_CASE_FACT_ID = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_PARAM_TYPES = {
    "money": NUM,
    "integer": NUM,
    "number": NUM,
    "text": TEXT,
    "boolean": BOOL,
    "date": DATE,
}

MUNICIPALITY_KEYS = {"name", "code", "prefecture", "address", "phone", "departments", "options"}
DEPARTMENT_KEYS = {"id", "name", "floor", "counter"}
ROLE_KEYS = {"id", "label", "single"}
FACT_KEYS = {
    "id",
    "per",
    "type",
    "label",
    "help",
    "sensitivity",
    "validation",
    "choices",
    "derive",
    "ask",
}
VALIDATION_KEYS = {"min", "max", "pattern", "message", "min_length", "max_length"}
PARAMETER_KEYS = {"id", "label", "type", "legal_basis", "values"}
PARAM_VALUE_KEYS = {"valid_from", "valid_until", "value"}
EVENT_KEYS = {"id", "title", "asks"}
PROCEDURE_KEYS = {
    "id", "title", "events", "department", "legal_basis", "valid_from", "valid_until",
    "applies_when", "reason", "for_each", "deadline", "forms", "automatic", "note", "bring",
}  # fmt: skip
LEGAL_KEYS = {"law", "article", "url"}
DEADLINE_KEYS = {"from", "days", "months", "inclusive", "label"}
FORM_KEYS = {"id", "title", "department", "template", "per_person", "fields", "rows"}
FIELD_KEYS = {"id", "label", "value", "format", "required"}
ROW_KEYS = {"id", "label", "for_each", "max", "fields"}
SCENARIO_KEYS = {"name", "as_of", "facts", "expect"}
EXPECT_KEYS = {"procedures", "undecided", "fields"}


def municipality_code_valid(code: str) -> bool:
    """Tell whether a 6-digit 全国地方公共団体コード has the right check digit (weights 6..2)."""
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(code[:5], (6, 5, 4, 3, 2), strict=True))
    return (11 - total % 11) % 10 == int(code[5])


def yaml_files(paths: Iterable[str | Path]) -> list[Path]:
    """List the YAML files under the given files and folders, in a stable order."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
            )
        elif path.exists():
            found.append(path)
    return found


class _Loader:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.docs: dict[str, list[tuple[str, Any, Pos]]] = {kind: [] for kind in KINDS}

    # -- reporting helpers -----------------------------------------------------------------

    def problem(self, pos: Pos, ident: str, message: str, hint: str = "") -> None:
        """Record one problem at a position."""
        self.problems.append(Problem(pos.file, pos.line, pos.column, ident, message, hint))

    def keys(self, data: YMap, ident: str, allowed: set[str], required: Iterable[str] = ()) -> None:
        """Report unknown keys (with suggestions) and missing required keys."""
        for key in data:
            if key not in allowed:
                hint = did_you_mean(key, allowed) or f"allowed keys: {', '.join(sorted(allowed))}"
                self.problem(data.key_pos[key], ident, f"unknown key '{key}'", hint)
        for key in required:
            if key not in data or data[key] in (None, ""):
                self.problem(data.pos, ident, f"missing '{key}'", f"add {key}:")

    def mapping(self, value: Any, pos: Pos, ident: str, what: str) -> YMap | None:
        """Return the value if it is a mapping, else report it."""
        if isinstance(value, YMap):
            return value
        self.problem(
            pos, ident, f"{what} must be a mapping (key: value)", "indent its keys under it"
        )
        return None

    def items(self, value: Any, pos: Pos, ident: str, what: str) -> list[tuple[YMap, Pos]]:
        """Return the mappings of a list with their positions, reporting anything else."""
        if value is None:
            return []
        if not isinstance(value, YList):
            self.problem(pos, ident, f"{what} must be a list", "start each item with '- '")
            return []
        out = []
        for item, item_pos in zip(value, value.item_pos, strict=True):
            mapped = self.mapping(item, item_pos, ident, f"each item of {what}")
            if mapped is not None:
                out.append((mapped, item_pos))
        return out

    def text(self, data: YMap, key: str, ident: str, default: str | None = None) -> str | None:
        """Return a text value, reporting non-text."""
        value = data.get(key)
        if value is None:
            return default
        if isinstance(value, bool | dict | list):
            self.problem(data.where(key), ident, f"'{key}' must be text", "write it as plain text")
            return default
        # An unquoted 0123, 11:00 or 2026-01-01 is read as the text written, never converted.
        return str(data.text_of(key))

    def string_list(self, data: YMap, key: str, ident: str) -> list[tuple[str, Pos]]:
        """Return a list of texts with their positions (a single text counts as one)."""
        value = data.get(key)
        if value is None:
            return []
        if isinstance(value, str):
            return [(value, data.where(key))]
        if not isinstance(value, YList):
            self.problem(data.where(key), ident, f"'{key}' must be a list", f"write {key}: [a, b]")
            return []
        return [(str(v), p) for v, p in zip(value.texts(), value.item_pos, strict=True)]

    def a_date(self, data: YMap, key: str, ident: str) -> date | None:
        """Return a date value, reporting anything that is not YYYY-MM-DD."""
        value = data.get(key)
        if value is None or (isinstance(value, date) and not hasattr(value, "hour")):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.problem(data.where(key), ident, f"'{key}' must be a date", "write YYYY-MM-DD")
            return None

    def compile(
        self,
        compiler: Compiler,
        data: YMap,
        key: str,
        ident: str,
        expected: Ty | None,
        scope: Scope | None = None,
    ) -> Compiled | None:
        """Compile the expression under a key, reporting errors at their column."""
        try:
            return compiler.compile(data[key], expected, scope)
        except CompileError as exc:
            self.problem(data.where(key).at(exc.at), ident, exc.message, exc.hint)
            return None

    def binding(
        self, compiler: Compiler, data: YMap, key: str, ident: str, scope: Scope | None = None
    ) -> Binding | None:
        """Compile ``p in <persons>: <cond>`` under a key."""
        try:
            var, source, cond = compiler.compile_binder(data[key], scope)
        except CompileError as exc:
            self.problem(data.where(key).at(exc.at), ident, exc.message, exc.hint)
            return None
        slot = (scope or Scope()).bind(var, source.ty).vars[var][0]
        return Binding(var, slot, source, cond)

    def dup(self, seen: dict[str, Pos], ident_id: str, pos: Pos, ident: str) -> bool:
        """Report a duplicate id; return True when it is one."""
        first = seen.get(ident_id)
        if first is not None:
            self.problem(
                pos,
                ident,
                f"duplicate id '{ident_id}'",
                f"first defined at {first.file}:{first.line}",
            )
            return True
        seen[ident_id] = pos
        return False

    # -- reading ---------------------------------------------------------------------------

    def read(self, files: list[Path]) -> str:
        """Read every file, sort documents by their top-level key; return the version hash."""
        digest = hashlib.sha256()
        for path in files:
            name = str(path)
            try:
                raw = path.read_bytes()
            except OSError as exc:
                self.problem(
                    Pos(name, 1, 1), "file", f"cannot read: {exc.strerror}", "check the path"
                )
                continue
            digest.update(name.encode() + b"\0" + raw)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.problem(Pos(name, 1, 1), "file", "not UTF-8 text", "save the file as UTF-8")
                continue
            data, problems = read_yaml(name, text)
            self.problems.extend(problems)
            if data is None:
                if not problems:
                    self.problem(
                        Pos(name, 1, 1),
                        "file",
                        "the file is empty",
                        f"start it with one of: {', '.join(KINDS)}",
                    )
                continue
            if not isinstance(data, YMap) or len(data) != 1:
                pos = data.pos if isinstance(data, YMap | YList) else Pos(name, 1, 1)
                self.problem(
                    pos,
                    "file",
                    "a rules file holds exactly one top-level key",
                    f"one of: {', '.join(KINDS)}",
                )
                continue
            (kind,) = data
            if kind not in KINDS:
                self.problem(
                    data.key_pos[kind],
                    "file",
                    f"unknown top-level key '{kind}'",
                    did_you_mean(kind, KINDS) or f"one of: {', '.join(KINDS)}",
                )
                continue
            self.docs[kind].append((name, data[kind], data.where(kind)))
        return digest.hexdigest()[:12]

    # -- municipality, roles, events -------------------------------------------------------

    def municipality(self) -> Municipality:
        """Check and build the municipality profile."""
        docs = self.docs["municipality"]
        empty = Municipality("", "", "", "", "", {}, {})
        if not docs:
            self.problems.append(
                Problem(
                    "procedure_rules/municipality.yaml",
                    1,
                    1,
                    "municipality",
                    "no municipality profile",
                    "add municipality.yaml with municipality: name, code, departments",
                )
            )
            return empty
        for _name, _, pos in docs[1:]:
            self.problem(
                pos,
                "municipality",
                "a second municipality profile",
                f"keep only one (first in {docs[0][0]})",
            )
        _, raw, pos = docs[0]
        data = self.mapping(raw, pos, "municipality", "municipality")
        if data is None:
            return empty
        self.keys(data, "municipality", MUNICIPALITY_KEYS, ("name", "code", "departments"))
        code = str(data.get("code", ""))
        if "code" in data and not municipality_code_valid(code):
            self.problem(
                data.where("code"),
                "municipality",
                f"'{code}' is not a valid 全国地方公共団体コード",
                '6 digits with the check digit last, quoted: code: "132241"',
            )
        departments: dict[str, Department] = {}
        seen: dict[str, Pos] = {}
        for item, item_pos in self.items(
            data.get("departments"), data.where("departments"), "municipality", "departments"
        ):
            did = str(item.get("id", ""))
            ident = f"department '{did}'"
            self.keys(item, ident, DEPARTMENT_KEYS, ("id", "name"))
            if not did or self.dup(seen, did, item_pos, ident):
                continue
            floor = item.get("floor")
            departments[did] = Department(
                did,
                str(item.get("name", "")),
                floor if isinstance(floor, int) else None,
                self.text(item, "counter", ident),
            )
        options: dict[str, Any] = {}
        raw_options = data.get("options")
        if raw_options is not None:
            mapped = self.mapping(raw_options, data.where("options"), "municipality", "options")
            if mapped is not None:
                for key, value in mapped.items():
                    if isinstance(value, bool | int | str):
                        options[key] = value
                    else:
                        self.problem(
                            mapped.where(key),
                            f"option '{key}'",
                            "an option must be true/false, a number or a text",
                            "",
                        )
        return Municipality(
            str(data.get("name", "")),
            code,
            str(data.get("prefecture", "")),
            str(data.get("address", "")),
            str(data.get("phone", "")),
            departments,
            options,
        )

    def roles(self) -> dict[str, Role]:
        """Check and build the roles."""
        roles: dict[str, Role] = {}
        seen: dict[str, Pos] = {}
        for _, raw, pos in self.docs["roles"]:
            for item, item_pos in self.items(raw, pos, "roles", "roles"):
                rid = str(item.get("id", ""))
                ident = f"role '{rid}'"
                self.keys(item, ident, ROLE_KEYS, ("id", "label"))
                if not rid or self.dup(seen, rid, item_pos, ident):
                    continue
                if not _ID.match(rid):
                    self.problem(
                        item.where("id"),
                        ident,
                        "an id is lower-case letters, digits and _",
                        "e.g. household_head",
                    )
                roles[rid] = Role(rid, str(item.get("label", "")), bool(item.get("single", False)))
        return roles

    # -- facts -----------------------------------------------------------------------------

    def facts(
        self, events: dict[str, str], roles: dict[str, Role]
    ) -> tuple[dict[str, FactDef], dict[str, tuple[YMap, str]]]:
        """Check the fact declarations; return them and the derived ones to compile."""
        facts: dict[str, FactDef] = {
            "case.events": FactDef(
                "case.events", "list", "届出の事由", choices=dict(events), order=-1
            ),
        }
        derives: dict[str, tuple[YMap, str]] = {}
        seen: dict[str, Pos] = {"case.events": Pos("(built in)", 1, 1)}
        order = 0
        for _, raw, pos in self.docs["facts"]:
            for item, item_pos in self.items(raw, pos, "facts", "facts"):
                fid = str(item.get("id", ""))
                ident = f"fact '{fid}'"
                self.keys(item, ident, FACT_KEYS, ("id", "type", "label"))
                per = item.get("per", "case")
                if per not in ("case", "person"):
                    self.problem(
                        item.where("per"),
                        ident,
                        f"per must be case or person, not '{per}'",
                        "per: person for facts of each household member",
                    )
                    continue
                if not fid or self.dup(seen, fid, item_pos, ident):
                    continue
                if per == "person" and not _ID.match(fid):
                    hint = (
                        f"write id: {fid.split('.')[-1]} (per-person facts have a bare name)"
                        if "." in fid
                        else "lower-case letters, digits and _"
                    )
                    self.problem(
                        item.where("id"), ident, "a per-person fact id is one bare name", hint
                    )
                    continue
                if per == "case" and not _CASE_FACT_ID.match(fid):
                    self.problem(
                        item.where("id"),
                        ident,
                        "a case fact id is <group>.<name>",
                        f"e.g. death.date; or add per: person if '{fid}' belongs to each member",
                    )
                    continue
                if per == "case" and fid.split(".")[0] in roles:
                    self.problem(
                        item.where("id"),
                        ident,
                        f"'{fid.split('.')[0]}' is a role name",
                        f"declare it as per: person fact '{fid.split('.')[1]}'",
                    )
                    continue
                ftype = str(item.get("type", ""))
                if ftype not in FACT_TYPE_NAMES:
                    self.problem(
                        item.where("type"),
                        ident,
                        f"unknown type '{ftype}'",
                        did_you_mean(ftype, FACT_TYPE_NAMES)
                        or f"one of: {', '.join(FACT_TYPE_NAMES)}",
                    )
                    continue
                choices: dict[str, str] = {}
                if "choices" in item:
                    mapped = self.mapping(item["choices"], item.where("choices"), ident, "choices")
                    if mapped is not None:
                        choices = {str(k): str(v) for k, v in mapped.items()}
                if ftype == "choice" and not choices:
                    self.problem(
                        item.pos,
                        ident,
                        "a choice fact needs choices",
                        "add choices: {key: 表示名, …}",
                    )
                validation: dict[str, Any] = {}
                if "validation" in item:
                    mapped = self.mapping(
                        item["validation"], item.where("validation"), ident, "validation"
                    )
                    if mapped is not None:
                        self.keys(mapped, ident, VALIDATION_KEYS)
                        validation = dict(mapped)
                        if "pattern" in validation:
                            try:
                                re.compile(str(validation["pattern"]))
                            except re.error as exc:
                                self.problem(
                                    mapped.where("pattern"),
                                    ident,
                                    f"pattern is not a regular expression: {exc}",
                                    "",
                                )
                sensitivity = str(item.get("sensitivity", "normal"))
                if sensitivity not in SENSITIVITIES:
                    self.problem(
                        item.where("sensitivity"),
                        ident,
                        f"unknown sensitivity '{sensitivity}'",
                        f"one of: {', '.join(SENSITIVITIES)}",
                    )
                fact = FactDef(
                    fid,
                    ftype,
                    str(item.get("label", "")),
                    per_person=per == "person",
                    help=str(item.get("help", "") or ""),
                    choices=choices,
                    validation=validation,
                    sensitivity=sensitivity if sensitivity in SENSITIVITIES else "normal",
                    derive_text=str(item["derive"]) if "derive" in item else None,
                    order=order,
                )
                if "ask" in item and not isinstance(item["ask"], bool):
                    self.problem(
                        item.where("ask"),
                        ident,
                        "ask must be true or false",
                        "ask: false for facts only filled from the registry",
                    )
                fact.ask = item.get("ask") is not False
                order += 1
                facts[fid] = fact
                if fact.derive_text is not None:
                    derives[fid] = (item, ident)
        return facts, derives

    # -- parameters ------------------------------------------------------------------------

    def legal(self, data: YMap, key: str, ident: str) -> LegalBasis | None:
        """Check and build a legal basis; report when it is missing."""
        if key not in data or data[key] is None:
            self.problem(
                data.pos, ident, "no legal basis", "add legal_basis: {law: …, article: …, url: …}"
            )
            return None
        mapped = self.mapping(data[key], data.where(key), ident, key)
        if mapped is None:
            return None
        self.keys(mapped, ident, LEGAL_KEYS, ("law",))
        url = self.text(mapped, "url", ident)
        if url is not None and not url.startswith("https://"):
            self.problem(
                mapped.where("url"),
                ident,
                "the url must start with https://",
                "link the e-Gov law page",
            )
        return LegalBasis(str(mapped.get("law", "")), self.text(mapped, "article", ident), url)

    def parameters(self) -> dict[str, Parameter]:
        """Check and build dated parameters; refuse overlapping periods."""
        params: dict[str, Parameter] = {}
        seen: dict[str, Pos] = {}
        for _, raw, pos in self.docs["parameters"]:
            for item, item_pos in self.items(raw, pos, "parameters", "parameters"):
                pid = str(item.get("id", ""))
                ident = f"parameter '{pid}'"
                self.keys(item, ident, PARAMETER_KEYS, ("id", "type", "values"))
                if not pid or self.dup(seen, pid, item_pos, ident):
                    continue
                ptype = str(item.get("type", ""))
                if ptype not in _PARAM_TYPES:
                    self.problem(
                        item.where("type"),
                        ident,
                        f"unknown parameter type '{ptype}'",
                        did_you_mean(ptype, _PARAM_TYPES) or f"one of: {', '.join(_PARAM_TYPES)}",
                    )
                    continue
                basis = self.legal(item, "legal_basis", ident)
                rows: list[tuple[date, date | None, Any, Pos]] = []
                for value_item, value_pos in self.items(
                    item.get("values"), item.where("values"), ident, "values"
                ):
                    self.keys(value_item, ident, PARAM_VALUE_KEYS, ("valid_from", "value"))
                    start = self.a_date(value_item, "valid_from", ident)
                    end = self.a_date(value_item, "valid_until", ident)
                    value = value_item.get("value")
                    if not _param_value_ok(ptype, value):
                        self.problem(
                            value_item.where("value"), ident, f"value must be a {ptype}", ""
                        )
                        continue
                    if start is not None:
                        rows.append((start, end, value, value_pos))
                rows.sort(key=lambda r: r[0])
                for before, after in zip(rows, rows[1:], strict=False):
                    if before[1] is not None and before[1] >= after[0]:
                        self.problem(
                            after[3],
                            ident,
                            f"values overlap: {before[0]}–{before[1]} and from {after[0]}",
                            "end the earlier value the day before",
                        )
                    if before[0] == after[0]:
                        self.problem(after[3], ident, f"two values from {after[0]}", "keep one")
                if basis is None:
                    continue
                value_ty = "date" if ptype == "date" else ptype
                params[pid] = Parameter(
                    pid,
                    str(item.get("label", "")),
                    value_ty,
                    basis,
                    tuple(r[0] for r in rows),
                    tuple(r[1] for r in rows),
                    tuple(r[2] for r in rows),
                )
        return params

    # -- events, procedures, forms ---------------------------------------------------------

    def event_titles(self) -> dict[str, str]:
        """Return event ids and titles (needed before facts are compiled)."""
        titles: dict[str, str] = {}
        for _, raw, pos in self.docs["events"]:
            for item, _ in self.items(raw, pos, "events", "events"):
                if "id" in item:
                    titles.setdefault(str(item["id"]), str(item.get("title", "")))
        return titles

    def events(self, compiler: Compiler) -> dict[str, Event]:
        """Check and build life events with their compiled asks."""
        events: dict[str, Event] = {}
        seen: dict[str, Pos] = {}
        for _, raw, pos in self.docs["events"]:
            for item, item_pos in self.items(raw, pos, "events", "events"):
                eid = str(item.get("id", ""))
                ident = f"event '{eid}'"
                self.keys(item, ident, EVENT_KEYS, ("id", "title"))
                if not eid or self.dup(seen, eid, item_pos, ident):
                    continue
                asks: list[Compiled] = []
                for text, ask_pos in self.string_list(item, "asks", ident):
                    try:
                        asks.append(compiler.compile(text))
                    except CompileError as exc:
                        self.problem(ask_pos.at(exc.at), ident, exc.message, exc.hint)
                events[eid] = Event(eid, str(item.get("title", "")), tuple(asks))
        return events

    def procedures(
        self, compiler: Compiler, muni: Municipality, events: dict[str, Event]
    ) -> tuple[list[Procedure], dict[str, list[tuple[Pos, str]]]]:
        """Check and compile procedures; return them and which forms they name."""
        procedures: list[Procedure] = []
        form_refs: dict[str, list[tuple[Pos, str]]] = {}
        seen: dict[str, Pos] = {}
        for _, raw, pos in self.docs["procedures"]:
            for item, item_pos in self.items(raw, pos, "procedures", "procedures"):
                pid = str(item.get("id", ""))
                ident = f"procedure '{pid}'"
                self.keys(item, ident, PROCEDURE_KEYS, ("id", "title", "department"))
                if not pid or self.dup(seen, pid, item_pos, ident):
                    continue
                if not _ID.match(pid):
                    self.problem(
                        item.where("id"),
                        ident,
                        "an id is lower-case letters, digits and _",
                        "e.g. kokuho_soshitsu",
                    )
                department = self.department(item, ident, muni)
                basis = self.legal(item, "legal_basis", ident)
                event_ids: frozenset[str] | None = None
                if "events" in item:
                    listed = self.string_list(item, "events", ident)
                    for eid, epos in listed:
                        if eid not in events:
                            self.problem(
                                epos,
                                ident,
                                f"unknown event '{eid}'",
                                did_you_mean(eid, events) or "declare it in events.yaml",
                            )
                    event_ids = frozenset(e for e, _ in listed)
                applies = (
                    self.compile(compiler, item, "applies_when", ident, BOOL)
                    if "applies_when" in item
                    else None
                )
                for_each = (
                    self.binding(compiler, item, "for_each", ident) if "for_each" in item else None
                )
                deadline = self.deadline(compiler, item, ident, for_each)
                forms = self.string_list(item, "forms", ident)
                for fid, fpos in forms:
                    form_refs.setdefault(fid, []).append((fpos, ident))
                automatic = item.get("automatic", False)
                if not isinstance(automatic, bool):
                    self.problem(
                        item.where("automatic"), ident, "automatic must be true or false", ""
                    )
                    automatic = False
                if automatic and forms:
                    self.problem(
                        item.where("automatic"),
                        ident,
                        "an automatic procedure produces no form",
                        "remove forms: or automatic: true",
                    )
                if not automatic and not forms:
                    self.problem(
                        item.pos,
                        ident,
                        "the procedure produces no form",
                        "add forms: [form_id], or automatic: true with a note:",
                    )
                if automatic and not item.get("note"):
                    self.problem(
                        item.pos,
                        ident,
                        "an automatic procedure needs a note for the resident",
                        "add note: …（自動的に…されます）",
                    )
                valid_from = self.a_date(item, "valid_from", ident)
                valid_until = self.a_date(item, "valid_until", ident)
                if valid_from and valid_until and valid_until < valid_from:
                    self.problem(
                        item.where("valid_until"),
                        ident,
                        "valid_until is before valid_from",
                        "swap them",
                    )
                if department is None or basis is None:
                    continue
                procedures.append(
                    Procedure(
                        pid,
                        str(item.get("title", "")),
                        event_ids,
                        department,
                        basis,
                        valid_from,
                        valid_until,
                        applies,
                        self.text(item, "reason", ident),
                        for_each,
                        deadline,
                        tuple(f for f, _ in forms),
                        automatic,
                        self.text(item, "note", ident),
                        tuple(b for b, _ in self.string_list(item, "bring", ident)),
                        item_pos,
                    )
                )
        return procedures, form_refs

    def department(self, item: YMap, ident: str, muni: Municipality) -> Department | None:
        """Return the department an item names, reporting unknown ones."""
        did = str(item.get("department", ""))
        found = muni.departments.get(did)
        if found is None and did:
            hint = (
                did_you_mean(did, muni.departments)
                or "add it under departments: in municipality.yaml"
            )
            self.problem(item.where("department"), ident, f"unknown department '{did}'", hint)
        return found

    def deadline(
        self, compiler: Compiler, item: YMap, ident: str, for_each: Binding | None
    ) -> Deadline | None:
        """Check and compile a procedure's deadline."""
        if "deadline" not in item or item["deadline"] is None:
            return None
        data = self.mapping(item["deadline"], item.where("deadline"), ident, "deadline")
        if data is None:
            return None
        self.keys(data, ident, DEADLINE_KEYS, ("from", "label"))
        if ("days" in data) == ("months" in data):
            self.problem(
                data.pos, ident, "a deadline has days or months (one of them)", "e.g. days: 14"
            )
            return None
        count = data.get("days", data.get("months"))
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            self.problem(
                data.where("days" if "days" in data else "months"),
                ident,
                "days/months must be a whole number ≥ 0",
                "",
            )
            return None
        scope = Scope().bind(for_each.var, PERSON) if for_each else None
        start = self.compile(compiler, data, "from", ident, DATE, scope) if "from" in data else None
        if start is None:
            return None
        inclusive = data.get("inclusive", True)
        return Deadline(
            start,
            count if "days" in data else None,
            count if "months" in data else None,
            inclusive is not False,
            str(data.get("label", "")),
        )

    def field(
        self, compiler: Compiler, item: YMap, ident: str, scope: Scope, facts: dict[str, FactDef]
    ) -> FieldDef | None:
        """Check and compile one form field, its format against its type."""
        self.keys(item, ident, FIELD_KEYS, ("id", "label"))
        if "value" not in item or item["value"] is None:
            self.problem(
                item.pos,
                ident,
                "the field has no value",
                "add value: <expression over facts>; every field is filled from facts",
            )
            return None
        fmt = str(item.get("format", "text"))
        if fmt not in FORMATS:
            self.problem(
                item.where("format"),
                ident,
                f"unknown format '{fmt}'",
                did_you_mean(fmt, FORMATS) or f"one of: {', '.join(FORMATS)}",
            )
            return None
        value = self.compile(compiler, item, "value", ident, None, scope)
        if value is None:
            return None
        need = FORMATS[fmt]
        choices: dict[str, str] | None = None
        if need == "choice":
            choices = _choices_of(value.ty, facts)
            if choices is None:
                self.problem(
                    item.where("format"),
                    ident,
                    "format choice_label needs a choice fact",
                    "use format: text",
                )
                return None
        elif need is not None and value.ty.kind not in (need, "any"):
            self.problem(
                item.where("format"),
                ident,
                f"format {fmt} needs a {need}, but the value is {value.ty}",
                _format_hint(value.ty),
            )
            return None
        required = item.get("required", False)
        return FieldDef(
            str(item.get("id", "")),
            str(item.get("label", "")),
            value,
            fmt,
            required is True,
            choices,
            item.where("value"),
        )

    def forms(
        self, compiler: Compiler, muni: Municipality, facts: dict[str, FactDef]
    ) -> dict[str, Form]:
        """Check and compile every form with its fields and rows."""
        forms: dict[str, Form] = {}
        seen: dict[str, Pos] = {}
        for file, raw, pos in self.docs["form"]:
            data = self.mapping(raw, pos, "form", "form")
            if data is None:
                continue
            fid = str(data.get("id", ""))
            ident = f"form '{fid}'"
            self.keys(data, ident, FORM_KEYS, ("id", "title", "department", "template"))
            if fid and Path(file).stem != fid:
                self.problem(
                    data.where("id"),
                    ident,
                    f"the file name must be the form id ({fid}.yaml)",
                    f"rename the file or write id: {Path(file).stem}",
                )
            if not fid or self.dup(seen, fid, data.pos, ident):
                continue
            department = self.department(data, ident, muni)
            per_person = (
                self.binding(compiler, data, "per_person", ident)
                if data.get("per_person")
                else None
            )
            scope = Scope().bind(per_person.var, PERSON) if per_person else Scope()
            fields: list[FieldDef] = []
            field_seen: dict[str, Pos] = {}
            for item, item_pos in self.items(
                data.get("fields"), data.where("fields"), ident, "fields"
            ):
                field_ident = f"form '{fid}' field '{item.get('id', '')}'"
                if self.dup(field_seen, str(item.get("id", "")), item_pos, field_ident):
                    continue
                built = self.field(compiler, item, field_ident, scope, facts)
                if built is not None:
                    fields.append(built)
            rows: list[RowGroup] = []
            for item, item_pos in self.items(data.get("rows"), data.where("rows"), ident, "rows"):
                rid = str(item.get("id", ""))
                row_ident = f"form '{fid}' rows '{rid}'"
                self.keys(item, row_ident, ROW_KEYS, ("id", "for_each", "fields"))
                if self.dup(field_seen, rid, item_pos, row_ident) or "for_each" not in item:
                    continue
                binding = self.binding(compiler, item, "for_each", row_ident, scope)
                if binding is None:
                    continue
                row_scope = scope.bind(binding.var, PERSON)
                row_fields = []
                for field_item, field_pos in self.items(
                    item.get("fields"), item.where("fields"), row_ident, "fields"
                ):
                    field_ident = f"form '{fid}' field '{rid}.{field_item.get('id', '')}'"
                    if self.dup(
                        field_seen, f"{rid}.{field_item.get('id', '')}", field_pos, field_ident
                    ):
                        continue
                    built = self.field(compiler, field_item, field_ident, row_scope, facts)
                    if built is not None:
                        row_fields.append(built)
                limit = item.get("max")
                if limit is not None and (not isinstance(limit, int) or limit < 1):
                    self.problem(
                        item.where("max"),
                        row_ident,
                        "max must be a whole number ≥ 1",
                        "the rows the paper form has",
                    )
                    limit = None
                rows.append(
                    RowGroup(rid, str(item.get("label", "")), binding, limit, tuple(row_fields))
                )
            if department is None:
                continue
            template = str(data.get("template", fid))
            forms[fid] = Form(
                fid,
                str(data.get("title", "")),
                department,
                template,
                per_person,
                tuple(fields),
                tuple(rows),
                data.pos,
            )
        return forms

    # -- scenarios -------------------------------------------------------------------------

    def scenario_fact(
        self, given: YMap, key: str, ident: str, facts: dict[str, FactDef], as_of: date
    ) -> None:
        """Check one fact of a scenario: declared, case or per-person as written, a valid value."""
        per_person = _PERSON_KEY.match(key) is not None
        fact_id = _PERSON_KEY.sub("", key)
        if per_person and fact_id == "roles":
            return
        fact = facts.get(fact_id)
        if fact is None or fact.per_person != per_person:
            candidates = [
                *(f for f, d in facts.items() if not d.per_person),
                *(f"household[0].{f}" for f, d in facts.items() if d.per_person),
            ]
            hint = did_you_mean(key, candidates)
            if fact is not None:
                hint = f"write household[0].{fact_id}" if fact.per_person else f"write {fact_id}"
            self.problem(
                given.key_pos[key],
                ident,
                f"unknown fact '{key}'",
                hint or "per-person facts are written household[0].name",
            )
            return
        if fact.derived:
            self.problem(
                given.key_pos[key],
                ident,
                f"'{key}' is derived, not given",
                "remove it: the engine computes it",
            )
            return
        if given[key] is None:
            return
        try:
            parse_fact_value(fact, given[key], as_of)
        except FactValueError as exc:
            self.problem(
                given.where(key), ident, f"value of '{key}' is not valid: {exc.message}", ""
            )

    def scenarios(
        self, procedures: list[Procedure], forms: dict[str, Form], facts: dict[str, FactDef]
    ) -> list[Scenario]:
        """Check scenario tests: keys, facts, procedures and forms they name."""
        out: list[Scenario] = []
        procedure_ids = {p.id for p in procedures}
        for _, raw, pos in self.docs["scenarios"]:
            for item, item_pos in self.items(raw, pos, "scenarios", "scenarios"):
                name = str(item.get("name", ""))
                ident = f"scenario '{name}'"
                self.keys(item, ident, SCENARIO_KEYS, ("name", "as_of", "facts", "expect"))
                as_of = self.a_date(item, "as_of", ident)
                given = (
                    self.mapping(item.get("facts"), item.where("facts"), ident, "facts")
                    if "facts" in item
                    else None
                )
                expect = (
                    self.mapping(item.get("expect"), item.where("expect"), ident, "expect")
                    if "expect" in item
                    else None
                )
                if given is None or expect is None or as_of is None:
                    continue
                for key in given:
                    self.scenario_fact(given, key, ident, facts, as_of)
                self.keys(expect, ident, EXPECT_KEYS)
                for key in ("procedures", "undecided"):
                    for pid, ppos in self.string_list(expect, key, ident):
                        base = pid.split("[")[0]
                        if base not in procedure_ids:
                            self.problem(
                                ppos,
                                ident,
                                f"unknown procedure '{pid}'",
                                did_you_mean(base, procedure_ids) or "",
                            )
                if "fields" in expect:
                    mapped = self.mapping(expect["fields"], expect.where("fields"), ident, "fields")
                    for key in mapped or {}:
                        form_id = key.split(".")[0].split("[")[0]
                        if form_id not in forms:
                            assert mapped is not None
                            self.problem(
                                mapped.key_pos[key],
                                ident,
                                f"unknown form '{form_id}'",
                                did_you_mean(form_id, forms) or "write <form_id>.<field_id>",
                            )
                out.append(Scenario(name, as_of, _plain(given), _plain(expect), item_pos))
        return out


_PERSON_KEY = re.compile(r"^household\[\d+\]\.")


def _plain(value: Any) -> Any:
    """Turn YMap/YList into plain dicts and lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _param_value_ok(ptype: str, value: Any) -> bool:
    """Tell whether a parameter value has the declared type."""
    if ptype in ("money", "integer"):
        return isinstance(value, int) and not isinstance(value, bool)
    if ptype == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if ptype == "boolean":
        return isinstance(value, bool)
    if ptype == "date":
        return isinstance(value, date)
    return isinstance(value, str)


def _choices_of(ty: Ty, facts: dict[str, FactDef]) -> dict[str, str] | None:
    """Return the labels of the choice fact a value comes from."""
    if not ty.choices or ty.labels is None:
        return None
    return dict(zip(ty.choices, ty.labels, strict=True))


def _format_hint(ty: Ty) -> str:
    """Suggest formats that fit a value's type."""
    if ty.kind == "date":
        return "use format: wareki, wareki_parts or iso_date"
    if ty.kind == "boolean":
        return "use format: checkbox"
    if ty.kind == "number":
        return "use format: yen or text"
    return "use format: text"


def _fact_ty(fact: FactDef) -> Ty:
    """Return the expression type of a declared fact."""
    if fact.type == "choice":
        return Ty("text", choices=tuple(fact.choices), labels=tuple(fact.choices.values()))
    if fact.type == "list" and fact.choices:
        return Ty(
            "list", Ty("text", choices=tuple(fact.choices), labels=tuple(fact.choices.values()))
        )
    return FACT_TYPES[fact.type]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return each dependency cycle among derived facts once, as a path back to its start."""
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def load(paths: Iterable[str | Path]) -> RuleSet:
    """Load, check and compile a rule set from folders/files of YAML.

    :raises LoadError: every problem found, each with file:line:column, id, what and fix.
    """
    # Loading allocates hundreds of thousands of small, acyclic objects (YAML nodes, AST
    # nodes, closures). With the cyclic GC on, its full collections rescan the growing heap
    # again and again and load time grows faster than the rule set; pausing it for the
    # load keeps it linear. It is switched back on even when the load fails.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _load(list(paths))
    finally:
        if enabled:
            gc.enable()


def _load(paths: list[str | Path]) -> RuleSet:
    """Load without touching the garbage collector (see ``load``)."""
    loader = _Loader()
    files = yaml_files(paths)
    if not files:
        raise LoadError(
            [
                Problem(
                    ", ".join(str(p) for p in paths) or ".",
                    1,
                    1,
                    "rules",
                    "no YAML files found",
                    "point at procedure_rules/ and form_definitions/",
                )
            ]
        )
    version = loader.read(files)
    muni = loader.municipality()
    roles = loader.roles()
    titles = loader.event_titles()
    facts, derives = loader.facts(titles, roles)

    symbols = Symbols(
        case_facts={},
        person_facts={},
        single_roles={r.id for r in roles.values() if r.single},
        roles=set(roles),
        params={},
        muni={
            k: (BOOL if isinstance(v, bool) else NUM if isinstance(v, int) else TEXT)
            for k, v in muni.options.items()
        },
    )
    for fact in facts.values():
        info = FactInfo(fact.id, fact.per_person, _fact_ty(fact), fact.derived, fact.label)
        (symbols.person_facts if fact.per_person else symbols.case_facts)[fact.id] = info
    params = loader.parameters()
    symbols.params = {pid: _PARAM_TYPES[p.type] for pid, p in params.items()}
    compiler = Compiler(symbols)

    # Derived facts: compile each, check its declared type, then refuse dependency cycles.
    graph: dict[str, set[str]] = {}
    for fid, (item, ident) in derives.items():
        fact = facts[fid]
        scope = Scope(self_slot=0) if fact.per_person else Scope()
        compiled = loader.compile(compiler, item, "derive", ident, _fact_ty(fact), scope)
        if compiled is None:
            continue
        fact.derive = compiled
        symbols.derive_fns[fid] = compiled.fn
        graph[fid] = {ref for ref in compiled.facts if ref in derives}
    for cycle in _cycles(graph):
        item, ident = derives[cycle[0]]
        loader.problem(
            item.where("derive"),
            f"fact '{cycle[0]}'",
            f"derived facts depend on each other: {' → '.join(cycle)}",
            "derive one of them from given facts instead",
        )

    events = loader.events(compiler)
    procedures, form_refs = loader.procedures(compiler, muni, events)
    forms = loader.forms(compiler, muni, facts)

    for fid, positions in form_refs.items():
        if fid not in forms:
            for pos, ident in positions:
                loader.problem(
                    pos,
                    ident,
                    f"unknown form '{fid}'",
                    did_you_mean(fid, forms) or f"add form_definitions/{fid}.yaml",
                )
    for fid, form in forms.items():
        if fid not in form_refs:
            loader.problem(
                form.pos,
                f"form '{fid}'",
                "no procedure produces this form",
                f"list it under forms: of a procedure, or delete {fid}.yaml",
            )

    _check_askable(loader, forms, facts)
    scenarios = loader.scenarios(procedures, forms, facts)
    if loader.problems:
        raise LoadError(loader.problems)
    return RuleSet(
        muni,
        roles,
        facts,
        params,
        events,
        tuple(procedures),
        forms,
        tuple(scenarios),
        version,
        symbols,
        tuple(str(f) for f in files),
    )


def _check_askable(loader: _Loader, forms: dict[str, Form], facts: dict[str, FactDef]) -> None:
    """Refuse form fields that need a fact which is neither asked nor derivable (``ask: false``)."""
    memo: dict[str, bool] = {}

    def obtainable(fid: str, trail: frozenset[str] = frozenset()) -> bool:
        if fid in memo:
            return memo[fid]
        fact = facts.get(fid)
        if fact is None or fid in trail:
            return True
        if fact.derive is not None:
            ok = all(obtainable(ref, trail | {fid}) for ref in fact.derive.facts if ref in facts)
        else:
            ok = fact.ask
        memo[fid] = ok
        return ok

    for form in forms.values():
        groups = [(f, "") for f in form.fields] + [
            (f, f"{r.id}.") for r in form.rows for f in r.fields
        ]
        for fdef, prefix in groups:
            if not fdef.required:
                continue
            for ref in sorted(fdef.value.facts):
                if ref in facts and not obtainable(ref):
                    loader.problem(
                        fdef.pos,
                        f"form '{form.id}' field '{prefix}{fdef.id}'",
                        f"fact '{ref}' can never be asked (ask: false) nor derived",
                        "remove ask: false from the fact, derive it, or make the field optional",
                    )

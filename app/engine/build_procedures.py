"""Build procedures, their departments and deadlines."""

from __future__ import annotations

from app.engine.compiler import Compiler, Scope
from app.engine.errors import did_you_mean
from app.engine.loader_base import _ID, LoaderBase
from app.engine.model import (
    Binding,
    Deadline,
    Event,
    Municipality,
    Procedure,
)
from app.engine.schema import DEADLINE_KEYS, PROCEDURE_KEYS
from app.engine.source import Pos, YMap
from app.engine.types import BOOL, DATE, PERSON


class ProceduresBuilder(LoaderBase):
    """Build procedures, their departments and deadlines."""

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

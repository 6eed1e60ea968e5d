"""Build fact definitions from the facts documents."""

from __future__ import annotations

import re
from typing import Any

from app.engine.errors import did_you_mean
from app.engine.facts import FACT_TYPE_NAMES, SENSITIVITIES, FactDef
from app.engine.loader_base import _CASE_FACT_ID, _ID, LoaderBase
from app.engine.model import (
    Role,
)
from app.engine.schema import FACT_KEYS, VALIDATION_KEYS
from app.engine.source import Pos, YMap


class FactsBuilder(LoaderBase):
    """Build fact definitions from the facts documents."""

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

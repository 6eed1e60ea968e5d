"""Build the scenarios that test a rule set."""

from __future__ import annotations

from datetime import date

from app.engine.errors import FactValueError, did_you_mean
from app.engine.factids import PERSON_PREFIX as _PERSON_KEY
from app.engine.facts import FactDef, parse_fact_value
from app.engine.loader_base import LoaderBase, _plain
from app.engine.model import (
    Form,
    Procedure,
    Scenario,
)
from app.engine.schema import EXPECT_KEYS, SCENARIO_KEYS
from app.engine.source import YMap


class ScenariosBuilder(LoaderBase):
    """Build the scenarios that test a rule set."""

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
                hint = (
                    f"household[0].{fact_id} と書きます"
                    if fact.per_person
                    else f"{fact_id} と書きます"
                )
            self.problem(
                given.key_pos[key],
                ident,
                f"不明な事実 '{key}'",
                hint or "世帯員ごとの事実は household[0].name のように書きます",
            )
            return
        if fact.derived:
            self.problem(
                given.key_pos[key],
                ident,
                f"'{key}' は自動で計算される事実です",
                "削除します（エンジンが計算します）",
            )
            return
        if given[key] is None:
            return
        try:
            parse_fact_value(fact, given[key], as_of)
        except FactValueError as exc:
            self.problem(
                given.where(key), ident, f"'{key}' の値が正しくありません: {exc.message}", ""
            )

    def scenarios(
        self, procedures: list[Procedure], forms: dict[str, Form], facts: dict[str, FactDef]
    ) -> list[Scenario]:
        """Check scenario tests: keys, facts, procedures and forms they name."""
        out: list[Scenario] = []
        procedure_ids = {p.id for p in procedures}
        for _, raw, pos in self.docs["scenarios"]:
            for item, item_pos in self.items(raw, pos, "シナリオ", "scenarios"):
                name = str(item.get("name", ""))
                ident = f"シナリオ '{name}'"
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
                                f"不明な手続 '{pid}'",
                                did_you_mean(base, procedure_ids) or "",
                            )
                for key in ("deadlines", "departments"):
                    if key in expect:
                        named = self.mapping(expect[key], expect.where(key), ident, key)
                        for pid in named or {}:
                            base = str(pid).split("[")[0]
                            if base not in procedure_ids:
                                assert named is not None
                                self.problem(
                                    named.key_pos[pid],
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
                                f"不明な様式 '{form_id}'",
                                did_you_mean(form_id, forms) or "<様式id>.<欄id> と書きます",
                            )
                out.append(Scenario(name, as_of, _plain(given), _plain(expect), item_pos))
        return out

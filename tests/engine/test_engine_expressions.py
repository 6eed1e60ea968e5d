"""The expression language: types checked at load, three-valued unknowns, functions."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.engine import RuleSet
from app.engine.compiler import CompileError, Compiler, Scope
from app.engine.evaluate import fact_key_text, prepare_facts
from app.engine.runtime import UNKNOWN, Ctx

AS_OF = date(2025, 4, 10)


def run(ruleset: RuleSet, text: str, facts: dict[str, Any]) -> tuple[Any, list[str]]:
    """Compile an expression against the sample set and evaluate it; return value and unknowns."""
    compiled = Compiler(ruleset.symbols).compile(text, None, Scope())
    case, persons, warnings = prepare_facts(ruleset, facts, AS_OF)
    assert not warnings
    ctx = Ctx(case, persons, AS_OF, ruleset.parameters_on(AS_OF), ruleset.municipality.options)
    value = compiled.fn(ctx)
    return value, [fact_key_text(k) for k in ctx.unk]


FAMILY = {
    "household[0].roles": ["deceased"],
    "household[0].birth_date": "1947-03-02",
    "household[1].roles": ["spouse"],
    "household[1].birth_date": "1950-07-30",
    "household[2].roles": ["child"],
}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("deceased.age", 78),
        ("age(spouse.birth_date, date('2015-07-28'))", 64),
        ("age(spouse.birth_date, date('2015-07-29'))", 65),
        ("days_between(date('2025-04-01'), as_of)", 9),
        ("add_days(as_of, 14)", date(2025, 4, 24)),
        ("wareki(deceased.birth_date)", "昭和22年3月2日"),
        ("seireki(deceased.birth_date)", "1947年3月2日"),
        ("katakana('やまだ')", "ヤマダ"),
        ("concat('第', 3, '子')", "第3子"),
        ("count(p in household: 'child' in p.roles)", 1),
        ("size(filter(p in household: p.index > 0))", 2),
        ("first(p in household: 'spouse' in p.roles).index", 1),
        ("sum(p in household: p.index)", 3),
        ("max(date('2024-01-01'), as_of)", AS_OF),
        ("'a' if 1 < 2 else 'b'", "a"),
        ("param.sosaihi_kokuho", 70000),
        ("muni.household_head_auto_change", False),
        ("3 not in [1, 2]", True),
        ("has_role(deceased, 'deceased')", True),
        ("postal_address('1000001')", "東京都千代田区千代田"),
    ],
)
def test_values(ruleset: RuleSet, text: str, value: Any) -> None:
    assert run(ruleset, text, FAMILY) == (value, [])


def test_false_and_unknown_is_false_and_asks_nothing(ruleset: RuleSet) -> None:
    assert run(ruleset, "deceased.age < 40 and deceased.kokuho_member", FAMILY) == (False, [])
    assert run(ruleset, "deceased.kokuho_member and deceased.age < 40", FAMILY) == (False, [])


def test_true_or_unknown_is_true(ruleset: RuleSet) -> None:
    assert run(ruleset, "deceased.kokuho_member or deceased.age >= 65", FAMILY) == (True, [])


def test_unknown_names_the_facts_that_would_decide(ruleset: RuleSet) -> None:
    value, unknown = run(ruleset, "deceased.kokuho_member and spouse.kokuho_member", FAMILY)
    assert value is UNKNOWN
    assert unknown == ["household[0].kokuho_member", "household[1].kokuho_member"]


def test_any_is_true_once_one_member_is_known_true(ruleset: RuleSet) -> None:
    facts = {**FAMILY, "household[2].moving": True}
    assert run(ruleset, "any(p in household: p.moving)", facts) == (True, [])
    value, unknown = run(ruleset, "any(p in household: p.moving)", FAMILY)
    assert value is UNKNOWN
    assert unknown == ["household[0].moving", "household[1].moving", "household[2].moving"]


def test_known_and_default_turn_unknown_into_a_value(ruleset: RuleSet) -> None:
    assert run(ruleset, "known(spouse.name)", FAMILY) == (False, [])
    assert run(ruleset, "default(spouse.name, '（なし）')", FAMILY) == ("（なし）", [])


def test_a_role_nobody_holds_is_asked(ruleset: RuleSet) -> None:
    assert run(ruleset, "applicant.name", FAMILY) == (UNKNOWN, ["role:applicant"])


def test_derived_facts_ask_for_what_they_derive_from(ruleset: RuleSet) -> None:
    assert run(
        ruleset, "household_head.is_elderly", {"household[0].roles": ["household_head"]}
    ) == (
        UNKNOWN,
        ["role:household_head"][:0] + ["household[0].birth_date"],
    )


@pytest.mark.parametrize(
    ("text", "message", "at"),
    [
        ("deceased.age >= '65'", "数値と文字は大小を比べられません", 13),
        ("not deceased.name", "'not' には真偽値（true/false）が必要です（これは文字）", 4),
        ("deceased.age + deceased.name", "'+' には数値が必要です（これは文字）", 15),
        ("'x' in deceased.age", "'in' の右には文字のリストが必要です（これは数値）", 7),
        ("size(1)", "size() のこの引数は任意の値のリストです（これは数値）", 5),
        ("age(deceased.birth_date)", "age() の引数は2個です（1個あります）", 0),
        ("date('2025-02-30')", "'2025-02-30' は日付ではありません", 5),
        ("any(p in 3: p)", "any() にはリストが必要です（これは数値）", 9),
        ("1 if deceased.age else 2", "'if' には真偽値（true/false）が必要です（これは数値）", 5),
        ("deceased.name.first", "文字に '.first' はありません", 14),
        ("household_head.bank", "不明な世帯員の事実 'bank'", 15),
        ("death.payee_account.bank_name", "口座に 'bank_name' はありません", 20),
        ("has_role(deceased, 'chlid')", "不明な役割 'chlid'", 19),
        ("death.place in ['home', 'hospitl']", "'hospitl' は選択肢にありません", 24),
        ("eval('1')", "不明な関数 'eval'", 0),
        ("__import__('os')", "不明な関数 '__import__'", 0),
        ("deceased.__class__", "不明な世帯員の事実 '__class__'", 9),
    ],
)
def test_type_and_name_errors_are_found_at_load(
    ruleset: RuleSet, text: str, message: str, at: int
) -> None:
    with pytest.raises(CompileError) as caught:
        Compiler(ruleset.symbols).compile(text)
    assert (caught.value.message, caught.value.at) == (message, at)

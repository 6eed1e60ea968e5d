"""evaluate(): the Result contract — procedures with why, forms with sources, questions, warnings."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import Any

from app.engine import RuleSet, evaluate

AS_OF = date(2025, 4, 10)
DEATH: dict[str, Any] = {
    "case.events": ["death"],
    "death.date": "2025-04-07",
    "household[0].roles": ["deceased", "household_head"],
    "household[0].name": "山田 太郎",
    "household[0].birth_date": "1947-03-02",
    "household[0].kokuho_member": True,
    "household[1].roles": ["spouse", "applicant"],
    "household[1].name": "山田 花子",
}


def test_result_json_has_the_documented_shape(ruleset: RuleSet) -> None:
    data = evaluate(ruleset, DEATH, AS_OF).to_json()
    assert list(data) == [
        "as_of", "ruleset_version", "procedures", "undecided", "forms", "missing_facts", "next_questions", "warnings",
    ]  # fmt: skip
    procedure = next(p for p in data["procedures"] if p["id"] == "kokuho_soshitsu")
    # every procedure has its やさしい日本語 now (lint refuses one without)
    assert procedure.pop("plain") == "こくみんけんこうほけんを やめる とどけです。"
    procedure["plain"] = None
    assert procedure == {
        "id": "kokuho_soshitsu",
        "title": "国民健康保険 資格喪失の届出",
        "department": {"id": "hoken_nenkin", "name": "保険年金課", "floor": 1, "counter": "5番"},
        "legal_basis": {
            "law": "国民健康保険法施行規則",
            "law_id": "kokuho_ho_kisoku",
            "number": "昭和33年厚生省令第53号",
            "article": "第11条",
            "url": "https://laws.e-gov.go.jp/law/333M50000100053",
        },
        # 14 days from the day after 4月7日 (民法第140条): 4月21日. The old rule counted the
        # death day itself and said 4月20日, a day early by law (and a Sunday).
        "deadline": "2025-04-21",
        "deadline_label": "死亡日から14日以内",
        "automatic": False,
        "note": None,
        "bring": ["国民健康保険被保険者証"],
        "person": None,
        "forms": ["kokuho_soshitsu"],
        "why": {
            "rule": "deceased.kokuho_member",
            "text": "故人が国民健康保険の被保険者であるため",
            "facts": {"case.events": ["death"], "household[0].kokuho_member": True},
        },
        "deadline_period_end": "2025-04-21",
        "deadline_rolled": False,
        "deadline_rolls_over": True,
        "deadline_why": "",
        "overdue": False,
        "reason": "故人が国民健康保険の被保険者であるため",
        "reason_facts": [{"label": "国民健康保険に加入していますか", "value": "はい"}],
        "person_name": None,
        "plain": None,
        "urgent": None,
        "guidance": None,
    }
    form = next(f for f in data["forms"] if f["id"] == "kokuho_soshitsu")
    assert form["fields"] == {
        "todokede_date": "令和7年4月10日",
        "setainushi_name": "山田 太郎",
        "soshitsu_date": "令和7年4月8日",
    }
    assert form["rows"] == {
        "members": [{"name": "山田 太郎", "birth_date": "昭和22年3月2日", "my_number": None}]
    }
    assert form["sources"]["todokede_date"] == ["as_of"]
    assert form["sources"]["members[0].name"] == ["household[0].name"]
    assert form["complete"] is True
    json.dumps(data, ensure_ascii=False)  # every value is JSON


def test_evaluate_is_deterministic(ruleset: RuleSet) -> None:
    first = evaluate(ruleset, DEATH, AS_OF).to_json()
    assert evaluate(ruleset, dict(reversed(list(DEATH.items()))), AS_OF).to_json() == first


def test_undecided_procedures_drive_the_next_questions(ruleset: RuleSet) -> None:
    facts = {k: v for k, v in DEATH.items() if k != "household[0].kokuho_member"}
    result = evaluate(ruleset, facts, AS_OF)
    assert [(u.id, u.waiting_for) for u in result.undecided] == [
        ("kokuho_soshitsu", ("household[0].kokuho_member",)),
        ("sosaihi_kokuho", ("household[0].kokuho_member",)),
        ("inkan_haishi", ("household[0].inkan_registered",)),
    ]
    questions = [(q.person, q.fact) for q in result.next_questions]
    assert questions == [
        (0, "household[0].kokuho_member"),
        (0, "household[0].inkan_registered"),
    ]
    kokuho = result.next_questions[0].to_json()
    assert kokuho == {
        "fact": "household[0].kokuho_member",
        "label": "国民健康保険に加入していますか",
        "type": "boolean",
        "person": 0,
        "choices": None,
        "help": None,
    }


def test_questions_are_grouped_case_first_then_per_member_in_declaration_order(
    ruleset: RuleSet,
) -> None:
    facts = {
        "case.events": ["move_in"],
        "household[0].roles": ["household_head"],
        "household[1].roles": ["child"],
    }
    questions = [q.fact for q in evaluate(ruleset, facts, AS_OF).next_questions]
    assert questions == [
        "move.date",
        "move.from_address",
        "household[0].birth_date",
        "household[0].employee_insurance",
        "household[0].moving",
        "household[1].birth_date",
        "household[1].employee_insurance",
        "household[1].moving",
    ]


def test_no_events_yet_asks_for_the_events(ruleset: RuleSet) -> None:
    result = evaluate(ruleset, {}, AS_OF)
    assert result.procedures == ()
    question = result.next_questions[0]
    assert question.fact == "case.events"
    assert question.choices == [
        {"value": "death", "label": "死亡（おくやみ）"},
        {"value": "move_in", "label": "転入"},
        {"value": "birth", "label": "出生"},
    ]


def test_missing_required_facts_are_listed_per_form(ruleset: RuleSet) -> None:
    facts = {**DEATH}
    del facts["household[1].name"]
    result = evaluate(ruleset, facts, AS_OF)
    kaso = result.form("kaso_kyoka")
    assert kaso is not None
    assert kaso.fields["applicant_name"] is None
    assert kaso.missing == ("household[1].name",)
    assert kaso.complete is False
    assert "household[1].name" in result.missing_facts


def test_per_person_procedures_and_forms_are_keyed_by_member(ruleset: RuleSet) -> None:
    facts = {
        "case.events": ["move_in"],
        "move.date": "2025-04-01",
        "household[0].roles": ["household_head"],
        "household[0].name": "佐藤 健",
        "household[0].birth_date": "1985-06-15",
        "household[0].moving": True,
        "household[0].employee_insurance": False,
        "household[0].my_number": "123456789018",
    }
    result = evaluate(ruleset, facts, AS_OF)
    procedure = result.procedure("kokuho_shutoku[0]")
    assert procedure is not None and procedure.person == 0
    form = result.form("kokuho_shutoku[0]")
    assert form is not None and form.person == 0
    assert form.fields["my_number"] == "1234 5678 9018"
    assert form.complete


def test_warnings(ruleset: RuleSet) -> None:
    facts = {
        **DEATH,
        "household[1].birth_date": "平成32年1月1日",
        "household[7].nickname": "x",
        "household[0].age": 3,
    }
    result = evaluate(ruleset, facts, date(2025, 5, 1))
    codes = [(w.code, w.message) for w in result.warnings]
    assert (
        "invalid_fact",
        "household[1].birth_date: 平成にその日付はありません（令和2年1月1日ではありませんか）",
    ) in codes
    assert (
        "unknown_fact",
        "household[7].nickname は定義されていない事実です（無視しました）。'household[7].name' ではありませんか",
    ) in codes
    assert (
        "derived_fact_given",
        "household[0].age は自動で計算される事実です（入力値は無視しました）",
    ) in codes
    assert (
        "deadline_passed",
        "期限超過: 国民健康保険 資格喪失の届出の期限（令和7年4月21日、死亡日から14日以内）を過ぎています",
    ) in codes


def test_dated_parameters_follow_the_application_date(ruleset: RuleSet) -> None:
    facts = {**DEATH, "death.funeral_date": "2024-03-20"}
    before = evaluate(ruleset, facts, date(2024, 3, 25)).form("sosaihi_kokuho")
    after = evaluate(ruleset, facts, date(2024, 4, 1)).form("sosaihi_kokuho")
    assert before is not None and after is not None
    assert (before.fields["amount"], after.fields["amount"]) == ("50,000円", "70,000円")


def test_dated_procedures_apply_only_in_their_period(ruleset: RuleSet) -> None:
    facts = {
        "case.events": ["birth"],
        "household[0].roles": ["child", "newborn"],
        "household[0].birth_date": "2024-09-01",
    }
    assert evaluate(ruleset, facts, date(2024, 9, 30)).procedure("jido_teate_nintei") is None
    assert evaluate(ruleset, facts, date(2024, 10, 1)).procedure("jido_teate_nintei") is not None


def test_rows_beyond_the_paper_form_warn(ruleset: RuleSet) -> None:
    facts: dict[str, Any] = {"case.events": ["birth"], "household[0].roles": ["household_head"]}
    for n in range(1, 5):
        facts[f"household[{n}].roles"] = ["child"]
        facts[f"household[{n}].birth_date"] = "2020-01-01"
    result = evaluate(ruleset, facts, AS_OF)
    assert any(w.code == "rows_overflow" for w in result.warnings)
    form = result.form("jido_teate_nintei")
    assert form is not None and len(form.rows["children"]) == 4


def test_a_single_role_given_twice_warns(ruleset: RuleSet) -> None:
    facts = {**DEATH, "household[1].roles": ["deceased"]}
    warnings = [(w.code, w.message) for w in evaluate(ruleset, facts, AS_OF).warnings]
    assert (
        "role_conflict",
        "故人が複数の方（household[0]、household[1]）に設定されています。household[0]として扱います",
    ) in warnings


def test_explain_names_the_facts_of_a_false_condition(ruleset: RuleSet) -> None:
    from app.engine.explain import explain

    facts = {**DEATH, "household[0].kokuho_member": False}
    lines = explain(ruleset, facts, AS_OF, "kokuho_soshitsu")
    assert lines[-2:] == [
        "  判定: 該当しません — 条件が成り立ちません: deceased.kokuho_member",
        "    household[0].kokuho_member = False",
    ]


def test_choice_label_prints_the_label_of_the_chosen_key(ruleset: RuleSet) -> None:
    form = evaluate(ruleset, {**DEATH, "death.place": "hospital"}, AS_OF).form("kaso_kyoka")
    assert form is not None and form.fields["death_place"] == "病院"


def test_why_traces_mask_my_numbers(ruleset: RuleSet) -> None:
    from app.engine.compiler import Compiler

    compiled = Compiler(ruleset.symbols).compile("known(deceased.my_number)")
    procedure = next(p for p in ruleset.procedures if p.id == "inkan_haishi")
    ruleset_copy = dataclasses.replace(
        ruleset, procedures=(dataclasses.replace(procedure, applies_when=compiled),)
    )
    result = evaluate(ruleset_copy, {**DEATH, "household[0].my_number": "123456789018"}, AS_OF)
    assert result.procedures[0].why.facts["household[0].my_number"] == "**** **** 9018"

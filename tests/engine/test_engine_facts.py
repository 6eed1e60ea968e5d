"""parse_fact_value: what the counter workspace calls to check an answer, in Japanese."""

from __future__ import annotations

from datetime import date

import pytest

from app.engine import FactDef, FactValueError, RuleSet, parse_fact_value

AS_OF = date(2025, 4, 10)


def fact(type_: str, **kw: object) -> FactDef:
    return FactDef("t.x", type_, kw.pop("label", "項目"), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("type_", "raw", "value"),
    [
        ("date", "令和7年4月1日", date(2025, 4, 1)),
        ("date", "R7.4.1", date(2025, 4, 1)),
        ("date", "2025-04-01", date(2025, 4, 1)),
        ("date", date(2025, 4, 1), date(2025, 4, 1)),
        ("integer", "１，２３４", 1234),
        ("money", "50,000円", 50000),
        ("boolean", "はい", True),
        ("boolean", False, False),
        ("kana", "やまだ たろう", "ヤマダ タロウ"),
        ("postal_code", "〒100-0001", "1000001"),
        ("my_number", "1234 5678 9018", "123456789018"),
        ("text", "  山田 太郎 ", "山田 太郎"),
    ],
)
def test_values_are_parsed(type_: str, raw: object, value: object) -> None:
    assert parse_fact_value(fact(type_), raw, AS_OF) == value


@pytest.mark.parametrize(
    ("definition", "raw", "message"),
    [
        (fact("my_number", label="個人番号"), "12345", "個人番号は12桁の数字で入力してください"),
        (
            fact("my_number", label="個人番号"),
            "123456789012",
            "個人番号の検査用数字が合いません。番号をお確かめください",
        ),
        (
            fact("date", label="生年月日"),
            "きのう",
            "生年月日は「令和7年4月1日」「R7.4.1」「2025-04-01」のように入力してください",
        ),
        (
            fact("date", label="生年月日"),
            "平成31年5月1日",
            "平成にその日付はありません（令和元年5月1日ではありませんか）",
        ),
        (
            fact("date", label="生年月日", validation={"max": "today"}),
            "2025-04-11",
            "生年月日は令和7年4月10日以前（以下）で入力してください",
        ),
        (fact("integer", label="体重"), "重い", "体重は数字で入力してください"),
        (
            fact("kana", label="フリガナ"),
            "山田",
            "フリガナはカタカナ（またはひらがな）で入力してください",
        ),
        (fact("postal_code"), "12-34", "郵便番号は7桁の数字で入力してください（例：123-4567）"),
        (fact("boolean", label="加入"), "たぶん", "加入は「はい」か「いいえ」で答えてください"),
        (
            fact("choice", label="性別", choices={"male": "男", "female": "女"}),
            "不明",
            "性別に「不明」はありません。次のいずれかを選んでください：男、女",
        ),
        (fact("text", label="氏名"), "   ", "氏名を入力してください"),
        (
            fact(
                "text",
                label="コード",
                validation={"pattern": "[0-9]{11}", "message": "コードは11桁です"},
            ),
            "12",
            "コードは11桁です",
        ),
    ],
)
def test_wrong_values_say_what_to_enter(definition: FactDef, raw: object, message: str) -> None:
    with pytest.raises(FactValueError) as caught:
        parse_fact_value(definition, raw, AS_OF)
    assert caught.value.message == message


def test_choice_accepts_key_or_label() -> None:
    sex = fact("choice", choices={"male": "男", "female": "女"})
    assert parse_fact_value(sex, "女", AS_OF) == "female"
    assert parse_fact_value(sex, "male", AS_OF) == "male"


def test_bank_account() -> None:
    account = fact("bank_account", label="振込先")
    raw = {
        "bank": "みどり銀行",
        "branch": "本店",
        "kind": "普通",
        "number": "1234567",
        "holder": "やまだ はなこ",
    }
    assert parse_fact_value(account, raw, AS_OF)["holder"] == "ヤマダ ハナコ"
    with pytest.raises(FactValueError, match="口座番号は7桁の数字で入力してください"):
        parse_fact_value(account, {**raw, "number": "12"}, AS_OF)


def test_declared_facts_are_usable_directly(ruleset: RuleSet) -> None:
    assert parse_fact_value(ruleset.facts["birth_date"], "S22.3.2", AS_OF) == date(1947, 3, 2)


def test_fact_ids_lead_to_their_declaration(ruleset: RuleSet) -> None:
    assert ruleset.fact_def("household[2].birth_date") is ruleset.facts["birth_date"]
    assert ruleset.fact_def("death.date") is ruleset.facts["death.date"]
    assert ruleset.fact_def("birth_date") is None
    assert ruleset.fact_def("household[0].death.date") is None

"""Save a real case as a scenario test of a draft, with synthetic names, numbers and addresses.

Policy staff find a case the rules get wrong (or right, and want to keep so); this turns it
into a scenario a vendor can keep in git. Every value that could point at a person — names,
kana, addresses, postal codes, phone, My Number and every other personal or special text —
is replaced by a made-up one of the same shape (a My Number with a valid check digit, the
same number of digits, a name with its kana), seeded by nothing of the case; dates, yes/no
answers, choices and amounts stay, since the rules decide on them. The anonymised facts
must give exactly the procedures and deadlines the real ones give, or nothing is saved. The
read of the case is audited; the scenario names no case number.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import yaml

from app.engine import RuleSet, evaluate
from app.engine.factids import split_fact_id
from app.engine.facts import FactDef
from app.engine.mynumber import my_number_check_digit
from app.errors import DomainError
from app.extensions import db
from app.models import AuditEvent
from app.models.ruleset import RuleSetVersion
from app.services.impact import case_by_number, case_facts_for_policy
from app.services.interview import case_as_of
from app.services.ruleset_store import file_of, save_file

SCENARIO_FILE = "procedure_rules/scenarios/from_cases.yaml"
HEADER = (
    "# 実際の案件から作ったシナリオテスト（制度所管課の画面「この案件をシナリオとして保存」）。\n"
    "# 氏名・番号・住所などはすべて架空の値に置き換えています。\n"
    "scenarios:\n"
)
# Made-up family names and given names with their readings (not one family's real name).
FAMILY = (("架空", "カクウ"), ("見本", "ミホン"), ("例野", "レイノ"), ("仮屋", "カリヤ"))
GIVEN = (
    ("一郎", "イチロウ"),
    ("花子", "ハナコ"),
    ("次郎", "ジロウ"),
    ("桜", "サクラ"),
    ("三郎", "サブロウ"),
    ("葵", "アオイ"),
    ("四郎", "シロウ"),
    ("楓", "カエデ"),
)
# Types whose values the rules read as they are (kept); every other personal value is made up.
KEPT_TYPES = frozenset({"date", "boolean", "choice", "integer", "money", "list"})
_NAME_FACT = re.compile(r"(^|_)(name|hittousha|household_head)$")


def _digits_like(rng: random.Random, value: str) -> str:
    """Return the value with every digit replaced by a random one (the same shape)."""
    return "".join(str(rng.randrange(10)) if c.isdigit() else c for c in value)


def _person_name(index: int, kana: bool, family: int = 0) -> str:
    """Return the made-up name (or its kana) of the N-th member."""
    sei = FAMILY[family % len(FAMILY)]
    mei = GIVEN[index % len(GIVEN)]
    return f"{sei[1]} {mei[1]}" if kana else f"{sei[0]} {mei[0]}"


def _made_up(
    fact: FactDef, name: str, person: int | None, value: Any, rng: random.Random, muni: Any
) -> Any:
    """Return a made-up value of the same kind for one personal fact."""
    index = person or 0
    if fact.type == "my_number":
        body = "".join(str(rng.randrange(10)) for _ in range(11))
        return body + str(my_number_check_digit(body))
    if fact.type == "bank_account" and isinstance(value, dict):
        return {
            "bank": "架空銀行",
            "branch": "本店",
            "kind": value.get("kind", "futsu"),
            "number": "".join(str(rng.randrange(10)) for _ in range(7)),
            "holder": _person_name(index, kana=True),
        }
    if fact.type == "postal_code":
        return _digits_like(rng, str(value))
    label = fact.label
    if fact.type == "address" or any(w in label for w in ("住所", "本籍", "所在地")):
        return f"{muni.prefecture}{muni.name}架空町{index + 1}丁目{rng.randrange(1, 30)}番地"
    family = 1 if name.startswith("new_") else 0  # 婚姻後の氏名: another family name
    if fact.type == "kana" or "カナ" in label or "フリガナ" in label:
        return _person_name(index, kana=True, family=family)
    if _NAME_FACT.search(name) or any(w in label for w in ("氏名", "名前", "名義")):
        return _person_name(index, kana=False, family=family)
    text = str(value)
    if any(c.isdigit() for c in text):
        return _digits_like(rng, text)  # 記号・番号, 電話, 住民票コード: the same shape
    return "（架空の値）"


def anonymise(ruleset: RuleSet, facts: Mapping[str, Any]) -> dict[str, Any]:
    """Return the facts with every identifying value replaced by a made-up one."""
    # Fixed seed: the made-up values depend on nothing of the case (and are no secret).
    rng = random.Random(20261203)  # noqa: S311
    out: dict[str, Any] = {}
    for fact_id, value in sorted(facts.items()):
        if value is None:
            continue
        person, name = split_fact_id(fact_id)
        fact = ruleset.facts.get(name)
        if fact is None or fact.type in KEPT_TYPES:
            out[fact_id] = value
        elif fact.sensitivity in ("personal", "special") or fact.type in ("address", "kana"):
            out[fact_id] = _made_up(fact, name, person, value, rng, ruleset.municipality)
        else:
            out[fact_id] = value
    return out


def _outcome(ruleset: RuleSet, facts: Mapping[str, Any], as_of: date) -> list[tuple[str, Any]]:
    """Return the procedures and their deadlines the facts give on a date."""
    result = evaluate(ruleset, facts, as_of)
    return sorted((p.key, p.deadline) for p in result.procedures)


def scenario_entry(name: str, as_of: date, facts: Mapping[str, Any], keys: list[str]) -> str:
    """Return one scenario as YAML lines for the end of a ``scenarios:`` list."""
    entry = {"name": name, "as_of": as_of, "facts": dict(facts), "expect": {"procedures": keys}}
    text = yaml.safe_dump(
        [entry], allow_unicode=True, sort_keys=False, default_flow_style=None, width=100
    )
    return text


def save_case_as_scenario(
    version: RuleSetVersion,
    ruleset: RuleSet,
    case_number: str,
    name: str,
    *,
    actor: str,
    now: datetime,
    limit: int,
) -> str:
    """Append a case, anonymised, as a scenario of a draft (committed); return the file name.

    :raises DomainError: no such case, no name, or anonymising changed the outcome.
    :raises EditConflict: the scenarios file changed while this ran (from save_file).
    """
    name = " ".join(name.split())
    if not name:
        raise DomainError(
            "シナリオの名前を入力してください。",
            hint="何を確かめるシナリオかがわかる名前にします（例: 国保の世帯主が死亡し、妻が残る）。",
            code="scenario_name_missing",
        )
    found = case_by_number(case_number)
    if found is None or found.purged_at is not None:
        raise DomainError(
            f"受付番号「{case_number}」の案件はありません。", code="unknown_case", status=404
        )
    if any(s.name == name for s in ruleset.scenarios):
        raise DomainError(
            f"シナリオ「{name}」はこの版にもうあります。", hint="別の名前にします。", code="dup"
        )
    case, facts = case_facts_for_policy(found.id, actor=actor, now=now)
    as_of = case_as_of(case)
    made_up = anonymise(ruleset, facts)
    real, synthetic = _outcome(ruleset, facts, as_of), _outcome(ruleset, made_up, as_of)
    if real != synthetic:
        changed = sorted(set(real) ^ set(synthetic))
        raise DomainError(
            "氏名・番号・住所を架空の値にすると判定が変わるので、保存しませんでした。",
            hint="変わった手続: " + "、".join(k for k, _ in changed),
            code="anonymised_differs",
        )
    keys = [k for k, _ in real]
    try:
        item = file_of(version, SCENARIO_FILE)
        text, revision = item.content.decode("utf-8"), item.revision
    except DomainError:
        text, revision = HEADER, None
    if not text.endswith("\n"):
        text += "\n"
    text += scenario_entry(name, as_of, made_up, keys)
    save_file(  # raises EditConflict when someone saved the file since it was read
        version,
        SCENARIO_FILE,
        text.encode("utf-8"),
        expected_revision=revision,
        actor=actor,
        now=now,
        limit=limit,
    )
    db.session.add(
        AuditEvent(
            case_id=case.id,
            actor=actor,
            action="ruleset_case_saved_as_scenario",
            detail={"version_id": version.id, "scenario": name},
            at=now,
        )
    )
    db.session.commit()
    return SCENARIO_FILE

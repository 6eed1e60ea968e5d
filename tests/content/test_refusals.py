"""Eligibility before a form: a fact the law refutes refuses the procedure with the reason (issue 13, 5)."""

from __future__ import annotations

from app.engine import RuleSet, evaluate


def _scenario(content: RuleSet, text: str):  # type: ignore[no-untyped-def]
    return next(s for s in content.scenarios if text in s.name)


def _outcome(content: RuleSet, scenario, **changes):  # type: ignore[no-untyped-def]
    facts = {**scenario.facts, **changes}
    result = evaluate(content, facts, scenario.as_of).to_json()
    return {p["id"]: p for p in result["procedures"]}, {f["id"] for f in result["forms"]}


def test_cremation_within_24_hours_gets_no_permit_form_but_the_reason(content: RuleSet) -> None:
    scenario = _scenario(content, "火葬の予約が死亡から20時間後")
    applied, forms = _outcome(content, scenario)
    assert "kaso_kyoka" not in applied and "kaso_kyoka" not in forms
    reason = applied["kaso_kyoka_horyu"]["why"]["text"]
    assert "24時間" in reason and "令和8年5月10日" in reason
    # moved to the next day after the death time, the same case gets its permit form
    applied, forms = _outcome(content, scenario, **{"death.cremation_time": "15:00"})
    assert "kaso_kyoka" in applied and "kaso_kyoka" in forms
    assert "kaso_kyoka_horyu" not in applied


def test_marriage_under_18_is_refused_and_brings_no_name_change(content: RuleSet) -> None:
    scenario = _scenario(content, "届出日に17歳")
    applied, forms = _outcome(content, scenario)
    assert set(applied) == {"konin_todoke_fujuri"}
    applied, _ = _outcome(content, scenario, **{"household[1].birth_date": "2008-06-01"})
    assert "konin_todoke" in applied and "mynumber_card_kisai_henko" in applied


def test_move_out_within_the_prefecture_keeps_the_koki_status(content: RuleSet) -> None:
    scenario = _scenario(content, "同じ東京都の別の市へ転出")
    applied, _ = _outcome(content, scenario)
    assert "koki_soshitsu" not in applied and "koki_futan_kubun_shomei" not in applied
    applied, _ = _outcome(content, scenario, **{"move.new_other_prefecture": True})
    assert "koki_soshitsu" in applied and "koki_futan_kubun_shomei" in applied
    assert "koki_jusho_henko_tenshutsu" not in applied

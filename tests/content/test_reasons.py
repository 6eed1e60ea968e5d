"""The words staff read out and residents read (issues 16-3, 17-5): in every scenario, each
procedure that applies has its reason filled with the case's facts — never a placeholder
left, an unknown fact, a fact id or a Python value — and its やさしい日本語 text."""

from __future__ import annotations

import re

from app.engine import RuleSet, evaluate

LEFT_OVER = re.compile(r"[{}]|（未確認）|household\[|\bNone\b|\bTrue\b|\bFalse\b|\[\'")
KANJI = re.compile(r"[\u4e00-\u9fff]")


def test_every_applied_reason_is_filled_and_every_plain_is_there(content: RuleSet) -> None:
    seen: set[str] = set()
    for scenario in content.scenarios:
        result = evaluate(content, scenario.facts, scenario.as_of)
        for applied in result.procedures:
            seen.add(applied.id)
            reason = applied.reason or ""
            assert reason and not LEFT_OVER.search(reason), (scenario.name, applied.key, reason)
            assert applied.plain, (scenario.name, applied.key)
    # the scenarios reach most procedures; the rest are checked at load (placeholders compile)
    assert len(seen) >= 0.8 * len(content.procedures)


def test_a_per_person_reason_names_the_person(content: RuleSet) -> None:
    """Four identical lines would not say who: each member's instance names the member."""
    for scenario in content.scenarios:
        result = evaluate(content, scenario.facts, scenario.as_of)
        for applied in result.procedures:
            if applied.person is not None and applied.person_name:
                assert applied.person_name in (applied.reason or ""), (scenario.name, applied.key)


def test_plain_texts_are_in_easy_words(content: RuleSet) -> None:
    """やさしい日本語 as the shipped content writes it: kana with spaces, short sentences."""
    for procedure in content.procedures:
        plain = procedure.plain or ""
        assert not KANJI.search(plain), (procedure.id, plain)
        for sentence in filter(None, plain.split("。")):
            assert len(sentence) <= 70, (procedure.id, sentence)

"""Answers the counter can offer before a question is answered, from facts already known:
the clerk confirms with Enter instead of typing what the case already says (書かない窓口).

A suggestion is shown in the field and marked 「候補」; it is saved only when confirmed."""

from __future__ import annotations

from dataclasses import dataclass

from app.engine import RuleSet
from app.services.cases import StoredFact
from app.services.interview import display_value, split_fact_id


@dataclass(frozen=True)
class Suggestion:
    """A value to offer for a question, and where it comes from (read out to the clerk)."""

    text: str
    source: str


# question -> the fact it is usually the same as ("{p}" is the member's own fact).
SAME_AS: dict[str, tuple[str, str]] = {
    # 戸籍法第86条: 知った日 is the death day when the family learnt of it that day.
    "death.known_date": ("death.date", "死亡日と同じ日"),
    "account_holder_kana": ("{p}.name_kana", "本人の氏名（カナ）"),
}


def suggestion_for(
    ruleset: RuleSet, fact_id: str, facts: dict[str, StoredFact]
) -> Suggestion | None:
    """Return what to offer for an unanswered question, or None when nothing is known."""
    index, name = split_fact_id(fact_id)
    rule = SAME_AS.get(fact_id) or SAME_AS.get(name)
    if rule is None:
        return None
    source_id = rule[0].replace("{p}", f"household[{index}]")
    stored = facts.get(source_id)
    if stored is None or stored.value in (None, ""):
        return None
    return Suggestion(display_value(ruleset, source_id, stored.value), rule[1])

"""Why a procedure applies, as staff read it out: the written reason, or words built from
the facts that made it apply when a procedure has no reason written yet. Never the rule."""

from __future__ import annotations

from collections.abc import Sequence

from app.engine.reasons import UNKNOWN_TEXT
from app.engine.result import AppliedProcedure

SPOKEN_FACTS = 2  # more answers than this are listed under the sentence, not read in it


def reason_lines(
    procedure: AppliedProcedure, traced: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Return the (label, value) lines behind a reason: the known facts its condition reads."""
    lines = list(procedure.reason_facts) or list(traced)
    return [(label, value) for label, value in lines if value != UNKNOWN_TEXT]


def spoken_reason(procedure: AppliedProcedure, event_titles: Sequence[str]) -> str:
    """Return the sentence a clerk reads out for why ``procedure`` applies to this case."""
    if procedure.reason:
        return procedure.reason
    who = f"{procedure.person_name}さんについて、" if procedure.person_name else ""
    events = "・".join(event_titles) or "この"
    titles = set(event_titles)
    answers = [(k, v) for k, v in reason_lines(procedure, ()) if v not in titles]
    if not answers:
        return f"{who}{events}の届出があるため、この手続が必要です。"
    if len(answers) > SPOKEN_FACTS:
        return f"{who}{events}の届出と、下の回答から、この手続が必要です。"
    said = "、".join(f"「{label}」が「{value}」" for label, value in answers)
    return f"{who}{events}の届出があり、{said}のため、この手続が必要です。"

"""Why a procedure applies, as staff read it out: the written reason, or words built from
the facts that made it apply when a procedure has no reason written yet. Never the rule."""

from __future__ import annotations

from collections.abc import Sequence

from app.engine.result import AppliedProcedure


def spoken_reason(procedure: AppliedProcedure, event_titles: Sequence[str]) -> str:
    """Return the sentence a clerk reads out for why ``procedure`` applies to this case."""
    if procedure.reason:
        return procedure.reason
    who = f"{procedure.person_name}さんについて、" if procedure.person_name else ""
    events = "・".join(event_titles) or "この届出"
    if procedure.reason_facts:
        return f"{who}{events}の届出と、下の回答から、この手続が必要と判定しました。"
    return f"{who}{events}の届出があるため、この手続が必要です。"


def reason_lines(
    procedure: AppliedProcedure, traced: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Return the (label, value) lines behind a reason: the condition's facts, else the trace."""
    if procedure.reason_facts:
        return list(procedure.reason_facts)
    return list(traced)

"""Department routing: when a case is issued, each applicable procedure lands on a worklist."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.engine import Result, RuleSet
from app.extensions import db
from app.models import Case, FactValue, RoutedProcedure
from app.services.cases import CaseError, audit, change_status
from app.services.interview import evaluate_protected
from app.services.statistics import field_sources

PENDING, DONE, GUIDANCE = "pending", "done", "guidance"  # a routed procedure's status
STATUS_WORDS = {PENDING: "未処理", DONE: "処理済み", GUIDANCE: "案内のみ"}


def issue_case(
    case: Case, result: Result, *, actor: str, now: datetime, shien_sochi: bool = False
) -> list[RoutedProcedure]:
    """Mark a signed case issued and route each of its procedures to its department (committed).

    ``shien_sochi``: a member is under a DV 支援措置; every worklist row says so.

    :raises CaseError: the case is not signed yet.
    """
    if case.status != "signed":
        raise CaseError("not_signed", "署名（または紙への署名）が済んでから交付してください。")
    routed = []
    for procedure in result.procedures:
        deadline = (
            datetime.combine(procedure.deadline, datetime.min.time())
            if procedure.deadline
            else None
        )
        row = RoutedProcedure(
            case_id=case.id,
            procedure_key=procedure.key,
            procedure_id=procedure.id,
            title=procedure.title,
            department_id=procedure.department["id"],
            deadline=deadline,
            automatic=procedure.automatic,
            forms=list(procedure.forms),
            shien_sochi=shien_sochi,
            guidance=procedure.guidance,
            # ご案内のみ: the resident was told where to go; the department has nothing to
            # do, so the row is kept (it was given) but never waits on the worklist.
            status=GUIDANCE if procedure.guidance else PENDING,
            routed_at=now,
        )
        db.session.add(row)
        routed.append(row)
    # Where each form field's value came from, counted now (for the office statistics):
    # provenance is plain in the table, no value is decrypted for it.
    provenance = dict(
        db.session.execute(
            select(FactValue.fact_id, FactValue.provenance).where(FactValue.case_id == case.id)
        ).all()
    )
    detail = {
        "procedures": len(routed),
        "field_sources": field_sources(result, provenance),
        "shien_sochi": shien_sochi,
    }
    audit(case.id, actor, "routed", detail, now)
    change_status(case, "issued", actor=actor, now=now)  # commits
    return routed


def worklist(department_id: str, *, include_done: bool = False) -> list[dict[str, Any]]:
    """Return a department's routed procedures across cases, soonest deadline first.

    Only pending ones unless ``include_done``, which adds the done and the guidance-only
    (案内のみ) ones.
    """
    query = (
        select(RoutedProcedure, Case)
        .join(Case, Case.id == RoutedProcedure.case_id)
        .where(RoutedProcedure.department_id == department_id)
    )
    if not include_done:
        query = query.where(RoutedProcedure.status == PENDING)
    rows = db.session.execute(query).all()
    items = [
        {
            "id": routed.id,
            "case_number": case.number,
            "case_id": case.id,
            "procedure": routed.procedure_id,
            "procedure_key": routed.procedure_key,
            "title": routed.title,
            "deadline": routed.deadline.date().isoformat() if routed.deadline else None,
            "automatic": routed.automatic,
            "forms": list(routed.forms),
            "shien_sochi": routed.shien_sochi,
            "guidance": routed.guidance,
            "status": routed.status,
            "status_label": STATUS_WORDS.get(routed.status, routed.status),
            "routed_at": routed.routed_at.isoformat(timespec="seconds"),
        }
        for routed, case in rows
    ]
    return sorted(items, key=lambda i: (i["deadline"] or "9999-12-31", i["case_number"]))


def mark_done(routed_id: int, *, actor: str, now: datetime) -> RoutedProcedure:
    """Mark a routed procedure as handled by its department (committed).

    :raises CaseError: no such routed procedure, or one that is guidance only.
    """
    routed = db.session.get(RoutedProcedure, routed_id)
    if routed is None:
        raise CaseError("not_found", "該当する手続が見つかりません。", status=404)
    if routed.status == GUIDANCE:
        raise CaseError(
            "guidance_only",
            f"この手続はご案内のみです（届出先：{routed.guidance}）。この課で処理するものはありません。",
            status=409,
        )
    routed.status = DONE
    routed.done_by = actor
    routed.done_at = now
    audit(routed.case_id, actor, "procedure_done", {"procedure": routed.procedure_key}, now)
    db.session.commit()
    return routed


CSV_HEADER = [
    "受付番号",
    "手続ID",
    "手続",
    "期限",
    "自動",
    "書類",
    "状態",
    "案内先（案内のみ）",
    "回付日時",
    "支援措置",
]
SHIEN_SOCHI_NOTE = "支援措置あり（住所を相手方に知らせない）"


def worklist_csv(department_id: str, *, include_done: bool = False) -> bytes:
    """Return a department's worklist as CSV for office spreadsheets (UTF-8 with a BOM)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for i in worklist(department_id, include_done=include_done):
        writer.writerow(
            [
                i["case_number"],
                i["procedure_key"],
                i["title"],
                i["deadline"] or "",
                "自動" if i["automatic"] else "",
                " ".join(i["forms"]),
                i["status_label"],
                i["guidance"] or "",
                i["routed_at"],
                SHIEN_SOCHI_NOTE if i["shien_sochi"] else "",
            ]
        )
    # A BOM so that spreadsheet software on office PCs opens the Japanese text as UTF-8.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def issue_visit(
    ruleset: RuleSet, case: Case, *, actor: str, now: datetime
) -> list[RoutedProcedure]:
    """Evaluate a signed case and issue it: see ``issue_case``."""
    result, protection = evaluate_protected(ruleset, case)
    return issue_case(case, result, actor=actor, now=now, shien_sochi=protection.active)


def worklist_counts(department_ids: list[str]) -> dict[str, int]:
    """Return how many procedures wait on each department's worklist."""
    return {d: len(worklist(d)) for d in department_ids}

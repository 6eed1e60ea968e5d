"""Counter views of the video counter: scan a code from the resident's video, confirm what
it carries, take document stills and show them to staff."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request, url_for

from app import clock
from app.auth.access import allow
from app.counter.blueprint import bp
from app.counter.context import (
    actor,
    case_or_404,
    fragments,
    ruleset,
    scan_confirm_problem,
    scan_problem,
)
from app.errors import answered_by
from app.models import Case
from app.models.case import PROVENANCE_LABELS
from app.scanning.classify import ScanResult
from app.services.attachments import (
    attachment_image,
    case_attachments,
    read_attachment,
    take_still,
)
from app.services.cases import CaseError
from app.services.interview import split_fact_id
from app.services.scan_intake import confirm_scan, pending_token, scan_codes, scanned_facts


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@bp.app_template_global("scan_people")
def _scan_people(facts: dict[str, Any]) -> list[tuple[int, str]]:
    """Return the household members a scan can belong to, and the next new one."""
    indices = sorted({i for i, _ in map(split_fact_id, facts) if i is not None})
    people = []
    for index in indices:
        name = facts.get(f"household[{index}].name")
        shown = name.value if name is not None and name.value else "（氏名未入力）"
        people.append((index, f"世帯員{index + 1}　{shown}"))
    new = (indices[-1] + 1) if indices else 0
    people.append((new, f"新しい世帯員（世帯員{new + 1}）"))
    return people


@bp.app_template_global("case_attachments")
def _case_attachments_global(case: Case) -> list[Any]:
    return case_attachments(case)


def scan_json(case: Case, result: ScanResult) -> dict[str, Any]:
    """Return one scan result as the video counter's script shows it."""
    item: dict[str, Any] = {
        "kind": result.kind,
        "symbology": result.symbology,
        "display": result.display,
        "message": result.message,
        "error_code": result.error_code,
    }
    if result.kind in ("my_number", "pre_entry"):
        facts, notes = scanned_facts(ruleset(), case, result)
        item["provenance"] = PROVENANCE_LABELS.get(result.provenance or "", result.provenance)
        item["facts"] = [
            {
                "fact": f.fact_id,
                "label": f.label,
                "value": f.display,
                "current": f.current,
                "locked": f.locked,
            }
            for f in facts
        ]
        item["notes"] = notes
        item["token"] = pending_token(case, result)
        if result.expires_at is not None:
            item["expires_at"] = result.expires_at.isoformat()
    return item


@bp.post("/cases/<int:case_id>/scan")
@answered_by(scan_problem)
@allow("counter")
def scan(case_id: int) -> Any:
    case = case_or_404(case_id)
    person = _json_body().get("person", 0)
    if not isinstance(person, int) or not 0 <= person < 50:
        raise CaseError("bad_person", "世帯員の番号が正しくありません。", status=400)
    results = scan_codes(
        case,
        person,
        preentry_key=current_app.config["PREENTRY_KEY"].encode("utf-8"),
        actor=actor(),
        now=clock.now(),
        utc_now=clock.utc_now(),
    )
    return jsonify(
        results=[scan_json(case, r) for r in results],
        message=None
        if results
        else "コードを読み取れませんでした。QRコードをカメラに近づけ、画面に正面から向けてもらってください。",
        confirm_url=url_for("counter.scan_confirm", case_id=case.id),
    )


@bp.post("/cases/<int:case_id>/scan/confirm")
@answered_by(scan_confirm_problem)
@allow("counter")
def scan_confirm(case_id: int) -> Any:
    rules = ruleset()
    case = case_or_404(case_id)
    token = _json_body().get("token")
    if not isinstance(token, str) or not token:
        raise CaseError(
            "no_token", "確認する読み取り結果がありません。もう一度スキャンしてください。"
        )
    stored = confirm_scan(rules, case, token, actor=actor(), now=clock.now())
    return jsonify(
        stored=[
            {"fact": s.fact_id, "provenance": PROVENANCE_LABELS.get(s.provenance, s.provenance)}
            for s in stored
        ],
        message=f"{len(stored)}件の項目を保存しました。",
        # The workspace redraws its questions and panel from these, as after an answer.
        **fragments(rules, case),
    )


@bp.post("/cases/<int:case_id>/still", endpoint="take_still")
@answered_by(scan_problem)
@allow("counter")
def take_still_view(case_id: int) -> Any:
    case = case_or_404(case_id)
    attachment = take_still(case, actor=actor(), now=clock.now())
    return jsonify(
        number=attachment.number,
        url=url_for("counter.attachment", case_id=case.id, number=attachment.number),
        straightened=attachment.straightened,
        width=attachment.width,
        height=attachment.height,
        message="書類の輪郭を見つけて、まっすぐに補正しました。"
        if attachment.straightened
        else "書類の輪郭が見つからなかったため、画面をそのまま保存しました。",
    )


@bp.get("/cases/<int:case_id>/attachments/<int:number>.jpg")
@answered_by(scan_problem)
@allow("counter")
def attachment(case_id: int, number: int) -> Any:
    found = read_attachment(case_or_404(case_id), number, actor=actor(), now=clock.now())
    return Response(attachment_image(found), mimetype=found.content_type)

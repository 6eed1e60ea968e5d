"""Counter views of the video counter: scan a code from the resident's video, confirm what
it carries, take document stills and show them to staff.

The routes live on the ``counter`` blueprint (imported for its side effect by
``app.web``); they sit in their own module so the workspace views stay about the
interview.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, jsonify, request, url_for

from app.auth.access import allow
from app.counter.views import _actor, _case, _fragments, _ruleset, bp
from app.counter.workspace import PROVENANCE_LABELS
from app.media.loop import MediaTimeout
from app.media.server import NoVideo, media_server
from app.models import Case
from app.scanning.classify import ScanResult, classify
from app.services.attachments import (
    attach_still,
    attachment_image,
    case_attachments,
    read_attachment,
)
from app.services.cases import CaseError
from app.services.interview import split_fact_id
from app.services.scan_intake import confirm_scan, pending_token, record_scan, scanned_facts

SCAN_TIMEOUT = 3.0  # seconds of frames to try before saying nothing was read

NO_VIDEO = "住民の映像が届いていません。住民側の通話がつながり、カメラが有効になっているか確認してください。"
MEDIA_BUSY = "通話サーバーが応答しません。しばらく待ってから、もう一度お試しください。"


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _problem(status: int, message: str) -> tuple[Response, int]:
    return jsonify(error={"code": status, "message": message}), status


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


def _scan_json(case: Case, result: ScanResult) -> dict[str, Any]:
    item: dict[str, Any] = {
        "kind": result.kind,
        "symbology": result.symbology,
        "display": result.display,
        "message": result.message,
        "error_code": result.error_code,
    }
    if result.kind in ("my_number", "pre_entry"):
        facts, notes = scanned_facts(_ruleset(), case, result)
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
@allow("counter")
def scan(case_id: int) -> Any:
    case = _case(case_id)
    body = _json_body()
    person = body.get("person", 0)
    if not isinstance(person, int) or not 0 <= person < 50:
        return _problem(400, "世帯員の番号が正しくありません。")
    try:
        codes = media_server().request_scan(case.id, SCAN_TIMEOUT)
    except NoVideo:
        return _problem(409, NO_VIDEO)
    except MediaTimeout:
        return _problem(503, MEDIA_BUSY)
    now = datetime.now(UTC)
    key = current_app.config["PREENTRY_KEY"].encode("utf-8")
    results = [classify(code, preentry_key=key, now=now, person=person) for code in codes]
    record_scan(case, results, actor=_actor(), now=datetime.now())
    return jsonify(
        results=[_scan_json(case, r) for r in results],
        message=None
        if results
        else "コードを読み取れませんでした。QRコードをカメラに近づけ、画面に正面から向けてもらってください。",
        confirm_url=url_for("counter.scan_confirm", case_id=case.id),
    )


@bp.post("/cases/<int:case_id>/scan/confirm")
@allow("counter")
def scan_confirm(case_id: int) -> Any:
    ruleset = _ruleset()
    case = _case(case_id)
    body = _json_body()
    token = body.get("token")
    if not isinstance(token, str) or not token:
        return _problem(400, "確認する読み取り結果がありません。もう一度スキャンしてください。")
    try:
        stored = confirm_scan(ruleset, case, token, actor=_actor(), now=datetime.now())
    except CaseError as error:
        return _problem(409 if error.code in ("locked", "not_editable") else 400, error.message)
    return jsonify(
        stored=[
            {"fact": s.fact_id, "provenance": PROVENANCE_LABELS.get(s.provenance, s.provenance)}
            for s in stored
        ],
        message=f"{len(stored)}件の項目を保存しました。",
        # The workspace redraws its questions and panel from these, as after an answer.
        **_fragments(ruleset, case),
    )


@bp.post("/cases/<int:case_id>/still")
@allow("counter")
def take_still(case_id: int) -> Any:
    case = _case(case_id)
    try:
        frame = media_server().take_still(case.id)
    except NoVideo:
        return _problem(409, NO_VIDEO)
    except MediaTimeout:
        return _problem(503, MEDIA_BUSY)
    try:
        attachment = attach_still(case, frame, actor=_actor(), now=datetime.now())
    except CaseError as error:
        return _problem(500, error.message)
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
@allow("counter")
def attachment(case_id: int, number: int) -> Any:
    case = _case(case_id)
    try:
        found = read_attachment(case, number, actor=_actor(), now=datetime.now())
    except CaseError:
        return _problem(404, "この添付画像はありません。")
    return Response(attachment_image(found), mimetype=found.content_type)

"""Signalling for the video counter: one POST of the SDP offer, the answer returned whole."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, jsonify, request
from flask_login import current_user

from app.auth.access import RESIDENT, allow, resident_case_id
from app.extensions import db
from app.media.loop import MediaTimeout
from app.media.peers import RESIDENT as RESIDENT_SIDE
from app.media.peers import ROLES, STAFF, TooManyPeers
from app.media.server import init_media, media_server
from app.models.case import FINAL, Case

bp = Blueprint("media", __name__, url_prefix="/media")

# A browser's offer with audio, video and every host candidate is 5–10 kB; anything far
# larger is not an offer worth parsing on the media loop.
MAX_OFFER_BYTES = 64 * 1024


@bp.record_once
def _give_the_app_its_media_server(state: Any) -> None:
    init_media(state.app)


def _error(status: int, message: str, hint: str) -> Any:
    return jsonify(error={"code": status, "message": message, "hint": hint}), status


def _check_side(case_id: int, role: str) -> None:
    if role not in ROLES:
        abort(404)
    if current_user.is_authenticated:
        # Any counter staff may join any case for now; the case model will narrow it.
        if role != STAFF:
            abort(403)
    elif resident_case_id() != case_id or role != RESIDENT_SIDE:
        abort(403)


@bp.get("/<int:case_id>/<role>/ice-servers")
@allow("counter", RESIDENT)
def ice_servers(case_id: int, role: str) -> Any:
    """The STUN/TURN servers for the page's next connection, TURN credentials short-lived."""
    _check_side(case_id, role)
    response = jsonify(iceServers=media_server().ice_servers_for_page(case_id, role))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<int:case_id>/<role>/quality")
@allow("counter", RESIDENT)
def quality(case_id: int, role: str) -> Any:
    """What this side's camera should send (audio first); for staff, the resident's leg."""
    _check_side(case_id, role)
    try:
        result = media_server().quality(case_id, role)
    except MediaTimeout:
        return _error(
            503, "通話サーバーが応答しません", "しばらく待ってから、もう一度お試しください。"
        )
    response = jsonify(result)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<int:case_id>/<role>/offer")
@allow("counter", RESIDENT)
def offer(case_id: int, role: str) -> Any:
    _check_side(case_id, role)
    # Every offer opens UDP sockets: only for a case that exists and is not yet signed.
    case = db.session.get(Case, case_id)
    if case is None:
        return _error(404, "この受付は見つかりません", "受付番号をお確かめください。")
    if case.status in FINAL:
        return _error(
            409,
            "この受付は署名済みまたは完了のため、通話できません",
            "続けてご案内が必要なときは、新しい受付を開始してください。",
        )
    if (request.content_length or 0) > MAX_OFFER_BYTES:
        return _error(
            413,
            "通話の接続要求が大きすぎます",
            "ページを再読み込みしてから、もう一度接続してください。",
        )
    body = request.get_json(silent=True)
    if (
        not isinstance(body, dict)
        or body.get("type") != "offer"
        or not isinstance(body.get("sdp"), str)
        or len(body["sdp"]) > MAX_OFFER_BYTES
    ):
        return _error(
            400,
            "通話の接続要求の形式が正しくありません",
            "ページを再読み込みしてから、もう一度接続してください。",
        )
    try:
        answer = media_server().answer(case_id, role, body["sdp"])
    except TooManyPeers:
        current_app.logger.warning("media: peer limit reached; refused case %s %s", case_id, role)
        return _error(
            503,
            "ただいま通話が混み合っています",
            "しばらく待ってから、もう一度接続してください。",
        )
    except MediaTimeout:
        current_app.logger.warning("media: answering case %s %s timed out", case_id, role)
        return _error(
            503,
            "通話サーバーが応答しません",
            "しばらく待ってから、もう一度接続してください。",
        )
    except ValueError as error:  # aiortc rejects an SDP it cannot parse or use
        current_app.logger.info("media: bad offer for case %s %s: %s", case_id, role, error)
        return _error(
            400,
            "この端末の通話の形式に対応していません",
            "別のブラウザ（最新の Chrome、Edge、Safari）でお試しください。",
        )
    return jsonify(sdp=answer.sdp, type=answer.type)

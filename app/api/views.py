"""``POST /api/v1/evaluate``: the engine's machine contract over HTTP, for staff only."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from app import clock
from app.auth.access import allow
from app.engine import LoadError
from app.services.rules import evaluate_case

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _error(status: int, message: str, **extra: Any) -> Any:
    """Answer a JSON error with a Japanese message."""
    return jsonify(error={"code": status, "message": message, **extra}), status


@bp.post("/evaluate")
@allow("counter", "policy", "admin")
def evaluate() -> Any:
    """Evaluate ``{"facts": {...}, "as_of": "YYYY-MM-DD", "strict": false}``; answer the Result.

    With ``"strict": true`` any fact, role or key not used as given answers 422 with every
    problem listed (code, fact, message) instead of a Result.
    """
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("facts"), dict):
        return _error(
            400,
            "facts（事実のマッピング）を JSON で送ってください",
            hint='{"facts": {...}, "as_of": "2025-04-10"}',
        )
    strict = body.get("strict", False)
    if not isinstance(strict, bool):
        return _error(400, "strict は true か false で指定してください")
    raw_date = body.get("as_of")
    try:
        as_of = date.fromisoformat(raw_date) if raw_date else clock.today()
    except (TypeError, ValueError):
        return _error(400, "as_of は YYYY-MM-DD の形式で指定してください")
    try:
        result = evaluate_case(current_app._get_current_object(), body["facts"], as_of)  # type: ignore[attr-defined]
    except LoadError as exc:
        current_app.logger.error("rules unavailable: %s", exc)
        return _error(
            503,
            "手続ルールを読み込めません。制度所管課にご連絡ください",
            problems=[str(p) for p in exc.problems[:20]],
        )
    problems = result.input_problems()
    if strict and problems:
        return _error(
            422,
            f"入力に {len(problems)} 件の問題があります。problems の各項目を直してください",
            problems=[p.to_json() for p in problems],
        )
    return jsonify(result.to_json())

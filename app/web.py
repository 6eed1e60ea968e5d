"""Wire the web layer: blueprints, the access guard, security headers, error pages, CLI."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask, Request, jsonify, render_template, request, session
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.routing import IntegerConverter

from app.auth.access import PUBLIC, enforce_access
from app.errors import DatabaseBusy, DomainError
from app.models.user import ROLE_LABELS

# Allow what the pages need and nothing else: no inline script, no third-party origin.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)

ERROR_TEXT = {
    400: ("リクエストを処理できません", "入力内容をお確かめのうえ、もう一度お試しください。"),
    401: ("ログインが必要です", "ログインしてからもう一度お試しください。"),
    403: ("このページを開く権限がありません", "必要な場合は管理者にご連絡ください。"),
    404: (
        "ページが見つかりません",
        "アドレスをお確かめいただくか、トップページからお進みください。",
    ),
    405: ("この操作はできません", "画面のボタンから操作してください。"),
    413: (
        "送信された内容が大きすぎます",
        "ファイルは16MB以下にしてください。入力が長すぎる場合は短くしてから送信してください。",
    ),
    429: ("操作が多すぎます", "しばらく待ってからもう一度お試しください。"),
    503: (
        "手続ルールを読み込めないため、この画面を表示できません",
        "制度所管課に連絡してください。入力済みの内容は保存されています。",
    ),
    500: (
        "システムエラーが発生しました",
        # Not "saved": after an unknown error nobody knows whether the last step was.
        "それまでに保存した内容は残っています。最後の操作が反映されたかは、"
        "画面を開き直して確かめてから、もう一度お試しください。",
    ),
}


class BoundedFormParser(FormDataParser):
    """Werkzeug's form parser, with its multipart limits applied to urlencoded forms too.

    Werkzeug reads an urlencoded body whole and splits every field (1.5 million of them in
    a 15 MB form took seconds of a work slot); ``MAX_FORM_MEMORY_SIZE`` and
    ``MAX_FORM_PARTS`` bound only multipart forms. Here they bound both.
    """

    def _parse_urlencoded(
        self, stream: Any, mimetype: str, content_length: Any, options: Any
    ) -> Any:
        limit = self.max_form_memory_size
        if limit is not None and (content_length or 0) > limit:
            raise RequestEntityTooLarge()
        data = stream.read(limit + 1 if limit is not None else -1)
        if limit is not None and len(data) > limit:
            raise RequestEntityTooLarge()
        if self.max_form_parts is not None and data.count(b"&") >= self.max_form_parts:
            raise RequestEntityTooLarge()
        return super()._parse_urlencoded(io.BytesIO(data), mimetype, len(data), options)


class BoundedInteger(IntegerConverter):
    """``<int:…>`` in URLs, at most 2³¹−1 (an INTEGER id on PostgreSQL, SQLite's too);
    anything larger is "not found" instead of a database error."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 (werkzeug's name)
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


class BoundedRequest(Request):
    """The app's request: forms of either encoding are bounded (see BoundedFormParser)."""

    form_data_parser_class = BoundedFormParser

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """Parse the JSON body; one nested too deep is malformed JSON, not a RecursionError
        (Python's parser recurses per level: 100,000 "[" gave a 500 on every JSON route)."""
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            if silent:
                return None
            return self.on_json_loading_failed(ValueError("JSON nested too deeply"))


def _refuse_nul_characters() -> None:
    """Refuse a request whose path, query or form text holds a NUL character.

    PostgreSQL cannot hold NUL in text (psycopg raises before the query: a 500 on a login
    name, a booking number in the URL …) and SQLite cuts text at it. No person types one;
    refusing it here, once, covers every route and both databases.
    """
    texts = [request.path, *request.args.keys(), *request.args.values()]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        texts += [*request.form.keys(), *request.form.values()]
    elif request.mimetype == "application/json":
        body = request.get_data(cache=True)
        texts.append("\x00" if b"\x00" in body or b"\\u0000" in body else "")
    if any("\x00" in text for text in texts):
        raise DomainError(
            "入力に使えない文字（制御文字 NUL）が含まれています。",
            code="nul_character",
            status=422,
            hint="入力し直してから、もう一度送信してください。",
        )


def _end_revoked_resident_session() -> None:
    """Forget a resident session the server ended (left, re-issued link, detached kiosk)."""
    from app import clock
    from app.services.resident_sessions import resident_session_live

    case_id = session.get("resident_case_id")
    if case_id is None or request.endpoint == "static":
        return
    if not resident_session_live(session.get("sid"), int(case_id), clock.now()):
        session.clear()


def _security_headers(response: Any) -> Any:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Permissions-Policy"] = "camera=(self), microphone=(self), geolocation=()"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.endpoint != "static":
        # Pages carry residents' personal data: never keep them in a shared cache.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _roll_back() -> None:
    """Roll the request's database session back, whatever state it is in."""
    from app.extensions import db

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 (the connection itself may be gone)
        db.session.remove()


def _register_errors(app: Flask) -> None:
    def handle(error: Exception) -> Any:
        code = error.code if isinstance(error, HTTPException) and error.code else 500
        if code == 500:
            app.logger.exception("unhandled error on %s", request.path)
            # A failed statement leaves the transaction unusable: the page below (the
            # user's name in its header) would fail too, and staff got gunicorn's raw 500.
            _roll_back()
        title, hint = ERROR_TEXT.get(code, ERROR_TEXT[500])
        if request.path.startswith("/api/"):
            return jsonify(error={"code": code, "message": title, "hint": hint}), code
        return render_template("error.html", code=code, title=title, hint=hint), code

    def handle_csrf(error: CSRFError) -> Any:
        # A stale page or a forged token: say what to do rather than "bad request".
        title = "画面の有効期限が切れました"
        hint = "ページを再読み込みしてから、もう一度操作してください。"
        if request.path.startswith("/api/"):
            return jsonify(error={"code": 400, "message": title, "hint": hint}), 400
        return render_template("error.html", code=400, title=title, hint=hint), 400

    def handle_refusal(error: DomainError) -> Any:
        # The one place a refused operation becomes a response: a view may keep its own
        # shape (see app.errors.answered_by), the API answers JSON, pages the error page.
        view = app.view_functions.get(request.endpoint or "")
        answer = getattr(view, "answer_refusal", None)
        if answer is not None:
            return answer(error)
        if request.path.startswith("/api/"):
            return jsonify(error=error.as_dict()), error.status
        hint = error.hint or ERROR_TEXT.get(error.status, ERROR_TEXT[400])[1]
        return render_template(
            "error.html", code=error.status, title=error.message, hint=hint
        ), error.status

    def handle_operational(error: OperationalError) -> Any:
        # SQLite answers "database is locked" when other writers held it past busy_timeout.
        # The transaction is rolled back here, so "not saved, try again" is the truth.
        text = str(getattr(error, "orig", error)).lower()
        if "database is locked" not in text and "database table is locked" not in text:
            return handle(error)
        app.logger.warning("database locked on %s: answered 503", request.path)
        _roll_back()
        return handle_refusal(
            DatabaseBusy(
                "ただいま処理が混み合っているため、この操作は保存されませんでした。",
                hint="数秒おいてから、もう一度同じ操作をしてください。",
            )
        )

    app.register_error_handler(DomainError, handle_refusal)
    app.register_error_handler(OperationalError, handle_operational)
    app.register_error_handler(CSRFError, handle_csrf)
    for code in ERROR_TEXT:
        app.register_error_handler(code, handle)
    app.register_error_handler(Exception, handle)


def register_web(app: Flask) -> None:
    """Register blueprints, guards, headers, error pages and CLI commands on the app."""
    app.url_map.converters["int"] = BoundedInteger  # before any rule is added
    from app.admin.views import bp as admin_bp
    from app.api.views import bp as api_bp
    from app.auth.views import bp as auth_bp
    from app.cardreader.views import bp as cardreader_bp
    from app.counter import bp as counter_bp
    from app.documents.views import bp as documents_bp
    from app.media.views import bp as media_bp
    from app.policy.views import bp as policy_bp
    from app.preentry import bp as preentry_bp
    from app.resident import bp as resident_bp

    for bp in (
        auth_bp,
        counter_bp,
        policy_bp,
        admin_bp,
        resident_bp,
        api_bp,
        media_bp,
        documents_bp,
        preentry_bp,
        cardreader_bp,
    ):
        app.register_blueprint(bp)

    app.request_class = BoundedRequest
    app.view_functions["static"].access = frozenset({PUBLIC})  # type: ignore[attr-defined]
    app.before_request(_refuse_nul_characters)
    app.before_request(_end_revoked_resident_session)
    app.before_request(enforce_access)
    app.after_request(_security_headers)
    _register_errors(app)

    @app.context_processor
    def _labels() -> dict[str, Any]:
        return {"role_labels": ROLE_LABELS}

    from app.admin.cli import kiosks_cli
    from app.auth.cli import users_cli
    from app.cardreader.cli import cardagents_cli
    from app.counter.cli import cases_cli
    from app.deploy import deploy_cli
    from app.policy.cli import rules_cli
    from app.policy.documents_cli import documents_cli
    from app.policy.versions_cli import versions_command  # noqa: F401 (adds to rules_cli)
    from app.services.demo import demo_cli

    for group in (
        users_cli,
        cases_cli,
        demo_cli,
        rules_cli,
        documents_cli,
        deploy_cli,
        cardagents_cli,
        kiosks_cli,
    ):
        app.cli.add_command(group)

"""Kakanai Madoguchi (書かないワンストップ窓口): the Flask application factory."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.clock import install_clock
from app.config import ROOT, environ, load_settings
from app.extensions import csrf, db, login_manager, migrate
from app.slots import WorkSlots


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite database file readable by this user only (0600), or make it so.

    SQLite creates a new file with the process umask (world-readable under the usual 022)
    and gives its -wal and -shm files the database file's mode, so the database must exist
    with the right mode before the first connection.
    """
    if not url.startswith("sqlite:///") or url in ("sqlite://", "sqlite:///:memory:"):
        return
    path = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
    if str(path) in ("", ":memory:"):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            file.chmod(0o600)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings validated once, extensions bound, blueprints registered."""
    # KAKANAI_INSTANCE_PATH lets tests and several deployments keep their own instance/.
    instance_path = environ().get("KAKANAI_INSTANCE_PATH") or None
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    instance = Path(app.instance_path)
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    instance.chmod(0o700)  # keys, the SQLite database, uploads: this user's only

    settings = load_settings(instance, environ(), test_config)
    _private_sqlite_file(settings["DATABASE_URL"])
    app.config.update(settings)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=settings["DATABASE_URL"],
        # A server database may drop idle connections: test each one as it is checked out.
        # SQLite is a file in this process; the test would be one more query per request.
        SQLALCHEMY_ENGINE_OPTIONS={
            "pool_pre_ping": not settings["DATABASE_URL"].startswith("sqlite")
        },
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="kakanai_session",
        REMEMBER_COOKIE_SECURE=settings["SESSION_COOKIE_SECURE"],
        REMEMBER_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings["SESSION_HOURS"]),
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        # Form fields other than files: the largest is a rule file (POLICY_FILE_LIMIT).
        MAX_FORM_MEMORY_SIZE=max(2 * settings["POLICY_FILE_LIMIT"], 1024 * 1024),
        MAX_FORM_PARTS=1000,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    if settings["WORKING_REQUESTS"]:
        app.wsgi_app = WorkSlots(  # type: ignore[method-assign]
            app.wsgi_app,
            settings["WORKING_REQUESTS"],
            body_seconds=settings["REQUEST_SECONDS"],
            max_body=app.config["MAX_CONTENT_LENGTH"],
        )
    if settings["TRUSTED_PROXIES"]:
        # Behind nginx the app sees http from 127.0.0.1; believe the proxy's headers (and
        # only as many hops as configured) so external links and client addresses are real.
        hops = settings["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    logging.getLogger("app").setLevel(settings["LOG_LEVEL"])

    install_clock(app, (test_config or {}).get("CLOCK"))
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "app" / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)

    from app import models  # noqa: F401  (register every table with SQLAlchemy)
    from app.web import register_web

    register_web(app)

    from app.documents import init_documents

    init_documents(app)  # load the templates once and warm the fonts for the first PDF
    return app

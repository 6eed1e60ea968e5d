"""Medium 8: with REDIS_URL set and Redis down, pages render, answers report truthfully, and
live updates say 「更新の配信が遅れています」 until Redis is back, then resume.

A real redis-server is started and killed by the test (loopback only).
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app import create_app
from app.extensions import db
from app.services.resident_sessions import start_resident_session
from tests.conftest import _reset_database
from tests.security.conftest import free_port

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server")


class RedisServer:
    """A redis-server of the test's own, on a loopback port, that the test can kill."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping():
                    return
            except redis.exceptions.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=5)
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def app(  # the shared fixtures (client, make_user, make_review_case) use this app
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer
) -> Iterator[Flask]:
    monkeypatch.setenv("KAKANAI_INSTANCE_PATH", str(tmp_path))
    config: dict[str, Any] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "REDIS_URL": redis_server.url,
    }
    if not os.environ.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{tmp_path / 'test.sqlite3'}"
    application = create_app(config)
    with application.app_context():
        _reset_database()
    yield application
    application.extensions["live_broker"].close()
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _resident(app: Flask, case_id: int) -> Any:
    with app.app_context():
        now = datetime.now()
        sid = start_resident_session(case_id, now=now, expires_at=now + timedelta(hours=1))
    client = app.test_client()
    with client.session_transaction() as session:
        session["resident_case_id"] = case_id
        session["sid"] = sid
    return client


def test_pages_render_and_answers_report_the_truth_while_redis_is_down(
    app: Flask, client: Any, login_as: Any, make_review_case: Any, redis_server: RedisServer
) -> None:
    login_as("counter")
    url = client.post("/counter/cases", data={"events": ["move_in"], "channel": "counter"}).headers[
        "Location"
    ]
    client.post(url + "/members", data={"roles": ["applicant", "household_head"]})
    resident_case = make_review_case(review=True)
    redis_server.kill()

    assert client.get(url).status_code == 200  # the case page
    answered = client.post(
        url + "/answer",
        data={"fact": "household.address", "f-household-address-value": "みどり市中央1丁目"},
    )
    assert answered.status_code == 200 and answered.get_json()["ok"] is True
    assert "みどり市中央1丁目" in client.get(url).get_data(as_text=True)  # it was saved
    resident = _resident(app, resident_case)
    assert resident.get("/r/").status_code == 200  # the resident's page


def test_live_updates_say_delayed_and_resume_when_redis_returns(
    app: Flask, make_review_case: Any, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services import review
    from app.services.cases import record_fact

    monkeypatch.setattr(review, "STREAM_SECONDS", 20.0)
    monkeypatch.setattr(review, "HEARTBEAT_SECONDS", 1.0)
    case_id = make_review_case(review=True)
    resident = _resident(app, case_id)
    redis_server.kill()

    response = resident.get("/r/events?after=0", buffered=False)
    assert response.status_code == 200
    chunks: queue.Queue[str] = queue.Queue()
    stop = threading.Event()

    def read() -> None:
        for chunk in response.response:
            chunks.put(chunk.decode() if isinstance(chunk, bytes) else chunk)
            if stop.is_set():
                break
        response.close()  # here: the stream's generator runs in this thread

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def until(text: str, seconds: float) -> str:
        seen = ""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                seen += chunks.get(timeout=0.2)
            except queue.Empty:
                continue
            if text in seen:
                return seen
        raise AssertionError(f"{text!r} not in {seen!r}")

    delayed = until("event: delayed", 6)
    assert "更新の配信が遅れています" in delayed
    redis_server.start()  # the same port again
    until("event: resync", 8)  # back: the page reloads what it shows
    with app.app_context():
        from app.models import Case

        record_fact(
            db.session.get(Case, case_id), "household[0].phone", "090-1111-2222", actor="c",
            now=datetime.now(),
        )  # fmt: skip
    until("event: forms", 6)  # and new changes arrive live again
    stop.set()
    reader.join(5)

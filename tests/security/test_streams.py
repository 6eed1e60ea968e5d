"""High 2: live-event streams are capped per session, per case and per process."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask

from app.services.resident_sessions import start_resident_session
from app.services.review import stream_gate


def _resident(app: Flask, case_id: int, _name: str) -> Any:
    """Return a client admitted to ``case_id`` with a session of its own."""
    with app.app_context():
        now = datetime.now()
        sid = start_resident_session(case_id, now=now, expires_at=now + timedelta(hours=1))
    client = app.test_client()
    with client.session_transaction() as session:
        session["resident_case_id"] = case_id
        session["sid"] = sid
    return client


def test_one_session_holds_at_most_two_streams(
    app: Flask, make_review_case: Callable[..., int]
) -> None:
    case_id = make_review_case()
    client = _resident(app, case_id, "one")
    first = client.get("/r/events", buffered=False)
    second = client.get("/r/events", buffered=False)
    assert (first.status_code, second.status_code) == (200, 200)
    third = client.get("/r/events", buffered=False)
    assert third.status_code == 429
    assert "別のタブ" in third.get_json()["error"]
    first.close()  # closing a stream gives its place back
    again = client.get("/r/events", buffered=False)
    assert again.status_code == 200
    for response in (second, third, again):
        response.close()
    assert stream_gate(app).open_streams() == 0


def test_one_case_holds_at_most_four_streams(
    app: Flask, make_review_case: Callable[..., int]
) -> None:
    case_id = make_review_case()
    opened = [_resident(app, case_id, f"s{i}").get("/r/events", buffered=False) for i in range(4)]
    assert [r.status_code for r in opened] == [200] * 4
    refused = _resident(app, case_id, "s5").get("/r/events", buffered=False)
    assert refused.status_code == 429
    assert "多くの端末" in refused.get_json()["error"]
    other_case = make_review_case()
    assert _resident(app, other_case, "x").get("/r/events", buffered=False).status_code == 200
    for response in (*opened, refused):
        response.close()


def test_streams_leave_threads_for_everyone_else(
    app: Flask, make_review_case: Callable[..., int]
) -> None:
    stream_gate(app).total = 3
    opened = [
        _resident(app, make_review_case(), f"s{i}").get("/r/events", buffered=False)
        for i in range(3)
    ]
    busy = _resident(app, make_review_case(), "late").get("/r/events", buffered=False)
    assert busy.status_code == 503
    assert "混み合って" in busy.get_json()["error"]
    for response in opened:
        response.close()
    assert stream_gate(app).open_streams() == 0


def test_a_stream_closed_before_its_first_event_is_counted_out(
    app: Flask, make_review_case: Callable[..., int]
) -> None:
    client = _resident(app, make_review_case(), "one")
    client.get("/r/events", buffered=False).close()  # never iterated
    assert stream_gate(app).open_streams() == 0
